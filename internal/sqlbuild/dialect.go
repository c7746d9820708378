// Package sqlbuild compiles SCIM filters (package filter), resolved against a
// resource type (package schema), into parameterised SQL WHERE and ORDER BY
// fragments for a SQL dialect. It opens no connections.
//
// Values from a filter never enter SQL text: every comparison value is a
// bound argument. SQL text contains only column names of the storage layout
// described below, JSON paths built from canonical schema attribute names,
// and resource type names from the registry.
//
// # Storage layout
//
// The compiled SQL refers to these tables (both backends use the same
// layout; see sqlite/migrations):
//
//	resources r     (tenant_id, seq, id, type, external_id, name_lc,
//	                 display_lc, active, created, last_modified, version,
//	                 member_count, schemas, doc)
//	value_index v   (tenant_id, res_seq, attr, ord, type_lc, value_lc)
//	memberships m   (tenant_id, group_id, member_id, member_type, display, seq)
//
// # Attribute mapping
//
//	id                         r.id            caseExact
//	externalId                 r.external_id   caseExact
//	userName (User)            r.name_lc       folded; unique per tenant and type
//	displayName (Group)        r.name_lc       folded; unique per tenant and type
//	displayName (User)         r.display_lc    folded
//	active (User)              r.active        0/1, NULL when absent
//	meta.created               r.created       fixed-width UTC text (FormatTime)
//	meta.lastModified          r.last_modified fixed-width UTC text (FormatTime)
//	meta.resourceType          r.type
//	emails.value, emails.type  value_index rows (attr 'emails'), folded
//	emails[type eq … and value eq …]           the same rows
//	members.value|type|display (Group)         memberships by group
//	members pr (Group)         r.member_count > 0
//	groups.value|display (User)                memberships by member
//	everything else            JSON functions on r.doc; multi-valued
//	                           attributes and value paths iterate the array
//	                           (json_each / jsonb_array_elements); extension
//	                           attributes sit under their URN key.
//
// # Semantics
//
// Strings compare folded (Fold on both sides) unless the attribute is
// caseExact. co, sw and ew compile to LIKE with '\' as escape character; the
// SQLite store turns case_sensitive_like on, so LIKE is exact as on
// PostgreSQL. co and ew of 3 characters or more on userName, displayName,
// externalId and emails.value also use a trigram index (Dialect.Substring,
// Builder.Driver), beside the LIKE, which alone decides. gt/ge/lt/le compare strings, numbers and dateTimes; dateTimes
// compare as instants, never as raw strings. Booleans support eq and ne only.
// pr means present and not empty. "x eq null" means "not (x pr)" and
// "x ne null" means "x pr".
//
// "a ne v" is "not (a eq v)": it matches resources that lack the attribute,
// and for a multi-valued attribute it matches when no value equals v. RFC
// 7644 leaves absent attributes unspecified; this choice makes "ne" and "not"
// agree and matches two-valued in-memory evaluation. "not" is two-valued too:
// the SQL uses "IS NOT TRUE" so that SQL NULL (an absent attribute) counts as
// false before negation.
//
// Anything the compiler cannot express yields *scimd.Error invalidFilter.
package sqlbuild

import (
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/schema"
)

