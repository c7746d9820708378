package filter_test

import (
	"errors"
	"flag"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/scimd/scimd/filter"
)

var debug = flag.Bool("debug", false, "print parse errors")

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// parseTest is one row: input and either the canonical form or a substring
// of the expected error message.
type parseTest struct {
	name  string
	input string
	want  string // canonical String() when err is ""
	err   string // substring of the error message
}

var parseTests = []parseTest{
	// Every operator.
	{name: "eq", input: `userName eq "bjensen"`, want: `userName eq "bjensen"`},
	{name: "ne", input: `userName ne "bjensen"`, want: `userName ne "bjensen"`},
	{name: "co", input: `name.familyName co "O'Malley"`, want: `name.familyName co "O'Malley"`},
	{name: "sw", input: `userName sw "J"`, want: `userName sw "J"`},
	{name: "ew", input: `userName ew "son"`, want: `userName ew "son"`},
	{name: "gt", input: `meta.lastModified gt "2011-05-13T04:42:34Z"`, want: `meta.lastModified gt "2011-05-13T04:42:34Z"`},
	{name: "ge", input: `meta.lastModified ge "2011-05-13T04:42:34Z"`, want: `meta.lastModified ge "2011-05-13T04:42:34Z"`},
	{name: "lt", input: `meta.lastModified lt "2011-05-13T04:42:34Z"`, want: `meta.lastModified lt "2011-05-13T04:42:34Z"`},
	{name: "le", input: `meta.lastModified le "2011-05-13T04:42:34Z"`, want: `meta.lastModified le "2011-05-13T04:42:34Z"`},
	{name: "pr", input: `title pr`, want: `title pr`},

	// Case-insensitivity of operators, keywords and literals; names keep case.
	{name: "ping mixed case op", input: `username Eq "x"`, want: `username eq "x"`},
	{name: "upper op", input: `userName EQ "x"`, want: `userName eq "x"`},
	{name: "upper PR", input: `title PR`, want: `title pr`},
	{name: "upper AND OR", input: `a pr AND b pr OR c pr`, want: `((a pr and b pr) or c pr)`},
	{name: "upper NOT", input: `NOT (a pr)`, want: `not (a pr)`},
	{name: "TRUE", input: `active eq TRUE`, want: `active eq true`},
	{name: "False", input: `active eq False`, want: `active eq false`},
	{name: "NULL", input: `manager eq NuLL`, want: `manager eq null`},

	// Literals.
	{name: "true", input: `active eq true`, want: `active eq true`},
	{name: "false", input: `active ne false`, want: `active ne false`},
	{name: "null", input: `nickName eq null`, want: `nickName eq null`},
	{name: "int", input: `x eq 42`, want: `x eq 42`},
	{name: "zero", input: `x eq 0`, want: `x eq 0`},
	{name: "negative int", input: `x gt -7`, want: `x gt -7`},
	{name: "minus zero int", input: `x eq -0`, want: `x eq 0`},
	{name: "max int64", input: `x eq 9223372036854775807`, want: `x eq 9223372036854775807`},
	{name: "min int64", input: `x eq -9223372036854775808`, want: `x eq -9223372036854775808`},
	{name: "int overflow to float", input: `x eq 9223372036854775808`, want: `x eq 9.223372036854776e+18`},
	{name: "fraction", input: `x lt 1.5`, want: `x lt 1.5`},
	{name: "integral fraction stays float", input: `x lt 2.0`, want: `x lt 2.0`},
	{name: "exponent", input: `x ge 1e3`, want: `x ge 1000.0`},
	{name: "exponent upper signed", input: `x ge 1E+21`, want: `x ge 1e+21`},
	{name: "negative exponent", input: `x ge -2.5e-3`, want: `x ge -0.0025`},
	{name: "tiny float", input: `x ge 1e-400`, want: `x ge 0.0`},

	// Strings and escapes.
	{name: "empty string", input: `x eq ""`, want: `x eq ""`},
	{name: "escaped quote", input: `x eq "a\"b"`, want: `x eq "a\"b"`},
	{name: "escaped backslash", input: `x eq "a\\b"`, want: `x eq "a\\b"`},
	{name: "escaped solidus", input: `x eq "a\/b"`, want: `x eq "a/b"`},
	{name: "control escapes", input: `x eq "\b\f\n\r\t"`, want: `x eq "\b\f\n\r\t"`},
	{name: "u escape", input: `x eq "caf\u00e9"`, want: `x eq "café"`},
	{name: "u escape upper hex", input: `x eq "\u00C9"`, want: `x eq "É"`},
	{name: "u escape control", input: `x eq "\u0001"`, want: `x eq "\u0001"`},
	{name: "u escape NUL", input: `x eq "a\u0000b"`, want: `x eq "a\u0000b"`},
	{name: "surrogate pair", input: `x eq "\ud83d\ude00"`, want: `x eq "😀"`},
	{name: "raw UTF-8", input: `displayName eq "Zoë 😀"`, want: `displayName eq "Zoë 😀"`},
	{name: "raw DEL", input: "x eq \"a\x7fb\"", want: "x eq \"a\x7fb\""},
	{name: "email literal", input: `emails.value co "@example.com"`, want: `emails.value co "@example.com"`},
	{name: "keywords in strings", input: `x eq "a and b or not (c)"`, want: `x eq "a and b or not (c)"`},

	// Whitespace.
	{name: "extra spaces", input: "  userName   eq\t\"x\"  ", want: `userName eq "x"`},
	{name: "newlines", input: "a pr\r\nand\nb pr", want: `(a pr and b pr)`},
	{name: "no space before string", input: `userName eq"x"`, want: `userName eq "x"`},
	{name: "no space around parens", input: `(a pr)and(b pr)`, want: `(a pr and b pr)`},

	// Precedence, associativity and grouping.
	{name: "and", input: `a pr and b pr`, want: `(a pr and b pr)`},
	{name: "or", input: `a pr or b pr`, want: `(a pr or b pr)`},
	{name: "and binds tighter (right)", input: `a pr or b pr and c pr`, want: `(a pr or (b pr and c pr))`},
	{name: "and binds tighter (left)", input: `a pr and b pr or c pr`, want: `((a pr and b pr) or c pr)`},
	{name: "and binds tighter (both)", input: `a pr and b pr or c pr and d pr`, want: `((a pr and b pr) or (c pr and d pr))`},
	{name: "three and left-assoc", input: `a pr and b pr and c pr`, want: `((a pr and b pr) and c pr)`},
	{name: "four and balanced", input: `a pr and b pr and c pr and d pr`, want: `((a pr and b pr) and (c pr and d pr))`},
	{name: "five or balanced", input: `a pr or b pr or c pr or d pr or e pr`, want: `(((a pr or b pr) or c pr) or (d pr or e pr))`},
	{name: "parens override", input: `(a pr or b pr) and c pr`, want: `((a pr or b pr) and c pr)`},
	{name: "redundant parens", input: `((((a pr))))`, want: `a pr`},
	{name: "rfc example", input: `userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		want: `(userType eq "Employee" and (emails co "example.com" or emails.value co "example.org"))`},
	{name: "rfc example 2", input: `userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		want: `(userType ne "Employee" and not ((emails co "example.com" or emails.value co "example.org")))`},
	{name: "rfc example 3", input: `title pr and userType eq "Employee"`, want: `(title pr and userType eq "Employee")`},
	{name: "rfc example 4", input: `title pr or userType eq "Intern"`, want: `(title pr or userType eq "Intern")`},

	// not.
	{name: "not", input: `not (a pr)`, want: `not (a pr)`},
	{name: "not no space", input: `not(a pr)`, want: `not (a pr)`},
	{name: "not not", input: `not (not (a pr))`, want: `not (not (a pr))`},
	{name: "not binds to group", input: `not (a pr) and b pr`, want: `(not (a pr) and b pr)`},
	{name: "not inside or", input: `a pr or not (b eq 1 and c eq 2)`, want: `(a pr or not ((b eq 1 and c eq 2)))`},

	// Value paths.
	{name: "value path", input: `emails[type eq "work"]`, want: `emails[type eq "work"]`},
	{name: "value path and", input: `emails[type eq "work" and value co "@example.com"]`,
		want: `emails[(type eq "work" and value co "@example.com")]`},
	{name: "value path combined", input: `userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
		want: `(userType eq "Employee" and emails[(type eq "work" and value co "@example.com")])`},
	{name: "value path or value path", input: `emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		want: `(emails[(type eq "work" and value co "@example.com")] or ims[(type eq "xmpp" and value co "@foo.com")])`},
	{name: "value path in not", input: `not (emails[type eq "work"])`, want: `not (emails[type eq "work"])`},
	{name: "value path inner not and parens", input: `emails[not (type eq "work") and (primary eq true or value pr)]`,
		want: `emails[(not (type eq "work") and (primary eq true or value pr))]`},
	{name: "value path space before bracket", input: `emails [type eq "work"]`, want: `emails[type eq "work"]`},
	{name: "value path urn attribute", input: ent + `:manager[value eq "26118915-6090-4610-87e4-49d8ca9f808d"]`,
		want: ent + `:manager[value eq "26118915-6090-4610-87e4-49d8ca9f808d"]`},
	{name: "members value path", input: `members[value eq "2819c223"]`, want: `members[value eq "2819c223"]`},
	{name: "ref inside value path", input: `members[$ref eq "https://x/Users/1"]`, want: `members[$ref eq "https://x/Users/1"]`},

	// Entra's non-ABNF form.
	{name: "entra eq", input: `emails[type eq "work"].value eq "ana@acme.test"`,
		want: `emails[(type eq "work" and value eq "ana@acme.test")]`},
	{name: "entra pr", input: `emails[type eq "work"].value pr`, want: `emails[(type eq "work" and value pr)]`},
	{name: "entra upper op", input: `emails[Type EQ "work"].Value Eq "x"`, want: `emails[(Type eq "work" and Value eq "x")]`},
	{name: "entra inner and", input: `addresses[type eq "work" and primary eq true].locality sw "Ber"`,
		want: `addresses[((type eq "work" and primary eq true) and locality sw "Ber")]`},
	{name: "entra in and", input: `userName eq "x" and emails[type eq "work"].value eq "y"`,
		want: `(userName eq "x" and emails[(type eq "work" and value eq "y")])`},
	{name: "entra in not", input: `not (emails[type eq "work"].value eq "y")`,
		want: `not (emails[(type eq "work" and value eq "y")])`},

	// URN-qualified paths.
	{name: "urn attr", input: ent + `:employeeNumber eq "701984"`, want: ent + `:employeeNumber eq "701984"`},
	{name: "urn attr sub", input: ent + `:manager.value eq "26118915"`, want: ent + `:manager.value eq "26118915"`},
	{name: "urn core", input: `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`,
		want: `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`},
	{name: "urn upper prefix", input: `URN:ietf:params:scim:schemas:core:2.0:User:name.givenName pr`,
		want: `URN:ietf:params:scim:schemas:core:2.0:User:name.givenName pr`},
	{name: "scim 1.1 urn", input: `urn:scim:schemas:core:1.0:userName eq "x"`, want: `urn:scim:schemas:core:1.0:userName eq "x"`},
	{name: "ref", input: `$ref eq "x"`, want: `$ref eq "x"`},
	{name: "sub ref", input: `manager.$ref pr`, want: `manager.$ref pr`},
	{name: "name chars", input: `x-y_9 pr`, want: `x-y_9 pr`},
	{name: "keyword-like names", input: `and eq "x" or or pr`, want: `(and eq "x" or or pr)`},

	// Errors: lexical.
	{name: "empty", input: ``, err: "col 1: empty filter"},
	{name: "blank", input: "   ", err: "col 4: empty filter"},
	{name: "unterminated string", input: `userName eq "abc`, err: "col 13: unterminated string"},
	{name: "unterminated escape", input: `userName eq "abc\`, err: "unterminated string"},
	{name: "raw control char", input: "x eq \"a\x01b\"", err: "col 8: control character 0x01"},
	{name: "raw newline in string", input: "x eq \"a\nb\"", err: "control character 0x0a"},
	{name: "bad escape", input: `x eq "a\qb"`, err: `col 8: invalid escape sequence \q`},
	{name: "bad u escape", input: `x eq "\u12g4"`, err: `invalid \u escape`},
	{name: "short u escape", input: `x eq "\u12"`, err: `invalid \u escape`},
	{name: "lone high surrogate", input: `x eq "\ud83d"`, err: "unpaired surrogate"},
	{name: "high then non-low", input: `x eq "\ud83d\u0041"`, err: "unpaired surrogate"},
	{name: "high then bad escape", input: `x eq "\ud83d\uzzzz"`, err: `invalid \u escape`},
	{name: "lone low surrogate", input: `x eq "\ude00"`, err: "unpaired surrogate"},
	{name: "invalid utf8 in string", input: "x eq \"\xff\"", err: "invalid UTF-8"},
	{name: "invalid utf8", input: "x\xff eq 1", err: "col 2: invalid UTF-8"},
	{name: "unexpected char", input: `userName = "x"`, err: `col 10: unexpected character '='`},
	{name: "unexpected unicode", input: `userNäme eq "x"`, err: `col 6: unexpected character 'ä'`},
	{name: "single quotes", input: `userName eq 'x'`, err: `unexpected character '\''`},
	{name: "leading zero", input: `x eq 01`, err: `invalid number "01"`},
	{name: "minus alone", input: `x eq -`, err: "invalid number: expected digit"},
	{name: "plus sign", input: `x eq +1`, err: "unexpected character '+'"},
	{name: "dot no digits", input: `x eq 1.`, err: "expected digit after decimal point"},
	{name: "leading dot", input: `x eq .5`, err: `expected value`},
	{name: "exp no digits", input: `x eq 1e`, err: "expected digit in exponent"},
	{name: "exp sign no digits", input: `x eq 1e+`, err: "expected digit in exponent"},
	{name: "number then letters", input: `x eq 12abc`, err: `invalid number "12a"`},
	{name: "float overflow", input: `x eq 1e999`, err: "number 1e999 out of range"},

	// Errors: syntax.
	{name: "missing op", input: `userName`, err: `col 9: expected comparison operator after "userName", found end of input`},
	{name: "bad op", input: `userName equals "x"`, err: `col 10: expected comparison operator after "userName", found "equals"`},
	{name: "op is string", input: `userName "x"`, err: `expected comparison operator after "userName", found string "x"`},
	{name: "missing value", input: `userName eq`, err: `col 12: expected value (string, number, true, false or null) after "eq", found end of input`},
	{name: "bare word value", input: `userName eq foo`, err: `col 13: expected value`},
	{name: "paren value", input: `userName eq (`, err: `expected value`},
	{name: "pr with value", input: `title pr "x"`, err: `col 10: expected "and", "or" or end of expression, found string "x"`},
	{name: "trailing garbage", input: `userName eq "x" foo`, err: `col 17: expected "and", "or" or end of expression, found "foo"`},
	{name: "trailing paren", input: `userName eq "x")`, err: `col 16: unexpected ")"`},
	{name: "trailing bracket", input: `userName eq "x"]`, err: `col 16: unexpected "]"`},
	{name: "dangling and", input: `a pr and`, err: `col 9: expected attribute name, "(" or "not", found end of input`},
	{name: "dangling or", input: `a pr or `, err: `expected attribute name`},
	{name: "leading and", input: `and`, err: `expected comparison operator after "and"`},
	{name: "double and", input: `a pr and and b pr`, err: `expected comparison operator after "and", found "b"`},
	{name: "starts with string", input: `"x" eq userName`, err: `col 1: expected attribute name, "(" or "not", found string "x"`},
	{name: "starts with number", input: `1 eq x`, err: `expected attribute name`},
	{name: "not without paren", input: `not userName eq "x"`, err: `col 5: expected "(" after "not", found "userName"`},
	{name: "not at end", input: `not`, err: `expected "(" after "not", found end of input`},
	{name: "unclosed paren", input: `(a pr`, err: `col 6: expected ")" to close "(" at col 1, found end of input`},
	{name: "unclosed paren bracket", input: `(a pr]`, err: `expected ")" to close "(" at col 1, found "]"`},
	{name: "empty parens", input: `()`, err: `col 2: empty parentheses`},
	{name: "not empty parens", input: `not ()`, err: `empty parentheses`},
	{name: "lone close paren", input: `)`, err: `expected attribute name`},
	{name: "dot start", input: `.a pr`, err: `expected attribute name`},

	// Errors: attribute paths.
	{name: "double dot", input: `a..b pr`, err: `col 3: invalid sub-attribute name in "a..b"`},
	{name: "trailing dot", input: `name. pr`, err: `col 6: invalid sub-attribute name`},
	{name: "two subs", input: `a.b.c pr`, err: `invalid sub-attribute name in "a.b.c"`},
	{name: "name starts with digit after urn", input: `urn:x:1a pr`, err: `col 7: invalid attribute name`},
	{name: "dollar name", input: `$foo pr`, err: `invalid attribute name in "$foo"`},
	{name: "dollar inside", input: `a$b pr`, err: `invalid attribute name`},
	{name: "urn not urn", input: `foo:bar pr`, err: `col 1: invalid schema URN "foo"`},
	{name: "urn empty segment", input: `urn::x:bar pr`, err: `col 5: invalid schema URN`},
	{name: "urn only prefix", input: `urn:bar pr`, err: `invalid schema URN "urn"`},
	{name: "urn dollar", input: `urn:a$:bar pr`, err: `col 6: invalid schema URN`},
	{name: "trailing colon", input: `urn:x: pr`, err: `col 7: invalid attribute name`},

	// Errors: value paths.
	{name: "unclosed bracket", input: `emails[type eq "work"`, err: `col 22: expected "]" to close "[" at col 7, found end of input`},
	{name: "bracket closed by paren", input: `emails[type eq "work")`, err: `expected "]" to close "["`},
	{name: "empty brackets", input: `emails[]`, err: `col 8: empty value filter`},
	{name: "nested brackets", input: `emails[type[value pr]]`, err: `col 12: value paths cannot be nested`},
	{name: "urn in brackets", input: `emails[` + ent + `:x pr]`, err: `must be a sub-attribute name, without schema URN`},
	{name: "sub in brackets", input: `emails[type.x pr]`, err: `must be a sub-attribute name, without further sub-attribute`},
	{name: "bracket on sub", input: `name.givenName[value pr]`, err: `value filter must follow an attribute, not the sub-attribute "name.givenName"`},
	{name: "garbage in brackets", input: `emails[type eq "work" foo]`, err: `expected "and", "or" or end of expression, found "foo"`},
	{name: "entra missing op", input: `emails[type eq "work"].value`, err: `expected comparison operator after "value", found end of input`},
	{name: "entra missing value", input: `emails[type eq "work"].value eq`, err: `expected value`},
	{name: "entra empty sub", input: `emails[type eq "work"]. eq "x"`, err: `col 24: expected sub-attribute name after "."`},
	{name: "entra space after dot", input: `emails[type eq "work"]. value eq "x"`, err: `expected sub-attribute name after "."`},
	{name: "entra dotted sub", input: `emails[type eq "work"].value.x eq "x"`, err: `col 29: invalid sub-attribute name "value.x"`},
	{name: "entra bad sub", input: `emails[type eq "work"].$x eq "x"`, err: `invalid sub-attribute name "$x"`},
	{name: "dot after comparison", input: `a eq 1 .b`, err: `expected "and", "or" or end of expression, found "."`},
	{name: "attr named not", input: `not eq "x"`, err: `expected "(" after "not"`},

	// Long input in a message is abbreviated.
	{name: "abbreviated", input: `userName eq "x" ` + strings.Repeat("é", 40), err: `unexpected character 'é'`},
	{name: "abbreviated string", input: `a pr "` + strings.Repeat("é", 30) + `"`, err: `found string "` + strings.Repeat("é", 19) + `…`},
	{name: "abbreviated word", input: strings.Repeat("a", 60), err: `"` + strings.Repeat("a", 40) + `…"`},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := filter.Parse(tt.input)
			checkResult(t, tt.input, e, err, tt.want, tt.err)
			if err == nil {
				// Round trip: the canonical form parses to the same tree.
				e2, err := filter.Parse(e.String())
				if err != nil {
					t.Fatalf("re-parse of %q: %v", e.String(), err)
				}
				if !reflect.DeepEqual(e, e2) {
					t.Errorf("re-parse of %q gave a different tree: %s", e.String(), e2)
				}
			}
		})
	}
}

