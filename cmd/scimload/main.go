// Command scimload measures a SCIM server under Okta's traffic.
//
//	scimload run --url URL --token T [flags]   replay Okta's requests, report throughput and latency
//	scimload ceiling [--addr 127.0.0.1:0]      serve the same requests from memory: the ceiling
//	scimload compare CEILING.json SERVER.json  throughput ratios of server to ceiling
//
// It uses only the standard library and talks HTTP to any base URL, so it
// measures scimd and other SCIM servers alike. scripts/bench-load runs the
// whole measurement (ceiling and scimd, each pinned to one core, the tool
// to the other) for one database size.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `scimload: measure a SCIM server under Okta's traffic

Usage:
  scimload run --url URL --token T [flags]     replay Okta's requests and report
  scimload ceiling [--addr 127.0.0.1:0]        bare net/http server with canned JSON: the ceiling
  scimload compare CEILING.json SERVER.json …  throughput ratios to the ceiling

Run "scimload COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "scimload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "run":
		return runRun(ctx, args[1:], stdout, stderr)
	case "ceiling":
		return runCeiling(ctx, args[1:], stdout, stderr)
	case "compare":
		return runCompare(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
