package filter_test

import (
	"testing"

	"github.com/scimd/scimd/filter"
)

func BenchmarkParse(b *testing.B) {
	benchmarks := []struct{ name, input string }{
		{"userName", `userName eq "ana.silva@acme.test"`},
		{"valuePath", `emails[type eq "work" and value co "@example.com"]`},
		{"entra", `emails[type eq "work"].value eq "ana.silva@acme.test"`},
		{"terms10", `userName eq "a" or userName eq "b" or userName eq "c" or ` +
			`(userName eq "d" and title pr) or not (userName eq "e") or userName eq "f" or ` +
			`userName eq "g" and displayName sw "G" or userName eq "h"`},
		{"lastModified", `meta.lastModified gt "2011-05-13T04:42:34Z"`},
	}
	for _, bm := range benchmarks {
		if _, err := filter.Parse(bm.input); err != nil {
			b.Fatalf("%s: %v", bm.name, err)
		}
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := filter.Parse(bm.input); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkString(b *testing.B) {
	e, err := filter.Parse(`emails[type eq "work"].value eq "ana.silva@acme.test" and active eq true`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = e.String()
	}
}
