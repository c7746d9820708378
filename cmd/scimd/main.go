// Command scimd is a SCIM 2.0 provisioning server for Okta, Microsoft Entra
// ID and other identity providers.
//
//	scimd serve            run the server (embedded SQLite by default)
//	scimd tenant create    create a tenant (also list, update, disable, enable, delete)
//	scimd token create     issue a bearer token and print it
//	scimd token list       list tokens (never their secrets)
//	scimd token revoke ID  revoke a token
//	scimd basic create     issue a Basic auth password (also list, revoke)
//	scimd oauth ...        OAuth clients, connect codes, consent admin password
//	scimd conformance      check a SCIM server against Okta, Entra and the RFCs
//	scimd backup           copy a SQLite database while it serves
//	scimd simulate okta|entra  replay an IdP's provisioning lifecycle (and load)
//	scimd version          print the version
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

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	if err := Run(ctx, os.Args[1:], env); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "scimd:", err)
		os.Exit(1)
	}
}

// Env is what a command may touch of the outside world, so tests can run
// commands in-process.
type Env struct {
	Stdin  io.Reader // nil reads as empty (confirmations are refused)
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

const usage = `scimd: a SCIM 2.0 provisioning server

Usage:
  scimd serve [flags]          run the server
  scimd tenant create NAME [--host HOST]...
                               create a tenant reached at HOST or /t/NAME
  scimd tenant list            list tenants
  scimd tenant update NAME [--host HOST]...
                               replace a tenant's hosts
  scimd tenant disable|enable NAME
                               refuse (401) or accept a tenant's requests again
  scimd tenant delete NAME [--yes]
                               delete a tenant and all of its data
  scimd token create [flags]   issue a bearer token (printed once, alone on stdout)
  scimd token list [flags]     list tokens
  scimd token revoke [flags] ID  revoke a token (by id or by the token itself)
  scimd basic create --username U [flags]
                               issue a Basic auth password (printed once); also list, revoke
  scimd oauth client create --name LABEL [--okta-app APP] [--redirect-uri URI]... [--grant G]...
                               register an OAuth client (secret printed once); also list, show, revoke
  scimd oauth connect-code [flags]
                               print a one-time sign-in code for the OAuth consent page (15 min)
  scimd oauth admin-password [flags]
                               set the OAuth consent admin password (read from stdin)
  scimd migrate [flags]        apply pending database migrations and list them
  scimd backup --out FILE [flags]
                               copy a SQLite database consistently while it serves
  scimd conformance --url URL [flags]
                               check any SCIM server against Okta's and Entra's
                               requirements and RFC 7643/7644
  scimd simulate okta|entra --url URL [flags]
                               replay an IdP's provisioning lifecycle; with
                               --users/--groups/--concurrency, a load run
  scimd version                print the version

Run "scimd COMMAND -h" for a command's flags.
`

// Run runs the command named by args[0].
func Run(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], env)
	case "tenant":
		return runTenant(ctx, args[1:], env)
	case "token":
		return runToken(ctx, args[1:], env)
	case "basic":
		return runBasic(ctx, args[1:], env)
	case "oauth":
		return runOAuth(ctx, args[1:], env)
	case "migrate":
		return runMigrate(ctx, args[1:], env)
	case "backup":
		return runBackup(ctx, args[1:], env)
	case "conformance":
		return runConformance(ctx, args[1:], env)
	case "simulate":
		return runSimulate(ctx, args[1:], env)
	case "version":
		fmt.Fprintln(env.Stdout, "scimd", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return nil
	default:
		fmt.Fprint(env.Stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// commonFlags registers the flags every command that opens the database
// shares, and returns a function that loads the effective configuration.
func commonFlags(fs *flag.FlagSet, env Env) func() (Config, error) {
	configPath := fs.String("config", env.Getenv("SCIMD_CONFIG"), "YAML configuration file (env SCIMD_CONFIG)")
	database := fs.String("database", "", "SQLite database file or postgres:// URL (env SCIMD_DATABASE; default scimd.db)")
	return func() (Config, error) {
		cfg := DefaultConfig()
		if *configPath != "" {
			if err := cfg.ReadConfigFile(*configPath); err != nil {
				return cfg, err
			}
		}
		if err := cfg.ApplyEnv(env.Getenv); err != nil {
			return cfg, err
		}
		if *database != "" {
			cfg.Database = *database
		}
		return cfg, nil
	}
}
