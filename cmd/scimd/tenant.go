package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd"
)

// hostList is a repeatable --host flag.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(v string) error {
	for _, e := range splitList(v) {
		c, err := validHost(e)
		if err != nil {
			return err
		}
		*h = append(*h, c)
	}
	return nil
}

// tenantName is what a tenant name may look like: it appears in URLs
// (/t/NAME/scim/v2) and Okta rejects base URLs with underscores.
var tenantName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func validTenantName(name string) error {
	if !tenantName.MatchString(name) {
		return fmt.Errorf("tenant name %q: use 1 to 63 lower-case letters, digits and inner hyphens", name)
	}
	return nil
}

// validHost returns the canonical form of a host name given to --host: a
// DNS name (no port, no underscore: Okta rejects them).
func validHost(h string) (string, error) {
	c := scimd.CanonicalHost(h)
	if c == "" || len(c) > 253 {
		return "", fmt.Errorf("host %q: want a DNS name such as acme.scim.example.com", h)
	}
	for _, label := range strings.Split(c, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("host %q: want a DNS name such as acme.scim.example.com", h)
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-') {
				return "", fmt.Errorf("host %q: only letters, digits, hyphens and dots are allowed", h)
			}
		}
	}
	return c, nil
}

func runTenant(ctx context.Context, args []string, env Env) error {
	const subcommands = "create, list, update, disable, enable or delete"
	if len(args) == 0 {
		return fmt.Errorf("tenant: want a subcommand: %s", subcommands)
	}
	verb := args[0]
	switch verb {
	case "create", "list", "update", "disable", "enable", "delete":
	default:
		return fmt.Errorf("tenant: unknown subcommand %q: want %s", verb, subcommands)
	}
	fs := flag.NewFlagSet("scimd tenant "+verb, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	load := commonFlags(fs, env)
	var hosts hostList
	if verb == "create" || verb == "update" {
		fs.Var(&hosts, "host", "host name that reaches the tenant, e.g. acme.scim.example.com (repeatable)")
	}
	yes := false
	if verb == "delete" {
		fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	}
	// Accept flags after the name too: "tenant create acme --host …".
	var name string
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
		rest = fs.Args()[1:]
	} else {
		rest = fs.Args()
	}
	if len(rest) > 0 {
		return fmt.Errorf("tenant %s: unexpected argument %q", verb, rest[0])
	}
	if verb == "list" && name != "" {
		return fmt.Errorf("tenant list: unexpected argument %q", name)
	}
	if verb != "list" && name == "" {
		return fmt.Errorf("tenant %s: want a tenant name", verb)
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

	switch verb {
	case "create":
		if err := validTenantName(name); err != nil {
			return err
		}
		t := &scimd.Tenant{ID: scimd.NewID(), Name: name, Hosts: hosts, Created: time.Now().UTC()}
		if name == scimd.DefaultTenant {
			t.ID = scimd.DefaultTenant
		}
		if err := db.CreateTenant(ctx, t); err != nil {
			return fmt.Errorf("create tenant %q: %w", name, err)
		}
		fmt.Fprintf(env.Stdout, "Created tenant %q (id %s). SCIM base URLs:\n", t.Name, t.ID)
		for _, u := range tenantURLs(cfg, t) {
			fmt.Fprintf(env.Stdout, "  %s\n", u)
		}
		fmt.Fprintf(env.Stdout, "Issue a credential with: scimd token create --tenant %s\n", t.Name)
		return nil
	case "list":
		ts, err := db.Tenants(ctx)
		if err != nil {
			return fmt.Errorf("list tenants: %w", err)
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tID\tSTATUS\tCREATED\tHOSTS")
		for _, t := range ts {
			status := "enabled"
			if t.Disabled {
				status = "disabled"
			}
			hs := strings.Join(t.Hosts, ",")
			if hs == "" {
				hs = "-"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.ID, status, fmtTime(t.Created), hs)
		}
		return w.Flush()
	}

	t, err := db.TenantByName(ctx, name)
	if scimd.StatusOf(err) == http.StatusNotFound {
		return fmt.Errorf("no tenant named %q", name)
	}
	if err != nil {
		return fmt.Errorf("look up tenant %q: %w", name, err)
	}
	switch verb {
	case "update", "disable", "enable":
		t, err = db.UpdateTenant(ctx, t.ID, func(t *scimd.Tenant) error {
			switch verb {
			case "update":
				t.Hosts = hosts
			case "disable":
				t.Disabled = true
			case "enable":
				t.Disabled = false
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s tenant %q: %w", verb, name, err)
		}
		switch verb {
		case "update":
			fmt.Fprintf(env.Stderr, "tenant %q now has hosts: %s\n", t.Name, orNone(t.Hosts))
		default:
			fmt.Fprintf(env.Stderr, "tenant %q %sd\n", t.Name, verb)
		}
		return nil
	default: // delete
		if !yes {
			users, groups, tokens := countTenant(ctx, db, t.ID)
			fmt.Fprintf(env.Stderr, "This deletes tenant %q and all of its data (%s users, %s groups, %s tokens, and every other credential).\n"+
				"Type the tenant name to confirm: ", t.Name, users, groups, tokens)
			if !confirm(env.Stdin, t.Name) {
				return errors.New("tenant delete: not confirmed; nothing was deleted")
			}
		}
		// The default tenant's id is fixed, so a tenant created after it
		// would reuse it, and a running server's read cache would still
		// hold the deleted tenant's resources under that id. Other tenants'
		// ids are random and never come back; see docs/decisions.md.
		if t.ID == scimd.DefaultTenant && !isPostgresURL(cfg.Database) {
			unlock, err := lockServe(cfg.Database)
			if err != nil {
				return fmt.Errorf("delete tenant %q: stop \"scimd serve\" first: %w", name, err)
			}
			defer unlock()
		}
		if err := db.DeleteTenant(ctx, t.ID); err != nil {
			return fmt.Errorf("delete tenant %q: %w", name, err)
		}
		fmt.Fprintf(env.Stderr, "deleted tenant %q and all of its data\n", t.Name)
		return nil
	}
}

// tenantURLs returns the SCIM base URLs at which t is reached.
func tenantURLs(cfg Config, t *scimd.Tenant) []string {
	base := strings.TrimRight(cfg.BasePath, "/")
	scheme := "http"
	if cfg.TLS.Cert != "" {
		scheme = "https"
	}
	root := scheme + "://" + cfg.Addr
	if cfg.ExternalURL != "" {
		root = strings.TrimRight(cfg.ExternalURL, "/")
		scheme, _, _ = strings.Cut(root, "://")
	}
	var out []string
	for _, h := range t.Hosts {
		out = append(out, scheme+"://"+h+base)
	}
	return append(out, root+"/t/"+t.Name+base)
}

// countTenant describes how much data a tenant has, for the delete
// confirmation; counts that cannot be read are "?".
func countTenant(ctx context.Context, db database, tenant string) (users, groups, tokens string) {
	count := func(typ string) string {
		res, err := db.List(ctx, tenant, &scimd.ListQuery{Type: typ, Count: 0})
		if err != nil || res.TotalResults < 0 {
			return "?"
		}
		return fmt.Sprint(res.TotalResults)
	}
	tokens = "?"
	if ts, err := db.Tokens(ctx, tenant); err == nil {
		tokens = fmt.Sprint(len(ts))
	}
	return count(scimd.TypeUser), count(scimd.TypeGroup), tokens
}

// confirm reads one line from r and reports whether it is want.
func confirm(r io.Reader, want string) bool {
	if r == nil {
		return false
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		return false
	}
	return strings.TrimSpace(line) == want
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}
