package sqlbuild_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/internal/sqlbuild"
	"github.com/scimd/scimd/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// cases are "Type: filter" lines; Type "" is a root search, "Member" a
// MemberRemoveWhere filter, "Sort" a sortBy path on User.
var cases = []string{
	`User: userName eq "Ana@Example.com"`,
	`User: userName sw "ana"`,
	`User: externalId eq "00u7f3kq2wXyZ"`,
	`User: id eq "2819c223-7f76-453a-919d-413861904646"`,
	`User: emails.value eq "Ana@Example.com"`,
	`User: emails[type eq "work"].value eq "ana@example.com"`,
	`User: emails[type eq "work" and value co "@example.com"]`,
	`User: emails[primary eq true].value eq "a@b.c"`,
	`User: emails ne "a@b.c"`,
	`User: displayName eq "Ana Silva"`,
	`User: active eq true`,
	`User: active ne false`,
	`User: meta.lastModified gt "2024-01-01T00:00:00Z"`,
	`User: meta.lastModified ne "2024-01-01T00:00:00Z"`,
	`User: meta.lastModified pr and not (meta.lastModified eq null)`,
	`User: userName eq "a" or meta.lastModified le "2024-01-01T00:00:00Z"`,
	`User: not (meta.lastModified gt "2024-01-01T00:00:00Z") and meta.lastModified ge "2023-01-01T00:00:00Z"`,
	`User: meta.created le "2024-01-01T00:00:00.5+02:00"`,
	`User: name.familyName co "50%_off\\"`,
	`User: title pr`,
	`User: name pr`,
	`User: title eq null`,
	`User: not (title eq "boss")`,
	`User: title ne "boss"`,
	`User: userName eq "a" or (externalId eq "b" and active eq true)`,
	`User: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales"`,
	`User: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1"`,
	`User: addresses[type eq "work" and postalCode sw "10"]`,
	`User: phoneNumbers.value pr`,
	`User: groups.value eq "g1"`,
	`User: groups.display eq "Sales"`,
	`User: groups pr`,
	`User: x509Certificates.value eq "abc"`,
	`User: active gt true`,
	`User: userName gt 5`,
	`User: nosuch eq "x"`,
	`User: meta.created gt "yesterday"`,
	`Group: displayName eq "Sales"`,
	`Group: members.value eq "u1"`,
	`Group: members[type eq "Group"]`,
	`Group: members pr`,
	`Group: members.display co "ana"`,
	`: userName eq "ana" or displayName eq "Sales"`,
	`: nosuch eq "x"`,
	`: members.value eq "u1" and not (userName eq "x")`,
	`Member: value eq "u1"`,
	`Member: type eq "group" and not (display sw "a")`,
	`Member: nickName eq "x"`,
	`Sort: userName`,
	`Sort: meta.lastModified`,
	`Sort: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`,
	`Sort: emails`,
}

