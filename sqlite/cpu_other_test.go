//go:build !unix

package sqlite_test

import "testing"

// reportCPU reports nothing where getrusage is missing.
func reportCPU(*testing.B) {}
