package scimhttp

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

type supported struct {
	Supported bool `json:"supported"`
}

type serviceProviderConfig struct {
	Schemas          []string  `json:"schemas"`
	DocumentationURI string    `json:"documentationUri,omitempty"`
	Patch            supported `json:"patch"`
	Bulk             struct {
		Supported      bool `json:"supported"`
		MaxOperations  int  `json:"maxOperations"`
		MaxPayloadSize int  `json:"maxPayloadSize"`
	} `json:"bulk"`
	Filter struct {
		Supported  bool `json:"supported"`
		MaxResults int  `json:"maxResults"`
	} `json:"filter"`
	ChangePassword supported `json:"changePassword"`
	Sort           supported `json:"sort"`
	ETag           supported `json:"etag"`
	Pagination     struct {
		Cursor                  bool   `json:"cursor"`
		Index                   bool   `json:"index"`
		DefaultPaginationMethod string `json:"defaultPaginationMethod"`
		DefaultPageSize         int    `json:"defaultPageSize"`
		MaxPageSize             int    `json:"maxPageSize"`
		CursorTimeout           int    `json:"cursorTimeout"`
	} `json:"pagination"`
	AuthenticationSchemes []AuthenticationScheme `json:"authenticationSchemes"`
	Meta                  discoveryMeta          `json:"meta"`
}

// AuthenticationScheme is one entry of ServiceProviderConfig
// authenticationSchemes (RFC 7643 §5).
type AuthenticationScheme struct {
	Type        string `json:"type"` // "oauthbearertoken", "httpbasic", "oauth2", …
	Name        string `json:"name"`
	Description string `json:"description"`
	SpecURI     string `json:"specUri,omitempty"`
	Primary     bool   `json:"primary,omitempty"`
}

// Authentication schemes scimd's own credentials implement.
var (
	SchemeBearer = AuthenticationScheme{
		Type:        "oauthbearertoken",
		Name:        "OAuth Bearer Token",
		Description: "Authentication with a bearer token in the Authorization header",
		SpecURI:     "https://www.rfc-editor.org/info/rfc6750",
		Primary:     true,
	}
	SchemeBasic = AuthenticationScheme{
		Type:        "httpbasic",
		Name:        "HTTP Basic",
		Description: "Authentication with a per-tenant username and password",
		SpecURI:     "https://www.rfc-editor.org/info/rfc7617",
	}
	SchemeOAuth2 = AuthenticationScheme{
		Type:        "oauth2",
		Name:        "OAuth 2.0",
		Description: "Access tokens from scimd's per-tenant authorization server (authorization code with PKCE, client credentials)",
		SpecURI:     "https://www.rfc-editor.org/info/rfc6749",
	}
)

type discoveryMeta struct {
	ResourceType string `json:"resourceType"`
	Location     string `json:"location"`
}

// cursorTimeout is the advertised minimum life of a cursor, in seconds.
// Cursors name a position in the list, not server state, so they do not
// expire at all; the advertisement is what clients may rely on.
const cursorTimeout = 3600

// handleServiceProviderConfig serves GET /ServiceProviderConfig (RFC 7643
// §5), describing what this handler actually does.
func (h *Handler) handleServiceProviderConfig(w http.ResponseWriter, r *http.Request) {
	var c serviceProviderConfig
	c.Schemas = []string{URNServiceConfig}
	c.DocumentationURI = h.cfg.DocumentationURI
	c.Patch.Supported = true
	c.Filter.Supported = true
	c.Filter.MaxResults = h.cfg.MaxPageSize
	c.ChangePassword.Supported = true
	c.Sort.Supported = true
	c.ETag.Supported = true
	// Both paging styles (RFC 9865 §4); index stays the default, as every
	// IdP pages by startIndex.
	c.Pagination.Cursor = true
	c.Pagination.Index = true
	c.Pagination.DefaultPaginationMethod = "index"
	c.Pagination.CursorTimeout = cursorTimeout
	c.Pagination.DefaultPageSize = h.cfg.DefaultPageSize
	c.Pagination.MaxPageSize = h.cfg.MaxPageSize
	c.AuthenticationSchemes = h.cfg.AuthenticationSchemes
	if len(c.AuthenticationSchemes) == 0 {
		c.AuthenticationSchemes = []AuthenticationScheme{SchemeBearer}
	}
	c.Meta = discoveryMeta{ResourceType: "ServiceProviderConfig", Location: h.baseURL(r) + "/ServiceProviderConfig"}
	h.writeValue(w, r, http.StatusOK, c)
}

// discoveryList writes a ListResponse holding every element.
func (h *Handler) discoveryList(w http.ResponseWriter, r *http.Request, items []json.RawMessage) {
	total := len(items)
	h.writeValue(w, r, http.StatusOK, listResponse{
		Schemas:      []string{URNListResponse},
		TotalResults: &total,
		StartIndex:   1,
		ItemsPerPage: len(items),
		Resources:    items,
	})
}

// handleResourceTypes serves GET /ResourceTypes.
func (h *Handler) handleResourceTypes(w http.ResponseWriter, r *http.Request) {
	base := h.baseURL(r)
	items := make([]json.RawMessage, 0, len(h.types))
	for _, rt := range h.types {
		b, err := schema.ResourceTypeJSON(rt, base)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		items = append(items, b)
	}
	h.discoveryList(w, r, items)
}

// handleResourceType serves GET /ResourceTypes/{id}; the id is matched
// case-insensitively.
func (h *Handler) handleResourceType(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rt := h.reg.ResourceType(id)
	if rt == nil {
		h.writeError(w, r, scimd.NotFound("no resource type %q", id))
		return
	}
	b, err := schema.ResourceTypeJSON(rt, h.baseURL(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, b)
}

// handleSchemas serves GET /Schemas.
func (h *Handler) handleSchemas(w http.ResponseWriter, r *http.Request) {
	base := h.baseURL(r)
	schemas := h.reg.Schemas()
	items := make([]json.RawMessage, 0, len(schemas))
	for _, s := range schemas {
		b, err := schema.SchemaJSON(s, base)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		items = append(items, b)
	}
	h.discoveryList(w, r, items)
}

// handleSchema serves GET /Schemas/{id}; the URN is matched
// case-insensitively.
func (h *Handler) handleSchema(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.PathValue("id"))
	s := h.reg.Schema(id)
	if s == nil {
		h.writeError(w, r, scimd.NotFound("no schema %q", id))
		return
	}
	b, err := schema.SchemaJSON(s, h.baseURL(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, b)
}
