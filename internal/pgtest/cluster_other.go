//go:build !unix

package pgtest

import "runtime"

// cluster is not available here: use SCIMD_TEST_POSTGRES.
type cluster struct{}

func (*cluster) String() string       { return "" }
func (*cluster) url(db string) string { return "" }
func (*cluster) stop() error          { return nil }
func (*cluster) shutdown() error      { return nil }
func (*cluster) startAgain() error    { return nil }

func startCluster() (*cluster, error) {
	return nil, &missingError{"pgtest cannot start PostgreSQL on " + runtime.GOOS}
}
