package schema_test

import (
	"testing"
	"time"
)

func BenchmarkDecode(b *testing.B) {
	m := body(b, oktaPut)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := users.Decode(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	r, err := users.Decode(body(b, oktaCreate))
	if err != nil {
		b.Fatal(err)
	}
	if err := users.Validate(r, nil); err != nil {
		b.Fatal(err)
	}
	r.ID = "5b0e7c1e-2d0c-4a43-9f43-3c9b2c7e0a11"
	r.Meta.Created = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	r.Meta.LastModified = time.Date(2024, 5, 2, 10, 0, 0, 123000000, time.UTC)
	r.Meta.Version = 3
	b.ReportAllocs()
	for b.Loop() {
		if _, err := users.Render(r, "https://acme.scimd.test/scim/v2", nil); err != nil {
			b.Fatal(err)
		}
	}
}
