package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"slices"
	"strings"
	"testing"
	"time"
)

// defectCases maps each defect of the fake server to the checks it must
// make fail. Together they cover every check (TestEveryCheckCanFail).
var defectCases = []struct {
	defect string
	fails  []string
}{
	{"spc-string-supported", []string{"discovery.service-provider-config"}},
	{"rt-wrong-user-endpoint", []string{"discovery.resource-types"}},
	{"schemas-missing-enterprise", []string{"discovery.schemas"}},
	{"username-case-exact-schema", []string{"discovery.user-schema"}},
	{"groups-list-broken", []string{"okta.test-connection"}},
	{"create-200", []string{"okta.create-user"}},
	{"create-empty-body", []string{"okta.create-user", "okta.lookup"}},
	{"drop-family-name", []string{"okta.basic-attributes"}},
	{"id-from-externalid", []string{"okta.unique-id"}},
	{"active-string", []string{"okta.active", "okta.deactivate"}},
	{"filters-ignored", []string{"okta.lookup", "entra.test-connection", "rfc.filter.invalid", "rfc.filter.string-ops"}},
	{"lookup-case-sensitive", []string{"okta.lookup-case-insensitive"}},
	{"string-total-results", []string{"okta.paging-integers", "okta.lookup"}},
	{"duplicates-allowed", []string{"okta.duplicate", "okta.duplicate-case", "rfc.error-format"}},
	{"unique-case-sensitive", []string{"okta.duplicate-case"}},
	{"not-found-no-body", []string{"okta.not-found", "rfc.error-format", "rfc.delete"}},
	{"no-auth", []string{"okta.auth-required"}},
	{"no-path-replace-ignored", []string{"okta.deactivate", "okta.group-rename", "entra.dotted-keys"}},
	{"inactive-hidden", []string{"okta.deactivated-visible"}},
	{"active-sticky-false", []string{"okta.reactivate", "entra.string-booleans"}},
	{"put-rejects-readonly", []string{"okta.put-roundtrip", "okta.put-deactivate"}},
	{"put-ignores-active", []string{"okta.put-deactivate"}},
	{"group-create-200", []string{"okta.group-create", "entra.group-create"}},
	{"group-displayname-filter-400", []string{"okta.group-lookup", "entra.group-excluded-members"}},
	{"rename-rejects-id", []string{"okta.group-rename"}},
	{"member-add-requires-type", []string{"okta.group-members-add", "okta.group-members-remove", "entra.group-add-members"}},
	{"member-remove-filter-ignored", []string{"okta.group-members-remove"}},
	{"members-replace-appends", []string{"okta.group-members-replace"}},
	{"plus-not-decoded", []string{"entra.test-connection", "entra.group-excluded-members"}},
	{"empty-lookup-404", []string{"entra.test-connection", "okta.lookup"}},
	{"reject-null", []string{"entra.create-user"}},
	{"externalid-filter-unsupported", []string{"entra.filter-externalid"}},
	{"valuepath-filter-unsupported", []string{"entra.filter-work-email"}},
	{"ops-case-sensitive", []string{"entra.capitalised-ops", "entra.string-booleans"}},
	{"string-booleans-rejected", []string{"entra.string-booleans"}},
	{"dotted-keys-literal", []string{"entra.dotted-keys"}},
	{"manager-string-rejected", []string{"entra.manager-string"}},
	{"valuepath-no-create", []string{"entra.value-path-create"}},
	{"reject-unknown-schema", []string{"entra.group-create"}},
	{"excluded-ignored", []string{"entra.group-excluded-members", "rfc.projection.excluded"}},
	{"ref-null-rejected", []string{"entra.group-add-members", "entra.remove-with-value"}},
	{"remove-value-wipes", []string{"entra.remove-with-value"}},
	{"group-path-replace-ignored", []string{"entra.group-rename"}},
	{"invalid-filter-ignored", []string{"rfc.filter.invalid"}},
	{"filter-co-as-eq", []string{"rfc.filter.string-ops"}},
	{"filter-not-ignored", []string{"rfc.filter.presence", "rfc.filter.logical"}},
	{"filter-and-as-or", []string{"rfc.filter.logical"}},
	{"filter-compare-swapped", []string{"rfc.filter.compare"}},
	{"filter-first-value-only", []string{"rfc.filter.multi-valued"}},
	{"filter-names-case-sensitive", []string{"rfc.filter.case-insensitive-names"}},
	{"patch-ignored", []string{"okta.deactivate", "entra.capitalised-ops", "rfc.patch.operations", "rfc.patch.atomic", "okta.group-members-add"}},
	{"patch-remove-ignored", []string{"rfc.patch.operations"}},
	{"patch-not-atomic", []string{"rfc.patch.atomic"}},
	{"patch-remove-no-path-ok", []string{"rfc.patch.errors", "rfc.patch.atomic"}},
	{"primary-not-cleared", []string{"rfc.patch.primary"}},
	{"members-duplicated", []string{"rfc.patch.members-dedupe"}},
	{"start-index-zero-based", []string{"rfc.paging"}},
	{"count-zero-ignored", []string{"rfc.paging.count-zero"}},
	{"start-index-below-one-error", []string{"rfc.paging.start-index-below-one"}},
	{"sort-ignored", []string{"rfc.sort"}},
	{"attributes-ignored", []string{"rfc.projection.attributes"}},
	{"password-returned", []string{"rfc.password-never-returned"}},
	{"etag-412-ignored", []string{"rfc.etag"}},
	{"error-status-number", []string{"rfc.error-format", "okta.not-found", "okta.auth-required"}},
	{"content-type-json", []string{"rfc.content-type"}},
	{"json-content-type-rejected", []string{"rfc.request-media-types"}},
	{"location-missing", []string{"rfc.location"}},
	{"delete-soft", []string{"rfc.delete"}},
	{"put-creates", []string{"rfc.put-unknown"}},
}

