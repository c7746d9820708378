package scimclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// CallOption adjusts one typed-layer call.
type CallOption func(*call)

type call struct {
	hdr   http.Header
	query [][2]string
}

// IfMatch sends If-Match: etag, making a write conditional (412 on
// mismatch, see ErrPreconditionFailed). Use Response.ETag or
// Resource.Version for the value.
func IfMatch(etag string) CallOption { return WithHeader("If-Match", etag) }

// IfNoneMatch sends If-None-Match: etag; a GET then fails with an error
// matching ErrNotModified if the resource is unchanged.
func IfNoneMatch(etag string) CallOption { return WithHeader("If-None-Match", etag) }

// WithHeader sets a request header, replacing defaults and Auth; an empty
// value removes the header.
func WithHeader(name, value string) CallOption {
	return func(c *call) {
		if c.hdr == nil {
			c.hdr = http.Header{}
		}
		if value == "" {
			c.hdr[http.CanonicalHeaderKey(name)] = nil
			return
		}
		c.hdr.Set(name, value)
	}
}

// WithQuery sets a query parameter, replacing one of the same name set by
// ListOptions (e.g. WithQuery("count", "0"), which ListOptions cannot
// express).
func WithQuery(name, value string) CallOption {
	return func(c *call) {
		for i, kv := range c.query {
			if kv[0] == name {
				c.query[i][1] = value
				return
			}
		}
		c.query = append(c.query, [2]string{name, value})
	}
}

// Attributes requests only the named attributes (plus those always
// returned) in the response, via the "attributes" query parameter.
func Attributes(names ...string) CallOption {
	return WithQuery("attributes", strings.Join(names, ","))
}

// ExcludedAttributes asks the server to leave the named attributes out of
// the response, via the "excludedAttributes" query parameter.
func ExcludedAttributes(names ...string) CallOption {
	return WithQuery("excludedAttributes", strings.Join(names, ","))
}

// Endpoint is the typed layer for one resource endpoint such as "/Users".
//
// Methods that return a Response return it whenever the server answered,
// also alongside an *Error for non-2xx statuses, so callers can inspect
// status codes and headers (e.g. 201 and Location on create).
type Endpoint struct {
	c    *Client
	path string
}

// Resources returns the Endpoint for a resource endpoint path relative to
// BaseURL, e.g. "/Users" or "/Roles".
func (c *Client) Resources(path string) *Endpoint {
	return &Endpoint{c: c, path: "/" + strings.Trim(path, "/")}
}

// Users returns the "/Users" endpoint.
func (c *Client) Users() *Endpoint { return c.Resources("/Users") }

// Groups returns the "/Groups" endpoint.
func (c *Client) Groups() *Endpoint { return c.Resources("/Groups") }

// Path returns the endpoint's path relative to BaseURL.
func (e *Endpoint) Path() string { return e.path }

// Create POSTs body to the endpoint. body is anything Do accepts: a
// Resource, a struct, or raw JSON bytes. The returned Resource is the
// server's representation (nil if the response had no body).
func (e *Endpoint) Create(ctx context.Context, body any, opts ...CallOption) (Resource, *Response, error) {
	resp, err := e.c.call(ctx, http.MethodPost, e.path, nil, body, opts)
	return resourceOf(resp, err)
}

// Get fetches the resource with the given id.
func (e *Endpoint) Get(ctx context.Context, id string, opts ...CallOption) (Resource, *Response, error) {
	p, err := e.idPath(id)
	if err != nil {
		return nil, nil, err
	}
	resp, err := e.c.call(ctx, http.MethodGet, p, nil, nil, opts)
	return resourceOf(resp, err)
}

// Replace PUTs body as the new state of resource id. The returned Resource
// is nil if the server answered 204.
func (e *Endpoint) Replace(ctx context.Context, id string, body any, opts ...CallOption) (Resource, *Response, error) {
	p, err := e.idPath(id)
	if err != nil {
		return nil, nil, err
	}
	resp, err := e.c.call(ctx, http.MethodPut, p, nil, body, opts)
	return resourceOf(resp, err)
}

