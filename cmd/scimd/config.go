package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scimd/scimd/internal/proxy"
	"github.com/scimd/scimd/postgres"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

// Config is scimd's configuration: defaults, then the YAML file named by
// --config, then SCIMD_* environment variables, then flags.
type Config struct {
	Addr        string `yaml:"addr"`
	Database    string `yaml:"database"`
	BasePath    string `yaml:"basePath"`
	ExternalURL string `yaml:"externalURL"`
	// Passwords says what happens to the password attribute IdPs send:
	// "hash" stores an argon2id hash (default), "discard" stores nothing.
	Passwords string `yaml:"passwords"`
	// SQLiteSynchronous is SQLite's synchronous setting: NORMAL (default;
	// commits survive a process crash) or FULL (commits also survive power
	// loss, at one fsync per write). See docs/durability.md.
	SQLiteSynchronous string `yaml:"sqliteSynchronous"`
	// SQLiteCacheBytes is the budget of the SQLite store's read cache of
	// resources (default 16 MiB; 0 turns it off). See docs/decisions.md,
	// "Read cache".
	SQLiteCacheBytes int64 `yaml:"sqliteCacheBytes"`
	// PostgresHintBytes is the budget of the PostgreSQL store's update
	// hints (default 16 MiB; 0 turns them off). See docs/decisions.md,
	// "PostgreSQL: update hints".
	PostgresHintBytes int64 `yaml:"postgresHintBytes"`
	// PostgresAnalyzeInterval is how often the PostgreSQL store checks
	// whether its tables need fresh planner statistics (default 2s; 0
	// leaves them to autovacuum). See docs/decisions.md, "PostgreSQL:
	// planner statistics".
	PostgresAnalyzeInterval time.Duration `yaml:"postgresAnalyzeInterval"`
	// DatabaseWait is how long serve keeps trying to reach a PostgreSQL
	// server that cannot serve yet (refusing connections, starting up)
	// before giving up (default 1m; 0 gives up at once).
	DatabaseWait time.Duration `yaml:"databaseWait"`
	// TLS, when both files are set, makes serve answer HTTPS (TLS 1.2+),
	// reloading the files when they change.
	TLS TLSConfig `yaml:"tls"`
	// TrustedProxies are the addresses (CIDRs or single addresses) of
	// reverse proxies whose X-Forwarded-For/-Proto/-Host headers are
	// believed.
	TrustedProxies []string          `yaml:"trustedProxies"`
	Limits         LimitsConfig      `yaml:"limits"`
	Extensions     []ExtensionConfig `yaml:"extensions"`
	LogLevel       string            `yaml:"logLevel"`
	LogFormat      string            `yaml:"logFormat"`
	// DebugAddr, when set, is a loopback address where Go's profiler
	// (net/http/pprof, unauthenticated) listens, for measuring scimd under
	// load. Only loopback addresses are accepted.
	DebugAddr string `yaml:"debugAddr"`
}

// TLSConfig names the PEM certificate chain and private key files.
type TLSConfig struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// LimitsConfig bounds what one request may ask of the server, and how many
// requests a tenant, a credential or a failing client may make.
type LimitsConfig struct {
	// TenantRate and TenantBurst: requests per second per tenant, and the
	// bucket size. CredentialRate and CredentialBurst: the same per
	// credential. A rate of 0 means no limit.
	TenantRate      float64 `yaml:"tenantRate"`
	TenantBurst     int     `yaml:"tenantBurst"`
	CredentialRate  float64 `yaml:"credentialRate"`
	CredentialBurst int     `yaml:"credentialBurst"`
	// AuthFailureLimit failed authentications from one address within
	// AuthFailureWindow block it for AuthFailureBackoff (doubling on
	// repeat). 0 turns the throttle off.
	AuthFailureLimit   int           `yaml:"authFailureLimit"`
	AuthFailureWindow  time.Duration `yaml:"authFailureWindow"`
	AuthFailureBackoff time.Duration `yaml:"authFailureBackoff"`
	// MaxInFlight caps the requests served at once (429 beyond). 0: no cap.
	MaxInFlight int `yaml:"maxInFlight"`

	MaxBodyBytes              int64 `yaml:"maxBodyBytes"`
	MaxFilterLength           int   `yaml:"maxFilterLength"`
	MaxFilterDepth            int   `yaml:"maxFilterDepth"`
	MaxFilterTerms            int   `yaml:"maxFilterTerms"`
	DefaultPageSize           int   `yaml:"defaultPageSize"`
	MaxPageSize               int   `yaml:"maxPageSize"`
	MaxGroupMembersInResponse int   `yaml:"maxGroupMembersInResponse"`
	MaxExactCount             int   `yaml:"maxExactCount"`
}

