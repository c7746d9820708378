package patch_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/patch"
)

// BenchmarkApply measures Decode plus Apply of typical PATCH requests, as a
// store runs them inside its write transaction.
func BenchmarkApply(b *testing.B) {
	var add strings.Builder
	add.WriteString(okHeader + `[{"op":"add","path":"members","value":[`)
	for i := range 100 {
		if i > 0 {
			add.WriteByte(',')
		}
		fmt.Fprintf(&add, `{"value":"%08x-8d2e-4c1a-9f0e-5a7b3c2d1e0f","display":"user%d@acme.test"}`, i, i)
	}
	add.WriteString(`]}]}`)

	cases := []struct {
		name string
		typ  string
		body string
		new  func() *scimd.Resource
	}{
		{"OktaDeactivate", scimd.TypeUser, body(`{"op":"replace","value":{"active":false}}`), sampleUser},
		{"EntraAttributes", scimd.TypeUser, body(`{"op":"Replace","path":"displayName","value":"Ana S."},
			{"op":"Replace","path":"emails[type eq \"work\"].value","value":"ana@acme.test"},
			{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Sales"}`), sampleUser},
		{"OktaAdd100Members", scimd.TypeGroup, add.String(), sampleGroup},
	}
	for _, c := range cases {
		rt := resourceType(b, c.typ)
		body := []byte(c.body)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				r := c.new()
				b.StartTimer()
				ops, err := patch.Decode(body)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := patch.Apply(rt, r, ops); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/ApplyOnly", func(b *testing.B) {
			ops, err := patch.Decode(body)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				r := c.new()
				b.StartTimer()
				if _, err := patch.Apply(rt, r, ops); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
