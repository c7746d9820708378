package scimhttp_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/scimhttp"
)

// TestCursorPaging checks RFC 9865 over HTTP: "cursor" (even empty)
// selects cursor paging, nextCursor leads through the list exactly as
// index paging does, and bad cursors and counts get the RFC's errors.
func TestCursorPaging(t *testing.T) {
	s := newTestServer(t, func(c *scimhttp.Config) { c.MaxPageSize = 4; c.DefaultPageSize = 3 })
	var want []string
	for i := range 10 {
		want = append(want, s.createUser(fmt.Sprintf("user%d@example.com", (i*3)%10)).str("id"))
	}
	idsOf := func(r *response) []string {
		var out []string
		for _, res := range r.body["Resources"].([]any) {
			out = append(out, res.(map[string]any)["id"].(string))
		}
		return out
	}
	walk := func(t *testing.T, first string, next func(cursor string) string) []string {
		t.Helper()
		var got []string
		r := s.do("GET", first, nil).expect(t, http.StatusOK)
		for page := 1; ; page++ {
			if _, ok := r.body["startIndex"]; ok {
				t.Errorf("page %d: cursor response has startIndex: %s", page, r.raw)
			}
			if page == 1 && r.body["previousCursor"] != nil {
				t.Errorf("first page has previousCursor: %s", r.raw)
			}
			if tr, ok := r.body["totalResults"]; ok && tr != 10.0 {
				t.Errorf("page %d: totalResults %v, want 10 or none", page, tr)
			}
			got = append(got, idsOf(r)...)
			if r.body["itemsPerPage"] != float64(len(idsOf(r))) {
				t.Errorf("page %d: itemsPerPage %v for %d resources", page, r.body["itemsPerPage"], len(idsOf(r)))
			}
			c := r.str("nextCursor")
			if c == "" {
				return got
			}
			if page > 20 {
				t.Fatal("walk does not end")
			}
			r = s.do("GET", next(c), nil).expect(t, http.StatusOK)
		}
	}
	t.Run("Get", func(t *testing.T) {
		got := walk(t, "/Users?cursor", func(c string) string { return "/Users?cursor=" + url.QueryEscape(c) })
		if !slices.Equal(got, want) {
			t.Errorf("walk %v, want %v", got, want)
		}
		got = walk(t, "/Users?cursor=&count=4", func(c string) string { return "/Users?count=4&cursor=" + url.QueryEscape(c) })
		if !slices.Equal(got, want) {
			t.Errorf("count=4: walk %v, want %v", got, want)
		}
		sorted := walk(t, "/Users?cursor=&sortBy=userName&sortOrder=descending",
			func(c string) string {
				return "/Users?sortBy=userName&sortOrder=descending&cursor=" + url.QueryEscape(c)
			})
		r := s.do("GET", "/Users?sortBy=userName&sortOrder=descending&count=4", nil).expect(t, http.StatusOK)
		r2 := s.do("GET", "/Users?sortBy=userName&sortOrder=descending&count=4&startIndex=5", nil).expect(t, http.StatusOK)
		r3 := s.do("GET", "/Users?sortBy=userName&sortOrder=descending&count=4&startIndex=9", nil).expect(t, http.StatusOK)
		if idx := append(append(idsOf(r), idsOf(r2)...), idsOf(r3)...); !slices.Equal(sorted, idx) {
			t.Errorf("sorted cursor walk %v, index walk %v", sorted, idx)
		}
	})
	t.Run("Search", func(t *testing.T) {
		var got []string
		cursor := ""
		for page := 0; page < 20; page++ {
			r := s.do("POST", "/Users/.search", map[string]any{
				"schemas": []string{scimhttp.URNSearchRequest}, "cursor": cursor, "count": 4,
			}).expect(t, http.StatusOK)
			got = append(got, idsOf(r)...)
			if cursor = r.str("nextCursor"); cursor == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf(".search walk %v, want %v", got, want)
		}
	})
	t.Run("PreviousCursor", func(t *testing.T) {
		p1 := s.do("GET", "/Users?cursor&count=4", nil).expect(t, http.StatusOK)
		p2 := s.do("GET", "/Users?count=4&cursor="+url.QueryEscape(p1.str("nextCursor")), nil).expect(t, http.StatusOK)
		prev := p2.str("previousCursor")
		if prev == "" {
			t.Fatalf("second page without previousCursor: %s", p2.raw)
		}
		back := s.do("GET", "/Users?count=4&cursor="+url.QueryEscape(prev), nil).expect(t, http.StatusOK)
		if !slices.Equal(idsOf(back), idsOf(p1)) {
			t.Errorf("previousCursor gives %v, want %v", idsOf(back), idsOf(p1))
		}
	})
	t.Run("Errors", func(t *testing.T) {
		next := s.do("GET", "/Users?cursor&count=2", nil).expect(t, http.StatusOK).str("nextCursor")
		for _, q := range []string{
			"cursor=garbage",
			"cursor=" + url.QueryEscape(next[:len(next)-2]),
			"cursor=" + url.QueryEscape(next) + "&filter=" + url.QueryEscape(`userName sw "user"`),
			"cursor=" + url.QueryEscape(next) + "&sortBy=userName",
		} {
			s.do("GET", "/Users?"+q, nil).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidCursor)
		}
		s.do("GET", "/Groups?cursor="+url.QueryEscape(next), nil).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidCursor)
		for _, c := range []string{"5", "-1", "x"} {
			s.do("GET", "/Users?cursor&count="+c, nil).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidCount)
		}
		s.do("GET", "/Users?cursor&startIndex=2", nil).expectError(t, http.StatusBadRequest, scimd.ScimTypeInvalidValue)
		// count=0: only the total.
		r := s.do("GET", "/Users?cursor&count=0", nil).expect(t, http.StatusOK)
		if r.body["totalResults"] != 10.0 || len(idsOf(r)) != 0 || r.body["nextCursor"] != nil {
			t.Errorf("count=0: %s", r.raw)
		}
		// Index paging keeps capping count (RFC 7644).
		r = s.do("GET", "/Users?count=5", nil).expect(t, http.StatusOK)
		if len(idsOf(r)) != 4 || r.body["nextCursor"] != nil || r.body["startIndex"] != 1.0 {
			t.Errorf("index page: %s", r.raw)
		}
	})
}

func TestServiceProviderConfigPagination(t *testing.T) {
	s := newTestServer(t, func(c *scimhttp.Config) { c.MaxPageSize = 500; c.DefaultPageSize = 50 })
	r := s.do("GET", "/ServiceProviderConfig", nil).expect(t, http.StatusOK)
	var spc struct {
		Pagination struct {
			Cursor, Index                               *bool
			DefaultPaginationMethod                     string
			DefaultPageSize, MaxPageSize, CursorTimeout int
		}
	}
	if err := json.Unmarshal(r.raw, &spc); err != nil {
		t.Fatal(err)
	}
	p := spc.Pagination
	if p.Cursor == nil || !*p.Cursor || p.Index == nil || !*p.Index || p.DefaultPaginationMethod != "index" ||
		p.DefaultPageSize != 50 || p.MaxPageSize != 500 || p.CursorTimeout <= 0 {
		t.Errorf("pagination %s", r.raw)
	}
}
