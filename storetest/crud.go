package storetest

import (
	"errors"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/scimd/scimd"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// fullUser is a body using most User attributes, the enterprise extension
// included.
const fullUser = `{
 "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
 "userName": "Ana.Silva@Acme.test",
 "externalId": "00u7f3kq2wXyZ",
 "name": {"givenName": "Ana", "familyName": "Silva", "formatted": "Ana Silva"},
 "displayName": "Ana Silva",
 "nickName": "ana",
 "title": "Engineer",
 "userType": "Employee",
 "locale": "en-US",
 "timezone": "Europe/Lisbon",
 "active": true,
 "password": "Tq9v2mLa",
 "emails": [
  {"value": "ana.silva@acme.test", "type": "work", "primary": true},
  {"value": "ana@home.test", "type": "home"}
 ],
 "phoneNumbers": [{"value": "+351 123 456 789", "type": "mobile"}],
 "addresses": [{"type": "work", "locality": "Lisbon", "country": "PT", "formatted": "Rua 1\nLisbon"}],
 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
  "employeeNumber": "1001",
  "department": "Engineering",
  "organization": "Acme",
  "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
 }
}`

func testCreate(t *testing.T, setup func(*testing.T) *harness) {
	t.Run("OK", func(t *testing.T) {
		h := setup(t)
		in := h.decode(scimd.TypeUser, fullUser)
		want := in.Attrs
		before := time.Now().Add(-time.Second)
		got := h.create(T1, in)
		if !uuidRE.MatchString(got.ID) {
			t.Errorf("ID = %q, want a lower-case UUID", got.ID)
		}
		if got.Type != scimd.TypeUser {
			t.Errorf("Type = %q, want User", got.Type)
		}
		if got.Meta.Version != 1 {
			t.Errorf("Version = %d, want 1", got.Meta.Version)
		}
		if got.Meta.Created.IsZero() || !got.Meta.Created.Equal(got.Meta.LastModified) {
			t.Errorf("Created %v, LastModified %v: want equal and set", got.Meta.Created, got.Meta.LastModified)
		}
		if got.Meta.Created.Before(before) || got.Meta.Created.After(time.Now().Add(time.Second)) {
			t.Errorf("Created = %v, want about now", got.Meta.Created)
		}
		if !equalAttrs(got.Attrs, want) {
			t.Errorf("Create returned other attributes:\n%s", attrsDiff(got.Attrs, want))
		}
		if len(got.Schemas) == 0 || got.Schemas[0] != in.Schemas[0] {
			t.Errorf("Schemas = %v, want %v", got.Schemas, in.Schemas)
		}
	})
	t.Run("DistinctIDs", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		b := h.createUser(T1, "b", nil)
		g := h.createGroup(T1, "g")
		if a.ID == b.ID || a.ID == g.ID || b.ID == g.ID {
			t.Fatalf("ids not distinct: %s %s %s", a.ID, b.ID, g.ID)
		}
	})
	t.Run("IgnoresClientIDAndMeta", func(t *testing.T) {
		h := setup(t)
		in := h.user("a", nil)
		in.ID = "client-chosen"
		in.Meta = scimd.Meta{Version: 42, Created: time.Unix(0, 0)}
		got := h.create(T1, in)
		if got.ID == "client-chosen" || got.Meta.Version != 1 || got.Meta.Created.Equal(time.Unix(0, 0)) {
			t.Fatalf("store kept client id/meta: %s %+v", got.ID, got.Meta)
		}
	})
	t.Run("Group", func(t *testing.T) {
		h := setup(t)
		got := h.createGroup(T1, "Admins")
		if got.Type != scimd.TypeGroup || got.Meta.Version != 1 || got.MemberCount != 0 {
			t.Fatalf("got %+v", got)
		}
		if got.Attrs["displayName"] != "Admins" {
			t.Fatalf("displayName = %v", got.Attrs["displayName"])
		}
	})
	t.Run("ErrUniqueness", func(t *testing.T) {
		h := setup(t)
		h.createUser(T1, "ana@acme.test", nil)
		_, err := h.s.Create(t.Context(), T1, h.user("ANA@acme.TEST", nil))
		wantErr(t, err, http.StatusConflict, scimd.ScimTypeUniqueness)
	})
}