// checkResult compares a parse result with a row's expectation.
func checkResult(t *testing.T, input string, got interface{ String() string }, err error, want, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil {
			t.Fatalf("%q: got %s, want error containing %q", input, got, wantErr)
		}
		var fe *filter.Error
		if !errors.As(err, &fe) {
			t.Fatalf("%q: error %T is not *filter.Error", input, err)
		}
		if fe.Pos < 0 || fe.Pos > len(input) {
			t.Errorf("%q: error position %d out of range", input, fe.Pos)
		}
		if !strings.HasPrefix(err.Error(), "filter: col ") || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: error %q, want it to contain %q", input, err, wantErr)
		}
		if *debug {
			t.Logf("%q: %v", input, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%q: unexpected error: %v", input, err)
	}
	if s := got.String(); s != want {
		t.Errorf("%q:\n got %s\nwant %s", input, s, want)
	}
}

func TestParseTree(t *testing.T) {
	e, err := filter.Parse(ent + `:manager.value eq "m1" and emails[type eq "work"].value eq "x" and n ge 1.5 and v eq NULL`)
	if err != nil {
		t.Fatal(err)
	}
	want := &filter.Logical{
		And: true,
		Left: &filter.Logical{
			And: true,
			Left: &filter.Compare{
				Path:  filter.AttrPath{URN: ent, Name: "manager", Sub: "value"},
				Op:    filter.OpEq,
				Value: "m1",
			},
			Right: &filter.ValuePath{
				Path: filter.AttrPath{Name: "emails"},
				Filter: &filter.Logical{
					And:   true,
					Left:  &filter.Compare{Path: filter.AttrPath{Name: "type"}, Op: filter.OpEq, Value: "work"},
					Right: &filter.Compare{Path: filter.AttrPath{Name: "value"}, Op: filter.OpEq, Value: "x"},
				},
			},
		},
		Right: &filter.Logical{
			And:   true,
			Left:  &filter.Compare{Path: filter.AttrPath{Name: "n"}, Op: filter.OpGe, Value: 1.5},
			Right: &filter.Compare{Path: filter.AttrPath{Name: "v"}, Op: filter.OpEq, Value: nil},
		},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got  %s\nwant %s", e, want)
	}
}

