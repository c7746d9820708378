package conformance

// A deliberately simple in-memory SCIM server for testing the kit, with
// switches that inject one defect each. It imports nothing from scimd's
// server packages, so the kit is tested independently of scimd.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/scimclient"
)

const fakeToken = "fake-token-0123456789"

// fake is the server state. All handlers run under mu.
type fake struct {
	mu      sync.Mutex
	defects map[string]bool
	url     string
	res     map[string]map[string]map[string]any // "Users"/"Groups" → id → resource
	order   map[string][]string                  // insertion order of ids
	version map[string]int                       // id → version
	secrets map[string]any                       // id → password
}

// newFake starts a fake server with the given defects and returns it with
// a client for it.
func newFake(t *testing.T, defects ...string) (*fake, *scimclient.Client) {
	t.Helper()
	f := &fake{
		defects: map[string]bool{},
		res:     map[string]map[string]map[string]any{"Users": {}, "Groups": {}},
		order:   map[string][]string{},
		version: map[string]int{},
		secrets: map[string]any{},
	}
	for _, d := range defects {
		if !knownDefects[d] {
			t.Fatalf("unknown defect %q", d)
		}
		f.defects[d] = true
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	c := scimclient.New(srv.URL+"/scim/v2", scimclient.WithAuth(scimclient.Bearer(fakeToken)), scimclient.WithMaxRetries(0))
	return f, c
}

// knownDefects lists every defect switch; see defectCases for what each
// breaks.
var knownDefects = map[string]bool{}

func init() {
	for _, d := range strings.Fields(`
		spc-string-supported rt-wrong-user-endpoint schemas-missing-enterprise username-case-exact-schema
		groups-list-broken create-200 create-empty-body drop-family-name id-from-externalid active-string
		filters-ignored lookup-case-sensitive string-total-results duplicates-allowed unique-case-sensitive
		not-found-no-body no-auth no-path-replace-ignored inactive-hidden active-sticky-false
		put-rejects-readonly put-ignores-active group-create-200 group-displayname-filter-400
		rename-rejects-id member-add-requires-type member-remove-filter-ignored members-replace-appends
		plus-not-decoded reject-null externalid-filter-unsupported valuepath-filter-unsupported
		ops-case-sensitive string-booleans-rejected dotted-keys-literal manager-string-rejected
		valuepath-no-create reject-unknown-schema excluded-ignored ref-null-rejected remove-value-wipes
		group-path-replace-ignored invalid-filter-ignored filter-co-as-eq filter-not-ignored filter-and-as-or
		filter-compare-swapped filter-first-value-only filter-names-case-sensitive patch-remove-ignored
		patch-not-atomic patch-remove-no-path-ok members-duplicated start-index-zero-based count-zero-ignored
		start-index-below-one-error sort-ignored attributes-ignored password-returned etag-412-ignored
		error-status-number content-type-json json-content-type-rejected location-missing delete-soft
		put-creates patch-ignored empty-lookup-404 no-sort-advertised delete-fails primary-not-cleared`) {
		knownDefects[d] = true
	}
}

func (f *fake) has(d string) bool { return f.defects[d] }

// add stores a resource directly (used to seed data that is not the
// kit's).
func (f *fake) add(typ string, r map[string]any) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := newID()
	r["id"] = id
	f.res[typ][id] = r
	f.order[typ] = append(f.order[typ], id)
	f.version[id] = 1
	return id
}

// count returns how many resources of typ exist.
func (f *fake) count(typ string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.res[typ])
}

// snapshot returns a JSON dump of all resources, for comparisons.
func (f *fake) snapshot() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := json.Marshal(f.res)
	return string(b)
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// scimErr is an error response to write.
type scimErr struct {
	status   int
	scimType string
	detail   string
}

func (e *scimErr) Error() string { return e.detail }

func errf(status int, scimType, format string, args ...any) *scimErr {
	return &scimErr{status, scimType, fmt.Sprintf(format, args...)}
}

