package pgtest

import (
	"errors"
	"fmt"
	"regexp"
	"testing"
)

// fakeTB records how fail ended a test.
type fakeTB struct {
	testing.TB
	ended string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.ended = "skip: " + fmt.Sprintf(format, args...)
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.ended = "fatal: " + fmt.Sprintf(format, args...)
}

func TestFail(t *testing.T) {
	for _, tt := range []struct {
		name, require string
		err           error
		want          string
	}{
		{"MissingSkips", "", &missingError{"no initdb"}, `^skip: .*no initdb; run scripts/ensure-postgres`},
		{"MissingRequiredFails", "1", &missingError{"no initdb"}, `^fatal: .*no initdb; run scripts/ensure-postgres.*failing, not skipping`},
		{"BrokenFails", "", errors.New("initdb: exit status 1"), `^fatal: .*exit status 1`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvRequire, tt.require)
			f := &fakeTB{}
			fail(f, tt.err)
			if !regexp.MustCompile(tt.want).MatchString(f.ended) {
				t.Fatalf("fail ended the test with %q, want %q", f.ended, tt.want)
			}
		})
	}
}

func TestDBName(t *testing.T) {
	valid := regexp.MustCompile(`^scimdtest_([a-z0-9]+_)*[0-9a-f]{12}$`)
	for _, name := range []string{"TestX", "TestURL/Isolated#01", "", "Ünïcode/名前", "TestAVeryLongNameThatGoesOnAndOnAndOnAndOnAndOn/AndOnAndOn"} {
		got := dbName(name)
		if !valid.MatchString(got) || len(got) > 63 {
			t.Errorf("dbName(%q) = %q", name, got)
		}
	}
	if a, b := dbName("TestX"), dbName("TestX"); a == b {
		t.Errorf("dbName gave %q twice", a)
	}
}