func compile(t testing.TB, d sqlbuild.Dialect, reg *schema.Registry, c string) (string, []any, error) {
	typ, src, _ := strings.Cut(c, ": ")
	b := &sqlbuild.Builder{D: d, Tenant: "t1"}
	if typ == "Sort" {
		p, err := filter.ParseAttrPath(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		s, err := b.OrderBy(reg.ResourceType(scimd.TypeUser), &p, false)
		return s, b.Args, err
	}
	e, err := filter.Parse(src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	var s string
	switch typ {
	case "":
		s, err = b.WhereAny(reg.ResourceTypes(), e)
	case "Member":
		s, err = b.MemberWhere(reg.ResourceType(scimd.TypeGroup).Schema.Attr("members"), e)
	default:
		s, err = b.Where(reg.ResourceType(typ), e)
	}
	return s, b.Args, err
}

func TestGolden(t *testing.T) {
	reg := schema.DefaultRegistry()
	for _, d := range []sqlbuild.Dialect{sqlbuild.SQLite{Trigram: true, ModifiedLog: true}, sqlbuild.Postgres{}} {
		t.Run(d.Name(), func(t *testing.T) {
			var out strings.Builder
			for _, c := range cases {
				fmt.Fprintf(&out, "filter: %s\n", c)
				s, args, err := compile(t, d, reg, c)
				if err != nil {
					fmt.Fprintf(&out, "error: %d %s: %s\n\n", scimd.StatusOf(err), scimd.ScimTypeOf(err), errDetail(err))
					continue
				}
				if d.Name() == "sqlite" && strings.Count(s, "?") != len(args) {
					t.Errorf("%s: %d placeholders, %d args", c, strings.Count(s, "?"), len(args))
				}
				fmt.Fprintf(&out, "sql: %s\nargs: %s\n\n", s, formatArgs(args))
			}
			path := filepath.Join("testdata", d.Name()+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", path, firstDiff(got, string(want)))
			}
		})
	}
}

func errDetail(err error) string {
	if e, ok := scimd.AsError(err); ok {
		return e.Detail
	}
	return err.Error()
}

func formatArgs(args []any) string {
	var parts []string
	for _, a := range args {
		parts = append(parts, fmt.Sprintf("%#v", a))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return ""
}

// TestValuesNeverInSQL: no comparison value appears in SQL text.
func TestValuesNeverInSQL(t *testing.T) {
	reg := schema.DefaultRegistry()
	for _, v := range []string{`x' OR '1'='1`, `"; DROP TABLE resources; --`, `Robert'); --`} {
		for _, p := range []string{"userName", "title", "emails.value", "name.givenName"} {
			src := fmt.Sprintf("User: %s eq %q", p, v)
			s, _, err := compile(t, sqlbuild.SQLite{}, reg, src)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(s, "DROP") || strings.Contains(s, "Robert") || strings.Contains(s, "'1'") {
				t.Errorf("%s: value in SQL: %s", src, s)
			}
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, c := range cases {
		_, src, _ := strings.Cut(c, ": ")
		f.Add(src)
	}
	reg := schema.DefaultRegistry()
	f.Fuzz(func(t *testing.T, src string) {
		e, err := filter.Parse(src)
		if err != nil {
			return
		}
		for _, d := range []sqlbuild.Dialect{sqlbuild.SQLite{Trigram: true, ModifiedLog: true}, sqlbuild.Postgres{}} {
			for _, rt := range reg.ResourceTypes() {
				b := &sqlbuild.Builder{D: d, Tenant: "t"}
				s, err := b.Where(rt, e)
				if err == nil && s == "" {
					t.Fatalf("%q: empty SQL without error", src)
				}
				if err != nil {
					if _, ok := scimd.AsError(err); !ok {
						t.Fatalf("%q: error is not a *scimd.Error: %v", src, err)
					}
				}
				if err == nil && d.Name() == "sqlite" && strings.Count(s, "?") != len(b.Args) {
					t.Fatalf("%q: %d placeholders, %d args: %s", src, strings.Count(s, "?"), len(b.Args), s)
				}
			}
			b := &sqlbuild.Builder{D: d, Tenant: "t"}
			if _, err := b.MemberWhere(nil, e); err != nil {
				if _, ok := scimd.AsError(err); !ok {
					t.Fatalf("%q: member filter error is not a *scimd.Error: %v", src, err)
				}
			}
		}
	})
}

func BenchmarkCompile(b *testing.B) {
	reg := schema.DefaultRegistry()
	rt := reg.ResourceType(scimd.TypeUser)
	for _, src := range []string{
		`userName eq "ana@example.com"`,
		`emails[type eq "work"].value eq "ana@example.com"`,
		`(userName sw "a" and active eq true) or (addresses[type eq "work" and postalCode sw "10"] and not (title pr))`,
	} {
		e, err := filter.Parse(src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.Fields(src)[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bl := &sqlbuild.Builder{D: sqlbuild.SQLite{}, Tenant: "t"}
				if _, err := bl.Where(rt, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDriver checks which filters a substring index can drive (SQLite with
// the trigram tables) and the MATCH argument it gets.
func TestDriver(t *testing.T) {
	reg := schema.DefaultRegistry()
	users := reg.ResourceType(scimd.TypeUser)
	for _, c := range []struct {
		filter, table, match string
	}{
		{`emails[type eq "work" and value co "@Example"]`, "emails_trgm", `"@example"`},
		{`emails[value ew "x.TEST" and type eq "work"]`, "emails_trgm", `"x.test"`},
		{`emails.value co "ab\"c"`, "emails_trgm", `"ab""c"`},
		{`userName co "ANA"`, "resources_trgm", `name_lc : "ana"`},
		{`displayName ew "Silva"`, "", ""},               // no trigram table
		{`externalId co "7F3"`, "", ""},                  // no trigram table
		{`userName co "an"`, "", ""},                     // no trigram
		{`userName sw "ana"`, "", ""},                    // a B-tree range
		{`userName co "ana" and active eq true`, "", ""}, // not alone
		{`not (userName co "ana")`, "", ""},
		{`emails[type eq "work" or value co "abc"]`, "", ""},
		{`emails[primary eq true and value co "abc"]`, "", ""}, // not the value index
		{`title co "abc"`, "", ""},
	} {
		e, err := filter.Parse(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		b := &sqlbuild.Builder{D: sqlbuild.SQLite{Trigram: true, ModifiedLog: true}, Tenant: "t1"}
		table, match, ok := b.Driver(users, e)
		if table != c.table || match != c.match || ok != (c.table != "") {
			t.Errorf("%s: Driver = %q, %q, %v; want %q, %q", c.filter, table, match, ok, c.table, c.match)
		}
		if len(b.Args) != 0 {
			t.Errorf("%s: Driver bound arguments %v", c.filter, b.Args)
		}
		if _, _, ok := (&sqlbuild.Builder{D: sqlbuild.Postgres{}}).Driver(users, e); ok {
			t.Errorf("%s: PostgreSQL has a driver", c.filter)
		}
		if _, _, ok := (&sqlbuild.Builder{D: sqlbuild.SQLite{}}).Driver(users, e); ok {
			t.Errorf("%s: SQLite without trigram tables has a driver", c.filter)
		}
	}
}

// TestModifiedOnly checks which filters ModifiedOnly compiles onto the log
// column alone (comparisons on meta.lastModified joined by and, or, not),
// and that it binds nothing for the others.
func TestModifiedOnly(t *testing.T) {
	users := schema.DefaultRegistry().ResourceType(scimd.TypeUser)
	for _, c := range []struct {
		filter, want string
	}{
		{`meta.lastModified gt "2024-01-01T00:00:00Z"`, `lm.last_modified > ?`},
		{`meta.lastModified ge "2024-01-01T00:00:00Z" and meta.lastModified lt "2024-02-01T00:00:00Z"`, `(lm.last_modified >= ? AND lm.last_modified < ?)`},
		{`not (meta.lastModified le "2024-01-01T00:00:00Z") or meta.lastModified eq "2023-01-01T00:00:00Z"`, `(((lm.last_modified <= ?) IS NOT TRUE) OR lm.last_modified = ?)`},
		{`meta.lastModified ne "2024-01-01T00:00:00Z"`, `((lm.last_modified = ?) IS NOT TRUE)`},
		{`meta.lastModified pr`, `lm.last_modified IS NOT NULL`},
		{`urn:ietf:params:scim:schemas:core:2.0:User:meta.lastModified gt "2024-01-01T00:00:00Z"`, `lm.last_modified > ?`},
		{`meta.lastModified gt "2024-01-01T00:00:00Z" and userName eq "a"`, ``},
		{`meta.created gt "2024-01-01T00:00:00Z"`, ``},
		{`meta[lastModified gt "2024-01-01T00:00:00Z"]`, ``},
		{`userName eq "a"`, ``},
	} {
		e, err := filter.Parse(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		b := &sqlbuild.Builder{D: sqlbuild.SQLite{ModifiedLog: true}, Tenant: "t1"}
		cond, ok, err := b.ModifiedOnly(users, e, "lm.last_modified")
		if err != nil && c.want != "" {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		if ok != (c.want != "") || cond != c.want {
			t.Errorf("%s: ModifiedOnly = %q, %v; want %q", c.filter, cond, ok, c.want)
		}
		if !ok && len(b.Args) != 0 {
			t.Errorf("%s: bound %v", c.filter, b.Args)
		}
		if ok && len(b.Args) != strings.Count(cond, "?") {
			t.Errorf("%s: %d arguments for %q", c.filter, len(b.Args), cond)
		}
		if _, ok, _ := (&sqlbuild.Builder{D: sqlbuild.SQLite{}}).ModifiedOnly(users, e, "lm.last_modified"); ok {
			t.Errorf("%s: compiled without a log", c.filter)
		}
	}
}