func (f *fake) write(w http.ResponseWriter, status int, v any) {
	ct := "application/scim+json; charset=utf-8"
	if f.has("content-type-json") {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func (f *fake) writeErr(w http.ResponseWriter, e *scimErr) {
	if e.status == http.StatusNotFound && f.has("not-found-no-body") {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	body := map[string]any{"schemas": []string{scimclient.SchemaError}, "status": strconv.Itoa(e.status), "detail": e.detail}
	if f.has("error-status-number") {
		body["status"] = e.status
	}
	if e.scimType != "" {
		body["scimType"] = e.scimType
	}
	f.write(w, e.status, body)
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.serve(w, r); err != nil {
		var se *scimErr
		if !errors.As(err, &se) {
			se = errf(500, "", "%v", err)
		}
		f.writeErr(w, se)
	}
}

// query parses the query string; keys are lower-cased.
func (f *fake) query(r *http.Request) map[string]string {
	q := map[string]string{}
	for kv := range strings.SplitSeq(r.URL.RawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		var dk, dv string
		if f.has("plus-not-decoded") {
			dk, _ = url.PathUnescape(k)
			dv, _ = url.PathUnescape(v)
		} else {
			dk, _ = url.QueryUnescape(k)
			dv, _ = url.QueryUnescape(v)
		}
		q[strings.ToLower(dk)] = dv
	}
	return q
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) error {
	if !f.has("no-auth") && r.Header.Get("Authorization") != "Bearer "+fakeToken {
		return errf(401, "", "missing or invalid credentials")
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/scim/v2")
	if !ok {
		return errf(404, "", "no such endpoint")
	}
	q := f.query(r)
	switch path {
	case "/ServiceProviderConfig":
		f.write(w, 200, f.spc())
		return nil
	case "/ResourceTypes":
		f.write(w, 200, listOfAny(f.resourceTypes()))
		return nil
	case "/Schemas":
		f.write(w, 200, listOfAny(f.schemas()))
		return nil
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	typ := seg[0]
	if typ != "Users" && typ != "Groups" {
		return errf(404, "", "no such endpoint")
	}
	switch {
	case len(seg) == 1 && r.Method == http.MethodGet:
		return f.list(w, typ, q)
	case len(seg) == 1 && r.Method == http.MethodPost:
		return f.create(w, r, typ)
	case len(seg) == 2:
		id := seg[1]
		switch r.Method {
		case http.MethodGet:
			return f.get(w, r, typ, id, q)
		case http.MethodPut:
			return f.put(w, r, typ, id)
		case http.MethodPatch:
			return f.patch(w, r, typ, id)
		case http.MethodDelete:
			return f.delete(w, typ, id)
		}
	}
	return errf(405, "", "method not allowed")
}

func listOfAny(items []any) map[string]any {
	return map[string]any{"schemas": []string{scimclient.SchemaListResponse}, "totalResults": len(items),
		"startIndex": 1, "itemsPerPage": len(items), "Resources": items}
}

func (f *fake) spc() map[string]any {
	sup := func(b bool) map[string]any {
		if f.has("spc-string-supported") {
			return map[string]any{"supported": strconv.FormatBool(b)}
		}
		return map[string]any{"supported": b}
	}
	return map[string]any{
		"schemas":        []string{schemaSPC},
		"patch":          sup(true),
		"bulk":           map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":         map[string]any{"supported": true, "maxResults": 200},
		"changePassword": sup(false),
		"sort":           sup(!f.has("no-sort-advertised")),
		"etag":           sup(true),
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "Bearer", "description": "bearer token"}},
	}
}

func (f *fake) resourceTypes() []any {
	userEP := "/Users"
	if f.has("rt-wrong-user-endpoint") {
		userEP = "/Accounts"
	}
	return []any{
		map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": "User", "name": "User",
			"endpoint": userEP, "schema": scimclient.SchemaUser,
			"schemaExtensions": []any{map[string]any{"schema": scimclient.SchemaEnterpriseUser, "required": false}}},
		map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": "Group", "name": "Group",
			"endpoint": "/Groups", "schema": scimclient.SchemaGroup},
	}
}

func (f *fake) schemas() []any {
	attr := func(name string, kv ...any) map[string]any {
		m := map[string]any{"name": name, "type": "string", "multiValued": false, "required": false, "caseExact": false,
			"mutability": "readWrite", "returned": "default", "uniqueness": "none"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	out := []any{
		map[string]any{"id": scimclient.SchemaUser, "name": "User", "attributes": []any{
			attr("userName", "required", true, "caseExact", f.has("username-case-exact-schema"), "uniqueness", "server"),
			attr("displayName"), attr("active", "type", "boolean"),
			attr("password", "mutability", "writeOnly", "returned", "never"),
			attr("groups", "multiValued", true, "mutability", "readOnly", "type", "complex"),
		}},
		map[string]any{"id": scimclient.SchemaGroup, "name": "Group", "attributes": []any{attr("displayName", "required", true)}},
	}
	if !f.has("schemas-missing-enterprise") {
		out = append(out, map[string]any{"id": scimclient.SchemaEnterpriseUser, "name": "EnterpriseUser",
			"attributes": []any{attr("department"), attr("employeeNumber")}})
	}
	return out
}

// etag returns the weak ETag of resource id.
func (f *fake) etag(id string) string { return fmt.Sprintf(`W/"%d"`, f.version[id]) }

func (f *fake) location(typ, id string) string { return f.url + "/scim/v2/" + typ + "/" + id }

// render returns the representation of a stored resource, with meta and
// the projection given by attributes / excludedAttributes.
func (f *fake) render(typ string, r map[string]any, attributes, excluded string) map[string]any {
	out := deepCopyMap(r)
	id := r["id"].(string)
	if f.has("password-returned") {
		if pw, ok := f.secrets[id]; ok {
			out["password"] = pw
		}
	}
	if f.has("active-string") {
		if b, ok := out["active"].(bool); ok {
			out["active"] = strconv.FormatBool(b)
		}
	}
	meta := map[string]any{"resourceType": strings.TrimSuffix(typ, "s"), "version": f.etag(id)}
	if !f.has("location-missing") {
		meta["location"] = f.location(typ, id)
	}
	out["meta"] = meta
	if attributes != "" && !f.has("attributes-ignored") {
		keep := map[string]bool{"id": true, "schemas": true}
		for a := range strings.SplitSeq(attributes, ",") {
			top, _, _ := strings.Cut(strings.TrimSpace(a), ".")
			keep[strings.ToLower(top)] = true
		}
		for k := range out {
			if !keep[strings.ToLower(k)] {
				delete(out, k)
			}
		}
	}
	if excluded != "" && !f.has("excluded-ignored") {
		for a := range strings.SplitSeq(excluded, ",") {
			a = strings.TrimSpace(a)
			if strings.EqualFold(a, "id") {
				continue
			}
			if k, _, ok := getFold(out, a); ok {
				delete(out, k)
			}
		}
	}
	return out
}

func deepCopyMap(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// getFold looks key up case-insensitively and returns the stored key.
func getFold(m map[string]any, key string) (string, any, bool) {
	if v, ok := m[key]; ok {
		return key, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return k, v, true
		}
	}
	return "", nil, false
}

// setFold stores v under key, replacing a key that differs only in case.
func setFold(m map[string]any, key string, v any) {
	if k, _, ok := getFold(m, key); ok {
		delete(m, k)
	}
	m[key] = v
}

func (f *fake) lookup(typ, id string) (map[string]any, error) {
	r, ok := f.res[typ][id]
	if !ok {
		return nil, errf(404, "", "%s %s not found", typ, id)
	}
	if typ == "Users" && f.has("inactive-hidden") && r["active"] == false {
		return nil, errf(404, "", "%s %s not found", typ, id)
	}
	return r, nil
}

func (f *fake) get(w http.ResponseWriter, r *http.Request, typ, id string, q map[string]string) error {
	res, err := f.lookup(typ, id)
	if err != nil {
		return err
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == f.etag(id) {
		w.Header().Set("ETag", f.etag(id))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("ETag", f.etag(id))
	f.write(w, 200, f.render(typ, res, q["attributes"], q["excludedattributes"]))
	return nil
}

// decode reads a JSON object body, checking its media type.
func (f *fake) decode(r *http.Request) (map[string]any, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" && f.has("json-content-type-rejected") {
		return nil, errf(415, "", "unsupported media type")
	}
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		return nil, errf(400, "invalidSyntax", "bad JSON: %v", err)
	}
	return m, nil
}

var knownSchemas = []string{scimclient.SchemaUser, scimclient.SchemaGroup, scimclient.SchemaEnterpriseUser}

// prepare validates and cleans a POST or PUT body: read-only attributes
// and nulls go, the password is split off.
func (f *fake) prepare(typ, selfID string, body map[string]any) (map[string]any, any, error) {
	if f.has("reject-unknown-schema") {
		for _, s := range scimclient.Resource(body).Schemas() {
			if !slices.Contains(knownSchemas, s) {
				return nil, nil, errf(400, "invalidValue", "unknown schema %s", s)
			}
		}
	}
	out := map[string]any{}
	var password any
	for k, v := range body {
		switch strings.ToLower(k) {
		case "id", "meta", "groups":
			continue
		case "password":
			password = v
			continue
		}
		if v == nil {
			if f.has("reject-null") {
				return nil, nil, errf(400, "invalidValue", "%s is null", k)
			}
			continue
		}
		out[k] = v
	}
	if typ == "Users" {
		un, _ := scimclient.Resource(out).Get("userName")
		name, _ := un.(string)
		if name == "" {
			return nil, nil, errf(400, "invalidValue", "userName is required")
		}
		if !f.has("duplicates-allowed") {
			for id, other := range f.res["Users"] {
				on := scimclient.Resource(other).String("userName")
				same := strings.EqualFold(on, name)
				if f.has("unique-case-sensitive") {
					same = on == name
				}
				if same && id != selfID {
					return nil, nil, errf(409, "uniqueness", "userName %q is taken", name)
				}
			}
		}
		if f.has("drop-family-name") {
			if n, ok := out["name"].(map[string]any); ok {
				delete(n, "familyName")
			}
		}
	}
	return out, password, nil
}

func (f *fake) create(w http.ResponseWriter, r *http.Request, typ string) error {
	body, err := f.decode(r)
	if err != nil {
		return err
	}
	res, password, err := f.prepare(typ, "", body)
	if err != nil {
		return err
	}
	id := newID()
	if ext, ok := res["externalId"].(string); ok && ext != "" && f.has("id-from-externalid") {
		id = ext
	}
	if typ == "Users" {
		if _, ok := res["active"]; !ok {
			res["active"] = true
		}
	}
	res["id"] = id
	f.res[typ][id] = res
	f.order[typ] = append(f.order[typ], id)
	f.version[id] = 1
	if password != nil {
		f.secrets[id] = password
	}
	status := 201
	if f.has("create-200") || (typ == "Groups" && f.has("group-create-200")) {
		status = 200
	}
	if !f.has("location-missing") {
		w.Header().Set("Location", f.location(typ, id))
	}
	w.Header().Set("ETag", f.etag(id))
	if f.has("create-empty-body") {
		w.WriteHeader(status)
		return nil
	}
	f.write(w, status, f.render(typ, res, "", ""))
	return nil
}

// ifMatch checks an If-Match header against the current version.
func (f *fake) ifMatch(r *http.Request, id string) error {
	im := r.Header.Get("If-Match")
	if im == "" || im == "*" || im == f.etag(id) || f.has("etag-412-ignored") {
		return nil
	}
	return errf(412, "", "version mismatch")
}

func (f *fake) put(w http.ResponseWriter, r *http.Request, typ, id string) error {
	old, err := f.lookup(typ, id)
	if err != nil {
		if !f.has("put-creates") {
			return err
		}
		old = map[string]any{"id": id}
		f.res[typ][id] = old
		f.order[typ] = append(f.order[typ], id)
	}
	if err := f.ifMatch(r, id); err != nil {
		return err
	}
	body, err := f.decode(r)
	if err != nil {
		return err
	}
	if f.has("put-rejects-readonly") {
		for _, k := range []string{"id", "meta", "groups"} {
			if _, _, ok := getFold(body, k); ok {
				return errf(400, "mutability", "%s is read-only", k)
			}
		}
	}
	res, password, err := f.prepare(typ, id, body)
	if err != nil {
		return err
	}
	res["id"] = id
	if typ == "Users" {
		if _, _, ok := getFold(res, "active"); !ok || f.has("put-ignores-active") {
			setFold(res, "active", old["active"])
		}
	}
	if password != nil {
		f.secrets[id] = password
	}
	f.res[typ][id] = res
	f.version[id]++
	w.Header().Set("ETag", f.etag(id))
	f.write(w, 200, f.render(typ, res, "", ""))
	return nil
}

func (f *fake) delete(w http.ResponseWriter, typ, id string) error {
	if _, err := f.lookup(typ, id); err != nil {
		return err
	}
	if f.has("delete-fails") {
		return errf(500, "", "cannot delete")
	}
	if !f.has("delete-soft") {
		delete(f.res[typ], id)
		f.order[typ] = slices.DeleteFunc(f.order[typ], func(s string) bool { return s == id })
		for _, g := range f.res["Groups"] {
			if ms, ok := g["members"].([]any); ok {
				g["members"] = slices.DeleteFunc(ms, func(m any) bool { return memberValue(m) == id })
			}
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func memberValue(m any) string {
	mm, _ := m.(map[string]any)
	v, _ := mm["value"].(string)
	return v
}

func (f *fake) list(w http.ResponseWriter, typ string, q map[string]string) error {
	if typ == "Groups" && f.has("groups-list-broken") {
		return errf(500, "", "groups list failed")
	}
	match := func(map[string]any) bool { return true }
	if flt := q["filter"]; flt != "" && !f.has("filters-ignored") {
		if f.has("externalid-filter-unsupported") && strings.Contains(strings.ToLower(flt), "externalid") {
			return errf(400, "invalidFilter", "externalId is not filterable")
		}
		if f.has("valuepath-filter-unsupported") && strings.Contains(flt, "].") {
			return errf(400, "invalidFilter", "unsupported filter")
		}
		if typ == "Groups" && f.has("group-displayname-filter-400") && strings.Contains(strings.ToLower(flt), "displayname") {
			return errf(400, "invalidFilter", "unsupported filter")
		}
		m, err := f.parseFilter(flt)
		switch {
		case err != nil && !f.has("invalid-filter-ignored"):
			return errf(400, "invalidFilter", "%v", err)
		case err == nil:
			match = m
		}
	}
	var hits []map[string]any
	for _, id := range f.order[typ] {
		r := f.res[typ][id]
		if typ == "Users" && f.has("inactive-hidden") && r["active"] == false {
			continue
		}
		if match(r) {
			hits = append(hits, r)
		}
	}
	if q["filter"] != "" && len(hits) == 0 && f.has("empty-lookup-404") {
		return errf(404, "", "no match")
	}
	if by := q["sortby"]; by != "" && !f.has("sort-ignored") {
		key := func(r map[string]any) string {
			vs := f.values(r, by)
			if len(vs) == 0 {
				return ""
			}
			s, _ := vs[0].(string)
			return strings.ToLower(s)
		}
		sort.SliceStable(hits, func(i, j int) bool { return key(hits[i]) < key(hits[j]) })
		if strings.EqualFold(q["sortorder"], "descending") {
			slices.Reverse(hits)
		}
	}
	start, count := 1, 100
	if s, ok := q["startindex"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil {
			return errf(400, "invalidValue", "bad startIndex")
		}
		if n < 1 && f.has("start-index-below-one-error") {
			return errf(400, "invalidValue", "startIndex must be >= 1")
		}
		start = max(n, 1)
	}
	if c, ok := q["count"]; ok {
		n, err := strconv.Atoi(c)
		if err != nil {
			return errf(400, "invalidValue", "bad count")
		}
		count = max(n, 0)
		if n == 0 && f.has("count-zero-ignored") {
			count = 100
		}
	}
	offset := start - 1
	if f.has("start-index-zero-based") {
		offset = start
	}
	page := []any{}
	for i := offset; i < len(hits) && len(page) < count; i++ {
		page = append(page, f.render(typ, hits[i], q["attributes"], q["excludedattributes"]))
	}
	var total any = len(hits)
	if f.has("string-total-results") {
		total = strconv.Itoa(len(hits))
	}
	body := map[string]any{"schemas": []string{scimclient.SchemaListResponse}, "totalResults": total,
		"startIndex": start, "itemsPerPage": len(page)}
	if len(page) > 0 {
		body["Resources"] = page
	}
	f.write(w, 200, body)
	return nil
}

// splitAttrPath splits "urn:…:User:manager.value" or "name.givenName" into
// the container key ("" for core, else the extension URN) and the dotted
// attribute path.
func splitAttrPath(path string) (urn, attr string) {
	if !strings.HasPrefix(strings.ToLower(path), "urn:") {
		return "", path
	}
	i := strings.LastIndexByte(path, ':')
	urn, attr = path[:i], path[i+1:]
	if strings.EqualFold(urn, scimclient.SchemaUser) || strings.EqualFold(urn, scimclient.SchemaGroup) {
		urn = ""
	}
	return urn, attr
}

// container returns the object holding attributes for urn in r, creating
// it when create is set.
func container(r map[string]any, urn string, create bool) map[string]any {
	if urn == "" {
		return r
	}
	if _, v, ok := getFold(r, urn); ok {
		if m, ok := v.(map[string]any); ok {
			return m
		}
	}
	if !create {
		return nil
	}
	m := map[string]any{}
	r[urn] = m
	return m
}

// values returns the values at a dotted path, flattening multi-valued
// attributes (only their first element with filter-first-value-only).
func (f *fake) values(r map[string]any, path string) []any {
	urn, attr := splitAttrPath(path)
	cur := []any{container(r, urn, false)}
	for part := range strings.SplitSeq(attr, ".") {
		var next []any
		for _, c := range cur {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			var v any
			if f.has("filter-names-case-sensitive") {
				v, ok = m[part]
			} else {
				_, v, ok = getFold(m, part)
			}
			if !ok || v == nil {
				continue
			}
			if arr, isArr := v.([]any); isArr {
				if f.has("filter-first-value-only") && len(arr) > 1 {
					arr = arr[:1]
				}
				next = append(next, arr...)
			} else {
				next = append(next, v)
			}
		}
		cur = next
	}
	return cur
}