func TestNumberTypes(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"1", int64(1)},
		{"-12", int64(-12)},
		{"1.0", 1.0},
		{"1e2", 100.0},
		{"0.5E-1", 0.05},
		{"18446744073709551616", 18446744073709551616.0},
	}
	for _, tt := range tests {
		e, err := filter.Parse("x eq " + tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		got := e.(*filter.Compare).Value
		if got != tt.want {
			t.Errorf("%s: got %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestLimits(t *testing.T) {
	l := filter.Limits{MaxLength: 40, MaxDepth: 2, MaxTerms: 3}
	tests := []struct {
		name, input, want, err string
	}{
		{name: "length ok", input: strings.Repeat(" ", 32) + `a eq "x"`, want: `a eq "x"`},
		{name: "too long", input: strings.Repeat(" ", 33) + `a eq "x"`, err: "col 41: input too long (41 bytes, limit 40)"},
		{name: "depth ok", input: `((a pr))`, want: `a pr`},
		{name: "parens too deep", input: `(((a pr)))`, err: "col 3: expression nested too deeply (limit 2)"},
		{name: "not depth ok", input: `not (not (a pr))`, want: `not (not (a pr))`},
		{name: "not too deep", input: `not (not (not (a pr)))`, err: "col 11: expression nested too deeply"},
		{name: "mixed too deep", input: `not ((a pr))`, want: `not (a pr)`},
		{name: "mixed too deep 2", input: `not (((a pr)))`, err: "nested too deeply"},
		{name: "bracket depth ok", input: `(x[a pr])`, want: `x[a pr]`},
		{name: "bracket too deep", input: `((x[a pr]))`, err: "col 4: expression nested too deeply"},
		{name: "bracket in not too deep", input: `not (not (x[a pr]))`, err: "nested too deeply"},
		{name: "depth resets after group", input: `((a pr)) and ((b pr))`, want: `(a pr and b pr)`},
		{name: "terms ok", input: `a pr and b pr or c pr`, want: `((a pr and b pr) or c pr)`},
		{name: "too many terms", input: `a pr and b pr or c pr or d pr`, err: "col 26: too many comparisons (limit 3)"},
		{name: "terms in value path", input: `x[a pr and b pr] or c pr`, want: `(x[(a pr and b pr)] or c pr)`},
		{name: "entra counts", input: `x[a pr and b pr].c pr or d pr`, err: "too many comparisons"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := l.Parse(tt.input)
			checkResult(t, tt.input, e, err, tt.want, tt.err)
		})
	}

	t.Run("zero limits mean defaults", func(t *testing.T) {
		var zero filter.Limits
		if _, err := zero.Parse(strings.Repeat("(", 16) + "a pr" + strings.Repeat(")", 16)); err != nil {
			t.Errorf("depth 16: %v", err)
		}
		if _, err := zero.Parse(strings.Repeat("(", 17) + "a pr" + strings.Repeat(")", 17)); err == nil {
			t.Error("depth 17: no error")
		}
		if _, err := zero.Parse(strings.Repeat(" ", 4097)); err == nil || !strings.Contains(err.Error(), "too long") {
			t.Errorf("length 4097: %v", err)
		}
	})

	t.Run("default terms", func(t *testing.T) {
		terms := make([]string, 201)
		for i := range terms {
			terms[i] = `a eq 1`
		}
		s := strings.Join(terms[:200], " or ")
		e, err := filter.Parse(s)
		if err != nil {
			t.Fatalf("200 terms: %v", err)
		}
		// The balanced tree keeps the canonical form within the depth limit.
		if _, err := filter.Parse(e.String()); err != nil {
			t.Errorf("re-parse of 200 terms: %v", err)
		}
		if _, err := filter.Parse(strings.Join(terms, " or ")); err == nil {
			t.Error("201 terms: no error")
		}
	})

	t.Run("deep input does not overflow", func(t *testing.T) {
		big := filter.Limits{MaxLength: 1 << 20}
		s := strings.Repeat("(", 1<<19)
		if _, err := big.Parse(s); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
			t.Errorf("got %v", err)
		}
		s = strings.Repeat("not (", 1<<17)
		if _, err := big.Parse(s); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
			t.Errorf("got %v", err)
		}
	})
}

