//go:build unix && !linux

package pgtest

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcAttr makes cmd run as cred (nil: as we do).
func setProcAttr(cmd *exec.Cmd, cred *syscall.Credential) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
}

// scratchDirs lists where to put a cluster.
func scratchDirs() []string { return []string{os.TempDir()} }