// ExtensionConfig declares a custom schema extension of a resource type.
type ExtensionConfig struct {
	ResourceType string `yaml:"resourceType"` // "User" or "Group"
	Required     bool   `yaml:"required"`
	// Schema is the extension schema in the shape of a /Schemas resource:
	// id (a URN), name, description, attributes.
	Schema map[string]any `yaml:"schema"`
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		Addr:                    "127.0.0.1:8080",
		Database:                "scimd.db",
		BasePath:                "/scim/v2",
		Passwords:               "hash",
		SQLiteSynchronous:       "NORMAL",
		SQLiteCacheBytes:        sqlite.DefaultCacheBytes,
		PostgresHintBytes:       postgres.DefaultHintBytes,
		PostgresAnalyzeInterval: postgres.DefaultAnalyzeInterval,
		DatabaseWait:            time.Minute,
		Limits: LimitsConfig{
			TenantRate:                200,
			TenantBurst:               400,
			CredentialRate:            200,
			CredentialBurst:           400,
			AuthFailureLimit:          100,
			AuthFailureWindow:         time.Minute,
			AuthFailureBackoff:        time.Minute,
			MaxInFlight:               256,
			MaxBodyBytes:              1 << 20,
			MaxFilterLength:           4096,
			MaxFilterDepth:            16,
			MaxFilterTerms:            200,
			DefaultPageSize:           100,
			MaxPageSize:               1000,
			MaxGroupMembersInResponse: 1000,
			MaxExactCount:             10000,
		},
		LogLevel:  "info",
		LogFormat: "text",
	}
}

// ReadConfigFile merges the YAML file at path into c. Unknown keys are an
// error, so a typo does not silently fall back to a default.
func (c *Config) ReadConfigFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("parse config %s: %w", path, err)
	}
	return nil
}

