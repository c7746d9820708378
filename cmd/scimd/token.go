package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
)

func runToken(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return fmt.Errorf("token: want a subcommand: create, list or revoke")
	}
	fs := flag.NewFlagSet("scimd token "+args[0], flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	load := commonFlags(fs, env)
	tenantName := fs.String("tenant", scimd.DefaultTenant, "tenant name")
	var name, expires string
	if args[0] == "create" {
		fs.StringVar(&name, "name", "", "label for the token, e.g. okta-prod")
		fs.StringVar(&expires, "expires", "", "lifetime such as 90d or 12h (default: never expires)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	reg, err := cfg.Registry()
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, reg, true)
	if err != nil {
		return err
	}
	defer db.Close()

	tenant, err := findTenant(ctx, db, *tenantName)
	if err != nil {
		return err
	}
	switch args[0] {
	case "create":
		if fs.NArg() > 0 {
			return fmt.Errorf("token create: unexpected argument %q", fs.Arg(0))
		}
		now := time.Now().UTC()
		var exp time.Time
		if expires != "" {
			d, err := parseLifetime(expires)
			if err != nil {
				return err
			}
			exp = now.Add(d)
		}
		tok, rec := auth.NewToken(tenant.ID, name, exp, now)
		if err := db.CreateToken(ctx, rec); err != nil {
			return fmt.Errorf("store token: %w", err)
		}
		fmt.Fprintln(env.Stdout, tok)
		return nil
	case "list":
		toks, err := db.Tokens(ctx, tenant.ID)
		if err != nil {
			return fmt.Errorf("list tokens: %w", err)
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tCREATED\tEXPIRES\tLAST USED\tSTATUS")
		for _, t := range toks {
			status := "active"
			if t.Revoked {
				status = "revoked"
			} else if !t.Expires.IsZero() && !time.Now().Before(t.Expires) {
				status = "expired"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, fmtTime(t.Created), fmtTime(t.Expires), fmtTime(t.LastUsed), status)
		}
		return w.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return fmt.Errorf("token revoke: want exactly one token id (or the token itself)")
		}
		id := tokenID(fs.Arg(0))
		if err := db.RevokeToken(ctx, tenant.ID, id); err != nil {
			return fmt.Errorf("revoke token %s: %w", id, err)
		}
		fmt.Fprintf(env.Stderr, "revoked token %s\n", id)
		return nil
	default:
		return fmt.Errorf("token: unknown subcommand %q: want create, list or revoke", args[0])
	}
}

// findTenant returns the named tenant. The default tenant is created when
// missing, so "scimd token create" works before the first "scimd serve".
func findTenant(ctx context.Context, db database, name string) (*scimd.Tenant, error) {
	t, err := db.TenantByName(ctx, name)
	if err == nil {
		return t, nil
	}
	if scimd.StatusOf(err) != 404 {
		return nil, fmt.Errorf("look up tenant %q: %w", name, err)
	}
	if name != scimd.DefaultTenant {
		return nil, fmt.Errorf("no tenant named %q", name)
	}
	t = &scimd.Tenant{ID: scimd.DefaultTenant, Name: scimd.DefaultTenant, Created: time.Now().UTC()}
	if err := db.CreateTenant(ctx, t); err != nil {
		return nil, fmt.Errorf("create default tenant: %w", err)
	}
	return t, nil
}

// tokenID accepts a key id or a whole token and returns the key id.
func tokenID(s string) string {
	if strings.HasPrefix(s, "scimd_") {
		rec, err := auth.TokenFromValue("", "", s, time.Time{})
		if err == nil {
			return rec.ID
		}
	}
	return s
}

// parseLifetime parses durations like "90d", "12h", "30m".
func parseLifetime(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("expires %q: want a positive number of days like 90d", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("expires %q: want a lifetime like 90d or 12h", s)
	}
	return d, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
