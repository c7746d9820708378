//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockServe takes the lock that lets one "scimd serve" at a time use the
// SQLite file path: an exclusive flock on path+".lock", which the kernel
// releases when the process exits, however it exits (kill -9 included),
// so a crash never leaves it stuck. The file itself is left in place:
// removing it would let a second server lock a new file of the same name
// while the first still holds the old one.
//
// One serve per file is what makes the SQLite store's read cache exact:
// it sees every write to resources because it makes them (see
// docs/decisions.md, "Read cache").
func lockServe(path string) (unlock func(), err error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock database %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("database %s is in use by another \"scimd serve\" (it holds %s): "+
				"only one server may run on a SQLite file; run several instances on PostgreSQL", path, name)
		}
		return nil, fmt.Errorf("lock database %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing the descriptor releases the lock
}