// Dialect renders the parts of SQL that differ between databases.
type Dialect interface {
	// Name identifies the dialect ("sqlite", "postgres").
	Name() string
	// Placeholder returns the placeholder of the n-th (1-based) argument.
	Placeholder(n int) string
	// Extract returns the scalar at keys inside the JSON value base, as an
	// SQL value comparable with arguments of type t (Arg). With no keys, base
	// itself is the scalar (an element of a JSON array).
	Extract(base string, keys []string, t schema.Type) string
	// IsObject returns a boolean expression: the JSON value at keys in base
	// is an object.
	IsObject(base string, keys []string) string
	// Each returns a FROM item iterating the elements of the JSON array at
	// keys in base, aliased alias; Elem(alias) is one element as JSON.
	Each(base string, keys []string, alias string) string
	Elem(alias string) string
	// Fold case-folds a string expression the way Fold does in Go.
	Fold(expr string) string
	// DateTime converts a dateTime string expression into something that
	// compares as an instant.
	DateTime(expr string) string
	// Like returns "expr LIKE pattern" with '\' as escape character.
	Like(expr, pattern string) string
	// Substring names the substring (trigram) index of column expr: a
	// full-text table whose rowid is the resource's seq, and the MATCH
	// argument selecting at least every row whose expr contains s (s has
	// 3 characters or more). table is "" when the dialect has no such
	// index for expr or needs none beside LIKE (PostgreSQL's pg_trgm
	// indexes serve LIKE itself). The compiler keeps the exact LIKE, so
	// the index may let through rows that do not match.
	Substring(expr, s string) (table, match string)
	// ModifiedIndex describes the side table indexing meta.lastModified
	// when resources r does not (ModifiedIndex.Table is "" when
	// r.last_modified is indexed itself).
	ModifiedIndex() ModifiedIndex
	// Arg converts a Go value for binding: bools, times.
	Arg(v any) any
	// Quote returns s as an SQL string literal (used only for identifiers of
	// the schema and the layout, never for client values).
	Quote(s string) string
}

// ModifiedIndex is where a dialect indexes meta.lastModified outside the
// resources table, so that an update of a resource need not move an index
// entry of resources (see the dialects' ModifiedIndex methods).
type ModifiedIndex struct {
	// Table has rows (res_seq, tenant_id, last_modified), written in the
	// same transaction as the resource, and an index on (tenant_id,
	// last_modified, res_seq). Comparisons on meta.lastModified select
	// r.seq from it. "" when r.last_modified is indexed itself.
	Table string
	// Log says the table is append-only: besides the row of every
	// resource's current last_modified it may hold rows of versions since
	// superseded (or of deleted resources) until they are pruned. A
	// comparison through it then also tests r.last_modified, which makes
	// it exact whatever stale rows the table holds.
	Log bool
	// Type says the table has a type column, the resource's type, after
	// tenant_id in its key (tenant_id, type, last_modified, res_seq): a
	// comparison for one resource type reads only that type's range.
	Type bool
	// Scan, if not "", is what comparisons test instead of the column
	// r.last_modified under Builder.ModifiedScan: an expression of it that
	// the planner has no statistics for, so that it takes the matches for
	// a third of the rows, as the caller found them dense, rather than
	// for what a histogram of the column made before the latest writes
	// says (few or none).
	Scan string
}

// Fold is the case folding used for caseExact=false strings, both for
// values stored in folded columns and for filter values compared with them.
func Fold(s string) string { return strings.ToLower(s) }

// TimeLayout is the layout of dateTime values stored in text columns:
// UTC, fixed width, nanoseconds, so that text order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// FormatTime renders t for a time column.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// SQLite is the SQLite dialect (JSON1 functions, "?" placeholders).
type SQLite struct {
	// FoldFunc is the SQL function folding case. SQLite's lower() folds
	// ASCII only, so the sqlite store registers a function that calls Fold;
	// "" means lower().
	FoldFunc string
	// Trigram says the database has the FTS5 trigram tables of
	// sqlite/migrations/0005_trigram.sql: co, sw and ew on the columns
	// they index are then prefiltered through them (see Substring).
	Trigram bool
	// ModifiedLog says the database has the resource_modified log of
	// sqlite/migrations/0006_modified_log.sql, keyed by type since
	// 0007_modified_type.sql (see ModifiedIndex).
	ModifiedLog bool
}

// Name implements Dialect.
func (SQLite) Name() string { return "sqlite" }

