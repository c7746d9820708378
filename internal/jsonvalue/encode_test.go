package jsonvalue_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/jsonvalue"
)

// marshal is the reference encoding: a json.Encoder's with HTML escaping
// off, without its newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// checkAppend encodes v with Append, after a prefix, and with the
// reference, and fails t unless both give the same bytes or the same
// error and the prefix is kept. It returns Append's encoding.
func checkAppend(t *testing.T, v any) ([]byte, error) {
	t.Helper()
	const prefix = "prefix:"
	want, werr := marshal(v)
	got, err := jsonvalue.Append([]byte(prefix), v)
	switch {
	case (err == nil) != (werr == nil):
		t.Fatalf("Append(%.200q): err %v, encoding/json: err %v", want, err, werr)
	case err != nil && err.Error() != werr.Error():
		t.Fatalf("Append: err %q, encoding/json: err %q", err, werr)
	case err != nil && string(got) != prefix:
		t.Fatalf("Append failed with %v and returned %.200q, want the prefix alone", err, got)
	case err != nil:
		return nil, err
	case !bytes.HasPrefix(got, []byte(prefix)):
		t.Fatalf("Append lost the prefix: %.200q", got)
	case !bytes.Equal(got[len(prefix):], want):
		t.Fatalf("Append\n got %.500q\nwant %.500q", got[len(prefix):], want)
	}
	return got[len(prefix):], nil
}

type marshaler string

func (m marshaler) MarshalJSON() ([]byte, error) {
	if m == "" {
		return nil, errors.New("empty")
	}
	return []byte(m), nil
}

type tagged struct {
	Name  string  `json:"name"`
	Score float64 `json:"score,omitempty"`
	Skip  int     `json:"-"`
}

