//go:build race

package jsonvalue_test

// The race detector drops pooled values at random, which makes allocation
// figures meaningless: TestAppendAllocs skips.
func init() { raceEnabled = true }
