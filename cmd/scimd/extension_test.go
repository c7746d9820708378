package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const extensionConfig = `
extensions:
  - resourceType: User
    required: false
    schema:
      id: urn:example:params:scim:schemas:extension:acme:2.0:User
      name: AcmeUser
      description: Acme's own user attributes
      attributes:
        - name: costCenterCode
          type: integer
          required: false
        - name: badgeActive
          type: boolean
        - name: clearances
          type: string
          multiValued: true
        - name: secretNote
          type: string
          returned: never
        - name: hiredAt
          type: dateTime
          mutability: immutable
`

const acmeURN = "urn:example:params:scim:schemas:extension:acme:2.0:User"

// TestCustomExtension declares a vendor extension schema in the YAML
// configuration file and checks it end to end: discovery, typed writes,
// returned:never, immutability, filters and PATCH by URN path.
func TestCustomExtension(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scimd.yaml")
	if err := os.WriteFile(path, []byte(extensionConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startServer(t, func(cfg *Config) {
		if err := cfg.ReadConfigFile(path); err != nil {
			t.Fatal(err)
		}
	})

	// Discovery advertises the extension.
	r := c.do("GET", "/Schemas/"+acmeURN, nil).want(t, http.StatusOK)
	if !strings.Contains(r.Raw, `"costCenterCode"`) || !strings.Contains(r.Raw, `"integer"`) {
		t.Errorf("schema of the extension: %s", r.Raw)
	}
	r = c.do("GET", "/ResourceTypes/User", nil).want(t, http.StatusOK)
	if !strings.Contains(r.Raw, acmeURN) {
		t.Errorf("User resource type lacks the extension: %s", r.Raw)
	}

	user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + acmeURN + `"],
	 "userName":"ext.user@acme.test",
	 "` + acmeURN + `":{"costCenterCode":4100,"badgeActive":"True","clearances":["blue","green"],"secretNote":"s3cret","hiredAt":"2024-03-01T09:00:00Z"}}`
	r = c.do("POST", "/Users", user).want(t, http.StatusCreated)
	id := str(r.Body, "id")
	ext, _ := r.Body[acmeURN].(map[string]any)
	if ext == nil || ext["costCenterCode"] != float64(4100) || ext["badgeActive"] != true {
		t.Fatalf("extension after create: %s", r.Raw)
	}
	if _, ok := ext["secretNote"]; ok || strings.Contains(r.Raw, "s3cret") {
		t.Errorf("returned:never attribute returned: %s", r.Raw)
	}
	if !hasString(r.Body["schemas"], acmeURN) {
		t.Errorf("schemas lack the extension URN: %v", r.Body["schemas"])
	}

	// Wrong types are rejected with a clear error.
	c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bad@acme.test",
	 "`+acmeURN+`":{"costCenterCode":"forty-one"}}`).wantError(t, http.StatusBadRequest, "invalidValue")

	// Filters on extension attributes, by URN path.
	for _, f := range []string{
		acmeURN + `:costCenterCode gt 4000`,
		acmeURN + `:badgeActive eq true`,
		acmeURN + `:clearances eq "green"`,
	} {
		got := c.do("GET", "/Users?filter="+urlQuery(f), nil).list(t)
		if len(got) != 1 || got[0]["id"] != id {
			t.Errorf("filter %s: %v", f, got)
		}
	}
	if got := c.do("GET", "/Users?filter="+urlQuery(acmeURN+`:costCenterCode lt 4000`), nil).list(t); len(got) != 0 {
		t.Errorf("costCenterCode lt 4000 matched: %v", got)
	}

	// PATCH by URN path; an immutable attribute cannot change.
	c.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
	 {"op":"replace","path":"`+acmeURN+`:costCenterCode","value":4200}]}`).want(t, http.StatusOK)
	r = c.do("GET", "/Users/"+id, nil).want(t, http.StatusOK)
	if ext, _ := r.Body[acmeURN].(map[string]any); ext == nil || ext["costCenterCode"] != float64(4200) {
		t.Errorf("after PATCH: %s", r.Raw)
	}
	c.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
	 {"op":"replace","path":"`+acmeURN+`:hiredAt","value":"2025-01-01T00:00:00Z"}]}`).wantError(t, http.StatusBadRequest, "mutability")
}

// urlQuery escapes a filter for a query string, spaces as %20.
func urlQuery(s string) string {
	r := strings.NewReplacer(" ", "%20", `"`, "%22", ":", "%3A", "[", "%5B", "]", "%5D")
	return r.Replace(s)
}
