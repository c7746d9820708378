package sqlite_test

import (
	"testing"
	"time"

	"github.com/scimd/scimd/sqlite"
	"github.com/scimd/scimd/storetest"
)

func TestCredentialStore(t *testing.T) {
	storetest.RunCredentials(t, func(t *testing.T, now func() time.Time) storetest.CredentialBackend {
		return MustOpenFileDB(t, sqlite.WithClock(now))
	})
}
