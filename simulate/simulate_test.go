package simulate

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/scimclient"
)

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    int
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}} {
		if got := percentile(lat, tc.p); got != tc.want {
			t.Errorf("p%d = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(lat[:1], 99); got != time.Millisecond {
		t.Errorf("p99 of one = %v", got)
	}
}

func TestChunks(t *testing.T) {
	got := chunks([]int{1, 2, 3, 4, 5}, 2)
	if len(got) != 3 || len(got[2]) != 1 {
		t.Errorf("chunks = %v", got)
	}
}

// TestErrorsRecorded: against a server that refuses everything, every
// operation is an error, the first few keep their exchange, and the run
// still ends (no hang, bounded work).
func TestErrorsRecorded(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/scim+json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"boom"}`)
	}))
	defer srv.Close()
	c := scimclient.New(srv.URL, scimclient.WithMaxRetries(0))
	for _, idp := range []string{Okta, Entra} {
		res, err := Run(context.Background(), Config{Client: c, IdP: idp, Users: 5, Groups: 2, Concurrency: 2})
		if err != nil {
			t.Fatal(err)
		}
		if res.OK() || res.ErrorCount == 0 || len(res.Errors) == 0 || len(res.Errors) > maxErrorDetails {
			t.Errorf("%s: errors %d, details %d", idp, res.ErrorCount, len(res.Errors))
		}
		if !strings.Contains(res.Errors[0], "< 500") || !strings.Contains(res.Errors[0], "> GET") {
			t.Errorf("%s: first error lacks its exchange: %s", idp, res.Errors[0])
		}
		var b strings.Builder
		if err := res.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "create-user") || !strings.Contains(b.String(), "more errors") {
			t.Errorf("%s text:\n%s", idp, b.String())
		}
	}
	if n.Load() > 100 {
		t.Errorf("%d requests for a failing server", n.Load())
	}
}

func TestConfigValidation(t *testing.T) {
	c := scimclient.New("http://127.0.0.1:1")
	for _, cfg := range []Config{
		{IdP: Okta},
		{Client: c, IdP: "onelogin"},
		{Client: c, IdP: Okta, Users: MaxUsers + 1},
		{Client: c, IdP: Okta, Concurrency: -1},
		{Client: c, IdP: Entra, Groups: -1},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("Run(%+v): no error", cfg)
		}
	}
}

func TestBusy(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	got := busy([]span{{at(0), at(10)}, {at(5), at(20)}, {at(100), at(110)}, {at(105), at(107)}})
	if got != 30*time.Millisecond {
		t.Errorf("busy = %v, want 30ms", got)
	}
	if busy(nil) != 0 {
		t.Errorf("busy(nil) != 0")
	}
}
