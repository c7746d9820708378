package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/conformance"
	"github.com/scimd/scimd/scimclient"
	"github.com/scimd/scimd/simulate"
)

// knownScimdFailures lists conformance checks that currently fail against
// scimd because of server bugs reported to the lead, with the reason. The
// test tolerates exactly these; remove an entry when the server is fixed
// (the test then insists the check passes).
var knownScimdFailures = map[string]string{}

// TestConformanceAgainstScimd runs the whole kit against a real scimd and
// requires zero failures, zero skips caused by missing features, and a
// clean server afterwards.
func TestConformanceAgainstScimd(t *testing.T) {
	c := startServer(t)
	client := scimclient.New(c.base, scimclient.WithAuth(scimclient.Bearer(c.token)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep := conformance.Run(ctx, conformance.Config{Client: client})
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, res := range rep.Results {
		_, known := knownScimdFailures[res.ID]
		switch {
		case res.Status == conformance.StatusFail && !known:
			t.Errorf("check %s failed:\n%s", res.ID, conformance.ResultText(res))
		case res.Status != conformance.StatusFail && known:
			t.Errorf("check %s is in knownScimdFailures but %s now: remove it from the list", res.ID, res.Status)
		case res.Status == conformance.StatusSkip:
			t.Errorf("check %s skipped against scimd: %s", res.ID, res.SkipReason)
		}
		for _, e := range res.CleanupErrors {
			t.Errorf("check %s: cleanup: %s", res.ID, e)
		}
	}
	if len(rep.Results) != len(conformance.Checks()) {
		t.Errorf("ran %d checks, want all %d", len(rep.Results), len(conformance.Checks()))
	}
	assertEmpty(t, c, "after the conformance run")
	if t.Failed() || testing.Verbose() {
		t.Logf("report:\n%s", text.String())
	}
}

// assertEmpty checks that the server holds no users or groups: every run
// cleans up after itself.
func assertEmpty(t *testing.T, c *client, when string) {
	t.Helper()
	for _, ep := range []string{"/Users", "/Groups"} {
		r := c.do("GET", ep+"?count=5", nil)
		if n := r.total(t); n != 0 {
			t.Errorf("%s: %s holds %d resources, want 0 (cleanup missed them): %s", when, ep, n, r.Raw)
		}
	}
}

// TestSimulateAgainstScimd replays both IdPs' lifecycles with a few users
// and groups, concurrently, and requires every operation to succeed.
func TestSimulateAgainstScimd(t *testing.T) {
	c := startServer(t)
	client := scimclient.New(c.base, scimclient.WithAuth(scimclient.Bearer(c.token)))
	for _, idp := range []string{simulate.Okta, simulate.Entra} {
		t.Run(idp, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := simulate.Run(ctx, simulate.Config{Client: client, IdP: idp, Users: 12, Groups: 3, Concurrency: 4})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := res.WriteText(&out); err != nil {
				t.Fatal(err)
			}
			if testing.Verbose() {
				t.Logf("simulate %s:\n%s", idp, out.String())
			}
			if !res.OK() {
				t.Fatalf("simulate %s: %d errors:\n%s", idp, res.ErrorCount, out.String())
			}
			if res.Requests < 12*5 {
				t.Errorf("only %d requests", res.Requests)
			}
			for _, o := range res.Ops {
				if o.Count == 0 || o.P50 <= 0 || o.P99 < o.P50 {
					t.Errorf("op %s: implausible stats %+v", o.Name, o)
				}
			}
			assertEmpty(t, c, "after simulate "+idp)
		})
	}
}

// TestConformanceCommand runs "scimd conformance" through Run, as a user
// would, checking exit status, --only, --json and --junit.
func TestConformanceCommand(t *testing.T) {
	c := startServer(t)
	junit := filepath.Join(t.TempDir(), "report.xml")
	var stdout, stderr bytes.Buffer
	env := Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	args := []string{"conformance", "--url", c.base, "--auth", "Bearer " + c.token,
		"--only", "discovery,okta.lookup", "--json", "--junit", junit}
	if err := Run(context.Background(), args, env); err != nil {
		t.Fatalf("conformance: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var rep conformance.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout.String())
	}
	if len(rep.Results) != 5 || rep.Passed != 5 {
		t.Errorf("--only discovery,okta.lookup: %d results, %d passed; want 5 and 5", len(rep.Results), rep.Passed)
	}
	if strings.Contains(stdout.String(), c.token) {
		t.Errorf("the report contains the bearer token")
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(data, &suites); err != nil || suites.Tests != 5 || suites.Failures != 0 {
		t.Errorf("junit: %v, %+v\n%s", err, suites, data)
	}

	// Wrong credentials: checks fail and the command reports it.
	stdout.Reset()
	args = []string{"conformance", "--url", c.base, "--auth", "Bearer wrong-token-000000000000", "--only", "okta.lookup"}
	err = Run(context.Background(), args, env)
	if !errors.Is(err, errChecksFailed) {
		t.Errorf("with a wrong token: err %v, want errChecksFailed", err)
	}
	if !strings.Contains(stdout.String(), "FAIL  okta.lookup") || !strings.Contains(stdout.String(), "< 401") {
		t.Errorf("text report lacks the failure and its exchange:\n%s", stdout.String())
	}

	// Unknown check names are refused.
	if err := Run(context.Background(), []string{"conformance", "--url", c.base, "--only", "okta.nope"}, env); err == nil {
		t.Errorf("--only okta.nope: no error")
	}
}

// TestSimulateCommand runs "scimd simulate" through Run.
func TestSimulateCommand(t *testing.T) {
	c := startServer(t)
	var stdout, stderr bytes.Buffer
	env := Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string {
		return map[string]string{"SCIM_URL": c.base, "SCIM_AUTH": "Bearer " + c.token}[k]
	}}
	if err := Run(context.Background(), []string{"simulate", "entra", "--users", "3", "--groups", "1", "--quiet"}, env); err != nil {
		t.Fatalf("simulate: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"create-user", "add-members", "p95", "requests/s"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	if err := Run(context.Background(), []string{"simulate", "onelogin", "--url", c.base}, env); err == nil {
		t.Errorf("simulate onelogin: no error")
	}
}

func TestParseAuthFlag(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Bearer abc.def", "Bearer abc.def"},
		{"bearer abc", "Bearer abc"},
		{"Basic okta:s3cr:et", "Basic b2t0YTpzM2NyOmV0"},
		{"Basic b2t0YTpzM2NyZXQ=", "Basic b2t0YTpzM2NyZXQ="},
		{"SSWS 00abc", "SSWS 00abc"},
		{"", ""},
	} {
		req, _ := http.NewRequest("GET", "http://x", nil)
		if a := parseAuthFlag(tc.in); a != nil {
			a.Apply(req)
		}
		if got := req.Header.Get("Authorization"); got != tc.want {
			t.Errorf("--auth %q: Authorization %q, want %q", tc.in, got, tc.want)
		}
	}
}
