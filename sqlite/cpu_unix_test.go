//go:build unix

package sqlite_test

import (
	"syscall"
	"testing"
)

// reportCPU reports the process's CPU time (user and system) per operation
// from now to the end of the benchmark. On a machine shared with other
// work, ns/op of a parallel benchmark swings with the load; CPU time per
// operation is what bounds throughput on a saturated core, and moves much
// less.
func reportCPU(b *testing.B) {
	b.Helper()
	var r0 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r0); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		var r1 syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r1); err != nil {
			b.Error(err)
			return
		}
		ns := r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano()
		b.ReportMetric(float64(ns)/float64(b.N), "cpu-ns/op")
	})
}
