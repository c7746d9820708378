package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/scimd/scimd/scimclient"
)

// Entra's shapes, from Microsoft's provisioning tutorial and known-issues
// page (default job, without aadOptscim062020): '+' for spaces in queries,
// capitalised ops, string booleans, members removed by value list.

func entraUser(userName string, i int) map[string]any {
	local, _, _ := strings.Cut(userName, "@")
	return map[string]any{
		"schemas":                       []string{scimclient.SchemaUser, scimclient.SchemaEnterpriseUser},
		"externalId":                    local,
		"userName":                      userName,
		"active":                        true,
		"emails":                        []any{map[string]any{"primary": true, "type": "work", "value": userName}},
		"meta":                          map[string]any{"resourceType": "User"},
		"name":                          map[string]any{"formatted": fmt.Sprintf("Sim User%05d", i), "familyName": fmt.Sprintf("User%05d", i), "givenName": "Sim"},
		"roles":                         []any{},
		"title":                         nil,
		scimclient.SchemaEnterpriseUser: map[string]any{"department": "Sales"},
	}
}

func op(name, path string, value any) map[string]any {
	return map[string]any{"op": name, "path": path, "value": value}
}

func (s *sim) entra(ctx context.Context) {
	enc := func(v string) string { return url.QueryEscape(v) } // spaces as '+', as Entra sends
	s.phase(ctx, "test connection", 1, func(ctx context.Context, _ int) {
		s.lookupEmpty(ctx, "test-connection", "/Users?filter=userName+eq+"+enc(`"`+randomGUID()+`"`))
	})
	s.phase(ctx, "assign users", len(s.users), func(ctx context.Context, i int) {
		u := &s.users[i]
		s.lookupEmpty(ctx, "match-user", "/Users?filter=userName+eq+"+enc(`"`+u.name+`"`))
		u.id = s.created("create-user", s.call(ctx, "create-user", http.MethodPost, "/Users", entraUser(u.name, i), http.StatusCreated))
	})
	s.assignMembers()
	null := json.RawMessage("null")
	s.phase(ctx, "provision groups", len(s.groups), func(ctx context.Context, i int) {
		g := &s.groups[i]
		s.lookupEmpty(ctx, "match-group", "/Groups?excludedAttributes=members&filter=displayName+eq+"+enc(`"`+g.name+`"`))
		g.id = s.created("create-group", s.call(ctx, "create-group", http.MethodPost, "/Groups", map[string]any{
			"schemas":     []string{scimclient.SchemaGroup, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
			"externalId":  randomGUID(),
			"displayName": g.name,
			"meta":        map[string]any{"resourceType": "Group"},
		}, http.StatusCreated))
		if g.id == "" {
			return
		}
		for _, part := range chunks(g.members, batch) {
			var vals []any
			for _, m := range part {
				if id := s.users[m].id; id != "" {
					vals = append(vals, map[string]any{"$ref": null, "value": id})
				}
			}
			if len(vals) > 0 {
				s.call(ctx, "add-members", http.MethodPatch, "/Groups/"+url.PathEscape(g.id),
					patchOp(op("Add", "members", vals)), http.StatusOK, http.StatusNoContent)
			}
		}
	})
	s.phase(ctx, "attribute changes", len(s.users), func(ctx context.Context, i int) {
		u := &s.users[i]
		if u.id == "" {
			return
		}
		ops := []map[string]any{
			op("Replace", "displayName", fmt.Sprintf("Sim User%05d (Sales)", i)),
			op("Replace", "name.familyName", fmt.Sprintf("User%05d-Updated", i)),
			op("Replace", `emails[type eq "work"].value`, u.name),
			op("Add", `phoneNumbers[type eq "mobile"].value`, fmt.Sprintf("+1 555 %04d", i%10000)),
			op("Replace", scimclient.SchemaEnterpriseUser+":department", "Marketing"),
		}
		if i > 0 && s.users[0].id != "" {
			ops = append(ops, op("Add", scimclient.SchemaEnterpriseUser+":manager", s.users[0].id))
		}
		s.call(ctx, "update-user", http.MethodPatch, "/Users/"+url.PathEscape(u.id), patchOp(ops...), http.StatusOK, http.StatusNoContent)
	})
	s.phase(ctx, "remove members and rename groups", len(s.groups), func(ctx context.Context, i int) {
		g := &s.groups[i]
		if g.id == "" {
			return
		}
		if len(g.members) > 0 {
			if id := s.users[g.members[0]].id; id != "" {
				s.call(ctx, "remove-members", http.MethodPatch, "/Groups/"+url.PathEscape(g.id),
					patchOp(op("Remove", "members", []any{map[string]any{"value": id}})), http.StatusOK, http.StatusNoContent)
			}
		}
		g.name += " renamed"
		s.call(ctx, "rename-group", http.MethodPatch, "/Groups/"+url.PathEscape(g.id),
			patchOp(op("Replace", "displayName", g.name)), http.StatusOK, http.StatusNoContent)
		s.call(ctx, "get-group", http.MethodGet, "/Groups/"+url.PathEscape(g.id)+"?excludedAttributes=members", nil, http.StatusOK)
	})
	s.phase(ctx, "disable and enable users", len(s.users), func(ctx context.Context, i int) {
		u := &s.users[i]
		if u.id == "" {
			return
		}
		s.call(ctx, "disable-user", http.MethodPatch, "/Users/"+url.PathEscape(u.id),
			patchOp(op("Replace", "active", "False")), http.StatusOK, http.StatusNoContent)
		if resp := s.call(ctx, "get-user", http.MethodGet, "/Users/"+url.PathEscape(u.id), nil, http.StatusOK); resp != nil {
			if b, ok := scimclient.Resource(resp.JSON).Bool("active"); !ok || b {
				s.failResp("get-user", resp, "after Replace active \"False\", active is %v", resp.JSON["active"])
			}
		}
		s.call(ctx, "enable-user", http.MethodPatch, "/Users/"+url.PathEscape(u.id),
			patchOp(op("Replace", "active", "True")), http.StatusOK, http.StatusNoContent)
	})
}
