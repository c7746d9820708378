package conformance

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/scimd/scimd/scimclient"
)

const schemaSPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

func discoveryChecks() []Check {
	return []Check{
		{
			ID: "discovery.service-provider-config", Group: GroupDiscovery,
			Title: "GET /ServiceProviderConfig describes the server's features",
			Rule:  "RFC 7643 §5: patch, bulk, filter, changePassword, sort and etag each have a boolean \"supported\"; authenticationSchemes is a list",
			Run:   checkSPC,
		},
		{
			ID: "discovery.resource-types", Group: GroupDiscovery,
			Title: "GET /ResourceTypes lists User at /Users",
			Rule:  "RFC 7643 §6, RFC 7644 §4: a ListResponse of resource types with name, endpoint and schema",
			Run:   checkResourceTypes,
		},
		{
			ID: "discovery.schemas", Group: GroupDiscovery,
			Title: "GET /Schemas defines every schema the resource types use",
			Rule:  "RFC 7643 §7, RFC 7644 §4: each resource type's schema and schemaExtensions appear in /Schemas",
			Run:   checkSchemas,
		},
		{
			ID: "discovery.user-schema", Group: GroupDiscovery,
			Title: "the User schema's characteristics match RFC 7643",
			Rule:  "RFC 7643 §4.1, §8.7.1: userName is required, caseExact false, unique; password is returned never; groups is readOnly",
			Run:   checkUserSchema,
		},
	}
}

func checkSPC(ctx context.Context, t *T) {
	resp := t.Do(http.MethodGet, "/ServiceProviderConfig", nil)
	spc := t.Resource(resp)
	if !slices.Contains(spc.Schemas(), schemaSPC) {
		t.Errorf(resp, "schemas %v lack %s", spc.Schemas(), schemaSPC)
	}
	for _, f := range []string{FeaturePatch, FeatureBulk, FeatureFilter, FeatureChangePassword, FeatureSort, FeatureETag} {
		v, ok := spc.Get(f)
		if !ok {
			t.Errorf(resp, "%q is missing", f)
			continue
		}
		if _, isObj := v.(map[string]any); !isObj {
			t.Errorf(resp, "%q is %s, want an object", f, jsonType(v))
			continue
		}
		s, ok := spc.Get(f + ".supported")
		if _, isBool := s.(bool); !ok || !isBool {
			t.Errorf(resp, "%s.supported is %s %v, want a JSON boolean", f, jsonType(s), s)
		}
	}
	if v, ok := spc.Get("authenticationSchemes"); !ok {
		t.Errorf(resp, "authenticationSchemes is missing")
	} else if _, isList := v.([]any); !isList {
		t.Errorf(resp, "authenticationSchemes is %s, want an array", jsonType(v))
	}
}

// resourceTypes fetches /ResourceTypes as a ListResponse.
func resourceTypes(t *T) *ListPage {
	return t.List(t.Do(http.MethodGet, "/ResourceTypes", nil))
}

func checkResourceTypes(ctx context.Context, t *T) {
	page := resourceTypes(t)
	resp := page.Response
	var user, group scimclient.Resource
	for _, rt := range page.Resources {
		for _, attr := range []string{"name", "endpoint", "schema"} {
			if rt.String(attr) == "" {
				t.Errorf(resp, "resource type %q has no %s", rt.String("id"), attr)
			}
		}
		switch {
		case isResourceType(rt, "User", "/Users"):
			user = rt
		case isResourceType(rt, "Group", "/Groups"):
			group = rt
		}
	}
	if user == nil {
		t.Fatalf(resp, "no User resource type")
	}
	if ep := strings.TrimRight(user.String("endpoint"), "/"); !strings.EqualFold(ep, "/Users") {
		t.Errorf(resp, "User endpoint %q, want /Users", ep)
	}
	if s := user.String("schema"); s != scimclient.SchemaUser {
		t.Errorf(resp, "User schema %q, want %s", s, scimclient.SchemaUser)
	}
	if group != nil && group.String("schema") != scimclient.SchemaGroup {
		t.Errorf(resp, "Group schema %q, want %s", group.String("schema"), scimclient.SchemaGroup)
	}
}

// schemaList fetches /Schemas and returns the schemas by id.
func schemaList(t *T) (map[string]scimclient.Resource, *scimclient.Response) {
	page := t.List(t.Do(http.MethodGet, "/Schemas", nil))
	out := map[string]scimclient.Resource{}
	for _, s := range page.Resources {
		out[s.ID()] = s
	}
	return out, page.Response
}

func checkSchemas(ctx context.Context, t *T) {
	schemas, sresp := schemaList(t)
	page := resourceTypes(t)
	if len(page.Resources) == 0 {
		t.Errorf(page.Response, "no resource types")
	}
	for _, rt := range page.Resources {
		want := []string{rt.String("schema")}
		for _, ext := range rt.List("schemaExtensions") {
			want = append(want, ext.String("schema"))
		}
		for _, id := range want {
			if id == "" {
				continue
			}
			if _, ok := schemas[id]; !ok {
				t.Fail(Failure{Message: "resource type " + rt.String("name") + " uses schema " + id + ", which /Schemas does not list",
					Exchanges: Exchanges(page.Response, sresp)})
			}
		}
	}
	for id, s := range schemas {
		if len(s.List("attributes")) == 0 {
			t.Errorf(sresp, "schema %s has no attributes", id)
		}
	}
}

func checkUserSchema(ctx context.Context, t *T) {
	schemas, resp := schemaList(t)
	user, ok := schemas[scimclient.SchemaUser]
	if !ok {
		t.Fatalf(resp, "/Schemas lacks %s", scimclient.SchemaUser)
	}
	attrs := map[string]scimclient.Resource{}
	for _, a := range user.List("attributes") {
		attrs[strings.ToLower(a.String("name"))] = a
	}
	un, ok := attrs["username"]
	if !ok {
		t.Fatalf(resp, "User schema has no userName attribute")
	}
	if b, ok := un.Bool("required"); !ok || !b {
		t.Errorf(resp, "userName.required is %v, want true", b)
	}
	if b, ok := un.Bool("caseExact"); !ok || b {
		t.Errorf(resp, "userName.caseExact is %v (present: %v), want false", b, ok)
	}
	if u := un.String("uniqueness"); u != "server" && u != "global" {
		t.Errorf(resp, "userName.uniqueness is %q, want server or global", u)
	}
	if pw, ok := attrs["password"]; ok {
		if r := pw.String("returned"); r != "never" {
			t.Errorf(resp, "password.returned is %q, want never", r)
		}
	}
	if g, ok := attrs["groups"]; ok {
		if m := g.String("mutability"); m != "readOnly" {
			t.Errorf(resp, "groups.mutability is %q, want readOnly", m)
		}
	}
}
