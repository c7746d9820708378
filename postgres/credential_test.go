package postgres_test

import (
	"testing"
	"time"

	"github.com/scimd/scimd/postgres"
	"github.com/scimd/scimd/storetest"
)

func TestCredentialStore(t *testing.T) {
	storetest.RunCredentials(t, func(t *testing.T, now func() time.Time) storetest.CredentialBackend {
		return MustOpenDB(t, nil, postgres.WithClock(now))
	})
}
