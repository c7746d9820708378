package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
	"github.com/scimd/scimd/auth/oauth"
)

const oauthUsage = `usage:
  scimd oauth client create --tenant NAME --name LABEL [--okta-app APPNAME] [--redirect-uri URI]... [--grant GRANT]...
  scimd oauth client list --tenant NAME
  scimd oauth client show --tenant NAME CLIENT_ID
  scimd oauth client revoke --tenant NAME CLIENT_ID
  scimd oauth connect-code --tenant NAME
  scimd oauth admin-password --tenant NAME   (reads the password from stdin)`

// minAdminPassword is the shortest tenant admin password accepted.
const minAdminPassword = 12

// runOAuth runs "scimd oauth ...".
func runOAuth(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return fmt.Errorf("oauth: want a subcommand\n%s", oauthUsage)
	}
	switch args[0] {
	case "client":
		if len(args) < 2 {
			return fmt.Errorf("oauth client: want create, list, show or revoke\n%s", oauthUsage)
		}
		return runOAuthClient(ctx, args[1], args[2:], env)
	case "connect-code":
		return runConnectCode(ctx, args[1:], env)
	case "admin-password":
		return runAdminPassword(ctx, args[1:], env)
	default:
		return fmt.Errorf("oauth: unknown subcommand %q\n%s", args[0], oauthUsage)
	}
}

func runOAuthClient(ctx context.Context, verb string, args []string, env Env) error {
	fs := flag.NewFlagSet("scimd oauth client "+verb, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	load := commonFlags(fs, env)
	tenantName := fs.String("tenant", scimd.DefaultTenant, "tenant name")
	var name, oktaApp string
	var uris, grants repeatedFlag
	if verb == "create" {
		fs.StringVar(&name, "name", "", "label shown on the consent page, e.g. Okta (required)")
		fs.StringVar(&oktaApp, "okta-app", "", "Okta OIN appName: registers Okta's five OAuth callback URIs for it")
		fs.Var(&uris, "redirect-uri", "additional redirect URI (repeatable)")
		fs.Var(&grants, "grant", "grant type: authorization_code, refresh_token or client_credentials (repeatable; "+
			"default authorization_code and refresh_token)")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch verb {
	case "create", "list":
		if fs.NArg() > 0 {
			return fmt.Errorf("oauth client %s: unexpected argument %q", verb, fs.Arg(0))
		}
	case "show", "revoke":
		if fs.NArg() != 1 {
			return fmt.Errorf("oauth client %s: want exactly one client id", verb)
		}
	default:
		return fmt.Errorf("oauth client: unknown subcommand %q\n%s", verb, oauthUsage)
	}
	var redirects []string
	if verb == "create" {
		if name == "" {
			return errors.New("oauth client create: --name is required")
		}
		if oktaApp != "" {
			if err := oauth.ValidateOktaApp(oktaApp); err != nil {
				return err
			}
			redirects = oauth.OktaRedirectURIs(oktaApp)
		}
		for _, u := range uris {
			if !slices.Contains(redirects, u) {
				redirects = append(redirects, u)
			}
		}
	}
	db, tenant, err := openCredentials(ctx, load, *tenantName)
	if err != nil {
		return err
	}
	defer db.Close()

	switch verb {
	case "create":
		secret, c, err := oauth.NewClient(tenant.ID, name, redirects, grants, time.Now().UTC())
		if err != nil {
			return fmt.Errorf("oauth client create: %w", err)
		}
		c.OktaApp = oktaApp
		if err := db.CreateOAuthClient(ctx, c); err != nil {
			return fmt.Errorf("store OAuth client: %w", err)
		}
		fmt.Fprintf(env.Stderr, "created OAuth client %q in tenant %s (grants: %s); the secret is shown once:\n",
			name, tenant.Name, strings.Join(c.Grants, ", "))
		fmt.Fprintf(env.Stdout, "client_id: %s\nclient_secret: %s\n", c.ID, secret)
		return nil
	case "list":
		cs, err := db.OAuthClients(ctx, tenant.ID)
		if err != nil {
			return fmt.Errorf("list OAuth clients: %w", err)
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "CLIENT ID\tNAME\tGRANTS\tOKTA APP\tREDIRECT URIS\tCREATED\tSTATUS")
		for _, c := range cs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", c.ID, c.Name, strings.Join(c.Grants, ","),
				dash(c.OktaApp), len(c.RedirectURIs), fmtTime(c.Created), clientStatus(c))
		}
		return w.Flush()
	case "show":
		c, err := db.OAuthClient(ctx, tenant.ID, fs.Arg(0))
		if err != nil {
			return fmt.Errorf("OAuth client %s: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(env.Stdout, "client_id:  %s\nname:       %s\ntenant:     %s\ngrants:     %s\nokta app:   %s\ncreated:    %s\nstatus:     %s\nredirect URIs:\n",
			c.ID, c.Name, tenant.Name, strings.Join(c.Grants, ", "), dash(c.OktaApp), fmtTime(c.Created), clientStatus(c))
		for _, u := range c.RedirectURIs {
			fmt.Fprintf(env.Stdout, "  %s\n", u)
		}
		return nil
	default: // revoke
		if err := db.RevokeOAuthClient(ctx, tenant.ID, fs.Arg(0)); err != nil {
			return fmt.Errorf("revoke OAuth client %s: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(env.Stderr, "revoked OAuth client %s and every token issued to it\n", fs.Arg(0))
		return nil
	}
}

func clientStatus(c *scimd.OAuthClient) string {
	if c.Revoked {
		return "revoked"
	}
	return "active"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runConnectCode prints a one-time sign-in code for the consent page.
func runConnectCode(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("scimd oauth connect-code", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	load := commonFlags(fs, env)
	tenantName := fs.String("tenant", scimd.DefaultTenant, "tenant name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("oauth connect-code: unexpected argument %q", fs.Arg(0))
	}
	db, tenant, err := openCredentials(ctx, load, *tenantName)
	if err != nil {
		return err
	}
	defer db.Close()
	code, rec := oauth.NewConnectCode(tenant.ID, time.Now().UTC())
	if err := db.CreateOAuthConnectCode(ctx, rec); err != nil {
		return fmt.Errorf("store connect code: %w", err)
	}
	fmt.Fprintf(env.Stderr, "one-time connect code for tenant %s, valid until %s:\n", tenant.Name, fmtTime(rec.Expires))
	fmt.Fprintln(env.Stdout, code)
	return nil
}

// runAdminPassword sets the tenant admin password from the first line of
// stdin, so that it never appears in a command line or shell history.
func runAdminPassword(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("scimd oauth admin-password", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	load := commonFlags(fs, env)
	tenantName := fs.String("tenant", scimd.DefaultTenant, "tenant name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("oauth admin-password: unexpected argument %q (the password is read from stdin)", fs.Arg(0))
	}
	if env.Stdin == nil {
		return errors.New("oauth admin-password: no stdin to read the password from")
	}
	line, err := bufio.NewReader(io.LimitReader(env.Stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if len([]rune(password)) < minAdminPassword {
		return fmt.Errorf("oauth admin-password: the password must have at least %d characters", minAdminPassword)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	db, tenant, err := openCredentials(ctx, load, *tenantName)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SetOAuthAdminPassword(ctx, tenant.ID, hash); err != nil {
		return fmt.Errorf("store admin password: %w", err)
	}
	fmt.Fprintf(env.Stderr, "set the OAuth consent admin password of tenant %s\n", tenant.Name)
	return nil
}