// ApplyEnv overrides c with SCIMD_* environment variables.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("SCIMD_ADDR", &c.Addr)
	str("SCIMD_DATABASE", &c.Database)
	str("SCIMD_BASE_PATH", &c.BasePath)
	str("SCIMD_EXTERNAL_URL", &c.ExternalURL)
	str("SCIMD_PASSWORDS", &c.Passwords)
	str("SCIMD_SQLITE_SYNCHRONOUS", &c.SQLiteSynchronous)
	str("SCIMD_LOG_LEVEL", &c.LogLevel)
	str("SCIMD_LOG_FORMAT", &c.LogFormat)
	str("SCIMD_DEBUG_ADDR", &c.DebugAddr)
	str("SCIMD_TLS_CERT", &c.TLS.Cert)
	str("SCIMD_TLS_KEY", &c.TLS.Key)
	if v := getenv("SCIMD_TRUSTED_PROXIES"); v != "" {
		c.TrustedProxies = splitList(v)
	}
	ints := []struct {
		name string
		dst  *int
	}{
		{"SCIMD_MAX_FILTER_LENGTH", &c.Limits.MaxFilterLength},
		{"SCIMD_MAX_FILTER_DEPTH", &c.Limits.MaxFilterDepth},
		{"SCIMD_MAX_FILTER_TERMS", &c.Limits.MaxFilterTerms},
		{"SCIMD_DEFAULT_PAGE_SIZE", &c.Limits.DefaultPageSize},
		{"SCIMD_MAX_PAGE_SIZE", &c.Limits.MaxPageSize},
		{"SCIMD_MAX_GROUP_MEMBERS_IN_RESPONSE", &c.Limits.MaxGroupMembersInResponse},
		{"SCIMD_MAX_EXACT_COUNT", &c.Limits.MaxExactCount},
		{"SCIMD_TENANT_BURST", &c.Limits.TenantBurst},
		{"SCIMD_CREDENTIAL_BURST", &c.Limits.CredentialBurst},
		{"SCIMD_AUTH_FAILURE_LIMIT", &c.Limits.AuthFailureLimit},
		{"SCIMD_MAX_IN_FLIGHT", &c.Limits.MaxInFlight},
	}
	for _, v := range ints {
		if s := getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("%s: %q is not an integer", v.name, s)
			}
			*v.dst = n
		}
	}
	for _, v := range []struct {
		name string
		dst  *int64
	}{{"SCIMD_MAX_BODY_BYTES", &c.Limits.MaxBodyBytes}, {"SCIMD_SQLITE_CACHE_BYTES", &c.SQLiteCacheBytes},
		{"SCIMD_POSTGRES_HINT_BYTES", &c.PostgresHintBytes}} {
		if s := getenv(v.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("%s: %q is not an integer", v.name, s)
			}
			*v.dst = n
		}
	}
	for _, v := range []struct {
		name string
		dst  *float64
	}{{"SCIMD_TENANT_RATE", &c.Limits.TenantRate}, {"SCIMD_CREDENTIAL_RATE", &c.Limits.CredentialRate}} {
		if s := getenv(v.name); s != "" {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("%s: %q is not a number", v.name, s)
			}
			*v.dst = f
		}
	}
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{{"SCIMD_AUTH_FAILURE_WINDOW", &c.Limits.AuthFailureWindow}, {"SCIMD_AUTH_FAILURE_BACKOFF", &c.Limits.AuthFailureBackoff},
		{"SCIMD_POSTGRES_ANALYZE_INTERVAL", &c.PostgresAnalyzeInterval}, {"SCIMD_DATABASE_WAIT", &c.DatabaseWait}} {
		if s := getenv(v.name); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				return fmt.Errorf("%s: %q is not a duration such as 1m or 30s", v.name, s)
			}
			*v.dst = d
		}
	}
	return nil
}

