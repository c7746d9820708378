package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/scimclient"
)

// DefaultCheckTimeout bounds one check when Config.CheckTimeout is zero.
const DefaultCheckTimeout = 60 * time.Second

// cleanupTimeout bounds the deletion of one check's resources.
const cleanupTimeout = 60 * time.Second

// Config configures Run.
type Config struct {
	// Client talks to the server under test, with its credentials. Run
	// copies it per check; it is not modified.
	Client *scimclient.Client

	// Checks to run, in order; nil means Checks(). Use Select to filter.
	Checks []Check

	// Keep leaves the resources created by the checks in place instead of
	// deleting them; the report lists them.
	Keep bool

	// CheckTimeout bounds each check; zero means DefaultCheckTimeout.
	CheckTimeout time.Duration

	// RunID names this run's resources; empty means a random 8-hex ID.
	RunID string

	// Progress, if non-nil, is called after each check with its result.
	Progress func(Result)
}

// Status is a check's outcome.
type Status string

// Check outcomes.
const (
	StatusPass Status = "pass"
	StatusFail Status = "fail"
	StatusSkip Status = "skip"
)

// Result is the outcome of one check.
type Result struct {
	ID     string `json:"id"`
	Group  string `json:"group"`
	Title  string `json:"title"`
	Rule   string `json:"rule"`
	Status Status `json:"status"`
	// SkipReason says why a skipped check did not run.
	SkipReason string `json:"skipReason,omitempty"`
	// Failures are the rules broken, empty unless Status is fail.
	Failures []Failure `json:"failures,omitempty"`
	// CleanupErrors lists resources the check created but could not delete.
	CleanupErrors []string `json:"cleanupErrors,omitempty"`
	// Kept lists the resources left in place because of Config.Keep.
	Kept []string `json:"kept,omitempty"`
	// Requests is the number of HTTP exchanges the check made.
	Requests int `json:"requests"`
	// Duration is how long the check took, cleanup included.
	Duration time.Duration `json:"durationNs"`
}

// Report is the outcome of a run.
type Report struct {
	// URL is the base URL tested.
	URL string `json:"url"`
	// RunID is the random ID in the names of the resources the run created.
	RunID string `json:"runId"`
	// Started is when the run began.
	Started time.Time `json:"started"`
	// Duration is the run's wall time.
	Duration time.Duration `json:"durationNs"`
	// Features maps each feature (Feature* constants) to whether the
	// server advertises it.
	Features map[string]bool `json:"features"`
	// DiscoveryError is set when the features could not be read, so every
	// check that needs one was skipped.
	DiscoveryError string `json:"discoveryError,omitempty"`
	// Results has one entry per selected check, in run order.
	Results []Result `json:"results"`
	// Passed, Failed and Skipped count Results by status.
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// CleanupFailures counts resources the run could not delete.
	CleanupFailures int `json:"cleanupFailures"`
}

// OK reports whether no check failed and cleanup succeeded: the condition
// for exit status 0.
func (r *Report) OK() bool { return r.Failed == 0 && r.CleanupFailures == 0 }

// runState is shared by the checks of one run.
type runState struct {
	client   *scimclient.Client
	id       string
	features map[string]bool
}

// Run runs the configured checks one after another against cfg.Client's
// server and returns the report. It reads /ServiceProviderConfig and
// /ResourceTypes first to learn the advertised features. When ctx ends,
// the checks not yet run are reported as failed.
func Run(ctx context.Context, cfg Config) *Report {
	checks := cfg.Checks
	if checks == nil {
		checks = Checks()
	}
	id := cfg.RunID
	if id == "" {
		id = randomHex(4)
	}
	timeout := cfg.CheckTimeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	rep := &Report{URL: cfg.Client.BaseURL, RunID: id, Started: time.Now()}
	rs := &runState{client: cfg.Client, id: id}
	rs.features, rep.DiscoveryError = probeFeatures(ctx, cfg.Client)
	rep.Features = rs.features

	for i := range checks {
		c := &checks[i]
		var res Result
		if err := ctx.Err(); err != nil {
			res = Result{ID: c.ID, Group: c.Group, Title: c.Title, Rule: c.Rule, Status: StatusFail,
				Failures: []Failure{{Message: "not run: " + context.Cause(ctx).Error(), Rule: c.Rule}}}
		} else {
			res = runCheck(ctx, c, rs, timeout, cfg.Keep, rep.DiscoveryError)
		}
		rep.Results = append(rep.Results, res)
		switch res.Status {
		case StatusPass:
			rep.Passed++
		case StatusFail:
			rep.Failed++
		case StatusSkip:
			rep.Skipped++
		}
		rep.CleanupFailures += len(res.CleanupErrors)
		if cfg.Progress != nil {
			cfg.Progress(res)
		}
	}
	rep.Duration = time.Since(rep.Started)
	return rep
}

