package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/scimd/scimd/simulate"
)

// errSimulationFailed is returned by runSimulate when an operation failed.
var errSimulationFailed = errors.New("simulate: some operations failed")

func runSimulate(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("scimd simulate", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	target := addSCIMTargetFlags(fs, env)
	users := fs.Int("users", 10, fmt.Sprintf("number of users to provision (1..%d)", simulate.MaxUsers))
	groups := fs.Int("groups", 2, fmt.Sprintf("number of groups to push (0..%d)", simulate.MaxGroups))
	concurrency := fs.Int("concurrency", 1, fmt.Sprintf("parallel requests (1..%d)", simulate.MaxConcurrency))
	keep := fs.Bool("keep", false, "keep the users and groups created (default: delete them at the end)")
	timeout := fs.Duration("timeout", 10*time.Minute, "stop the run after this long (cleanup still runs)")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	quiet := fs.Bool("quiet", false, "do not print phases as they start")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: scimd simulate okta|entra --url URL [--auth 'Bearer TOKEN'] [flags]

Replays Okta's or Entra ID's provisioning lifecycle with that IdP's exact
request shapes, then prints count, errors, throughput and latency
percentiles per operation. Exit status 0 only when every operation
succeeded. See docs/conformance.md.

Flags:
`)
		fs.PrintDefaults()
	}
	if len(args) == 0 || (args[0] != simulate.Okta && args[0] != simulate.Entra) {
		fs.Usage()
		if len(args) > 0 && args[0] != "-h" && args[0] != "--help" && args[0] != "-help" {
			return fmt.Errorf("simulate: first argument must be okta or entra, not %q", args[0])
		}
		return flag.ErrHelp
	}
	idp := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("simulate: unexpected argument %q", fs.Arg(0))
	}
	client, err := target.client()
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cfg := simulate.Config{Client: client, IdP: idp, Users: *users, Groups: *groups, Concurrency: *concurrency, Keep: *keep}
	if !*quiet && !*jsonOut {
		cfg.Progress = env.Stderr
	}
	res, err := simulate.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = res.WriteText(env.Stdout)
	}
	if err != nil {
		return err
	}
	if !res.OK() {
		return errSimulationFailed
	}
	return nil
}
