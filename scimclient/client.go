package scimclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Media types used by the client.
const (
	// MediaType is the SCIM media type (RFC 7644 §3.8). The client sends it
	// as Accept and as the Content-Type of request bodies unless overridden.
	MediaType = "application/scim+json"
)

// Defaults applied when the corresponding Client field is zero.
const (
	DefaultMaxRetries   = 3
	DefaultMaxRetryWait = 60 * time.Second
	DefaultRetryBudget  = 2 * time.Minute
	DefaultUserAgent    = "scimclient/1 (Go; +https://github.com/scimd/scimd)"

	// DefaultTimeout is the http.Client timeout set by New. It matches the
	// 60 s after which Okta abandons a SCIM call.
	DefaultTimeout = 60 * time.Second
)

// maxBodyBytes bounds how much of a response body is read.
const maxBodyBytes = 64 << 20

// minBackoff is the first backoff step when a retryable response carries no
// usable Retry-After header.
const minBackoff = 500 * time.Millisecond

// Client is a SCIM 2.0 client bound to one service provider base URL, such as
// "https://example.com/scim/v2".
//
// All fields may be set directly instead of through New's options, but not
// after the first request: a Client is safe for concurrent use only while it
// is not being modified.
type Client struct {
	// BaseURL is the SCIM base URL. Request paths are appended to its path;
	// a query string on it (e.g. Entra's "?aadOptscim062020") is kept and
	// sent on every request.
	BaseURL string

	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client

	// Auth, if non-nil, is applied to every attempt of every request.
	Auth Auth

	// UserAgent is sent as User-Agent; empty means DefaultUserAgent.
	UserAgent string

	// MaxRetries is how many times a request is retried after a
	// retryable failure (see Do). Zero means DefaultMaxRetries; a negative
	// value disables retries.
	MaxRetries int

	// MaxRetryWait caps a single wait, whether it comes from Retry-After
	// or from backoff. Zero means DefaultMaxRetryWait.
	MaxRetryWait time.Duration

	// RetryBudget caps the total time one call may spend waiting between
	// attempts. A retry whose wait would exceed the remaining budget (or the
	// context deadline) is not made; the last response is returned instead.
	// Zero means DefaultRetryBudget.
	RetryBudget time.Duration

	// QueryPlus makes the typed layer encode spaces in query values as '+'
	// (as older Okta and Entra do) instead of "%20".
	QueryPlus bool

	// Trace, if non-nil, is called after every attempt, including attempts
	// that are retried and attempts that failed without a response. The
	// Exchange's request headers are already redacted. Trace must not modify
	// the Exchange; it may be called concurrently for concurrent calls.
	Trace func(*Exchange)

	// Sensitive lists extra header names whose values are redacted in
	// Exchange and Request records, in addition to Authorization,
	// Proxy-Authorization, Cookie and Set-Cookie and any names reported by
	// Auth (see Auth).
	Sensitive []string

	// Sleep waits between attempts. Nil means a timer that stops early,
	// returning ctx.Err(), when ctx is done. Tests may replace it to run
	// retries without waiting.
	Sleep func(ctx context.Context, d time.Duration) error

	// Now returns the current time, used to interpret HTTP-date Retry-After
	// values; nil means time.Now.
	Now func() time.Time
}

// Option configures a Client in New.
type Option func(*Client)

// WithAuth sets Client.Auth.
func WithAuth(a Auth) Option { return func(c *Client) { c.Auth = a } }

// WithHTTPClient sets Client.HTTPClient.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.HTTPClient = hc } }

// WithUserAgent sets Client.UserAgent.
func WithUserAgent(ua string) Option { return func(c *Client) { c.UserAgent = ua } }

// WithMaxRetries sets how often a call is retried; n <= 0 disables retries.
func WithMaxRetries(n int) Option {
	return func(c *Client) {
		if n <= 0 {
			n = -1
		}
		c.MaxRetries = n
	}
}

// WithRetryLimits sets Client.MaxRetryWait and Client.RetryBudget.
func WithRetryLimits(maxWait, budget time.Duration) Option {
	return func(c *Client) { c.MaxRetryWait, c.RetryBudget = maxWait, budget }
}

