package scimhttp

import (
	"net/http"
	"sort"
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

// routes registers every endpoint on h.mux. Each path gets its method
// patterns plus a method-less fallback answering 405 with an Allow header;
// the catch-all answers 404. Both in SCIM error form.
func (h *Handler) routes() {
	h.mux = http.NewServeMux()
	b := h.base

	for _, rt := range h.types {
		rt := rt
		h.route(b+rt.Endpoint, map[string]http.HandlerFunc{
			"GET":  func(w http.ResponseWriter, r *http.Request) { h.handleList(w, r, rt) },
			"POST": func(w http.ResponseWriter, r *http.Request) { h.handleCreate(w, r, rt) },
		})
		h.route(b+rt.Endpoint+"/{id}", map[string]http.HandlerFunc{
			"GET":    func(w http.ResponseWriter, r *http.Request) { h.handleGet(w, r, rt) },
			"PUT":    func(w http.ResponseWriter, r *http.Request) { h.handleReplace(w, r, rt) },
			"PATCH":  func(w http.ResponseWriter, r *http.Request) { h.handlePatch(w, r, rt) },
			"DELETE": func(w http.ResponseWriter, r *http.Request) { h.handleDelete(w, r, rt) },
		})
		h.mux.HandleFunc("POST "+b+rt.Endpoint+"/.search", func(w http.ResponseWriter, r *http.Request) { h.handleSearch(w, r, rt) })
	}
	h.route(b+"/.search", map[string]http.HandlerFunc{
		"POST": func(w http.ResponseWriter, r *http.Request) { h.handleSearch(w, r, nil) },
	})
	h.route(b+"/ServiceProviderConfig", map[string]http.HandlerFunc{"GET": h.handleServiceProviderConfig})
	h.route(b+"/ResourceTypes", map[string]http.HandlerFunc{"GET": h.handleResourceTypes})
	h.route(b+"/ResourceTypes/{id}", map[string]http.HandlerFunc{"GET": h.handleResourceType})
	h.route(b+"/Schemas", map[string]http.HandlerFunc{"GET": h.handleSchemas})
	h.route(b+"/Schemas/{id}", map[string]http.HandlerFunc{"GET": h.handleSchema})

	notImplemented := func(what string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			h.writeError(w, r, scimd.Errorf(http.StatusNotImplemented, "", "%s is not supported by this server", what))
		}
	}
	h.mux.HandleFunc(b+"/Bulk", notImplemented("/Bulk"))
	h.mux.HandleFunc(b+"/Me", notImplemented("/Me"))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, scimd.NotFound("no SCIM endpoint at %s", r.URL.Path))
	})
}

// route registers methods for path and a 405 fallback for other methods.
func (h *Handler) route(path string, methods map[string]http.HandlerFunc) {
	allow := make([]string, 0, len(methods)+1)
	for m, fn := range methods {
		h.mux.HandleFunc(m+" "+path, fn)
		allow = append(allow, m)
		if m == "GET" {
			allow = append(allow, "HEAD")
		}
	}
	sort.Strings(allow)
	allowHeader := strings.Join(allow, ", ")
	h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowHeader)
		h.writeError(w, r, scimd.Errorf(http.StatusMethodNotAllowed, "", "method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allowHeader))
	})
}

// typeOf returns the resource type of a stored resource.
func (h *Handler) typeOf(r *scimd.Resource) *schema.ResourceType {
	return h.reg.ResourceType(r.Type)
}