// Patch sends a PATCH to resource id. body is usually a *PatchRequest but
// may be any raw body Do accepts, e.g. a SCIM 1.1 partial resource. The
// returned Resource is nil if the server answered 204.
func (e *Endpoint) Patch(ctx context.Context, id string, body any, opts ...CallOption) (Resource, *Response, error) {
	p, err := e.idPath(id)
	if err != nil {
		return nil, nil, err
	}
	resp, err := e.c.call(ctx, http.MethodPatch, p, nil, body, opts)
	return resourceOf(resp, err)
}

// Delete deletes resource id.
func (e *Endpoint) Delete(ctx context.Context, id string, opts ...CallOption) (*Response, error) {
	p, err := e.idPath(id)
	if err != nil {
		return nil, err
	}
	return e.c.call(ctx, http.MethodDelete, p, nil, nil, opts)
}

func (e *Endpoint) idPath(id string) (string, error) {
	if id == "" {
		return "", errors.New("scimclient: empty resource id")
	}
	return e.path + "/" + url.PathEscape(id), nil
}

// ListOptions are the query parameters of a list (RFC 7644 §3.4.2) or the
// members of a search request. Zero fields are not sent.
type ListOptions struct {
	// Filter is a SCIM filter expression, e.g. `userName eq "ana"`.
	Filter string
	// StartIndex is the 1-based index of the first result.
	StartIndex int
	// Count is the page size; use WithQuery("count", "0") to send zero.
	Count int
	// SortBy names the attribute to order results by.
	SortBy string
	// SortOrder is "ascending" or "descending".
	SortOrder string
	// Attributes lists the attributes to return (plus those always returned).
	Attributes []string
	// ExcludedAttributes lists attributes to leave out of the default set.
	ExcludedAttributes []string
	// Cursor is an RFC 9865 cursor from ListResponse.NextCursor.
	Cursor string
	// UseCursor sends the cursor parameter even when Cursor is empty, which
	// asks for the first page of cursor-based pagination; All then follows
	// NextCursor instead of startIndex.
	UseCursor bool
}

func (o ListOptions) query() [][2]string {
	var q [][2]string
	add := func(k, v string) {
		if v != "" {
			q = append(q, [2]string{k, v})
		}
	}
	add("filter", o.Filter)
	if o.StartIndex != 0 {
		add("startIndex", strconv.Itoa(o.StartIndex))
	}
	if o.Count != 0 {
		add("count", strconv.Itoa(o.Count))
	}
	add("sortBy", o.SortBy)
	add("sortOrder", o.SortOrder)
	add("attributes", strings.Join(o.Attributes, ","))
	add("excludedAttributes", strings.Join(o.ExcludedAttributes, ","))
	if o.Cursor != "" || o.UseCursor {
		q = append(q, [2]string{"cursor", o.Cursor})
	}
	return q
}

// searchRequest is the POST /.search body (RFC 7644 §3.4.3).
type searchRequest struct {
	Schemas            []string `json:"schemas"`
	Attributes         []string `json:"attributes,omitempty"`
	ExcludedAttributes []string `json:"excludedAttributes,omitempty"`
	Filter             string   `json:"filter,omitempty"`
	SortBy             string   `json:"sortBy,omitempty"`
	SortOrder          string   `json:"sortOrder,omitempty"`
	StartIndex         int      `json:"startIndex,omitempty"`
	Count              int      `json:"count,omitempty"`
	Cursor             *string  `json:"cursor,omitempty"`
}

func (o ListOptions) searchBody() searchRequest {
	s := searchRequest{
		Schemas:            []string{SchemaSearchRequest},
		Attributes:         o.Attributes,
		ExcludedAttributes: o.ExcludedAttributes,
		Filter:             o.Filter,
		SortBy:             o.SortBy,
		SortOrder:          o.SortOrder,
		StartIndex:         o.StartIndex,
		Count:              o.Count,
	}
	if o.Cursor != "" || o.UseCursor {
		s.Cursor = &o.Cursor
	}
	return s
}