var pathTests = []parseTest{
	{name: "simple", input: `userName`, want: `userName`},
	{name: "members", input: `members`, want: `members`},
	{name: "sub", input: `name.givenName`, want: `name.givenName`},
	{name: "value path", input: `members[value eq "2819c223"]`, want: `members[value eq "2819c223"]`},
	{name: "value path sub", input: `emails[type eq "work"].value`, want: `emails[type eq "work"].value`},
	{name: "value path and sub", input: `addresses[type eq "work" and primary eq TRUE].streetAddress`,
		want: `addresses[(type eq "work" and primary eq true)].streetAddress`},
	{name: "urn attr", input: ent + `:manager`, want: ent + `:manager`},
	{name: "urn attr sub", input: ent + `:manager.value`, want: ent + `:manager.value`},
	{name: "whole extension", input: ent, want: ent},
	{name: "urn department", input: ent + `:department`, want: ent + `:department`},
	{name: "spaces around", input: `  active `, want: `active`},
	{name: "value path spaces inside", input: `members[ value  EQ "x" ]`, want: `members[value eq "x"]`},
	{name: "ref sub", input: `members[value eq "x"].$ref`, want: `members[value eq "x"].$ref`},

	{name: "empty", input: ``, err: `col 1: empty path`},
	{name: "blank", input: ` `, err: `empty path`},
	{name: "open bracket", input: `emails[`, err: `col 8: expected attribute name, "(" or "not", found end of input`},
	{name: "unclosed", input: `emails[type eq "work"`, err: `expected "]" to close "["`},
	{name: "double dot", input: `a..b`, err: `col 3: invalid sub-attribute name in "a..b"`},
	{name: "trailing dot", input: `members[value eq "x"].`, err: `col 23: expected sub-attribute name after "."`},
	{name: "trailing dot attr", input: `name.`, err: `invalid sub-attribute name`},
	{name: "sub then filter", input: `name.givenName[value pr]`, err: `value filter must follow an attribute`},
	{name: "two subs after filter", input: `emails[type eq "work"].value.display`, err: `invalid sub-attribute name "value.display"`},
	{name: "trailing garbage", input: `members[value eq "x"] eq "y"`, err: `col 23: unexpected "eq"`},
	{name: "filter not path", input: `userName eq "x"`, err: `col 10: unexpected "eq"`},
	{name: "starts with bracket", input: `[value eq "x"]`, err: `col 1: expected attribute path, found "["`},
	{name: "nested", input: `emails[a[b pr]]`, err: `value paths cannot be nested`},
	{name: "bad urn", input: `urn::x`, err: `invalid schema URN`},
	{name: "urn version only", input: `urn:okta:custom:group:1.0`, err: `col 25: invalid sub-attribute name`},
	{name: "empty filter", input: `members[]`, err: `empty value filter`},
	{name: "string", input: `"members"`, err: `expected attribute path, found string "members"`},
}

