//go:build race

package scimhttp_test

// The race detector makes seeding tens of thousands of users slow and
// allocation figures meaningless: the streaming tests use smaller groups.
func init() { raceEnabled = true }