// ListResponse is a decoded ListResponse message (RFC 7644 §3.4.2). Integer
// members sent as numeric strings are accepted; Raw keeps the exact body.
type ListResponse struct {
	// TotalResults is -1 when the server omitted it (allowed with cursors).
	TotalResults int
	// StartIndex is the 1-based index of the first result, 0 if absent.
	StartIndex int
	// ItemsPerPage is the number of results on this page, 0 if absent.
	ItemsPerPage int
	// Resources are the page's resources (from "Resources").
	Resources []Resource
	// NextCursor is the RFC 9865 cursor of the next page, empty on the last.
	NextCursor string
	// PreviousCursor is the RFC 9865 cursor of the previous page, if sent.
	PreviousCursor string
	// Raw is the whole decoded body.
	Raw Resource
}

// List GETs one page of the endpoint.
func (e *Endpoint) List(ctx context.Context, opts ListOptions, callOpts ...CallOption) (*ListResponse, *Response, error) {
	resp, err := e.c.call(ctx, http.MethodGet, e.path, opts.query(), nil, callOpts)
	return listOf(resp, err)
}

// Search POSTs a SearchRequest built from opts to the endpoint's
// "/.search" (RFC 7644 §3.4.3).
func (e *Endpoint) Search(ctx context.Context, opts ListOptions, callOpts ...CallOption) (*ListResponse, *Response, error) {
	resp, err := e.c.call(ctx, http.MethodPost, strings.TrimSuffix(e.path, "/")+"/.search", nil, opts.searchBody(), callOpts)
	return listOf(resp, err)
}

// Search POSTs a SearchRequest to "/.search" at the service provider root,
// searching all resource types.
func (c *Client) Search(ctx context.Context, opts ListOptions, callOpts ...CallOption) (*ListResponse, *Response, error) {
	resp, err := c.call(ctx, http.MethodPost, "/.search", nil, opts.searchBody(), callOpts)
	return listOf(resp, err)
}

// All iterates over every resource matching opts, fetching pages with List
// as the loop advances. It pages by startIndex (from opts.StartIndex, or 1)
// until totalResults is reached or a page is empty; with opts.UseCursor or
// opts.Cursor set it follows NextCursor instead. opts.Count sets the page
// size. An error ends the iteration after being yielded once, including
// when the server keeps returning the same page.
func (e *Endpoint) All(ctx context.Context, opts ListOptions, callOpts ...CallOption) iter.Seq2[Resource, error] {
	return func(yield func(Resource, error) bool) {
		cursorMode := opts.UseCursor || opts.Cursor != ""
		o := opts
		if !cursorMode && o.StartIndex < 1 {
			o.StartIndex = 1
		}
		prevFirst := ""
		for {
			lr, _, err := e.List(ctx, o, callOpts...)
			if err != nil {
				yield(nil, err)
				return
			}
			n := len(lr.Resources)
			if !cursorMode && n > 0 {
				first := lr.Resources[0].ID()
				if first != "" && first == prevFirst {
					yield(nil, fmt.Errorf("scimclient: %s: startIndex=%d returned the same page as the previous request (startIndex ignored?)", e.path, o.StartIndex))
					return
				}
				prevFirst = first
			}
			for _, r := range lr.Resources {
				if !yield(r, nil) {
					return
				}
			}
			if cursorMode {
				if lr.NextCursor == "" {
					return
				}
				if lr.NextCursor == o.Cursor {
					yield(nil, fmt.Errorf("scimclient: %s: server returned the same nextCursor %q twice", e.path, o.Cursor))
					return
				}
				o.Cursor, o.UseCursor = lr.NextCursor, true
				continue
			}
			if n == 0 {
				return
			}
			next := o.StartIndex + n
			if lr.TotalResults >= 0 && next > lr.TotalResults {
				return
			}
			if lr.TotalResults < 0 && o.Count > 0 && n < o.Count {
				return
			}
			o.StartIndex = next
		}
	}
}