func TestAppend(t *testing.T) {
	var control strings.Builder
	for c := range 0x20 {
		control.WriteByte(byte(c))
	}
	control.WriteString("\x7f")
	pstr := "<p>"
	tests := []struct {
		name string
		in   any
		want string // "": only agreement with encoding/json is checked
		err  bool
	}{
		{name: "null", in: nil, want: `null`},
		{name: "true", in: true, want: `true`},
		{name: "false", in: false, want: `false`},
		{name: "empty string", in: "", want: `""`},
		{name: "quote and backslash", in: `a"b\c/d`, want: `"a\"b\\c/d"`},
		{name: "html not escaped", in: "<a href='x'>&amp;</a>", want: `"<a href='x'>&amp;</a>"`},
		{name: "control characters", in: control.String(),
			want: `"\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f` +
				`\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f` + "\x7f\""},
		{name: "line and paragraph separators", in: "a\u2028b\u2029c\u202a", want: `"a\u2028b\u2029c` + "\u202a\""},
		{name: "valid utf-8", in: "日本語 ção 😀", want: `"日本語 ção 😀"`},
		{name: "invalid byte", in: "a\xffb", want: `"a\ufffdb"`},
		{name: "truncated rune", in: "\xf0\x9f\x98", want: `"\ufffd\ufffd\ufffd"`},
		{name: "utf-8 surrogate", in: "\xed\xa0\x80", want: `"\ufffd\ufffd\ufffd"`},
		{name: "replacement character kept", in: "\ufffd", want: "\"\ufffd\""},
		{name: "overlong encoding", in: "\xc0\xaf", want: `"\ufffd\ufffd"`},
		{name: "number", in: json.Number("1.50"), want: `1.50`},
		{name: "number exponent", in: json.Number("-1E+400"), want: `-1E+400`},
		{name: "number minus zero", in: json.Number("-0"), want: `-0`},
		{name: "zero number", in: json.Number(""), want: `0`},
		{name: "number leading zero", in: json.Number("01"), err: true},
		{name: "number trailing dot", in: json.Number("1."), err: true},
		{name: "number leading dot", in: json.Number(".5"), err: true},
		{name: "number plus", in: json.Number("+1"), err: true},
		{name: "number bare minus", in: json.Number("-"), err: true},
		{name: "number empty exponent", in: json.Number("1e"), err: true},
		{name: "number signed empty exponent", in: json.Number("1e-"), err: true},
		{name: "number space", in: json.Number(" 1"), err: true},
		{name: "number hex", in: json.Number("0x1"), err: true},
		{name: "number NaN", in: json.Number("NaN"), err: true},
		{name: "float zero", in: 0.0, want: `0`},
		{name: "float minus zero", in: math.Copysign(0, -1), want: `-0`},
		{name: "float", in: -1.5, want: `-1.5`},
		{name: "float tenth", in: 0.1, want: `0.1`},
		{name: "float below 1e21", in: 1e20, want: `100000000000000000000`},
		{name: "float 1e21", in: 1e21, want: `1e+21`},
		{name: "float large", in: 123456789e300, want: `1.23456789e+308`},
		{name: "float max", in: math.MaxFloat64, want: `1.7976931348623157e+308`},
		{name: "float 1e-6", in: 1e-6, want: `0.000001`},
		{name: "float 1e-7", in: 1e-7, want: `1e-7`},
		{name: "float below 1e-6", in: 9.99e-7, want: `9.99e-7`},
		{name: "float 1e-10", in: -1e-10, want: `-1e-10`},
		{name: "float smallest", in: 5e-324, want: `5e-324`},
		{name: "float NaN", in: math.NaN(), err: true},
		{name: "float +Inf", in: math.Inf(1), err: true},
		{name: "float -Inf", in: math.Inf(-1), err: true},
		{name: "float32", in: float32(0.1), want: `0.1`},
		{name: "float32 1e21", in: float32(1e21), want: `1e+21`},
		{name: "float32 below 1e21", in: float32(9.99e20), want: `999000000000000000000`},
		{name: "float32 1e-7", in: float32(1e-7), want: `1e-7`},
		// Just below 1e-6 as a float64, not as a float32: the cutoffs
		// compare in the float's own precision.
		{name: "float32 1e-6", in: float32(1e-6), want: `0.000001`},
		{name: "float32 max", in: float32(math.MaxFloat32), want: `3.4028235e+38`},
		{name: "float32 NaN", in: float32(math.NaN()), err: true},
		{name: "int", in: 42, want: `42`},
		{name: "int min", in: math.MinInt, want: strconv.Itoa(math.MinInt)},
		{name: "int64 max", in: int64(math.MaxInt64), want: `9223372036854775807`},
		{name: "int64 negative", in: int64(-7), want: `-7`},
		{name: "empty object", in: map[string]any{}, want: `{}`},
		{name: "nil object", in: map[string]any(nil), want: `null`},
		{name: "empty array", in: []any{}, want: `[]`},
		{name: "nil array", in: []any(nil), want: `null`},
		{name: "empty strings", in: []string{}, want: `[]`},
		{name: "nil strings", in: []string(nil), want: `null`},
		{name: "strings", in: []string{"urn:a", "<b>", "\xff"}, want: `["urn:a","<b>","\ufffd"]`},
		{name: "keys sorted by bytes", in: map[string]any{"b": 1, "a": 2, "B": 3, "": 4, "é": 5, "a\x00": 6, "aa": 7},
			want: `{"":4,"B":3,"a":2,"a\u0000":6,"aa":7,"b":1,"é":5}`},
		{name: "keys escaped", in: map[string]any{"\xff": 1, "\ufffd": 2, "\"": 3, "\u2028": 4},
			want: `{"\"":3,"\u2028":4,"` + "\ufffd" + `":2,"\ufffd":1}`},
		{name: "nested", in: map[string]any{
			"z": []any{map[string]any{"b": nil, "a": []any{}}, nil, []any{[]any{}}},
			"m": map[string]any{"nilmap": map[string]any(nil), "nilslice": []any(nil), "n": json.Number("3")},
		}, want: `{"m":{"n":3,"nilmap":null,"nilslice":null},"z":[{"a":[],"b":null},null,[[]]]}`},
		{name: "error deep inside", in: map[string]any{"a": []any{1, map[string]any{"b": math.NaN()}}}, err: true},
		{name: "bad number deep inside", in: []any{map[string]any{"n": json.Number("1_000")}}, err: true},
		{name: "objects in a typed slice", in: []map[string]any{{"value": "<x>", "primary": true}, nil}},
		{name: "typed map", in: map[string]string{"b": "<x>", "a": "y"}, want: `{"a":"y","b":"<x>"}`},
		{name: "typed map in object", in: map[string]any{"m": map[string]int{"b": 1, "a": 2}}, want: `{"m":{"a":2,"b":1}}`},
		{name: "named string", in: map[string]any{"t": time.Duration(3)}, want: `{"t":3}`},
		{name: "uint8", in: uint8(7), want: `7`},
		{name: "uint64", in: uint64(math.MaxUint64), want: `18446744073709551615`},
		{name: "pointer", in: &pstr, want: `"<p>"`},
		{name: "nil pointer", in: (*string)(nil), want: `null`},
		{name: "bytes", in: []byte("hi"), want: `"aGk="`},
		{name: "struct", in: []any{tagged{Name: "<n>", Skip: 1}}, want: `[{"name":"<n>"}]`},
		{name: "time", in: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC), want: `"2024-01-02T03:04:05.000000006Z"`},
		{name: "raw message compacted", in: map[string]any{"r": json.RawMessage(` { "a" : "<&>" } `)}, want: `{"r":{"a":"<&>"}}`},
		{name: "invalid raw message", in: json.RawMessage(`{`), err: true},
		{name: "marshaler", in: []any{marshaler(`"<x>"`)}, want: `["<x>"]`},
		{name: "failing marshaler", in: map[string]any{"a": 1, "b": marshaler("")}, err: true},
		{name: "channel", in: map[string]any{"x": make(chan int)}, err: true},
		{name: "func", in: []any{func() {}}, err: true},
		{name: "nonstring key", in: map[float64]any{1.5: 1}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkAppend(t, tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("Append: err %v, want error %v", err, tt.err)
			}
			if tt.want != "" && string(got) != tt.want {
				t.Fatalf("Append = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestAppendDepth checks values nested deeper than the fast path goes,
// and cycles, which encoding/json reports after a thousand levels.
func TestAppendDepth(t *testing.T) {
	nest := func(n int, wrap func(any) any) any {
		var v any = "x"
		for range n {
			v = wrap(v)
		}
		return v
	}
	inArray := func(v any) any { return []any{v} }
	inObject := func(v any) any { return map[string]any{"a": v} }
	for _, n := range []int{jsonvalue.MaxDepth, jsonvalue.MaxDepth + 1} {
		checkAppend(t, nest(n, inArray))
		checkAppend(t, nest(n, inObject))
	}

	self := map[string]any{"k": 1}
	self["self"] = self
	arr := []any{nil}
	viaArray := map[string]any{"a": arr}
	arr[0] = viaArray
	typed := []map[string]any{{}}
	typed[0]["t"] = typed
	viaTyped := map[string]any{"x": typed}
	for _, v := range []any{self, viaArray, arr, viaTyped} {
		if _, err := checkAppend(t, v); err == nil {
			t.Fatal("a cycle encoded")
		}
	}
}

// scimUser is a User's attributes as a store encodes them.
func scimUser() map[string]any {
	return map[string]any{
		"userName":    "ana.silva@acme.test",
		"displayName": "Ana Silva",
		"active":      true,
		"externalId":  "00u7f3kq2wXyZ1a2b3c4",
		"name": map[string]any{
			"givenName":  "Ana",
			"familyName": "Silva",
			"formatted":  "Ana Silva",
		},
		"emails": []any{
			map[string]any{"value": "ana.silva@acme.test", "type": "work", "primary": true},
			map[string]any{"value": "ana@example.test", "type": "home", "primary": false},
		},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{
			"employeeNumber": "701984",
			"department":     "Sales",
			"manager":        map[string]any{"value": "5b0e7c1e-2d0c-4a43-9f43-3c9b2c7e0a11"},
		},
	}
}

func TestAppendDecoded(t *testing.T) {
	for _, doc := range []string{oktaUser, entraUser, group, oktaPatch, oktaCreate} {
		v, _, err := jsonvalue.Decode(doc)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := checkAppend(t, v)
		if doc == oktaUser || doc == entraUser || doc == group {
			// Stored documents are encoding/json's output already.
			if string(got) != doc {
				t.Errorf("Append(Decode(%s)) = %s", doc, got)
			}
		}
	}
}

// raceEnabled is set by race_test.go under -race.
var raceEnabled bool

// TestAppendAllocs pins that encoding a document of the types Decode
// produces allocates nothing when the buffer is large enough.
func TestAppendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation figures are meaningless under the race detector")
	}
	v := scimUser()
	buf := make([]byte, 0, 4096)
	n := testing.AllocsPerRun(100, func() {
		if _, err := jsonvalue.Append(buf, v); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Append: %v allocations, want 0", n)
	}
}

// withNativeNumbers returns v with each json.Number that is an int64 as an
// int64 and any other as the float64 nearest to it (±Inf if it overflows),
// as callers who build attributes in Go may hold them.
func withNativeNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(v), 64)
		return f
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = withNativeNumbers(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = withNativeNumbers(e)
		}
		return out
	}
	return v
}