func TestParsePath(t *testing.T) {
	for _, tt := range pathTests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := filter.ParsePath(tt.input)
			checkResult(t, tt.input, p, err, tt.want, tt.err)
			if err == nil {
				p2, err := filter.ParsePath(p.String())
				if err != nil {
					t.Fatalf("re-parse of %q: %v", p.String(), err)
				}
				if !reflect.DeepEqual(p, p2) {
					t.Errorf("re-parse of %q gave %#v", p.String(), p2)
				}
			}
		})
	}
}

func TestParsePathFields(t *testing.T) {
	tests := []struct {
		in   string
		want filter.Path
	}{
		{`name.givenName`, filter.Path{Attr: filter.AttrPath{Name: "name", Sub: "givenName"}}},
		{ent, filter.Path{Attr: filter.AttrPath{URN: "urn:ietf:params:scim:schemas:extension:enterprise:2.0", Name: "User"}}},
		{ent + `:manager`, filter.Path{Attr: filter.AttrPath{URN: ent, Name: "manager"}}},
		{`emails[type eq "work"].value`, filter.Path{
			Attr:   filter.AttrPath{Name: "emails"},
			Filter: &filter.Compare{Path: filter.AttrPath{Name: "type"}, Op: filter.OpEq, Value: "work"},
			Sub:    "value",
		}},
		{`members[value eq "2819c223"]`, filter.Path{
			Attr:   filter.AttrPath{Name: "members"},
			Filter: &filter.Compare{Path: filter.AttrPath{Name: "value"}, Op: filter.OpEq, Value: "2819c223"},
		}},
	}
	for _, tt := range tests {
		got, err := filter.ParsePath(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestParsePathLimits(t *testing.T) {
	l := filter.Limits{MaxDepth: 1, MaxTerms: 1}
	if _, err := l.ParsePath(`emails[(a pr)]`); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("depth: %v", err)
	}
	if _, err := l.ParsePath(`emails[a pr and b pr]`); err == nil || !strings.Contains(err.Error(), "too many comparisons") {
		t.Errorf("terms: %v", err)
	}
	if _, err := filter.ParsePath(strings.Repeat("a", 4097)); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("length: %v", err)
	}
}

var attrPathTests = []struct {
	input string
	want  filter.AttrPath
	err   string
}{
	{input: `userName`, want: filter.AttrPath{Name: "userName"}},
	{input: ` name.givenName `, want: filter.AttrPath{Name: "name", Sub: "givenName"}},
	{input: `meta.lastModified`, want: filter.AttrPath{Name: "meta", Sub: "lastModified"}},
	{input: `members`, want: filter.AttrPath{Name: "members"}},
	{input: ent + `:manager.value`, want: filter.AttrPath{URN: ent, Name: "manager", Sub: "value"}},
	{input: ent, want: filter.AttrPath{URN: "urn:ietf:params:scim:schemas:extension:enterprise:2.0", Name: "User"}},
	{input: `groups.$ref`, want: filter.AttrPath{Name: "groups", Sub: "$ref"}},

	{input: ``, err: `col 1: expected attribute path, found end of input`},
	{input: `a..b`, err: `col 3: invalid sub-attribute name`},
	{input: `a.b.c`, err: `invalid sub-attribute name`},
	{input: `emails[type eq "work"]`, err: `col 7: unexpected "["`},
	{input: `userName,name`, err: `unexpected character ','`},
	{input: `userName name`, err: `col 10: unexpected "name"`},
	{input: `1abc`, err: `col 1: invalid number "1a"`},
	{input: `urn:foo`, err: `invalid schema URN "urn"`},
	{input: `http://example.com:x`, err: `unexpected character '/'`},
}

func TestParseAttrPath(t *testing.T) {
	for _, tt := range attrPathTests {
		got, err := filter.ParseAttrPath(tt.input)
		if tt.err != "" {
			checkResult(t, tt.input, got, err, "", tt.err)
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.input, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%q: got %#v, want %#v", tt.input, got, tt.want)
		}
		if again, err := filter.ParseAttrPath(got.String()); err != nil || again != got {
			t.Errorf("%q: round trip gave %#v, %v", tt.input, again, err)
		}
	}
}

func TestWalk(t *testing.T) {
	e, err := filter.Parse(`a pr and not (b pr) or emails[type eq "work" and value pr]`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	filter.Walk(e, func(x filter.Expr) bool {
		got = append(got, x.String())
		return true
	})
	want := []string{
		`((a pr and not (b pr)) or emails[(type eq "work" and value pr)])`,
		`(a pr and not (b pr))`,
		`a pr`,
		`not (b pr)`,
		`b pr`,
		`emails[(type eq "work" and value pr)]`,
		`(type eq "work" and value pr)`,
		`type eq "work"`,
		`value pr`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pre-order:\n got %q\nwant %q", got, want)
	}

	// Returning false skips the children of value paths.
	var compares []string
	filter.Walk(e, func(x filter.Expr) bool {
		switch x := x.(type) {
		case *filter.ValuePath:
			return false
		case *filter.Compare:
			compares = append(compares, x.Path.String())
		}
		return true
	})
	if want := []string{"a", "b"}; !reflect.DeepEqual(compares, want) {
		t.Errorf("skipping: got %q, want %q", compares, want)
	}

	filter.Walk(nil, func(filter.Expr) bool { t.Error("called for nil"); return true })
	filter.Walk((*filter.Logical)(nil), func(filter.Expr) bool { return true })
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, "null"},
		{true, "true"},
		{int64(-3), "-3"},
		{2.0, "2.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1e21, "1e+21"},
		{0.1, "0.1"},
		{"a\"\\\x00\x1f\u2028é", `"a\"\\\u0000\u001f` + "\u2028é\""},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{struct{}{}, "?"},
	}
	for _, tt := range tests {
		if got := filter.FormatValue(tt.v); got != tt.want {
			t.Errorf("FormatValue(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}