// ServiceProviderConfig fetches "/ServiceProviderConfig" (RFC 7644 §4).
func (c *Client) ServiceProviderConfig(ctx context.Context, opts ...CallOption) (Resource, *Response, error) {
	resp, err := c.call(ctx, http.MethodGet, "/ServiceProviderConfig", nil, nil, opts)
	return resourceOf(resp, err)
}

// ResourceTypes fetches "/ResourceTypes". A bare JSON array, which some
// servers return instead of a ListResponse, is accepted.
func (c *Client) ResourceTypes(ctx context.Context, opts ...CallOption) (*ListResponse, *Response, error) {
	resp, err := c.call(ctx, http.MethodGet, "/ResourceTypes", nil, nil, opts)
	return listOf(resp, err)
}

// Schemas fetches "/Schemas". A bare JSON array is accepted.
func (c *Client) Schemas(ctx context.Context, opts ...CallOption) (*ListResponse, *Response, error) {
	resp, err := c.call(ctx, http.MethodGet, "/Schemas", nil, nil, opts)
	return listOf(resp, err)
}

// call runs a typed-layer request: it adds query parameters (encoded per
// QueryPlus) and call options, and turns non-2xx responses into *Error.
func (c *Client) call(ctx context.Context, method, path string, q [][2]string, body any, opts []CallOption) (*Response, error) {
	cl := call{query: q}
	for _, o := range opts {
		o(&cl)
	}
	if len(cl.query) > 0 {
		path += "?" + encodeQuery(cl.query, c.QueryPlus)
	}
	resp, err := c.Do(ctx, method, path, body, cl.hdr)
	if err != nil {
		return nil, err
	}
	return resp, resp.Err()
}

// encodeQuery encodes pairs in order, spaces as "%20" or, with plus, "+".
func encodeQuery(q [][2]string, plus bool) string {
	var b strings.Builder
	for i, kv := range q {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escapeQuery(kv[0], plus))
		b.WriteByte('=')
		b.WriteString(escapeQuery(kv[1], plus))
	}
	return b.String()
}

func escapeQuery(s string, plus bool) string {
	e := url.QueryEscape(s) // spaces become '+', a literal '+' becomes %2B
	if plus {
		return e
	}
	return strings.ReplaceAll(e, "+", "%20")
}

func resourceOf(resp *Response, err error) (Resource, *Response, error) {
	if err != nil {
		return nil, resp, err
	}
	if len(bytes.TrimSpace(resp.Body)) == 0 {
		return nil, resp, nil
	}
	if resp.JSON == nil {
		return nil, resp, fmt.Errorf("scimclient: %s %s: %d response body is not a JSON object", resp.Request.Method, resp.Request.URL, resp.Status)
	}
	return Resource(resp.JSON), resp, nil
}

func listOf(resp *Response, err error) (*ListResponse, *Response, error) {
	if err != nil {
		return nil, resp, err
	}
	lr := &ListResponse{TotalResults: -1}
	if firstNonSpace(resp.Body) == '[' {
		var arr []map[string]any
		if err := resp.Decode(&arr); err != nil {
			return nil, resp, err
		}
		for _, m := range arr {
			lr.Resources = append(lr.Resources, m)
		}
		lr.TotalResults = len(arr)
		return lr, resp, nil
	}
	if resp.JSON == nil {
		return nil, resp, fmt.Errorf("scimclient: %s %s: %d response body is not a JSON object", resp.Request.Method, resp.Request.URL, resp.Status)
	}
	m := resp.JSON
	lr.Raw = m
	if n, ok := intOf(lookupFold(m, "totalResults")); ok {
		lr.TotalResults = n
	}
	lr.StartIndex, _ = intOf(lookupFold(m, "startIndex"))
	lr.ItemsPerPage, _ = intOf(lookupFold(m, "itemsPerPage"))
	lr.NextCursor = scalarString(lookupFold(m, "nextCursor"))
	lr.PreviousCursor = scalarString(lookupFold(m, "previousCursor"))
	if rs, ok := lookupFold(m, "Resources").([]any); ok {
		for _, r := range rs {
			if obj, ok := r.(map[string]any); ok {
				lr.Resources = append(lr.Resources, obj)
			}
		}
	}
	return lr, resp, nil
}
