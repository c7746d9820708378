package scimhttp

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestAppendListHead checks the hand-written ListResponse envelope against
// json.Marshal, which wrote it before and whose bytes clients have seen.
func TestAppendListHead(t *testing.T) {
	zero, total := 0, 12345
	for name, out := range map[string]listResponse{
		"Index":      {Schemas: []string{URNListResponse}, TotalResults: &total, StartIndex: 101, ItemsPerPage: 100},
		"Empty":      {Schemas: []string{URNListResponse}, TotalResults: &zero, StartIndex: 1},
		"NoTotal":    {Schemas: []string{URNListResponse}, ItemsPerPage: 3, NextCursor: "abc_-", PreviousCursor: "x"},
		"Escaped":    {Schemas: []string{"a<b>&\"c\\", "é\u2028\x01"}, TotalResults: &total, NextCursor: "<&>"},
		"NoSchemas":  {},
		"Negative":   {Schemas: []string{URNListResponse}, StartIndex: -3, ItemsPerPage: -1},
		"OnlyCursor": {Schemas: []string{URNListResponse}, PreviousCursor: "p"},
	} {
		t.Run(name, func(t *testing.T) {
			out.Resources = []json.RawMessage{}
			want, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			got := string(appendListHead([]byte("prefix"), &out)) + "]}"
			if got != "prefix"+string(want) {
				t.Errorf("got  %s\nwant prefix%s", got, want)
			}
		})
	}
}

// TestHTMLEscapeTail checks that a rendered resource embedded in a list is
// escaped as json.Marshal escapes an embedded json.RawMessage.
func TestHTMLEscapeTail(t *testing.T) {
	for _, item := range []string{`{"a":"plain"}`, `{"a":"<script>&amp;</script>","b":"x>y"}`} {
		want, err := json.Marshal([]json.RawMessage{json.RawMessage(item)})
		if err != nil {
			t.Fatal(err)
		}
		got := string(htmlEscapeTail([]byte("["+item), 1)) + "]"
		if got != string(want) {
			t.Errorf("got %s, want %s", got, want)
		}
		if strings.ContainsAny(got, "<>&") {
			t.Errorf("%s not escaped", got)
		}
	}
}

// TestParam checks param against url.ParseQuery, which it replaces.
func TestParam(t *testing.T) {
	for _, raw := range []string{
		"",
		"filter=userName+eq+%22a%40b.c%22&startIndex=1&count=100",
		"Filter=x&filter=y",
		"FILTER=x",
		"filter=a&filter=b",
		"filter",
		"filter=",
		"cursor&count=5",
		"filter=a;b&filter=c",
		"filter=%zz&filter=ok",
		"%zz=1&filter=2",
		"fil%74er=esc",
		"&&filter=x&",
		"count=1=2",
		"attributes=userName,name.givenName&excludedAttributes=emails",
	} {
		want, _ := url.ParseQuery(raw)
		for _, name := range []string{"filter", "count", "cursor", "startIndex", "attributes", "excludedAttributes"} {
			got, ok := param(raw, name)
			wantV, wantOK := "", false
			if v, found := want[name]; found {
				wantV, wantOK = v[0], true
			} else {
				for k, v := range want { // one case variant at most in these queries
					if strings.EqualFold(k, name) {
						wantV, wantOK = v[0], true
					}
				}
			}
			if got != wantV || ok != wantOK {
				t.Errorf("param(%q, %q) = %q, %v; want %q, %v", raw, name, got, ok, wantV, wantOK)
			}
		}
	}
}
