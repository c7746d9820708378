package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/scimd/scimd/conformance"
	"github.com/scimd/scimd/scimclient"
)

// errChecksFailed is returned by runConformance when a check failed, so
// the process exits with status 1 after printing the report.
var errChecksFailed = errors.New("conformance: some checks failed")

// scimTargetFlags are the flags shared by "conformance" and "simulate" that
// say which server to talk to and how.
type scimTargetFlags struct {
	url      *string
	auth     *string
	insecure *bool
}

func addSCIMTargetFlags(fs *flag.FlagSet, env Env) scimTargetFlags {
	return scimTargetFlags{
		url:      fs.String("url", env.Getenv("SCIM_URL"), "SCIM base URL of the server to test, e.g. https://host/scim/v2 (env SCIM_URL)"),
		auth:     fs.String("auth", env.Getenv("SCIM_AUTH"), "credentials: 'Bearer TOKEN', 'Basic USER:PASSWORD' or a raw Authorization header value (env SCIM_AUTH)"),
		insecure: fs.Bool("insecure", false, "accept any TLS certificate (self-signed test servers only)"),
	}
}

// client builds the scimclient.Client the flags describe.
func (f scimTargetFlags) client() (*scimclient.Client, error) {
	if *f.url == "" {
		return nil, errors.New("--url is required")
	}
	if !strings.HasPrefix(*f.url, "http://") && !strings.HasPrefix(*f.url, "https://") {
		return nil, fmt.Errorf("--url %q: want an http:// or https:// URL", *f.url)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	if *f.insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // requested with --insecure
	}
	c := scimclient.New(strings.TrimRight(*f.url, "/"),
		scimclient.WithHTTPClient(&http.Client{Timeout: scimclient.DefaultTimeout, Transport: tr}),
		scimclient.WithUserAgent("scimd-conformance/"+version))
	c.Auth = parseAuthFlag(*f.auth)
	return c, nil
}

// parseAuthFlag turns an --auth value into a scimclient.Auth: "Bearer T",
// "Basic user:password" (encoded here), "Basic <base64>" or any other value
// (sent verbatim as the Authorization header). Empty means no credentials.
func parseAuthFlag(v string) scimclient.Auth {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	scheme, rest, _ := strings.Cut(v, " ")
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Bearer") && rest != "":
		return scimclient.Bearer(rest)
	case strings.EqualFold(scheme, "Basic") && strings.Contains(rest, ":"):
		user, pass, _ := strings.Cut(rest, ":")
		return scimclient.Basic(user, pass)
	}
	return scimclient.Header("Authorization", v)
}

func runConformance(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("scimd conformance", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	target := addSCIMTargetFlags(fs, env)
	only := fs.String("only", "", "run only these checks or groups (comma-separated IDs or group names)")
	skip := fs.String("skip", "", "skip these checks or groups (comma-separated)")
	jsonOut := fs.Bool("json", false, "print the report as JSON instead of text")
	junit := fs.String("junit", "", "also write a JUnit XML report to this file")
	keep := fs.Bool("keep", false, "keep the users and groups the checks create (default: delete them)")
	timeout := fs.Duration("timeout", 10*time.Minute, "stop the whole run after this long")
	checkTimeout := fs.Duration("check-timeout", conformance.DefaultCheckTimeout, "stop a single check after this long")
	list := fs.Bool("list", false, "list the checks and exit")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: scimd conformance --url URL [--auth 'Bearer TOKEN'] [flags]

Checks a SCIM 2.0 server against Okta's and Entra ID's requirements and
RFC 7643/7644. Exit status 0 only when no check failed. See docs/conformance.md.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("conformance: unexpected argument %q", fs.Arg(0))
	}
	checks, err := conformance.Select(conformance.Checks(), conformance.SplitList(*only), conformance.SplitList(*skip))
	if err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	if *list {
		for _, c := range checks {
			req := ""
			if len(c.Requires) > 0 {
				req = " [needs " + strings.Join(c.Requires, ", ") + "]"
			}
			fmt.Fprintf(env.Stdout, "%-38s %s%s\n    %s\n", c.ID, c.Title, req, c.Rule)
		}
		return nil
	}
	client, err := target.client()
	if err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cfg := conformance.Config{Client: client, Checks: checks, Keep: *keep, CheckTimeout: *checkTimeout}
	if !*jsonOut {
		// Stream the per-check lines to stderr so long runs show progress;
		// the full report goes to stdout at the end.
		cfg.Progress = func(r conformance.Result) {
			fmt.Fprintf(env.Stderr, "%-4s %s\n", strings.ToUpper(string(r.Status)), r.ID)
		}
	}
	rep := conformance.Run(ctx, cfg)
	if *jsonOut {
		err = rep.WriteJSON(env.Stdout)
	} else {
		err = rep.WriteText(env.Stdout)
	}
	if err != nil {
		return err
	}
	if *junit != "" {
		if err := writeReportFile(*junit, rep.WriteJUnit); err != nil {
			return fmt.Errorf("conformance: --junit: %w", err)
		}
	}
	if !rep.OK() {
		return errChecksFailed
	}
	return nil
}

// writeReportFile creates path and writes it with write.
func writeReportFile(path string, write func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
