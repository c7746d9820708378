package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestMaxExactCount checks that limits.maxExactCount reaches the list
// handler: a filtered list counts at most that many matches from startIndex
// on, an unfiltered one stays exact, and 0 turns the bound off.
func TestMaxExactCount(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.Limits.MaxExactCount != 10000 {
		t.Errorf("default maxExactCount = %d, want 10000", cfg.Limits.MaxExactCount)
	}
	if err := cfg.ApplyEnv(func(k string) string {
		return map[string]string{"SCIMD_MAX_EXACT_COUNT": "7"}[k]
	}); err != nil || cfg.Limits.MaxExactCount != 7 {
		t.Errorf("SCIMD_MAX_EXACT_COUNT=7: maxExactCount %d, err %v", cfg.Limits.MaxExactCount, err)
	}
	cfg.Limits.MaxExactCount = -1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "maxExactCount") {
		t.Errorf("maxExactCount -1: Validate = %v", err)
	}

	total := func(c *client, query string) int {
		t.Helper()
		r := c.do("GET", "/Users?"+query, nil).want(t, http.StatusOK)
		n, ok := r.Body["totalResults"].(float64)
		if !ok {
			t.Fatalf("totalResults missing: %s", r.Raw)
		}
		return int(n)
	}
	filter := "filter=" + url.QueryEscape(`userName co "u"`)
	for _, c := range []struct {
		maxExact          int
		filtered, bounded int
	}{
		{2, 6, 1 + 2 + 1}, // page at 2, cap max(2, count 1) = 2: 1 + 2 + 1
		{0, 6, 6},
	} {
		t.Run(fmt.Sprint(c.maxExact), func(t *testing.T) {
			srv := startServer(t, func(cfg *Config) { cfg.Limits.MaxExactCount = c.maxExact })
			for i := range 6 {
				srv.do("POST", "/Users", map[string]any{
					"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
					"userName": fmt.Sprintf("u%d@x.test", i),
				}).want(t, http.StatusCreated)
			}
			srv.do("POST", "/Users", map[string]any{
				"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
				"userName": "other@x.test",
			}).want(t, http.StatusCreated)
			if got := total(srv, filter+"&startIndex=2&count=1"); got != c.bounded {
				t.Errorf("filtered page at 2: totalResults = %d, want %d", got, c.bounded)
			}
			if got := total(srv, filter+"&startIndex=1&count=10"); got != c.filtered {
				t.Errorf("filtered, one page: totalResults = %d, want %d", got, c.filtered)
			}
			if got := total(srv, "startIndex=1&count=1"); got != 7 {
				t.Errorf("unfiltered: totalResults = %d, want 7", got)
			}
		})
	}
}