// WithTrace sets Client.Trace.
func WithTrace(fn func(*Exchange)) Option { return func(c *Client) { c.Trace = fn } }

// WithQueryPlus sets Client.QueryPlus.
func WithQueryPlus(plus bool) Option { return func(c *Client) { c.QueryPlus = plus } }

// New returns a Client for baseURL with an http.Client whose timeout is
// DefaultTimeout, then applies opts.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		BaseURL:    baseURL,
		HTTPClient: &http.Client{Timeout: DefaultTimeout},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Request is a record of a request as it was sent, with sensitive header
// values redacted. Bodies are recorded verbatim.
type Request struct {
	Method string      // HTTP method as sent
	URL    string      // full URL, any userinfo password masked
	Header http.Header // headers as sent, secrets redacted
	Body   []byte      // body as sent; nil if none
}

// Response is an HTTP response from the server, fully read.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Header holds the response headers.
	Header http.Header
	// Body is the raw response body.
	Body []byte
	// JSON is Body decoded as a JSON object (numbers as json.Number), or nil
	// if Body is empty or not a JSON object.
	JSON map[string]any
	// Request records the request that produced this response.
	Request *Request
	// Attempts is the number of attempts made, 1 if not retried.
	Attempts int
	// Duration is the time taken by the last attempt.
	Duration time.Duration
}

// ETag returns the ETag response header.
func (r *Response) ETag() string { return r.Header.Get("ETag") }

// Location returns the Location response header.
func (r *Response) Location() string { return r.Header.Get("Location") }

// ContentType returns the Content-Type response header.
func (r *Response) ContentType() string { return r.Header.Get("Content-Type") }

// Decode decodes Body as JSON into v, with numbers in interface values
// decoded as json.Number.
func (r *Response) Decode(v any) error {
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("scimclient: decoding %d response to %s %s: %w", r.Status, r.Request.Method, r.Request.URL, err)
	}
	return nil
}

// Err returns nil for a 2xx response and an *Error otherwise. A 304
// response yields an *Error matching ErrNotModified.
func (r *Response) Err() error {
	if r.Status >= 200 && r.Status < 300 {
		return nil
	}
	return newError(r)
}

// Exchange records one attempt: the request sent and the response received
// or the transport error. Its String method renders both for diagnostics.
type Exchange struct {
	Request  *Request  // the request sent
	Response *Response // nil if Err is set
	Err      error     // transport error, nil if a response was received
	Attempt  int       // 1-based attempt number
}

// maxDumpBody bounds each body shown by Exchange.String.
const maxDumpBody = 16 << 10

// String renders the exchange in a curl-like form: request lines prefixed
// "> ", response lines "< ". Header values are already redacted; bodies
// longer than 16 KiB are truncated.
func (e *Exchange) String() string {
	var b strings.Builder
	if e.Request != nil {
		fmt.Fprintf(&b, "> %s %s\n", e.Request.Method, e.Request.URL)
		writeHeader(&b, "> ", e.Request.Header)
		writeBody(&b, "> ", e.Request.Body)
	}
	switch {
	case e.Err != nil:
		fmt.Fprintf(&b, "! %v\n", e.Err)
	case e.Response != nil:
		fmt.Fprintf(&b, "< %d %s\n", e.Response.Status, http.StatusText(e.Response.Status))
		writeHeader(&b, "< ", e.Response.Header)
		writeBody(&b, "< ", e.Response.Body)
	}
	return b.String()
}

func writeHeader(b *strings.Builder, prefix string, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(b, "%s%s: %s\n", prefix, k, v)
		}
	}
}

func writeBody(b *strings.Builder, prefix string, body []byte) {
	if len(body) == 0 {
		return
	}
	b.WriteString(prefix + "\n")
	s := string(body)
	more := ""
	if len(s) > maxDumpBody {
		more = fmt.Sprintf("… (%d bytes more)", len(s)-maxDumpBody)
		s = s[:maxDumpBody]
	}
	for line := range strings.SplitSeq(s, "\n") {
		b.WriteString(prefix + line + "\n")
	}
	if more != "" {
		b.WriteString(prefix + more + "\n")
	}
}