func runKit(t *testing.T, cfg Config) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return Run(ctx, cfg)
}

func reportText(r *Report) string {
	var b bytes.Buffer
	_ = r.WriteText(&b)
	return b.String()
}

// TestCleanServerPasses: the fake without defects passes every check,
// nothing is skipped, and the run leaves nothing behind.
func TestCleanServerPasses(t *testing.T) {
	f, c := newFake(t)
	rep := runKit(t, Config{Client: c})
	if rep.Failed != 0 || rep.Skipped != 0 || rep.Passed != len(Checks()) || !rep.OK() {
		t.Fatalf("clean server: %s\n%s", rep.Summary(), reportText(rep))
	}
	if n, m := f.count("Users"), f.count("Groups"); n != 0 || m != 0 {
		t.Errorf("after the run the server holds %d users and %d groups, want none", n, m)
	}
}

// TestDefectsDetected runs the whole kit against the fake with one defect
// at a time and checks that the checks meant to catch it fail, each with
// its rule and the exchange that shows the problem.
func TestDefectsDetected(t *testing.T) {
	for _, tc := range defectCases {
		t.Run(tc.defect, func(t *testing.T) {
			t.Parallel()
			_, c := newFake(t, tc.defect)
			rep := runKit(t, Config{Client: c})
			byID := map[string]Result{}
			for _, r := range rep.Results {
				byID[r.ID] = r
			}
			for _, id := range tc.fails {
				r, ok := byID[id]
				if !ok {
					t.Fatalf("no check %s", id)
				}
				if r.Status != StatusFail {
					t.Errorf("defect %s: check %s is %s, want fail", tc.defect, id, r.Status)
					continue
				}
				for _, fl := range r.Failures {
					if fl.Rule == "" || fl.Message == "" {
						t.Errorf("check %s: failure without rule or message: %+v", id, fl)
					}
				}
				if len(r.Failures[0].Exchanges) == 0 || !strings.Contains(r.Failures[0].Exchanges[0], "> ") {
					t.Errorf("check %s: first failure has no exchange: %+v", id, r.Failures[0])
				}
			}
			if rep.OK() {
				t.Errorf("report OK despite failures")
			}
			if t.Failed() {
				t.Logf("report:\n%s", reportText(rep))
			}
		})
	}
}

