package jsonvalue_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/jsonvalue"
)

// Documents as the stores keep them: json.Encoder output (HTML escaping
// off) of a resource's attributes, without id, meta and schemas, which are
// columns of their own.
const (
	oktaUser  = `{"active":true,"displayName":"Ana Silva","emails":[{"primary":true,"type":"work","value":"ana.silva@acme.test"},{"primary":false,"type":"home","value":"ana@example.test"}],"externalId":"00u7f3kq2wXyZ1a2b3c4","locale":"en-US","name":{"familyName":"Silva","formatted":"Ana Silva","givenName":"Ana","middleName":"M"},"phoneNumbers":[{"type":"mobile","value":"+1 555 0100"}],"preferredLanguage":"en","timezone":"America/Los_Angeles","title":"Account Executive","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":"CC-1234","department":"Sales","division":"Americas","employeeNumber":"701984","manager":{"displayName":"Bo Chen","value":"5b0e7c1e-2d0c-4a43-9f43-3c9b2c7e0a11"},"organization":"Acme"},"userName":"ana.silva@acme.test","userType":"Employee"}`
	entraUser = `{"active":true,"addresses":[{"country":"PT","formatted":"Rua Augusta 1\nLisboa","locality":"Lisboa","postalCode":"1100-048","primary":true,"streetAddress":"Rua Augusta 1","type":"work"}],"displayName":"Ana Silva","emails":[{"primary":true,"type":"work","value":"ana@contoso.test"}],"externalId":"8f1e1c52-79a5-4a4e-b1f0-0e0b1f9c2d3e","name":{"familyName":"Silva","formatted":"Ana Silva","givenName":"Ana"},"roles":[{"primary":false,"type":"WindowsAzureActiveDirectoryRole","value":"{\"id\":\"r1\",\"value\":\"Admin\"}"}],"title":"Engenheira","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Engenharia","employeeNumber":"701984","manager":{"value":"mgr-1"}},"userName":"ana@contoso.test"}`
	group     = `{"displayName":"Engineering","externalId":"00g1abcdEFGH2345"}`
	// A request body: Okta's PATCH deactivating a user.
	oktaPatch = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
	// A request body: Okta's create, pretty-printed as Okta sends it.
	oktaCreate = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName": "ana.silva@acme.test",
  "name": {"givenName": "Ana", "familyName": "Silva"},
  "emails": [{"primary": true, "value": "ana.silva@acme.test", "type": "work"}],
  "displayName": "Ana Silva",
  "locale": "en-US",
  "externalId": "00u7f3kq2wXyZ",
  "groups": [],
  "password": "Tq9v2mLa",
  "active": true
}`
)

// reference decodes data as scimd's request decoding does with
// encoding/json: one value, UseNumber, nothing but white space after it.
func reference(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the value")
	}
	return v, nil
}

func hasNumber(v any) bool {
	switch v := v.(type) {
	case json.Number:
		return true
	case []any:
		for _, e := range v {
			if hasNumber(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if hasNumber(e) {
				return true
			}
		}
	}
	return false
}

// check decodes data with both decoders and fails t unless they agree.
func check(t *testing.T, data []byte) (any, error) {
	t.Helper()
	want, werr := reference(data)
	got, num, err := jsonvalue.DecodeBytes(data)
	if (err == nil) != (werr == nil) {
		t.Fatalf("Decode(%q): err %v, encoding/json: err %v", data, err, werr)
	}
	if err != nil {
		var se *jsonvalue.SyntaxError
		if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(data) {
			t.Fatalf("Decode(%q): error %#v is not a SyntaxError within the input", data, err)
		}
		return nil, err
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%q)\n got %#v\nwant %#v", data, got, want)
	}
	if !num && hasNumber(want) {
		t.Fatalf("Decode(%q): numbers = false, but the value has a number", data)
	}
	got2, _, _ := jsonvalue.Decode(string(data))
	if !reflect.DeepEqual(got2, want) {
		t.Fatalf("Decode(string) and DecodeBytes differ on %q", data)
	}
	return got, nil
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any // nil: only agreement with encoding/json is checked
		err  bool
	}{
		{name: "okta user", in: oktaUser},
		{name: "entra user", in: entraUser},
		{name: "group", in: group},
		{name: "okta patch", in: oktaPatch},
		{name: "okta create", in: oktaCreate},
		{name: "empty object", in: `{}`, want: map[string]any{}},
		{name: "empty array", in: `[]`, want: []any{}},
		{name: "white space", in: " \t\r\n{ \"a\" : [ 1 , true ] } \n", want: map[string]any{"a": []any{json.Number("1"), true}}},
		{name: "null", in: `null`},
		{name: "literals", in: `[true,false,null]`, want: []any{true, false, nil}},
		{name: "duplicate keys last wins", in: `{"a":1,"a":{"b":2},"a":"x"}`, want: map[string]any{"a": "x"}},
		{name: "duplicate nested replaced not merged", in: `{"a":{"b":1},"a":{"c":2}}`, want: map[string]any{"a": map[string]any{"c": json.Number("2")}}},
		{name: "numbers kept as text", in: `[0,-0,1.50,-1e400,1E+2,123456789012345678901234567890,5e-324]`,
			want: []any{json.Number("0"), json.Number("-0"), json.Number("1.50"), json.Number("-1e400"), json.Number("1E+2"),
				json.Number("123456789012345678901234567890"), json.Number("5e-324")}},
		{name: "escapes", in: `"\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC"`, want: "\"\\/\b\f\n\r\tAé€"},
		{name: "surrogate pair", in: `"\ud83d\ude00"`, want: "😀"},
		{name: "lone high surrogate", in: `"a\ud83db"`, want: "a\ufffdb"},
		{name: "lone low surrogate", in: `"\ude00"`, want: "\ufffd"},
		{name: "two highs then low", in: `"\ud83d\ud83d\ude00"`, want: "\ufffd😀"},
		{name: "high then non-surrogate escape", in: `"\ud83d\u0041"`, want: "\ufffdA"},
		{name: "high then bad escape", in: `"\ud83d\u00G1"`, err: true},
		{name: "invalid utf-8 replaced", in: "\"a\xffb\xc3\"", want: "a\ufffdb\ufffd"},
		{name: "utf-8 surrogate replaced per byte", in: "\"\xed\xa0\x80\"", want: "\ufffd\ufffd\ufffd"},
		{name: "invalid utf-8 in key", in: "{\"k\xfe\":1}", want: map[string]any{"k\ufffd": json.Number("1")}},
		{name: "escape in key", in: `{"\u0061b":true}`, want: map[string]any{"ab": true}},
		{name: "valid utf-8 kept", in: `"日本語 ção"`, want: "日本語 ção"},
		{name: "escape after invalid utf-8", in: "\"\xff\\n\"", want: "\ufffd\n"},
		{name: "trailing data", in: `{} x`, err: true},
		{name: "two values", in: `{} {}`, err: true},
		{name: "trailing number", in: `1 2`, err: true},
		{name: "number then letter", in: `1x`, err: true},
		{name: "empty", in: ``, err: true},
		{name: "only space", in: `  `, err: true},
		{name: "unterminated object", in: `{"a":1`, err: true},
		{name: "unterminated string", in: `"abc`, err: true},
		{name: "unterminated escape", in: `"\`, err: true},
		{name: "short u escape", in: `"\u12"`, err: true},
		{name: "apostrophe escape", in: `"\'"`, err: true},
		{name: "control char", in: "\"a\tb\"", err: true},
		{name: "control char after escape", in: "\"\\n\x01\"", err: true},
		{name: "trailing comma object", in: `{"a":1,}`, err: true},
		{name: "trailing comma array", in: `[1,]`, err: true},
		{name: "missing colon", in: `{"a" 1}`, err: true},
		{name: "non-string key", in: `{1:1}`, err: true},
		{name: "single quotes", in: `{'a':1}`, err: true},
		{name: "leading zero", in: `01`, err: true},
		{name: "bare minus", in: `-`, err: true},
		{name: "minus letter", in: `-a`, err: true},
		{name: "dot without digits", in: `1.`, err: true},
		{name: "exponent without digits", in: `1e+`, err: true},
		{name: "leading dot", in: `.5`, err: true},
		{name: "plus sign", in: `+1`, err: true},
		{name: "hex", in: `0x10`, err: true},
		{name: "NaN", in: `NaN`, err: true},
		{name: "short true", in: `tru`, err: true},
		{name: "bad literal", in: `nul1`, err: true},
		{name: "literal with suffix", in: `truex`, err: true},
		{name: "capital literal", in: `True`, err: true},
		{name: "byte order mark", in: "\ufeff{}", err: true},
		{name: "comment", in: `{} // x`, err: true},
		{name: "NUL after value", in: "{}\x00", err: true},
		{name: "vertical tab is not space", in: "\v{}", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := check(t, []byte(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("Decode(%q): err %v, want error %v", tt.in, err, tt.err)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decode(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

// TestNumbersFlag checks that a document without numbers says so, which
// is what lets the stores skip their number conversion.
func TestNumbersFlag(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{oktaUser, false},
		{entraUser, false},
		{`{"a":"123","b":[true,null,"1e5"]}`, false},
		{`{"a":{"b":[{"c":-0.5}]}}`, true},
		{`7`, true},
	} {
		_, got, err := jsonvalue.Decode(tt.in)
		if err != nil {
			t.Fatalf("Decode(%q): %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("Decode(%q): numbers = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestDepth checks the nesting limit at encoding/json's own: MaxDepth
// levels decode, one more fails, for arrays, objects and a mix.
func TestDepth(t *testing.T) {
	nest := func(n int, open, close string) []byte {
		return []byte(strings.Repeat(open, n) + "1" + strings.Repeat(close, n))
	}
	for _, tt := range []struct {
		name        string
		open, close string
	}{
		{"arrays", "[", "]"},
		{"objects", `{"a":`, "}"},
		{"mixed", `[{"a":`, "}]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			per := strings.Count(tt.open, "[") + strings.Count(tt.open, "{")
			n := jsonvalue.MaxDepth / per
			if _, err := check(t, nest(n, tt.open, tt.close)); err != nil {
				t.Fatalf("depth %d: %v", n*per, err)
			}
			if _, err := check(t, nest(n+1, tt.open, tt.close)); err == nil {
				t.Fatalf("depth %d decoded, want an error", (n+1)*per)
			}
		})
	}
	// Past the limit by far, and unterminated: an error, not a crash.
	if _, _, err := jsonvalue.Decode(strings.Repeat("[", 1_000_000)); err == nil {
		t.Fatal("a million open brackets decoded")
	}
}

// TestNoAliasingBetweenDecodes checks that pooled scratch is not shared
// with results: decoding again must not change an earlier result.
func TestNoAliasingBetweenDecodes(t *testing.T) {
	first, _, err := jsonvalue.Decode(`{"a":[1,2,{"b":"\u00e9"}],"c":"d"}`)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := reference([]byte(`{"a":[1,2,{"b":"\u00e9"}],"c":"d"}`))
	for _, s := range []string{oktaUser, `[9,9,9,9,9,9]`, `{"a":"\u00e8x","c":"e"}`, `{"a":[1,`} {
		_, _, _ = jsonvalue.Decode(s)
	}
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("first result changed to %#v", first)
	}
}

func TestDecodeBytesCopies(t *testing.T) {
	b := []byte(`{"k":"value"}`)
	v, _, err := jsonvalue.DecodeBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	copy(b, `{"x":"XXXXX"}`)
	if want := map[string]any{"k": "value"}; !reflect.DeepEqual(v, want) {
		t.Fatalf("result changed with its input: %#v", v)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{oktaUser, entraUser, group, oktaPatch, oktaCreate} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check(t, data)
	})
}

func benchDecode(b *testing.B, doc string) {
	b.Run("impl=jsonvalue", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if _, _, err := jsonvalue.Decode(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What sqlite's decodeDoc did: a Decoder over the stored string.
	b.Run("impl=encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			dec := json.NewDecoder(strings.NewReader(doc))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkOktaUser(b *testing.B)  { benchDecode(b, oktaUser) }
func BenchmarkEntraUser(b *testing.B) { benchDecode(b, entraUser) }
func BenchmarkGroup(b *testing.B)     { benchDecode(b, group) }

// Request bodies, decoded as scimhttp's decodeObject and patch's decode do
// (a []byte, nothing after the value), for the question whether request
// decoding would gain.
func benchBody(b *testing.B, body string) {
	data := []byte(body)
	b.Run("impl=jsonvalue", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, _, err := jsonvalue.DecodeBytes(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := reference(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkBodyOktaCreate(b *testing.B) { benchBody(b, oktaCreate) }
func BenchmarkBodyOktaPatch(b *testing.B)  { benchBody(b, oktaPatch) }
