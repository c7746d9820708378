package pgtest

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcAttr makes cmd run as cred (nil: as we do) and get SIGQUIT, which
// a postmaster takes as "shut down now", if this process dies without
// stopping it.
func setProcAttr(cmd *exec.Cmd, cred *syscall.Credential) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}

// scratchDirs lists where to put a cluster, best first: /dev/shm when it
// is memory with room to spare, since initdb on a busy disk takes seconds,
// then the temporary directory.
func scratchDirs() []string {
	var st syscall.Statfs_t
	const tmpfsMagic = 0x01021994
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == tmpfsMagic && st.Bavail*uint64(st.Bsize) >= 1<<30 {
		return []string{"/dev/shm", os.TempDir()}
	}
	return []string{os.TempDir()}
}
