package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd/auth/oauth"
)

// runCLI runs a scimd command in-process and returns stdout and stderr.
func runCLI(t *testing.T, dbFile, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errw bytes.Buffer
	getenv := func(k string) string {
		if k == "SCIMD_DATABASE" {
			return dbFile
		}
		return ""
	}
	env := Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errw, Getenv: getenv}
	err := Run(context.Background(), args, env)
	return out.String(), errw.String(), err
}

func TestCredentialCommands(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "scimd.db")
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, err := runCLI(t, dbFile, stdin, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
		return out
	}
	fails := func(stdin string, args ...string) {
		t.Helper()
		if _, _, err := runCLI(t, dbFile, stdin, args...); err == nil {
			t.Fatalf("%v succeeded", args)
		}
	}

	// Basic.
	pw := strings.TrimSpace(must("", "basic", "create", "--username", "okta"))
	if len(pw) != 32 {
		t.Fatalf("password %q", pw)
	}
	fails("", "basic", "create", "--username", "okta") // duplicate
	fails("", "basic", "create", "--username", "a:b")
	list := must("", "basic", "list")
	if !strings.Contains(list, "okta") || strings.Contains(list, pw) || !strings.Contains(list, "active") {
		t.Fatalf("basic list:\n%s", list)
	}
	must("", "basic", "revoke", "okta")
	if list := must("", "basic", "list"); !strings.Contains(list, "revoked") {
		t.Fatalf("basic list after revoke:\n%s", list)
	}

	// OAuth clients.
	out := must("", "oauth", "client", "create", "--name", "Okta", "--okta-app", "acme_scim", "--redirect-uri", "https://admin.example.com/cb")
	if !strings.Contains(out, "client_id: "+oauth.ClientIDPrefix) || !strings.Contains(out, "client_secret: "+oauth.ClientSecretPrefix) {
		t.Fatalf("client create:\n%s", out)
	}
	id := strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "client_id: ")
	show := must("", "oauth", "client", "show", id)
	for _, u := range append(oauth.OktaRedirectURIs("acme_scim"), "https://admin.example.com/cb") {
		if !strings.Contains(show, u) {
			t.Errorf("client show lacks %s:\n%s", u, show)
		}
	}
	out = must("", "oauth", "client", "create", "--name", "Entra", "--grant", "client_credentials")
	if !strings.Contains(out, "client_secret: ") {
		t.Fatalf("entra client:\n%s", out)
	}
	fails("", "oauth", "client", "create", "--name", "x") // authorization_code without redirect URIs
	fails("", "oauth", "client", "create", "--name", "x", "--redirect-uri", "http://evil.example/cb")
	fails("", "oauth", "client", "create", "--name", "x", "--grant", "password", "--okta-app", "a")
	fails("", "oauth", "client", "create", "--okta-app", "a") // no name
	list = must("", "oauth", "client", "list")
	if !strings.Contains(list, "Okta") || !strings.Contains(list, "Entra") || strings.Contains(list, oauth.ClientSecretPrefix) {
		t.Fatalf("client list:\n%s", list)
	}
	must("", "oauth", "client", "revoke", id)
	if show := must("", "oauth", "client", "show", id); !strings.Contains(show, "revoked") {
		t.Fatalf("after revoke:\n%s", show)
	}

	// Connect codes and the admin password.
	code := strings.TrimSpace(must("", "oauth", "connect-code"))
	if len(code) != 19 || strings.Count(code, "-") != 3 {
		t.Fatalf("connect code %q", code)
	}
	must("correct horse battery staple\n", "oauth", "admin-password")
	fails("short\n", "oauth", "admin-password")
	fails("another long password\n", "oauth", "admin-password", "--tenant", "nope")
	fails("", "oauth", "nonsense")
}
