package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// featureOrder is the order features are listed in reports.
var featureOrder = []string{FeaturePatch, FeatureFilter, FeatureSort, FeatureETag, FeatureChangePassword, FeatureBulk, FeatureGroups, FeatureEnterprise}

// WriteText writes a readable report: a line per check (PASS, FAIL or
// SKIP), and under each failure the rule broken, what was wrong and the
// exchange that shows it; then a summary line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "SCIM conformance: %s (run %s)\n", r.URL, r.RunID)
	var yes, no []string
	for _, f := range featureOrder {
		if r.Features[f] {
			yes = append(yes, f)
		} else {
			no = append(no, f)
		}
	}
	fmt.Fprintf(&b, "advertised: %s; not advertised: %s\n", listOrNone(yes), listOrNone(no))
	if r.DiscoveryError != "" {
		fmt.Fprintf(&b, "discovery failed: %s\n", r.DiscoveryError)
	}
	b.WriteString("\n")
	for _, res := range r.Results {
		b.WriteString(ResultText(res))
	}
	b.WriteString("\n" + r.Summary() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary returns the one-line summary, e.g.
// "52 checks: 49 passed, 1 failed, 2 skipped in 3.2s".
func (r *Report) Summary() string {
	s := fmt.Sprintf("%d checks: %d passed, %d failed, %d skipped in %v",
		len(r.Results), r.Passed, r.Failed, r.Skipped, r.Duration.Round(time.Millisecond))
	if r.CleanupFailures > 0 {
		s += fmt.Sprintf("; %d resources could not be deleted", r.CleanupFailures)
	}
	return s
}

// ResultText renders one result as in WriteText.
func ResultText(res Result) string {
	var b strings.Builder
	label := map[Status]string{StatusPass: "PASS", StatusFail: "FAIL", StatusSkip: "SKIP"}[res.Status]
	fmt.Fprintf(&b, "%-4s  %-36s %s", label, res.ID, res.Title)
	if res.Status == StatusSkip {
		fmt.Fprintf(&b, " (skipped: %s)", res.SkipReason)
	}
	b.WriteString("\n")
	for i, f := range res.Failures {
		fmt.Fprintf(&b, "      failure %d: %s\n", i+1, f.Message)
		fmt.Fprintf(&b, "      rule: %s\n", f.Rule)
		for _, ex := range f.Exchanges {
			b.WriteString(indent(ex, "        "))
		}
	}
	for _, e := range res.CleanupErrors {
		fmt.Fprintf(&b, "      cleanup failed: %s\n", e)
	}
	for _, k := range res.Kept {
		fmt.Fprintf(&b, "      kept: %s\n", k)
	}
	return b.String()
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func indent(s, prefix string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + line + "\n")
	}
	return b.String()
}

// WriteJSON writes the report as indented JSON. Durations are in
// nanoseconds.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// JUnit XML document types (the common Ant/Surefire dialect CI systems
// read).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes the report as JUnit XML: one testsuite per group, one
// testcase per check. A failed check's failure element carries every
// failure with its rule and exchanges; cleanup errors go to system-out.
func (r *Report) WriteJUnit(w io.Writer) error {
	doc := junitSuites{Name: "scim-conformance " + r.URL, Time: secs(r.Duration)}
	var groups []string
	for _, res := range r.Results {
		if !slices.Contains(groups, res.Group) {
			groups = append(groups, res.Group)
		}
	}
	for _, g := range groups {
		s := junitSuite{Name: g, Timestamp: r.Started.UTC().Format(time.RFC3339)}
		var d time.Duration
		for _, res := range r.Results {
			if res.Group != g {
				continue
			}
			d += res.Duration
			c := junitCase{Name: res.ID + ": " + res.Title, Classname: "conformance." + g, Time: secs(res.Duration)}
			switch res.Status {
			case StatusFail:
				var text strings.Builder
				for i, f := range res.Failures {
					fmt.Fprintf(&text, "failure %d: %s\nrule: %s\n", i+1, f.Message, f.Rule)
					for _, ex := range f.Exchanges {
						text.WriteString(ex)
					}
					text.WriteString("\n")
				}
				c.Failure = &junitFailure{Message: res.Failures[0].Message, Type: res.Failures[0].Rule, Text: text.String()}
				s.Failures++
			case StatusSkip:
				c.Skipped = &junitSkipped{Message: res.SkipReason}
				s.Skipped++
			}
			if len(res.CleanupErrors) > 0 {
				c.SystemOut = "cleanup failed:\n" + strings.Join(res.CleanupErrors, "\n")
			}
			s.Tests++
			s.Cases = append(s.Cases, c)
		}
		s.Time = secs(d)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
