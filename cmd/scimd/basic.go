package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/auth"
)

// credentialDB is a database that also keeps Basic and OAuth credentials.
type credentialDB interface {
	database
	scimd.CredentialStore
}

// openCredentials loads the configuration, opens the database and finds
// the tenant, for the basic and oauth commands.
func openCredentials(ctx context.Context, load func() (Config, error), tenantName string) (credentialDB, *scimd.Tenant, error) {
	cfg, err := load()
	if err != nil {
		return nil, nil, err
	}
	reg, err := cfg.Registry()
	if err != nil {
		return nil, nil, err
	}
	db, err := openDatabase(ctx, cfg, reg, true)
	if err != nil {
		return nil, nil, err
	}
	cdb, ok := db.(credentialDB)
	if !ok {
		db.Close()
		return nil, nil, fmt.Errorf("database %s does not support Basic and OAuth credentials", displayDatabase(cfg.Database))
	}
	tenant, err := findTenant(ctx, db, tenantName)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return cdb, tenant, nil
}

// runBasic runs "scimd basic create|list|revoke".
func runBasic(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return fmt.Errorf("basic: want a subcommand: create, list or revoke")
	}
	fs := flag.NewFlagSet("scimd basic "+args[0], flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	load := commonFlags(fs, env)
	tenantName := fs.String("tenant", scimd.DefaultTenant, "tenant name")
	var username string
	if args[0] == "create" {
		fs.StringVar(&username, "username", "", "username the IdP sends (required)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "create", "list":
		if fs.NArg() > 0 {
			return fmt.Errorf("basic %s: unexpected argument %q", args[0], fs.Arg(0))
		}
	case "revoke":
		if fs.NArg() != 1 {
			return fmt.Errorf("basic revoke: want exactly one credential id or username")
		}
	default:
		return fmt.Errorf("basic: unknown subcommand %q: want create, list or revoke", args[0])
	}
	if args[0] == "create" {
		if err := auth.ValidateUsername(username); err != nil {
			return fmt.Errorf("basic create: --username: %w", err)
		}
	}
	db, tenant, err := openCredentials(ctx, load, *tenantName)
	if err != nil {
		return err
	}
	defer db.Close()

	switch args[0] {
	case "create":
		password, rec, err := auth.NewBasicCredential(tenant.ID, username, time.Now().UTC())
		if err != nil {
			return err
		}
		if err := db.CreateBasicCredential(ctx, rec); err != nil {
			return fmt.Errorf("store Basic credential: %w", err)
		}
		fmt.Fprintf(env.Stderr, "created Basic credential %s for username %q in tenant %s; the password is shown once:\n", rec.ID, username, tenant.Name)
		fmt.Fprintln(env.Stdout, password)
		return nil
	case "list":
		creds, err := db.BasicCredentials(ctx, tenant.ID)
		if err != nil {
			return fmt.Errorf("list Basic credentials: %w", err)
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tUSERNAME\tCREATED\tLAST USED\tSTATUS")
		for _, c := range creds {
			status := "active"
			if c.Revoked {
				status = "revoked"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Username, fmtTime(c.Created), fmtTime(c.LastUsed), status)
		}
		return w.Flush()
	default: // revoke
		id := fs.Arg(0)
		err := db.RevokeBasicCredential(ctx, tenant.ID, id)
		if scimd.StatusOf(err) == http.StatusNotFound {
			// Accept the username of the live credential too.
			c, lerr := db.BasicCredentialByUsername(ctx, tenant.ID, id)
			if lerr == nil {
				id = c.ID
				err = db.RevokeBasicCredential(ctx, tenant.ID, id)
			}
		}
		if err != nil {
			return fmt.Errorf("revoke Basic credential %s: %w", id, err)
		}
		fmt.Fprintf(env.Stderr, "revoked Basic credential %s\n", id)
		return nil
	}
}

// repeatedFlag is a flag that may be given several times.
type repeatedFlag []string

func (f *repeatedFlag) String() string { return strings.Join(*f, ",") }

func (f *repeatedFlag) Set(v string) error {
	*f = append(*f, v)
	return nil
}
