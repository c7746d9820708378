package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
)

// runMigrate applies pending database migrations and prints their names.
// It is the explicit form of what "scimd serve" does on start (unless
// --no-migrate), for deployments that migrate as a separate step.
func runMigrate(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("scimd migrate", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	load := commonFlags(fs, env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	reg, err := cfg.Registry()
	if err != nil {
		return err
	}
	applied, err := migrateDatabase(ctx, cfg, reg)
	for _, name := range applied {
		fmt.Fprintf(env.Stdout, "applied %s\n", name)
	}
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(env.Stdout, "database %s is up to date\n", displayDatabase(cfg.Database))
	}
	return nil
}

// redactURL hides the password of a database URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
