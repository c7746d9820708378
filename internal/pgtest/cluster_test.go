//go:build unix

package pgtest

import (
	"errors"
	"testing"
)

func TestFindBin(t *testing.T) {
	t.Run("ErrMissing", func(t *testing.T) {
		saved := debianBins
		t.Cleanup(func() { debianBins = saved })
		debianBins = t.TempDir() + "/*/bin"
		t.Setenv("PATH", t.TempDir())
		_, err := findBin()
		var missing *missingError
		if !errors.As(err, &missing) {
			t.Fatalf("findBin() error = %v, want a missingError", err)
		}
	})
}

func TestCompareVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int // sign
	}{
		{"15", "15", 0}, {"9.6", "15", -1}, {"16", "15", 1}, {"16.1", "16", 1}, {"10", "9.6", 1},
	} {
		got := compareVersions(tt.a, tt.b)
		if got > 0 {
			got = 1
		} else if got < 0 {
			got = -1
		}
		if got != tt.want {
			t.Errorf("compareVersions(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
}
