package simulate

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/scimd/scimd/scimclient"
)

// Okta's shapes, from its SCIM 2.0 guide (OIN integrations: PATCH for
// activation and group updates, GET then PUT for profile changes).

func oktaUser(userName string, i int) map[string]any {
	return map[string]any{
		"schemas":     []string{scimclient.SchemaUser},
		"userName":    userName,
		"name":        map[string]any{"givenName": "Sim", "familyName": fmt.Sprintf("User%05d", i)},
		"emails":      []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"displayName": fmt.Sprintf("Sim User%05d", i),
		"locale":      "en-US",
		"externalId":  fmt.Sprintf("00u%05dsim", i),
		"groups":      []any{},
		"password":    fmt.Sprintf("Pw-%05d-placeholder", i),
		"active":      true,
	}
}

func patchOp(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{scimclient.SchemaPatchOp}, "Operations": ops}
}

func (s *sim) okta(ctx context.Context) {
	s.phase(ctx, "test connection", 1, func(ctx context.Context, _ int) {
		s.call(ctx, "test-connection", http.MethodGet, "/Users?startIndex=1&count=2", nil, http.StatusOK)
		if s.cfg.Groups > 0 {
			s.call(ctx, "test-connection", http.MethodGet, "/Groups?startIndex=1&count=100", nil, http.StatusOK)
		}
	})
	s.phase(ctx, "assign users", len(s.users), func(ctx context.Context, i int) {
		u := &s.users[i]
		s.lookupEmpty(ctx, "lookup-user", "/Users"+query(false, "filter", `userName eq "`+u.name+`"`, "startIndex", "1", "count", "100"))
		u.id = s.created("create-user", s.call(ctx, "create-user", http.MethodPost, "/Users", oktaUser(u.name, i), http.StatusCreated))
	})
	s.assignMembers()
	s.phase(ctx, "push groups", len(s.groups), func(ctx context.Context, i int) {
		g := &s.groups[i]
		s.lookupEmpty(ctx, "lookup-group", "/Groups"+query(false, "filter", `displayName eq "`+g.name+`"`, "startIndex", "1", "count", "100"))
		g.id = s.created("create-group", s.call(ctx, "create-group", http.MethodPost, "/Groups",
			map[string]any{"schemas": []string{scimclient.SchemaGroup}, "displayName": g.name, "members": []any{}}, http.StatusCreated))
		if g.id == "" {
			return
		}
		for _, part := range chunks(g.members, batch) {
			// Okta sends the rename-with-id operation alongside every
			// membership update.
			s.oktaRename(ctx, g, g.name)
			var vals []any
			for _, m := range part {
				if id := s.users[m].id; id != "" {
					vals = append(vals, map[string]any{"value": id, "display": s.users[m].name})
				}
			}
			if len(vals) > 0 {
				s.call(ctx, "add-members", http.MethodPatch, "/Groups/"+url.PathEscape(g.id),
					patchOp(map[string]any{"op": "add", "path": "members", "value": vals}), http.StatusOK, http.StatusNoContent)
			}
		}
	})
	s.phase(ctx, "profile updates", len(s.users), func(ctx context.Context, i int) {
		u := &s.users[i]
		if u.id == "" {
			return
		}
		resp := s.call(ctx, "get-user", http.MethodGet, "/Users/"+url.PathEscape(u.id), nil, http.StatusOK)
		if resp == nil {
			return
		}
		body := scimclient.Resource(resp.JSON).Clone()
		body.Set("name.familyName", fmt.Sprintf("User%05d-Updated", i))
		body["displayName"] = fmt.Sprintf("Sim User%05d-Updated", i)
		body["password"] = fmt.Sprintf("Pw-%05d-placeholder", i)
		put := s.call(ctx, "put-user", http.MethodPut, "/Users/"+url.PathEscape(u.id), body, http.StatusOK)
		if put != nil && scimclient.Resource(put.JSON).String("name.familyName") != fmt.Sprintf("User%05d-Updated", i) {
			s.failResp("put-user", put, "PUT response does not show the updated familyName")
		}
	})
	s.phase(ctx, "remove members and rename groups", len(s.groups), func(ctx context.Context, i int) {
		g := &s.groups[i]
		if g.id == "" {
			return
		}
		if len(g.members) > 0 {
			if id := s.users[g.members[0]].id; id != "" {
				s.oktaRename(ctx, g, g.name)
				s.call(ctx, "remove-member", http.MethodPatch, "/Groups/"+url.PathEscape(g.id),
					patchOp(map[string]any{"op": "remove", "path": `members[value eq "` + id + `"]`}), http.StatusOK, http.StatusNoContent)
			}
		}
		g.name += " renamed"
		s.oktaRename(ctx, g, g.name)
		s.call(ctx, "get-group", http.MethodGet, "/Groups/"+url.PathEscape(g.id), nil, http.StatusOK)
	})
	s.phase(ctx, "deactivate and reactivate users", len(s.users), func(ctx context.Context, i int) {
		u := &s.users[i]
		if u.id == "" {
			return
		}
		for _, active := range []bool{false, true} {
			op := "deactivate-user"
			if active {
				op = "reactivate-user"
			}
			s.call(ctx, op, http.MethodPatch, "/Users/"+url.PathEscape(u.id),
				patchOp(map[string]any{"op": "replace", "value": map[string]any{"active": active}}), http.StatusOK, http.StatusNoContent)
		}
	})
	s.phase(ctx, "import", 1, func(ctx context.Context, _ int) {
		s.importPages(ctx, "import-users", "/Users")
		if s.cfg.Groups > 0 {
			s.importPages(ctx, "import-groups", "/Groups")
		}
	})
}

// oktaRename sends Okta's group rename: a no-path replace carrying the id.
func (s *sim) oktaRename(ctx context.Context, g *group, name string) {
	s.call(ctx, "rename-group", http.MethodPatch, "/Groups/"+url.PathEscape(g.id),
		patchOp(map[string]any{"op": "replace", "value": map[string]any{"id": g.id, "displayName": name}}), http.StatusOK, http.StatusNoContent)
}

// importPages pages through endpoint with startIndex and count=100 as
// Okta's import does, checking for duplicates across pages.
func (s *sim) importPages(ctx context.Context, op, endpoint string) {
	seen := map[string]bool{}
	for page, start := 0, 1; page < maxImportPages; page++ {
		resp := s.call(ctx, op, http.MethodGet, fmt.Sprintf("%s?startIndex=%d&count=100", endpoint, start), nil, http.StatusOK)
		if resp == nil {
			return
		}
		body := scimclient.Resource(resp.JSON)
		total, ok := body.Int("totalResults")
		if !ok {
			s.failResp(op, resp, "totalResults is not an integer")
			return
		}
		res := body.List("Resources")
		for _, r := range res {
			if seen[r.ID()] {
				s.failResp(op, resp, "resource %s seen on an earlier page", r.ID())
			}
			seen[r.ID()] = true
		}
		start += len(res)
		if len(res) == 0 || int64(start) > total {
			return
		}
	}
}
