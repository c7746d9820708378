package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRun starts the example on a free port and provisions a user the way
// Okta does: existence check, create, then the same filter again.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	env := func(k string) string {
		if k == "SCIM_TOKEN" {
			return "s3cret"
		}
		return ""
	}
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, env, io.Discard, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	base := "http://" + addr + "/scim/v2"

	do := func(method, path, token string, body any) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		raw, _ := io.ReadAll(resp.Body)
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("%s %s: %v\n%s", method, path, err, raw)
			}
		}
		return resp.StatusCode, m
	}

	if code, _ := do("GET", "/Users", "wrong", nil); code != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", code)
	}
	filter := "/Users?filter=" + strings.ReplaceAll(`userName+eq+"ana@acme.test"`, `"`, "%22") + "&startIndex=1&count=100"
	if code, m := do("GET", filter, "s3cret", nil); code != http.StatusOK || m["totalResults"] != 0.0 {
		t.Fatalf("existence check: %d %v", code, m)
	}
	code, m := do("POST", "/Users", "s3cret", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": "ana@acme.test", "active": true,
		"name": map[string]any{"givenName": "Ana", "familyName": "Silva"},
	})
	if code != http.StatusCreated || m["id"] == nil {
		t.Fatalf("create: %d %v", code, m)
	}
	if code, m := do("GET", filter, "s3cret", nil); code != http.StatusOK || m["totalResults"] != 1.0 {
		t.Fatalf("filter after create: %d %v", code, m)
	}
	uid := m["id"].(string)

	// Okta group push: create, rename + add member in one PATCH, remove.
	code, m = do("POST", "/Groups", "s3cret", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Engineering", "members": []any{},
	})
	if code != http.StatusCreated {
		t.Fatalf("create group: %d %v", code, m)
	}
	gid := m["id"].(string)
	patch := func(path string, ops ...map[string]any) {
		t.Helper()
		code, m := do("PATCH", path, "s3cret", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops,
		})
		if code != http.StatusOK && code != http.StatusNoContent {
			t.Fatalf("PATCH %s: %d %v", path, code, m)
		}
	}
	patch("/Groups/"+gid,
		map[string]any{"op": "replace", "value": map[string]any{"id": gid, "displayName": "Eng"}},
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": uid, "display": "ana@acme.test"}}},
	)
	if code, m := do("GET", "/Users/"+uid, "s3cret", nil); code != http.StatusOK || !strings.Contains(jsonString(m["groups"]), `"Eng"`) {
		t.Errorf("user groups after push: %d %v", code, m["groups"])
	}
	if code, m := do("GET", "/Groups/"+gid+"?excludedAttributes=members", "s3cret", nil); code != http.StatusOK || m["members"] != nil {
		t.Errorf("excludedAttributes=members: %d %v", code, m)
	}
	patch("/Groups/"+gid, map[string]any{"op": "remove", "path": `members[value eq "` + uid + `"]`})
	if _, m := do("GET", "/Groups/"+gid, "s3cret", nil); len(asList(m["members"])) != 0 {
		t.Errorf("members after remove: %v", m["members"])
	}

	// Entra: string boolean, the non-standard email filter.
	patch("/Users/"+uid, map[string]any{"op": "Replace", "path": "active", "value": "False"})
	if _, m := do("GET", "/Users/"+uid, "s3cret", nil); m["active"] != false {
		t.Errorf("active after Entra disable: %v", m["active"])
	}
	patch("/Users/"+uid, map[string]any{"op": "Add", "path": `emails[type eq "work"].value`, "value": "ana@acme.test"})
	entra := "/Users?filter=" + strings.ReplaceAll(`emails[type+eq+"work"].value+eq+"ana@acme.test"`, `"`, "%22")
	if code, m := do("GET", entra, "s3cret", nil); code != http.StatusOK || m["totalResults"] != 1.0 {
		t.Errorf("Entra email filter: %d %v", code, m)
	}

	if code, _ := do("DELETE", "/Users/"+uid, "s3cret", nil); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	if code, _ := do("GET", "/Users/"+uid, "s3cret", nil); code != http.StatusNotFound {
		t.Errorf("get after delete: %d", code)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