// ModifiedIndex implements Dialect. With ModifiedLog, meta.lastModified
// is indexed in an append-only log (resource_modified): an update appends
// one entry at the log's end, on a page the other writes of its commit
// share, instead of moving an entry of an index on resources from a
// random page (one WAL frame more per update). Its key begins with
// (tenant_id, type) since migration 0007. Without it, r.last_modified is
// indexed itself.
func (d SQLite) ModifiedIndex() ModifiedIndex {
	if d.ModifiedLog {
		return ModifiedIndex{Table: "resource_modified", Log: true, Type: true}
	}
	return ModifiedIndex{}
}

// Placeholder implements Dialect.
func (SQLite) Placeholder(int) string { return "?" }

// jsonPath renders keys as an SQLite JSON path literal.
func (d SQLite) jsonPath(keys []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, k := range keys {
		b.WriteByte('.')
		if simpleKey(k) {
			b.WriteString(k)
		} else {
			b.WriteByte('"')
			b.WriteString(k)
			b.WriteByte('"')
		}
	}
	return d.Quote(b.String())
}

func simpleKey(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case (c >= '0' && c <= '9' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// Extract implements Dialect.
func (d SQLite) Extract(base string, keys []string, _ schema.Type) string {
	if len(keys) == 0 {
		return base
	}
	return "json_extract(" + base + ", " + d.jsonPath(keys) + ")"
}

// IsObject implements Dialect.
func (d SQLite) IsObject(base string, keys []string) string {
	return "json_type(" + base + ", " + d.jsonPath(keys) + ") = 'object'"
}

// Each implements Dialect.
func (d SQLite) Each(base string, keys []string, alias string) string {
	return "json_each(" + base + ", " + d.jsonPath(keys) + ") AS " + alias
}

// Elem implements Dialect.
func (SQLite) Elem(alias string) string { return alias + ".value" }

// Fold implements Dialect.
func (d SQLite) Fold(expr string) string {
	f := d.FoldFunc
	if f == "" {
		f = "lower"
	}
	return f + "(" + expr + ")"
}

// DateTime implements Dialect. SQLite's date functions keep milliseconds,
// so dateTimes held in JSON compare at millisecond precision.
func (SQLite) DateTime(expr string) string { return "unixepoch(" + expr + ", 'subsec')" }

// Like implements Dialect.
func (SQLite) Like(expr, pattern string) string { return expr + " LIKE " + pattern + ` ESCAPE '\'` }

// Substring implements Dialect: a phrase query on the FTS5 trigram table
// indexing expr, whose rowid is the resource's seq. A phrase of the
// trigrams of s matches exactly the texts containing s (the tokenizer is
// case-sensitive and keeps every character), so the index drops no match.
func (d SQLite) Substring(expr, s string) (table, match string) {
	if !d.Trigram {
		return "", ""
	}
	phrase := `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	// Only userName and e-mail values have trigram tables (migration
	// 0005): the attributes substring searches are made on. Each indexed
	// column costs every write that changes it a segment of FTS5 index;
	// displayName and externalId co/ew keep the LIKE (a dense match still
	// stops after a page; a rare one reads the tenant).
	switch expr {
	case "r.name_lc":
		return "resources_trgm", strings.TrimPrefix(expr, "r.") + " : " + phrase
	case "v.value_lc":
		return "emails_trgm", phrase
	}
	return "", ""
}

// Arg implements Dialect: SQLite has no boolean type.
func (SQLite) Arg(v any) any {
	switch v := v.(type) {
	case bool:
		if v {
			return int64(1)
		}
		return int64(0)
	case time.Time:
		return FormatTime(v)
	}
	return v
}

// Quote implements Dialect.
func (SQLite) Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Postgres is the PostgreSQL dialect (jsonb, "$n" placeholders), used by
// the postgres store.
//
// Strings taken from JSON documents are COLLATE "C", so that comparisons,
// LIKE and ORDER BY go by bytes (code points), as in Go and SQLite, whatever
// the database's default collation; the store's text columns are declared
// COLLATE "C" for the same reason. Numbers and booleans are extracted only
// when the JSON value has that type (NULL otherwise), so a stray value never
// turns into a cast error. Fold is lower(), whose case mapping depends on a
// collation's LC_CTYPE: LowerCollation names one that folds as Fold does.
type Postgres struct {
	// LowerCollation, if not "", is applied to the argument of lower():
	// a collation whose case mapping agrees with Fold (the store probes
	// for one). "" uses the database default, which folds ASCII only in a
	// "C" database.
	LowerCollation string
}

// Name implements Dialect.
func (Postgres) Name() string { return "postgres" }

// ModifiedIndex implements Dialect: resource_modified
// (postgres/migrations/0005_modified.sql). An index on a column of
// resources that every update changes would make no update of resources
// a HOT update (one that adds no index entries), so every PATCH would
// insert into all of its indexes.
//
// Scan: right after a burst of writes, a plan for `last_modified > (a
// time since the last ANALYZE)` expected no matches and read the whole
// tenant with a parallel sequential scan and a sort (35 ms at 100,000
// users, 40 % matching), where walking the primary key and stopping after
// a page takes 0.14 ms (docs/decisions.md, "PostgreSQL: planner
// statistics"; TestDensePageWithStaleStatistics).
func (Postgres) ModifiedIndex() ModifiedIndex {
	return ModifiedIndex{Table: "resource_modified", Scan: "(r.last_modified + interval '0 s')"}
}

// Placeholder implements Dialect.
func (Postgres) Placeholder(n int) string { return "$" + strconv.Itoa(n) }

func (d Postgres) pgPath(keys []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + k + `"`)
	}
	b.WriteByte('}')
	return d.Quote(b.String())
}

// Extract implements Dialect.
func (d Postgres) Extract(base string, keys []string, t schema.Type) string {
	path := d.pgPath(keys)
	text := "(" + base + " #>> " + path + ")"
	switch t {
	case schema.Integer, schema.Decimal:
		return "(CASE WHEN jsonb_typeof(" + base + " #> " + path + ") = 'number' THEN " + text + "::numeric END)"
	case schema.Boolean:
		return "(CASE WHEN jsonb_typeof(" + base + " #> " + path + ") = 'boolean' THEN " + text + "::boolean END)"
	}
	return "(" + text + ` COLLATE "C")`
}

// IsObject implements Dialect.
func (d Postgres) IsObject(base string, keys []string) string {
	return "jsonb_typeof(" + base + " #> " + d.pgPath(keys) + ") = 'object'"
}

// Each implements Dialect.
func (d Postgres) Each(base string, keys []string, alias string) string {
	return "jsonb_array_elements(CASE WHEN jsonb_typeof(" + base + " #> " + d.pgPath(keys) + ") = 'array' THEN " +
		base + " #> " + d.pgPath(keys) + " ELSE '[]'::jsonb END) AS " + alias + "(value)"
}

// Elem implements Dialect.
func (Postgres) Elem(alias string) string { return alias + ".value" }

// Fold implements Dialect. The result is COLLATE "C" again, so that it
// compares and sorts by bytes.
func (d Postgres) Fold(expr string) string {
	if d.LowerCollation == "" {
		return "lower(" + expr + `) COLLATE "C"`
	}
	return "lower(" + expr + " COLLATE " + quoteIdent(d.LowerCollation) + `) COLLATE "C"`
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// DateTime implements Dialect. PostgreSQL keeps microseconds.
func (Postgres) DateTime(expr string) string { return "(" + expr + ")::timestamptz" }

// Like implements Dialect.
func (Postgres) Like(expr, pattern string) string { return expr + " LIKE " + pattern + ` ESCAPE '\'` }

// Substring implements Dialect: the GIN gin_trgm_ops indexes of
// postgres/migrations/0004_trigram.sql serve LIKE '%s%' directly.
func (Postgres) Substring(string, string) (string, string) { return "", "" }

// Arg implements Dialect.
func (Postgres) Arg(v any) any { return v }

// Quote implements Dialect.
func (Postgres) Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