// Do sends one request and returns the server's response whatever its
// status; err is non-nil only when no response was obtained (transport
// failure, context cancellation, unusable arguments). Use Response.Err to
// turn a non-2xx response into an *Error.
//
// path is appended to BaseURL's path verbatim (it must already be escaped
// and may carry a query string, which is sent as given); an absolute
// "http://" or "https://" URL is used as is.
//
// body may be nil (no body), []byte, json.RawMessage, string or io.Reader
// (sent verbatim, so IdP payloads can be replayed byte for byte), or any other
// value, which is encoded as JSON without HTML escaping.
//
// Default headers are Accept and, with a body, Content-Type, both
// MediaType, and User-Agent. Auth is applied next. hdr is applied last and
// wins: each key in hdr replaces that header, and a key with no values
// removes it (e.g. hdr["Authorization"] = nil sends no credentials).
//
// Retries: a 429 response, or a 503 response to an idempotent method (GET,
// HEAD, OPTIONS, PUT, DELETE) or carrying Retry-After, is retried after the
// delay given by Retry-After (integer seconds or HTTP-date), or after
// exponential backoff with jitter when it is absent or unparsable; each wait
// is capped by MaxRetryWait and all waits by RetryBudget and the context
// deadline. A transport error is retried only for idempotent methods, never
// for POST or PATCH, since the server may have acted on the request.
func (c *Client) Do(ctx context.Context, method, path string, body any, hdr http.Header) (*Response, error) {
	u, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	payload, hasBody, err := encodeBody(body)
	if err != nil {
		return nil, err
	}
	maxRetries := c.MaxRetries
	if maxRetries == 0 {
		maxRetries = DefaultMaxRetries
	}
	budget := c.RetryBudget
	if budget <= 0 {
		budget = DefaultRetryBudget
	}
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		req, rec, err := c.newRequest(ctx, method, u, payload, hasBody, hdr)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		resp, err := c.send(req, rec)
		if resp != nil {
			resp.Attempts = attempt
			resp.Duration = time.Since(start)
		}
		ex := &Exchange{Request: rec, Response: resp, Err: err, Attempt: attempt}
		if c.Trace != nil {
			c.Trace(ex)
		}
		var delay time.Duration
		retry := false
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("scimclient: %s %s: %w", method, rec.URL, context.Cause(ctx))
			}
			retry = idempotent(method)
			delay = c.backoff(attempt)
		} else {
			retry, delay = c.retryable(method, resp, attempt)
		}
		if retry && attempt <= maxRetries && waited+delay <= budget && fitsDeadline(ctx, delay) {
			if err := c.sleep(ctx, delay); err != nil {
				return nil, fmt.Errorf("scimclient: %s %s: waiting to retry: %w", method, rec.URL, err)
			}
			waited += delay
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("scimclient: %s %s: %w", method, rec.URL, err)
		}
		return resp, nil
	}
}

// send performs one attempt and reads the whole body.
func (c *Client) send(req *http.Request, rec *Request) (*Response, error) {
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	hresp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading response body: %w", err)
	}
	if len(data) > maxBodyBytes {
		return nil, fmt.Errorf("response body exceeds %d bytes", maxBodyBytes)
	}
	resp := &Response{
		Status:  hresp.StatusCode,
		Header:  hresp.Header,
		Body:    data,
		Request: rec,
	}
	if len(bytes.TrimSpace(data)) > 0 && firstNonSpace(data) == '{' {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if dec.Decode(&m) == nil {
			resp.JSON = m
		}
	}
	return resp, nil
}

