package main

import (
	"testing"

	"github.com/scimd/scimd/internal/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster that tests using
// pgtest.URL (multiinstance_test.go) may have started.
func TestMain(m *testing.M) { pgtest.Main(m) }
