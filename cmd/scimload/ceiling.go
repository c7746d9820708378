package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The ceiling is the fastest plausible server for the requests `run`
// sends: a bare net/http server over an in-memory map answering with
// canned JSON of the same shape and about the same size as a real SCIM
// server's. A server's throughput divided by the ceiling's, measured with
// the same load, machine and pinning, is the ratio the benchmarks report.

const ceilingUsage = `Usage: scimload ceiling [--addr 127.0.0.1:0] [--token T] [--base-path /scim/v2]

Serves Okta's request shapes from an in-memory map with canned JSON:
userName lookup → ListResponse with 0 or 1 user; POST /Users → 201, stored;
GET /Users/{id} → stored user; PATCH/PUT /Users/{id} → 200 stored user;
DELETE /Users/{id} → 204; POST /Groups → 201; PATCH /Groups/{id} → 200 canned group; any other
GET /Users list → a canned page of count users with the right totalResults.
Prints "scimload ceiling: BASE_URL" on stdout once listening; stops on
SIGINT/SIGTERM.

Flags:
`

func runCeiling(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scimload ceiling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, ceilingUsage); fs.PrintDefaults() }
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	token := fs.String("token", "", "bearer token to require (empty: accept any)")
	base := fs.String("base-path", "/scim/v2", "SCIM base path")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newCeiling(*token, *base), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	fmt.Fprintf(stdout, "scimload ceiling: http://%s%s\n", ln.Addr(), strings.TrimRight(*base, "/"))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// ceiling is the in-memory server.
type ceiling struct {
	auth   []byte // "Bearer T", or nil to accept any
	base   string
	mu     sync.RWMutex
	byName map[string]string // lower-cased userName → id
	users  map[string][]byte // id → JSON
	nextID atomic.Uint64
	page   []byte // cannedPageUsers canned users joined by commas
	ends   []int  // ends[k]: length of the first k+1 users in page
	group  []byte
}

const cannedPageUsers = 1000

func newCeiling(token, base string) http.Handler {
	c := &ceiling{byName: map[string]string{}, users: map[string][]byte{}, base: strings.TrimRight(base, "/")}
	if token != "" {
		c.auth = []byte("Bearer " + token)
	}
	var page []byte
	for i := range cannedPageUsers {
		if i > 0 {
			page = append(page, ',')
		}
		page = append(page, c.userJSON(fmt.Sprintf("%036d", i), userName("canned", i))...)
		c.ends = append(c.ends, len(page))
	}
	c.page = page
	c.group = fmt.Appendf(nil, `{"schemas":[%q],"id":"%036d","displayName":"canned","meta":{"resourceType":"Group",`+
		`"created":"2026-01-01T00:00:00.000000000Z","lastModified":"2026-01-01T00:00:00.000000000Z",`+
		`"location":"http://127.0.0.1%s/Groups/%036d","version":"W/\"1\""}}`, schemaGroup, 0, c.base, 0)

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+c.base+"/Users", c.list)
	mux.HandleFunc("POST "+c.base+"/Users", c.create)
	mux.HandleFunc("GET "+c.base+"/Users/{id}", c.get)
	mux.HandleFunc("PATCH "+c.base+"/Users/{id}", c.get)
	mux.HandleFunc("PUT "+c.base+"/Users/{id}", c.get)
	mux.HandleFunc("DELETE "+c.base+"/Users/{id}", c.delete)
	mux.HandleFunc("POST "+c.base+"/Groups", c.createGroup)
	mux.HandleFunc("GET "+c.base+"/Groups/{id}", c.getGroup)
	mux.HandleFunc("PATCH "+c.base+"/Groups/{id}", c.getGroup)
	return c.authenticate(mux)
}

// userJSON renders a user as a SCIM server would return it after Okta's
// create: about the same bytes as scimd's response.
func (c *ceiling) userJSON(id, name string) []byte {
	return fmt.Appendf(nil, `{"schemas":[%q],"id":%q,"externalId":"00u7f3kq2wXyZ","userName":%q,`+
		`"name":{"familyName":"Silva","givenName":"Ana"},"displayName":"Ana Silva","locale":"en-US","active":true,`+
		`"emails":[{"value":%q,"type":"work","primary":true}],"meta":{"resourceType":"User",`+
		`"created":"2026-01-01T00:00:00.000000000Z","lastModified":"2026-01-01T00:00:00.000000000Z",`+
		`"location":"http://127.0.0.1%s/Users/%s","version":"W/\"1\""}}`, schemaUser, id, name, name, c.base, id)
}