func firstNonSpace(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// newRequest builds one attempt's request and its redacted record.
func (c *Client) newRequest(ctx context.Context, method string, u *url.URL, payload []byte, hasBody bool, hdr http.Header) (*http.Request, *Request, error) {
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, nil, fmt.Errorf("scimclient: %w", err)
	}
	req.Header.Set("Accept", MediaType)
	if hasBody {
		req.Header.Set("Content-Type", MediaType)
	}
	ua := c.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("User-Agent", ua)
	if c.Auth != nil {
		c.Auth.Apply(req)
	}
	for k, vs := range hdr {
		if len(vs) == 0 {
			req.Header.Del(k)
			if http.CanonicalHeaderKey(k) == "User-Agent" {
				// net/http adds its own User-Agent unless the key is present and empty.
				req.Header["User-Agent"] = []string{""}
			}
			continue
		}
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
		req.Header.Del("Host")
	}
	rec := &Request{
		Method: method,
		URL:    redactURL(req.URL),
		Header: c.redact(req.Header),
		Body:   payload,
	}
	return req, rec, nil
}

// resolve joins path to BaseURL.
func (c *Client) resolve(path string) (*url.URL, error) {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		u, err := url.Parse(path)
		if err != nil {
			return nil, fmt.Errorf("scimclient: bad URL %q: %w", path, err)
		}
		return u, nil
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("scimclient: bad BaseURL %q: %w", c.BaseURL, err)
	}
	if base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("scimclient: BaseURL %q is not absolute", c.BaseURL)
	}
	p, q, _ := strings.Cut(path, "?")
	bq := base.RawQuery
	base.RawQuery, base.Fragment, base.RawFragment = "", "", ""
	s := strings.TrimSuffix(base.String(), "/")
	if p != "" {
		s += "/" + strings.TrimPrefix(p, "/")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("scimclient: bad path %q: %w", path, err)
	}
	switch {
	case bq != "" && q != "":
		u.RawQuery = bq + "&" + q
	case q != "":
		u.RawQuery = q
	default:
		u.RawQuery = bq
	}
	return u, nil
}

// encodeBody turns a Do body argument into bytes.
func encodeBody(body any) ([]byte, bool, error) {
	switch b := body.(type) {
	case nil:
		return nil, false, nil
	case []byte:
		return b, true, nil
	case json.RawMessage:
		return b, true, nil
	case string:
		return []byte(b), true, nil
	case io.Reader:
		data, err := io.ReadAll(b)
		if err != nil {
			return nil, false, fmt.Errorf("scimclient: reading request body: %w", err)
		}
		return data, true, nil
	}
	data, err := marshal(body)
	if err != nil {
		return nil, false, fmt.Errorf("scimclient: encoding request body: %w", err)
	}
	return data, true, nil
}

// marshal encodes v as compact JSON without HTML escaping.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// retryable reports whether resp should be retried and after what delay.
func (c *Client) retryable(method string, resp *Response, attempt int) (bool, time.Duration) {
	ra := resp.Header.Get("Retry-After")
	switch {
	case resp.Status == http.StatusTooManyRequests:
	case resp.Status == http.StatusServiceUnavailable && (idempotent(method) || ra != ""):
	default:
		return false, 0
	}
	if d, ok := c.parseRetryAfter(ra); ok {
		return true, min(d, c.maxWait())
	}
	return true, c.backoff(attempt)
}

// parseRetryAfter parses integer seconds or an HTTP-date.
func (c *Client) parseRetryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := parseUint(v); err == nil {
		if n > int64(24*time.Hour/time.Second) {
			return 24 * time.Hour, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return max(t.Sub(now()), 0), true
}

func parseUint(s string) (int64, error) {
	var n int64
	if s == "" {
		return 0, errors.New("empty")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int64(r-'0')
		if n > 1<<40 {
			return n, nil
		}
	}
	return n, nil
}

func (c *Client) maxWait() time.Duration {
	if c.MaxRetryWait > 0 {
		return c.MaxRetryWait
	}
	return DefaultMaxRetryWait
}

// backoff returns an exponential delay with jitter for the given attempt:
// uniformly random in [d/2, d] where d = minBackoff·2^(attempt-1), capped.
func (c *Client) backoff(attempt int) time.Duration {
	d := minBackoff
	for i := 1; i < attempt && d < c.maxWait(); i++ {
		d *= 2
	}
	d = min(d, c.maxWait())
	return d/2 + jitter(d/2)
}

func fitsDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}
