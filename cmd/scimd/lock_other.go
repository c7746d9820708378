//go:build !unix

package main

// lockServe does nothing where flock is unavailable: running two servers
// on one SQLite file there is not detected.
func lockServe(string) (unlock func(), err error) { return func() {}, nil }