func (c *ceiling) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.auth != nil && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), c.auth) != 1 {
			c.error(w, http.StatusUnauthorized, "bad token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (c *ceiling) write(w http.ResponseWriter, status int, body ...[]byte) {
	n := 0
	for _, b := range body {
		n += len(b)
	}
	h := w.Header()
	h["Content-Type"] = []string{contentTypeSCIM}
	h["Content-Length"] = []string{strconv.Itoa(n)}
	w.WriteHeader(status)
	for _, b := range body {
		w.Write(b)
	}
}

func (c *ceiling) error(w http.ResponseWriter, status int, detail string) {
	c.write(w, status, fmt.Appendf(nil, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"%d","detail":%q}`, status, detail))
}

func (c *ceiling) listHead(total, start, n int) []byte {
	return fmt.Appendf(nil, `{"schemas":[%q],"totalResults":%d,"startIndex":%d,"itemsPerPage":%d,"Resources":[`, schemaListResp, total, start, n)
}

var listTail = []byte("]}")

func (c *ceiling) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := q.Get("filter")
	if len(f) > len(`userName eq "`) && strings.EqualFold(f[:len(`userName eq "`)], `userName eq "`) && strings.HasSuffix(f, `"`) {
		name := strings.ToLower(f[len(`userName eq "`) : len(f)-1])
		c.mu.RLock()
		body := c.users[c.byName[name]]
		c.mu.RUnlock()
		if body == nil {
			c.write(w, http.StatusOK, c.listHead(0, 1, 0), listTail)
			return
		}
		c.write(w, http.StatusOK, c.listHead(1, 1, 1), body, listTail)
		return
	}
	start, _ := strconv.Atoi(q.Get("startIndex"))
	count, err := strconv.Atoi(q.Get("count"))
	if err != nil {
		count = 100
	}
	start = max(start, 1)
	count = min(max(count, 0), cannedPageUsers)
	c.mu.RLock()
	total := len(c.users)
	c.mu.RUnlock()
	n := min(count, max(total-start+1, 0))
	if n == 0 {
		c.write(w, http.StatusOK, c.listHead(total, start, 0), listTail)
		return
	}
	c.write(w, http.StatusOK, c.listHead(total, start, n), c.page[:c.ends[n-1]], listTail)
}

func (c *ceiling) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserName string `json:"userName"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || in.UserName == "" {
		c.error(w, http.StatusBadRequest, "userName is required")
		return
	}
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", time.Now().Unix()&0xffffffff, c.nextID.Add(1))
	body := c.userJSON(id, in.UserName)
	key := strings.ToLower(in.UserName)
	c.mu.Lock()
	if _, dup := c.byName[key]; dup {
		c.mu.Unlock()
		c.error(w, http.StatusConflict, "userName is already taken")
		return
	}
	c.byName[key] = id
	c.users[id] = body
	c.mu.Unlock()
	w.Header()["Location"] = []string{"http://" + r.Host + c.base + "/Users/" + id}
	c.write(w, http.StatusCreated, body)
}

// get answers GET, PATCH and PUT of a user with the stored body.
func (c *ceiling) get(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	c.mu.RLock()
	body := c.users[r.PathValue("id")]
	c.mu.RUnlock()
	if body == nil {
		c.error(w, http.StatusNotFound, "no such user")
		return
	}
	c.write(w, http.StatusOK, body)
}

func (c *ceiling) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c.mu.Lock()
	body, ok := c.users[id]
	if ok {
		var u struct {
			UserName string `json:"userName"`
		}
		json.Unmarshal(body, &u)
		delete(c.byName, strings.ToLower(u.UserName))
		delete(c.users, id)
	}
	c.mu.Unlock()
	if !ok {
		c.error(w, http.StatusNotFound, "no such user")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *ceiling) createGroup(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	c.write(w, http.StatusCreated, c.group)
}

// getGroup answers GET and PATCH of any group with the canned group.
func (c *ceiling) getGroup(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	c.write(w, http.StatusOK, c.group)
}
