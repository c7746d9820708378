// Command scimd is a SCIM 2.0 provisioning server for Okta, Microsoft Entra
// ID and other identity providers.
//
//	scimd serve            run the server (embedded SQLite by default)
//	scimd token create     issue a bearer token and print it
//	scimd token list       list tokens (never their secrets)
//	scimd token revoke ID  revoke a token
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
	env := Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
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
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

const usage = `scimd: a SCIM 2.0 provisioning server

Usage:
  scimd serve [flags]          run the server
  scimd token create [flags]   issue a bearer token (printed once, alone on stdout)
  scimd token list [flags]     list tokens
  scimd token revoke [flags] ID  revoke a token (by id or by the token itself)
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
	case "token":
		return runToken(ctx, args[1:], env)
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
	database := fs.String("database", "", "SQLite database file (env SCIMD_DATABASE; default scimd.db)")
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