// TestEveryCheckCanFail: every check is expected to fail for at least one
// defect, and every defect switch is used.
func TestEveryCheckCanFail(t *testing.T) {
	covered := map[string]bool{}
	used := map[string]bool{}
	for _, tc := range defectCases {
		used[tc.defect] = true
		for _, id := range tc.fails {
			covered[id] = true
		}
	}
	for _, c := range Checks() {
		if !covered[c.ID] {
			t.Errorf("check %s is not shown able to fail: add a defect to defectCases", c.ID)
		}
	}
	for d := range knownDefects {
		if !used[d] && d != "no-sort-advertised" && d != "delete-fails" {
			t.Errorf("defect %s is not used by defectCases", d)
		}
	}
}

func TestChecksWellFormed(t *testing.T) {
	features := []string{FeaturePatch, FeatureBulk, FeatureFilter, FeatureChangePassword, FeatureSort, FeatureETag, FeatureGroups, FeatureEnterprise}
	seen := map[string]bool{}
	for _, c := range Checks() {
		if seen[c.ID] {
			t.Errorf("duplicate check ID %s", c.ID)
		}
		seen[c.ID] = true
		if !strings.HasPrefix(c.ID, c.Group+".") {
			t.Errorf("check %s: ID does not start with its group %q", c.ID, c.Group)
		}
		if !slices.Contains([]string{GroupDiscovery, GroupOkta, GroupEntra, GroupRFC}, c.Group) {
			t.Errorf("check %s: unknown group %q", c.ID, c.Group)
		}
		if c.Title == "" || c.Rule == "" || c.Run == nil {
			t.Errorf("check %s: missing title, rule or Run", c.ID)
		}
		if !strings.Contains(c.Rule, "RFC 764") && !strings.Contains(c.Rule, srcOkta) && !strings.Contains(c.Rule, "Entra") {
			t.Errorf("check %s: rule %q names no source", c.ID, c.Rule)
		}
		for _, r := range c.Requires {
			if !slices.Contains(features, r) {
				t.Errorf("check %s requires unknown feature %q", c.ID, r)
			}
		}
	}
}

