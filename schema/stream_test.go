package schema_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

// chunkWriter records each Write, and fails from the failAt-th on when
// failAt > 0.
type chunkWriter struct {
	bytes.Buffer
	writes, failAt int
}

var errWrite = errors.New("write failed")

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.failAt > 0 && w.writes >= w.failAt {
		return 0, errWrite
	}
	return w.Buffer.Write(p)
}

func streamGroup(n int) *scimd.Resource {
	g := &scimd.Resource{Type: "Group", ID: "g1", Schemas: []string{schema.URNGroup},
		Attrs: map[string]any{"displayName": "Eng <&> \u2028", "externalId": "x"},
		Meta: scimd.Meta{Version: 7, Created: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
			LastModified: time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC)}}
	g.Members = make([]scimd.Member, n)
	for i := range g.Members {
		m := scimd.Member{Value: fmt.Sprintf("u%d", i), Type: scimd.TypeUser, Display: fmt.Sprintf("User \"%d\"", i)}
		switch i % 5 {
		case 1:
			m.Type = scimd.TypeGroup
		case 2:
			m.Display = ""
		case 3:
			m.Type = "" // unknown type: no $ref, no type
		case 4:
			m.Display = "caf\xe9 \u2029 <b>" // invalid UTF-8 and escapes
		}
		g.Members[i] = m
	}
	return g
}

// TestRenderStreamMatchesRender: for every projection, RenderStream over
// an iterator writes byte for byte what Render returns with the members
// loaded.
func TestRenderStreamMatchesRender(t *testing.T) {
	projections := [][2]string{
		{"", ""},
		{"", "members"},
		{"members", ""},
		{"members.display", ""},
		{"members.value,members.type", ""},
		{"members.$ref", ""},
		{"displayName", ""},
		{"", "members.display"},
		{"", "displayName,meta"},
		{"MEMBERS.VALUE", ""},
	}
	for _, n := range []int{0, 1, 3, 5, 2000} {
		for _, pr := range projections {
			t.Run(fmt.Sprintf("n=%d/attributes=%s/excluded=%s", n, pr[0], pr[1]), func(t *testing.T) {
				p, err := schema.ParseProjection(pr[0], pr[1])
				if err != nil {
					t.Fatal(err)
				}
				g := streamGroup(n)
				want, err := grps.Render(g, base, p)
				if err != nil {
					t.Fatal(err)
				}
				ms := g.Members
				g.Members = nil
				calls := 0
				var out chunkWriter
				err = grps.RenderStream(&out, g, base, p, func(yield func(scimd.Member) error) error {
					calls++
					return scimd.SliceMembers(ms)(yield)
				})
				if err != nil {
					t.Fatal(err)
				}
				if got := out.String(); got != string(want) {
					t.Errorf("RenderStream differs from Render:\ngot  %.400s\nwant %.400s", got, want)
				}
				if calls > 1 {
					t.Errorf("members iterated %d times", calls)
				}
				if sel := p.Includes(grps, "members"); !sel && calls != 0 {
					t.Errorf("members iterated though the projection excludes them")
				}
			})
		}
	}
}

// TestRenderStreamNilMembers: a nil iterator renders r.Members like Render;
// so does a User (groups are never streamed).
func TestRenderStreamNilMembers(t *testing.T) {
	g := streamGroup(4)
	want, _ := grps.Render(g, base, nil)
	var out bytes.Buffer
	if err := grps.RenderStream(&out, g, base, nil, nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("got %s\nwant %s", out.String(), want)
	}
	u := renderUser(t)
	want, _ = users.Render(u, base, nil)
	out.Reset()
	if err := users.RenderStream(&out, u, base, nil, scimd.SliceMembers(nil)); err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("user: got %s\nwant %s", out.String(), want)
	}
}

// TestRenderStreamChunks: members are written in bounded chunks, not
// gathered.
func TestRenderStreamChunks(t *testing.T) {
	g := streamGroup(20000)
	want, _ := grps.Render(g, base, nil)
	ms := g.Members
	g.Members = nil
	var out chunkWriter
	if err := grps.RenderStream(&out, g, base, nil, scimd.SliceMembers(ms)); err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Fatal("output differs from Render")
	}
	if min := len(want) / (40 << 10); out.writes < min {
		t.Errorf("%d writes for %d bytes: members are not written in chunks", out.writes, len(want))
	}
}

// TestRenderStreamErrors: an attribute error fails before anything is
// written; iterator and writer errors are returned.
func TestRenderStreamErrors(t *testing.T) {
	g := streamGroup(3)
	g.Members = nil
	g.Attrs["displayName"] = math.NaN() // not renderable
	var out chunkWriter
	called := false
	err := grps.RenderStream(&out, g, base, nil, func(func(scimd.Member) error) error { called = true; return nil })
	if err == nil || out.writes != 0 || called {
		t.Errorf("bad attribute: err %v, %d writes, iterator called %v; want an error before anything", err, out.writes, called)
	}

	g = streamGroup(0)
	errDB := errors.New("db gone")
	out = chunkWriter{}
	err = grps.RenderStream(&out, g, base, nil, func(yield func(scimd.Member) error) error {
		if err := yield(scimd.Member{Value: "u1", Type: scimd.TypeUser}); err != nil {
			return err
		}
		return errDB
	})
	if !errors.Is(err, errDB) {
		t.Errorf("iterator error: got %v, want %v", err, errDB)
	}

	big := streamGroup(5000)
	ms := big.Members
	big.Members = nil
	out = chunkWriter{failAt: 2}
	yields := 0
	err = grps.RenderStream(&out, big, base, nil, func(yield func(scimd.Member) error) error {
		for _, m := range ms {
			yields++
			if err := yield(m); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, errWrite) {
		t.Errorf("write error: got %v, want %v", err, errWrite)
	}
	if yields == len(ms) {
		t.Error("iteration went on after the writer failed")
	}
}
