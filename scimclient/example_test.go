package scimclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/scimd/scimd/scimclient"
)

// exampleServer stands in for a real SCIM service provider.
func exampleServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/scim/v2/Users":
			w.Header().Set("ETag", `W/"1"`)
			w.WriteHeader(201)
			io.WriteString(w, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"2819c223","userName":"ana@acme.test","meta":{"version":"W/\"1\""}}`)
		case r.Method == "GET" && r.URL.Path == "/scim/v2/Users":
			io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":2,"startIndex":1,"itemsPerPage":2,`+
				`"Resources":[{"id":"2819c223","userName":"ana@acme.test"},{"id":"9b1c0d6e","userName":"bo@acme.test"}]}`)
		default:
			w.WriteHeader(404)
			io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"Resource `+r.URL.Path+` not found"}`)
		}
	}))
}

func Example() {
	srv := exampleServer()
	defer srv.Close()
	ctx := context.Background()

	c := scimclient.New(srv.URL+"/scim/v2", scimclient.WithAuth(scimclient.Bearer("token")))

	user := scimclient.NewResource(scimclient.SchemaUser).
		Set("userName", "ana@acme.test").
		Set("name.givenName", "Ana")
	created, resp, err := c.Users().Create(ctx, user)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, created.ID(), resp.ETag())

	for u, err := range c.Users().All(ctx, scimclient.ListOptions{Count: 100}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(u.ID(), u.String("userName"))
	}

	_, _, err = c.Users().Get(ctx, "missing")
	var se *scimclient.Error
	if errors.As(err, &se) {
		fmt.Println(se.Status, se.Detail, errors.Is(err, scimclient.ErrNotFound))
	}
	// Output:
	// 201 2819c223 W/"1"
	// 2819c223 ana@acme.test
	// 9b1c0d6e bo@acme.test
	// 404 Resource /scim/v2/Users/missing not found true
}

func ExamplePatch() {
	p := scimclient.Patch().
		Replace("", map[string]any{"active": false}).
		Remove(`members[value eq "9b1c0d6e"]`).
		Add("members", []map[string]string{{"value": "4e2a77f0"}}).
		Op("Replace", "active", "False") // Entra's default-job spelling, verbatim
	fmt.Println(p)
	// Output:
	// {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}},{"op":"remove","path":"members[value eq \"9b1c0d6e\"]"},{"op":"add","path":"members","value":[{"value":"4e2a77f0"}]},{"op":"Replace","path":"active","value":"False"}]}
}

func ExampleClient_Do() {
	srv := exampleServer()
	defer srv.Close()

	c := scimclient.New(srv.URL + "/scim/v2")
	// Replay an IdP request byte for byte, with its own headers.
	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"value":"u1"}]}]}`
	resp, err := c.Do(context.Background(), "PATCH", "/Groups/g1", body, http.Header{
		"Content-Type": {"application/scim+json; charset=utf-8"},
		"User-Agent":   {"Okta SCIM Client 1.0.0"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, resp.JSON["detail"])
	fmt.Println(errors.Is(resp.Err(), scimclient.ErrNotFound))
	// Output:
	// 404 Resource /scim/v2/Groups/g1 not found
	// true
}