// TestUnadvertisedFeatureSkips: a server that does not advertise sort gets
// rfc.sort skipped with a reason, and the run still succeeds.
func TestUnadvertisedFeatureSkips(t *testing.T) {
	_, c := newFake(t, "no-sort-advertised", "sort-ignored")
	checks, err := Select(Checks(), []string{"rfc.sort", "okta.lookup"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := runKit(t, Config{Client: c, Checks: checks})
	if r := rep.Results[1]; r.ID != "rfc.sort" || r.Status != StatusSkip || !strings.Contains(r.SkipReason, "sort") {
		t.Errorf("%s: %s %q, want rfc.sort skipped because sort is not advertised", r.ID, r.Status, r.SkipReason)
	}
	if !rep.OK() || rep.Skipped != 1 || rep.Passed != 1 {
		t.Errorf("report: %s", rep.Summary())
	}
	if !strings.Contains(reportText(rep), "SKIP  rfc.sort") {
		t.Errorf("text report lacks the skip:\n%s", reportText(rep))
	}
}

// TestOnlyOwnResourcesTouched: resources that exist before the run are
// neither changed nor deleted, and the run's own are all deleted.
func TestOnlyOwnResourcesTouched(t *testing.T) {
	f, c := newFake(t)
	f.add("Users", map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "alpha-existing@example.com", "active": true})
	f.add("Users", map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "page-existing@example.com", "active": false, "displayName": "Ada Zephyr"})
	f.add("Groups", map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Existing", "members": []any{}})
	before := f.snapshot()
	rep := runKit(t, Config{Client: c})
	if !rep.OK() {
		t.Errorf("run with foreign data: %s\n%s", rep.Summary(), reportText(rep))
	}
	if after := f.snapshot(); after != before {
		t.Errorf("the run changed resources it did not create:\nbefore %s\nafter  %s", before, after)
	}
}

// TestCleanupFailuresReported: resources that cannot be deleted are
// listed, and the run is not OK.
func TestCleanupFailuresReported(t *testing.T) {
	_, c := newFake(t, "delete-fails")
	checks, _ := Select(Checks(), []string{"okta.lookup"}, nil)
	rep := runKit(t, Config{Client: c, Checks: checks})
	if rep.Failed != 0 || rep.CleanupFailures != 1 || rep.OK() {
		t.Fatalf("%s; cleanup failures %d, want 1 and not OK", rep.Summary(), rep.CleanupFailures)
	}
	if txt := reportText(rep); !strings.Contains(txt, "cleanup failed: DELETE /Users/") {
		t.Errorf("text report does not show the cleanup failure:\n%s", txt)
	}
}

// TestKeep: with Keep nothing is deleted and the report lists it.
func TestKeep(t *testing.T) {
	f, c := newFake(t)
	checks, _ := Select(Checks(), []string{"okta.group-members-add"}, nil)
	rep := runKit(t, Config{Client: c, Checks: checks, Keep: true})
	if !rep.OK() || len(rep.Results[0].Kept) != 3 {
		t.Fatalf("%s; kept %v", rep.Summary(), rep.Results[0].Kept)
	}
	if f.count("Users") != 2 || f.count("Groups") != 1 {
		t.Errorf("server holds %d users, %d groups; want 2 and 1 kept", f.count("Users"), f.count("Groups"))
	}
}

func TestSelect(t *testing.T) {
	all := Checks()
	got, err := Select(all, []string{"discovery", "okta.lookup"}, []string{"discovery.schemas"})
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, c := range got {
		gotIDs = append(gotIDs, c.ID)
	}
	want := []string{"discovery.service-provider-config", "discovery.resource-types", "discovery.user-schema", "okta.lookup"}
	if !slices.Equal(gotIDs, want) {
		t.Errorf("Select = %v, want %v", gotIDs, want)
	}
	if _, err := Select(all, []string{"okta.nope"}, nil); err == nil {
		t.Errorf("Select of an unknown check: no error")
	}
	if _, err := Select(all, nil, []string{"nogroup"}); err == nil {
		t.Errorf("skip of an unknown group: no error")
	}
	if got := SplitList(" okta, rfc.sort,,"); !slices.Equal(got, []string{"okta", "rfc.sort"}) {
		t.Errorf("SplitList = %q", got)
	}
}

// TestReports checks the three output formats on a run with a failure.
func TestReports(t *testing.T) {
	_, c := newFake(t, "password-returned")
	checks, _ := Select(Checks(), []string{"rfc.password-never-returned", "okta.lookup", "rfc.sort"}, nil)
	rep := runKit(t, Config{Client: c, Checks: checks})

	txt := reportText(rep)
	for _, want := range []string{
		"FAIL  rfc.password-never-returned", "PASS  okta.lookup", "rule: RFC 7643 §4.1.1",
		"> POST ", "< 201 Created", `"password"`, "Authorization: Bearer [REDACTED]", "3 checks: 2 passed, 1 failed",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("text report lacks %q:\n%s", want, txt)
		}
	}
	if strings.Contains(txt, fakeToken) {
		t.Errorf("text report leaks the token")
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Failed != 1 || back.Results[2].Status != StatusFail || len(back.Results[2].Failures[0].Exchanges) == 0 || !back.Features[FeatureSort] {
		t.Errorf("JSON report round trip: %+v", back)
	}

	var jx bytes.Buffer
	if err := rep.WriteJUnit(&jx); err != nil {
		t.Fatal(err)
	}
	var suites junitSuites
	if err := xml.Unmarshal(jx.Bytes(), &suites); err != nil {
		t.Fatalf("JUnit XML: %v\n%s", err, jx.String())
	}
	if suites.Tests != 3 || suites.Failures != 1 || len(suites.Suites) != 2 {
		t.Errorf("JUnit: tests %d failures %d suites %d\n%s", suites.Tests, suites.Failures, len(suites.Suites), jx.String())
	}
	var failed *junitCase
	for _, s := range suites.Suites {
		for i := range s.Cases {
			if s.Cases[i].Failure != nil {
				failed = &s.Cases[i]
			}
		}
	}
	if failed == nil || !strings.Contains(failed.Failure.Text, "> POST") || !strings.HasPrefix(failed.Name, "rfc.password-never-returned") {
		t.Errorf("JUnit failure case: %+v", failed)
	}
}

// TestTimeout: when the run's context ends, the remaining checks fail
// rather than silently passing.
func TestTimeout(t *testing.T) {
	_, c := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := Run(ctx, Config{Client: c, Checks: Checks()[:2]})
	if rep.Failed != 2 || rep.OK() {
		t.Errorf("cancelled run: %s", rep.Summary())
	}
}
