package scimhttp

import (
	"encoding/json"
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