func runCheck(ctx context.Context, c *Check, rs *runState, timeout time.Duration, keep bool, discoveryErr string) Result {
	start := time.Now()
	res := Result{ID: c.ID, Group: c.Group, Title: c.Title, Rule: c.Rule}
	var missing []string
	for _, f := range c.Requires {
		if !rs.features[f] {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		res.Status = StatusSkip
		res.SkipReason = fmt.Sprintf("server does not advertise %s", strings.Join(missing, ", "))
		if discoveryErr != "" {
			res.SkipReason += " (discovery failed: " + discoveryErr + ")"
		}
		return res
	}
	cctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("check %s timed out after %v", c.ID, timeout))
	t := newT(cctx, c, rs)
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(stop); ok {
					return
				}
				t.Fail(Failure{Message: fmt.Sprintf("check panicked: %v\n%s", v, debug.Stack())})
			}
		}()
		c.Run(cctx, t)
	}()
	cancel()

	if keep {
		res.Kept = t.kept()
	} else {
		cl, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		res.CleanupErrors = t.cleanup(cl)
		cancel()
	}
	t.mu.Lock()
	res.Failures = slices.Clone(t.failures)
	res.Requests = len(t.exchanges)
	skipped := t.skipped
	t.mu.Unlock()
	switch {
	case len(res.Failures) > 0:
		res.Status = StatusFail
	case skipped != "":
		res.Status = StatusSkip
		res.SkipReason = skipped
	default:
		res.Status = StatusPass
	}
	res.Duration = time.Since(start)
	return res
}

// probeFeatures reads the advertised features. It returns a description of
// what went wrong if /ServiceProviderConfig could not be read.
func probeFeatures(ctx context.Context, c *scimclient.Client) (map[string]bool, string) {
	f := map[string]bool{}
	var problem string
	spc, _, err := c.ServiceProviderConfig(ctx)
	if err != nil {
		problem = "GET /ServiceProviderConfig: " + err.Error()
	} else {
		for _, name := range []string{FeaturePatch, FeatureBulk, FeatureFilter, FeatureChangePassword, FeatureSort, FeatureETag} {
			b, ok := spc.Bool(name + ".supported")
			f[name] = ok && b
		}
	}
	f[FeatureGroups], f[FeatureEnterprise] = false, false
	if rts, _, err := c.ResourceTypes(ctx); err == nil {
		for _, rt := range rts.Resources {
			if isResourceType(rt, "Group", "/Groups") {
				f[FeatureGroups] = true
			}
			if isResourceType(rt, "User", "/Users") {
				for _, ext := range rt.List("schemaExtensions") {
					if strings.EqualFold(ext.String("schema"), scimclient.SchemaEnterpriseUser) {
						f[FeatureEnterprise] = true
					}
				}
			}
		}
	} else if problem == "" {
		problem = "GET /ResourceTypes: " + err.Error()
	}
	return f, problem
}

func isResourceType(rt scimclient.Resource, name, endpoint string) bool {
	return strings.EqualFold(rt.String("name"), name) || strings.EqualFold(rt.String("id"), name) ||
		strings.EqualFold(strings.TrimRight(rt.String("endpoint"), "/"), endpoint)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randomGUID returns a random version-4 UUID string.
func randomGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