// FuzzAppend checks Append against encoding/json on the values the input
// decodes to, on those values with Go numbers, and on the input read as a
// string, a json.Number, []string, a decimal float and the bits of floats
// and an integer.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{oktaUser, entraUser, group, oktaCreate} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := string(data)
		checkAppend(t, s)
		checkAppend(t, json.Number(s))
		checkAppend(t, map[string]any{s: strings.Split(s, ",")})
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			checkAppend(t, f)
		}
		if f, err := strconv.ParseFloat(s, 32); err == nil {
			checkAppend(t, float32(f))
		}
		if len(data) >= 8 {
			bits := binary.LittleEndian.Uint64(data)
			checkAppend(t, math.Float64frombits(bits))
			checkAppend(t, math.Float32frombits(uint32(bits)))
			checkAppend(t, int64(bits))
		}
		if v, _, err := jsonvalue.Decode(s); err == nil {
			checkAppend(t, v)
			checkAppend(t, withNativeNumbers(v))
		}
	})
}

// BenchmarkAppend encodes a User's attributes into a reused buffer, with
// Append and with what storedform.EncodeDoc used before, a json.Encoder
// with HTML escaping off (reused here, its best case).
func BenchmarkAppend(b *testing.B) {
	v := scimUser()
	want, err := marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("impl=jsonvalue", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(want)))
		buf := make([]byte, 0, len(want))
		for b.Loop() {
			if buf, err = jsonvalue.Append(buf[:0], v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(want)))
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for b.Loop() {
			buf.Reset()
			if err := enc.Encode(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