func testGet(t *testing.T, setup func(*testing.T) *harness) {
	t.Run("OK", func(t *testing.T) {
		h := setup(t)
		in := h.decode(scimd.TypeUser, fullUser)
		want := in.Attrs
		c := h.create(T1, in)
		got := h.get(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{})
		if got.ID != c.ID || got.Type != scimd.TypeUser {
			t.Errorf("got %s %s, want User %s", got.Type, got.ID, c.ID)
		}
		if !equalAttrs(got.Attrs, want) {
			t.Errorf("Get returned other attributes:\n%s", attrsDiff(got.Attrs, want))
		}
		equalMeta(t, "Get", got.Meta, c.Meta)
		if len(got.Schemas) != len(c.Schemas) || got.Schemas[0] != c.Schemas[0] {
			t.Errorf("Schemas = %v, want %v", got.Schemas, c.Schemas)
		}
	})
	t.Run("ReturnsCopy", func(t *testing.T) {
		h := setup(t)
		in := h.user("a", map[string]any{"title": "x", "name": map[string]any{"givenName": "A"}})
		c := h.create(T1, in)
		in.Attrs["title"] = "changed"
		in.Attrs["name"].(map[string]any)["givenName"] = "changed"
		got := h.get(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{})
		if got.Attrs["title"] != "x" || got.Attrs["name"].(map[string]any)["givenName"] != "A" {
			t.Fatalf("changing Create's argument changed the store: %v", got.Attrs)
		}
		got.Attrs["title"] = "changed"
		c.Attrs["title"] = "changed"
		if again := h.get(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{}); again.Attrs["title"] != "x" {
			t.Fatalf("changing a returned resource changed the store: title = %v", again.Attrs["title"])
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		h := setup(t)
		_, err := h.s.Get(t.Context(), T1, scimd.TypeUser, scimd.NewID(), scimd.ReadOptions{})
		wantErr(t, err, http.StatusNotFound, "")
	})
	t.Run("ErrNotFound/WrongType", func(t *testing.T) {
		h := setup(t)
		u := h.createUser(T1, "a", nil)
		g := h.createGroup(T1, "g")
		_, err := h.s.Get(t.Context(), T1, scimd.TypeGroup, u.ID, scimd.ReadOptions{})
		wantErr(t, err, http.StatusNotFound, "")
		_, err = h.s.Get(t.Context(), T1, scimd.TypeUser, g.ID, scimd.ReadOptions{})
		wantErr(t, err, http.StatusNotFound, "")
	})
	t.Run("ErrNotFound/IDCaseSensitive", func(t *testing.T) {
		h := setup(t)
		u := h.createUser(T1, "a", nil)
		_, err := h.s.Get(t.Context(), T1, scimd.TypeUser, upper(u.ID), scimd.ReadOptions{})
		wantErr(t, err, http.StatusNotFound, "")
	})
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func testUpdate(t *testing.T, setup func(*testing.T) *harness) {
	t.Run("OK", func(t *testing.T) {
		h := setup(t)
		c := h.createUser(T1, "a", map[string]any{"title": "Engineer", "active": true})
		tick()
		calls := 0
		got := h.update(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			calls++
			if r.ID != c.ID || r.Attrs["title"] != "Engineer" {
				t.Errorf("fn got %s %v, want the current resource", r.ID, r.Attrs)
			}
			r.Attrs["title"] = "Manager"
			r.Attrs["active"] = false
			delete(r.Attrs, "nonexistent")
			return nil, nil
		})
		if calls != 1 {
			t.Errorf("fn called %d times, want 1", calls)
		}
		if got.Meta.Version != 2 {
			t.Errorf("Version = %d, want 2", got.Meta.Version)
		}
		if !got.Meta.Created.Equal(c.Meta.Created) {
			t.Errorf("Created changed: %v → %v", c.Meta.Created, got.Meta.Created)
		}
		if !got.Meta.LastModified.After(c.Meta.LastModified) {
			t.Errorf("LastModified %v not after %v", got.Meta.LastModified, c.Meta.LastModified)
		}
		if got.Attrs["title"] != "Manager" || got.Attrs["active"] != false {
			t.Errorf("returned attrs %v", got.Attrs)
		}
		again := h.get(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{})
		if !equalAttrs(again.Attrs, got.Attrs) {
			t.Errorf("Get after Update:\n%s", attrsDiff(again.Attrs, got.Attrs))
		}
		equalMeta(t, "Get after Update", again.Meta, got.Meta)
	})
	t.Run("RemoveAttribute", func(t *testing.T) {
		h := setup(t)
		c := h.createUser(T1, "a", map[string]any{"title": "Engineer", "nickName": "n"})
		h.update(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			delete(r.Attrs, "title")
			return nil, nil
		})
		got := h.get(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{})
		if _, ok := got.Attrs["title"]; ok || got.Attrs["nickName"] != "n" {
			t.Fatalf("attrs = %v, want title removed and nickName kept", got.Attrs)
		}
	})
	t.Run("Extension", func(t *testing.T) {
		h := setup(t)
		c := h.create(T1, h.decode(scimd.TypeUser, fullUser))
		got := h.update(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			ext := r.Attrs[entURN].(map[string]any)
			ext["department"] = "Sales"
			return nil, nil
		})
		again := h.get(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{})
		if ext, _ := again.Attrs[entURN].(map[string]any); ext["department"] != "Sales" || ext["employeeNumber"] != "1001" {
			t.Fatalf("enterprise extension after update = %v", again.Attrs[entURN])
		}
		if !equalAttrs(again.Attrs, got.Attrs) {
			t.Errorf("Get after Update:\n%s", attrsDiff(again.Attrs, got.Attrs))
		}
	})
	t.Run("Schemas", func(t *testing.T) {
		h := setup(t)
		c := h.createUser(T1, "a", nil)
		got := h.update(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs[entURN] = map[string]any{"department": "Sales"}
			r.Schemas = append(r.Schemas, entURN)
			return nil, nil
		})
		again := h.get(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{})
		for _, r := range []*scimd.Resource{got, again} {
			if len(r.Schemas) != 2 || r.Schemas[1] != entURN {
				t.Errorf("Schemas = %v, want the core URN and %s", r.Schemas, entURN)
			}
		}
		res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, Filter: parse(t, entURN+`:department eq "sales"`), StartIndex: 1, Count: 10})
		if res.TotalResults != 1 {
			t.Errorf("filter on the added extension: total %d, want 1", res.TotalResults)
		}
	})
	t.Run("VersionIncrements", func(t *testing.T) {
		h := setup(t)
		c := h.createUser(T1, "a", nil)
		var last *scimd.Resource
		for i := range 3 {
			last = h.update(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{}, setAttr("nickName", string(rune('a'+i))))
		}
		if last.Meta.Version != 4 {
			t.Fatalf("Version after 3 updates = %d, want 4", last.Meta.Version)
		}
	})
	t.Run("ErrAbort", func(t *testing.T) {
		h := setup(t)
		c := h.createUser(T1, "a", map[string]any{"title": "Engineer"})
		g := h.createGroup(T1, "g")
		abort := scimd.BadRequest(scimd.ScimTypeMutability, "no")
		_, err := h.s.Update(t.Context(), T1, scimd.TypeUser, c.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs["title"] = "Changed"
			r.Attrs["userName"] = "b"
			return nil, abort
		})
		wantErr(t, err, http.StatusBadRequest, scimd.ScimTypeMutability)
		got := h.get(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{})
		if got.Attrs["title"] != "Engineer" || got.Attrs["userName"] != "a" {
			t.Errorf("aborted update was written: %v", got.Attrs)
		}
		equalMeta(t, "after aborted update", got.Meta, c.Meta)

		// A group update that changes the name and membership, then aborts.
		_, err = h.s.Update(t.Context(), T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs["displayName"] = "renamed"
			return []scimd.MemberOp{{Kind: scimd.MemberAdd, Members: []scimd.Member{userMember(c)}}}, abort
		})
		wantErr(t, err, http.StatusBadRequest, scimd.ScimTypeMutability)
		gg := h.get(T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{Members: true})
		if gg.Attrs["displayName"] != "g" || len(gg.Members) != 0 || gg.MemberCount != 0 || gg.Meta.Version != 1 {
			t.Errorf("aborted group update was written: %v members=%v count=%d", gg.Attrs, gg.Members, gg.MemberCount)
		}
	})
	t.Run("ErrAbort/PlainError", func(t *testing.T) {
		h := setup(t)
		c := h.createUser(T1, "a", nil)
		sentinel := errors.New("application failure")
		_, err := h.s.Update(t.Context(), T1, scimd.TypeUser, c.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
			r.Attrs["title"] = "x"
			return nil, sentinel
		})
		if !errors.Is(err, sentinel) {
			t.Fatalf("Update error = %v, want it to wrap fn's error", err)
		}
		if got := h.get(T1, scimd.TypeUser, c.ID, scimd.ReadOptions{}); got.Attrs["title"] != nil || got.Meta.Version != 1 {
			t.Fatalf("aborted update was written: %v", got.Attrs)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		h := setup(t)
		called := false
		_, err := h.s.Update(t.Context(), T1, scimd.TypeUser, scimd.NewID(), scimd.ReadOptions{}, func(*scimd.Resource) ([]scimd.MemberOp, error) {
			called = true
			return nil, nil
		})
		wantErr(t, err, http.StatusNotFound, "")
		if called {
			t.Error("fn called for a missing resource")
		}
	})
	t.Run("ErrNotFound/Deleted", func(t *testing.T) {
		h := setup(t)
		c := h.createUser(T1, "a", nil)
		if err := h.s.Delete(t.Context(), T1, scimd.TypeUser, c.ID, nil); err != nil {
			t.Fatal(err)
		}
		_, err := h.s.Update(t.Context(), T1, scimd.TypeUser, c.ID, scimd.ReadOptions{}, setAttr("title", "x"))
		wantErr(t, err, http.StatusNotFound, "")
	})
}

