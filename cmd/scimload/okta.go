package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Okta's request shapes (docs idp-wire-behaviour §1): the userName lookup,
// the create body (password included, as Okta always sends one), the
// no-path deactivate/reactivate PATCH and the membership add PATCH.

const (
	schemaUser      = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaGroup     = "urn:ietf:params:scim:schemas:core:2.0:Group"
	schemaPatchOp   = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	schemaListResp  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	contentTypeSCIM = "application/scim+json; charset=utf-8"
)

// userName returns the userName (an email, as Okta usually maps it) of
// seeded user i under prefix.
func userName(prefix string, i int) string {
	return fmt.Sprintf("%s%07d@example.com", prefix, i)
}

// lookupPath is Okta's existence check: current Okta encodes spaces as %20.
func lookupPath(name string) string {
	return "/Users?filter=" + queryEscape(`userName eq "`+name+`"`) + "&startIndex=1&count=100"
}

// filterPath is a list request with a filter and count=100.
func filterPath(filter string) string {
	return "/Users?filter=" + queryEscape(filter) + "&startIndex=1&count=100"
}

func queryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// createBody is Okta's POST /Users body for user i.
func createBody(prefix string, i int) []byte {
	name := userName(prefix, i)
	return fmt.Appendf(nil, `{"schemas":[%q],"userName":%q,"name":{"givenName":"User","familyName":"N%07d"},`+
		`"emails":[{"primary":true,"value":%q,"type":"work"}],"displayName":"User N%07d","locale":"en-US",`+
		`"externalId":"00u%07dxYz","groups":[],"password":"Tq9v2mLa%d","active":true}`,
		schemaUser, name, i, name, i, i, i)
}

// activeBody is Okta's OIN deactivate (false) or reactivate (true) PATCH.
func activeBody(active bool) []byte {
	return fmt.Appendf(nil, `{"schemas":[%q],"Operations":[{"op":"replace","value":{"active":%t}}]}`, schemaPatchOp, active)
}

// groupBody is Okta's Group Push POST /Groups body.
func groupBody(name string) []byte {
	return fmt.Appendf(nil, `{"schemas":[%q],"displayName":%q,"members":[]}`, schemaGroup, name)
}

// membersBody is Okta's membership PATCH adding members (value and display,
// no type).
func membersBody(ids, displays []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"schemas":[%q],"Operations":[{"op":"add","path":"members","value":[`, schemaPatchOp)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"value":%q,"display":%q}`, id, displays[i])
	}
	b.WriteString(`]}]}`)
	return b.Bytes()
}

// putBody turns a GET /Users/{id} response into Okta's PUT body: the
// resource as returned (id and meta included) with displayName changed.
func putBody(got []byte, n int) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(got, &doc); err != nil {
		return nil, err
	}
	doc["displayName"] = fmt.Sprintf("Renamed %d", n)
	doc["groups"] = []any{}
	return json.Marshal(doc)
}

// client sends SCIM requests with Okta's headers to a base URL, or to
// several in turn (one request each, round-robin, as a load balancer in
// front of several instances would).
type client struct {
	bases []string // no trailing slash
	next  atomic.Uint64
	auth  string // Authorization header value
	hc    *http.Client
}

// newClient returns a client for base: one SCIM base URL, or several
// separated by commas.
func newClient(base, token string, conns int, timeout time.Duration) *client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	c := &client{auth: "Bearer " + token, hc: &http.Client{Transport: tr, Timeout: timeout}}
	for b := range strings.SplitSeq(base, ",") {
		c.bases = append(c.bases, strings.TrimRight(strings.TrimSpace(b), "/"))
	}
	return c
}

// base returns the base URL for the next request.
func (c *client) base() string {
	if len(c.bases) == 1 {
		return c.bases[0]
	}
	return c.bases[(c.next.Add(1)-1)%uint64(len(c.bases))]
}

// errStatus is an unexpected HTTP status.
type errStatus struct {
	method, path string
	status       int
	body         string
}

func (e *errStatus) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, e.body)
}

// do sends one request, reads the whole response into buf (reset first)
// and returns the time from sending to the last body byte. A status other
// than want (any 2xx when want is 0) is an *errStatus.
func (c *client) do(ctx context.Context, buf *bytes.Buffer, method, path string, body []byte, want int) (time.Duration, error) {
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	var req *http.Request
	var err error
	u := c.base() + path
	if rd != nil {
		req, err = http.NewRequestWithContext(ctx, method, u, rd)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u, nil)
	}
	if err != nil {
		return 0, err
	}
	h := req.Header
	h["Authorization"] = []string{c.auth}
	h["Accept"] = []string{"application/scim+json"}
	h["Accept-Charset"] = []string{"utf-8"}
	h["User-Agent"] = []string{"scimload (Okta SCIM Client 1.0.0 replay)"}
	if body != nil {
		h["Content-Type"] = []string{contentTypeSCIM}
	}
	buf.Reset()
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return time.Since(start), err
	}
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	if resp.StatusCode == want || want == 0 && resp.StatusCode/100 == 2 {
		return d, nil
	}
	b := buf.String()
	if len(b) > 200 {
		b = b[:200] + "…"
	}
	return d, &errStatus{method, path, resp.StatusCode, b}
}

// listResp is the part of a ListResponse the tool reads.
type listResp struct {
	TotalResults int `json:"totalResults"`
	ItemsPerPage int `json:"itemsPerPage"`
	StartIndex   int `json:"startIndex"`
	Resources    []struct {
		ID string `json:"id"`
	} `json:"Resources"`
}

// idOf returns the "id" of a resource body.
func idOf(body []byte) (string, error) {
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", err
	}
	if r.ID == "" {
		return "", errors.New("response has no id")
	}
	return r.ID, nil
}
