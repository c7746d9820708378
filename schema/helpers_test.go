package schema_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

var (
	reg   = schema.DefaultRegistry()
	users = reg.ResourceType("User")
	grps  = reg.ResourceType("Group")
)

// body decodes a JSON object the way the HTTP layer does (UseNumber).
func body(tb testing.TB, s string) map[string]any {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		tb.Fatalf("bad test JSON: %v\n%s", err, s)
	}
	return m
}

// canon re-encodes JSON for comparison.
func canon(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// wantScimErr checks that err is a 400 *scimd.Error with the given scimType.
func wantScimErr(tb testing.TB, err error, scimType string) {
	tb.Helper()
	e, ok := scimd.AsError(err)
	if !ok {
		tb.Fatalf("got error %v (%T), want *scimd.Error %s", err, err, scimType)
	}
	if e.Status != 400 || e.ScimType != scimType {
		tb.Fatalf("got %d %q (%s), want 400 %q", e.Status, e.ScimType, e.Detail, scimType)
	}
	if e.Detail == "" {
		tb.Fatalf("error has no detail")
	}
}

const (
	oktaCreate = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
 "userName":"ana.silva@acme.test",
 "name":{"givenName":"Ana","familyName":"Silva"},
 "emails":[{"primary":true,"value":"ana.silva@acme.test","type":"work"}],
 "displayName":"Ana Silva","locale":"en-US",
 "externalId":"00u7f3kq2wXyZ","groups":[],"password":"Tq9v2mLa","active":true}`

	oktaPut = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
 "id":"5b0e7c1e-2d0c-4a43-9f43-3c9b2c7e0a11",
 "userName":"ana.silva@acme.test",
 "name":{"givenName":"Ana","familyName":"Silva-Costa"},
 "emails":[{"primary":true,"value":"ana.silva@acme.test","type":"work"}],
 "displayName":"Ana Silva-Costa","locale":"en-US","externalId":"00u7f3kq2wXyZ",
 "groups":[{"value":"g1","display":"Sales"}],"password":"Tq9v2mLa","active":true,
 "meta":{"resourceType":"User","created":"2024-05-01T10:00:00Z","lastModified":"2024-05-02T10:00:00Z","version":"W/\"3\""}}`

	entraCreate = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",
   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
 "externalId":"ana","userName":"ana@contoso.test","active":true,
 "addresses":[{"primary":true,"type":"work","streetAddress":"1 Main St","locality":"Lisbon","region":null,"postalCode":"1000-001","country":"PT","formatted":null}],
 "displayName":"Ana Silva",
 "emails":[{"primary":true,"type":"work","value":"ana@contoso.test"}],
 "meta":{"resourceType":"User"},
 "name":{"formatted":"Ana Silva","familyName":"Silva","givenName":"Ana"},
 "phoneNumbers":[{"primary":true,"type":"mobile","value":"+351 900 000 000"}],
 "roles":[],"title":null,"preferredLanguage":"pt-PT",
 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","department":"Sales","manager":"mgr-1"}}`

	entraGroup = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group",
   "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
 "externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Sales","meta":{"resourceType":"Group"}}`

	oneLogin = `{"schemas":["urn:scim:schemas:core:1.0"],"userName":"bo@acme.test","active":"True",
 "name":{"givenName":"Bo","familyName":"Li"},"emails":{"value":"bo@acme.test","primary":"true"}}`

	oktaGroup = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Eng",
 "members":[{"value":"u1","display":"ana@acme.test"},{"value":"g2","type":"group"}]}`
)