// splitList splits a comma-separated list, dropping empty elements.
func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// Validate reports every problem with c at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Addr == "" {
		bad("addr: must not be empty")
	}
	if c.Database == "" {
		bad("database: must not be empty")
	}
	if !strings.HasPrefix(c.BasePath, "/") {
		bad("basePath %q: must start with /", c.BasePath)
	}
	if strings.Contains(c.BasePath, "_") {
		bad("basePath %q: must not contain '_' (Okta rejects base URLs with underscores)", c.BasePath)
	}
	if strings.ContainsAny(c.BasePath, "?#{} ") {
		bad("basePath %q: must be a plain path", c.BasePath)
	}
	if c.ExternalURL != "" && !strings.HasPrefix(c.ExternalURL, "http://") && !strings.HasPrefix(c.ExternalURL, "https://") {
		bad("externalURL %q: must be an absolute http(s) URL", c.ExternalURL)
	}
	if strings.Contains(c.ExternalURL, "_") {
		bad("externalURL %q: must not contain '_' (Okta rejects base URLs with underscores)", c.ExternalURL)
	}
	c.SQLiteSynchronous = strings.ToUpper(c.SQLiteSynchronous)
	if c.SQLiteSynchronous != "NORMAL" && c.SQLiteSynchronous != "FULL" {
		bad("sqliteSynchronous %q: must be NORMAL or FULL", c.SQLiteSynchronous)
	}
	if c.SQLiteCacheBytes < 0 {
		bad("sqliteCacheBytes %d: must be 0 (off) or more", c.SQLiteCacheBytes)
	}
	if c.PostgresHintBytes < 0 {
		bad("postgresHintBytes %d: must be 0 (off) or more", c.PostgresHintBytes)
	}
	if c.PostgresAnalyzeInterval < 0 {
		bad("postgresAnalyzeInterval %s: must be 0 (off) or more", c.PostgresAnalyzeInterval)
	}
	if c.DatabaseWait < 0 {
		bad("databaseWait %s: must be 0 (give up at once) or more", c.DatabaseWait)
	}
	switch c.Passwords {
	case "hash", "discard":
	default:
		bad("passwords %q: must be hash or discard", c.Passwords)
	}
	l := c.Limits
	if l.MaxBodyBytes < 1024 {
		bad("limits.maxBodyBytes %d: must be at least 1024", l.MaxBodyBytes)
	}
	if l.MaxFilterLength < 16 || l.MaxFilterDepth < 1 || l.MaxFilterTerms < 1 {
		bad("limits: maxFilterLength must be >= 16, maxFilterDepth and maxFilterTerms >= 1")
	}
	if l.MaxPageSize < 1 || l.DefaultPageSize < 1 || l.DefaultPageSize > l.MaxPageSize {
		bad("limits: need 1 <= defaultPageSize (%d) <= maxPageSize (%d)", l.DefaultPageSize, l.MaxPageSize)
	}
	if l.MaxExactCount < 0 {
		bad("limits.maxExactCount %d: must be 0 (always exact) or more", l.MaxExactCount)
	}
	if c.DebugAddr != "" && !loopbackAddr(c.DebugAddr) {
		bad("debugAddr %q: must be a loopback host:port (the profiler is unauthenticated)", c.DebugAddr)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		bad("tls: cert and key must be set together")
	}
	if _, err := proxy.ParseCIDRs(c.TrustedProxies); err != nil {
		bad("trustedProxies: %v", err)
	}
	if !(l.TenantRate >= 0) || !(l.CredentialRate >= 0) || l.TenantBurst < 0 || l.CredentialBurst < 0 {
		bad("limits: tenantRate, tenantBurst, credentialRate and credentialBurst must not be negative (0 means no limit or the default burst)")
	}
	if l.AuthFailureLimit < 0 || l.AuthFailureWindow < 0 || l.AuthFailureBackoff < 0 || l.MaxInFlight < 0 {
		bad("limits: authFailureLimit, authFailureWindow, authFailureBackoff and maxInFlight must not be negative")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		bad("logLevel: %v", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("logFormat %q: must be text or json", c.LogFormat)
	}
	for i, e := range c.Extensions {
		if _, err := e.build(); err != nil {
			bad("extensions[%d]: %v", i, err)
		}
	}
	return errors.Join(errs...)
}

func (e ExtensionConfig) build() (schema.Extension, error) {
	if !strings.EqualFold(e.ResourceType, "User") && !strings.EqualFold(e.ResourceType, "Group") {
		return schema.Extension{}, fmt.Errorf("resourceType %q: must be User or Group", e.ResourceType)
	}
	data, err := json.Marshal(e.Schema)
	if err != nil {
		return schema.Extension{}, fmt.Errorf("schema: %w", err)
	}
	s, err := schema.ParseSchema(data)
	if err != nil {
		return schema.Extension{}, err
	}
	return schema.Extension{Schema: s, Required: e.Required}, nil
}

// Registry builds the schema registry: the built-in schemas plus the
// configured extensions.
func (c *Config) Registry() (*schema.Registry, error) {
	var users, groups []schema.Extension
	for i, e := range c.Extensions {
		ext, err := e.build()
		if err != nil {
			return nil, fmt.Errorf("extensions[%d]: %w", i, err)
		}
		if strings.EqualFold(e.ResourceType, "User") {
			users = append(users, ext)
		} else {
			groups = append(groups, ext)
		}
	}
	return schema.NewRegistryWith(users, groups), nil
}

// loopbackAddr reports whether addr is host:port with a loopback host
// (an IP address or "localhost").
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