func testDelete(t *testing.T, setup func(*testing.T) *harness) {
	t.Run("OK", func(t *testing.T) {
		h := setup(t)
		a := h.createUser(T1, "a", nil)
		b := h.createUser(T1, "b", nil)
		if err := h.s.Delete(t.Context(), T1, scimd.TypeUser, a.ID, nil); err != nil {
			t.Fatal(err)
		}
		_, err := h.s.Get(t.Context(), T1, scimd.TypeUser, a.ID, scimd.ReadOptions{})
		wantErr(t, err, http.StatusNotFound, "")
		h.get(T1, scimd.TypeUser, b.ID, scimd.ReadOptions{})
		if res := h.list(T1, &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: 1, Count: 10}); res.TotalResults != 1 {
			t.Errorf("TotalResults after delete = %d, want 1", res.TotalResults)
		}
		// The userName is free again.
		h.createUser(T1, "A", nil)
	})
	t.Run("Group", func(t *testing.T) {
		h := setup(t)
		g := h.createGroup(T1, "g")
		if err := h.s.Delete(t.Context(), T1, scimd.TypeGroup, g.ID, nil); err != nil {
			t.Fatal(err)
		}
		_, err := h.s.Get(t.Context(), T1, scimd.TypeGroup, g.ID, scimd.ReadOptions{})
		wantErr(t, err, http.StatusNotFound, "")
		h.createGroup(T1, "G")
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		h := setup(t)
		err := h.s.Delete(t.Context(), T1, scimd.TypeUser, scimd.NewID(), nil)
		wantErr(t, err, http.StatusNotFound, "")
		u := h.createUser(T1, "a", nil)
		err = h.s.Delete(t.Context(), T1, scimd.TypeGroup, u.ID, nil)
		wantErr(t, err, http.StatusNotFound, "")
		if err := h.s.Delete(t.Context(), T1, scimd.TypeUser, u.ID, nil); err != nil {
			t.Fatal(err)
		}
		err = h.s.Delete(t.Context(), T1, scimd.TypeUser, u.ID, nil)
		wantErr(t, err, http.StatusNotFound, "")
	})
	t.Run("CheckVeto", func(t *testing.T) {
		h := setup(t)
		u := h.createUser(T1, "a", map[string]any{"title": "x"})
		var seen *scimd.Resource
		err := h.s.Delete(t.Context(), T1, scimd.TypeUser, u.ID, func(r *scimd.Resource) error {
			seen = r
			return scimd.PreconditionFailed("version mismatch")
		})
		wantErr(t, err, http.StatusPreconditionFailed, "")
		if seen == nil || seen.ID != u.ID || seen.Meta.Version != 1 || seen.Attrs["title"] != "x" {
			t.Errorf("check got %+v, want the current resource", seen)
		}
		h.get(T1, scimd.TypeUser, u.ID, scimd.ReadOptions{})
	})
	t.Run("CheckAllows", func(t *testing.T) {
		h := setup(t)
		u := h.createUser(T1, "a", nil)
		calls := 0
		err := h.s.Delete(t.Context(), T1, scimd.TypeUser, u.ID, func(*scimd.Resource) error { calls++; return nil })
		if err != nil || calls != 1 {
			t.Fatalf("Delete = %v, check calls = %d", err, calls)
		}
		_, err = h.s.Get(t.Context(), T1, scimd.TypeUser, u.ID, scimd.ReadOptions{})
		wantErr(t, err, http.StatusNotFound, "")
	})
	t.Run("CheckNotCalledWhenMissing", func(t *testing.T) {
		h := setup(t)
		err := h.s.Delete(t.Context(), T1, scimd.TypeUser, scimd.NewID(), func(*scimd.Resource) error {
			t.Error("check called for a missing resource")
			return nil
		})
		wantErr(t, err, http.StatusNotFound, "")
	})
}
