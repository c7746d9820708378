package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd/sqlite"
)

// TestBackupCommand runs "scimd backup" in-process on a SQLite file, onto
// an existing file, and on a PostgreSQL URL. (crash_test.go runs it on a
// database a live server is writing to.)
func TestBackupCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "scimd.db")
	env := func(out *bytes.Buffer) Env {
		return Env{Stdout: out, Stderr: out, Getenv: func(string) string { return "" }}
	}
	var out bytes.Buffer
	if err := Run(ctx, []string{"migrate", "--database", src}, env(&out)); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}

	dst := filepath.Join(dir, "copy.db")
	out.Reset()
	if err := Run(ctx, []string{"backup", "--database", src, "--out", dst}, env(&out)); err != nil {
		t.Fatalf("backup: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "integrity_check ok") || !strings.Contains(out.String(), " bytes") {
		t.Errorf("backup printed %q, want the size and integrity_check ok", out.String())
	}
	if err := sqlite.CheckFile(ctx, dst); err != nil {
		t.Error(err)
	}

	before, _ := os.ReadFile(dst)
	out.Reset()
	if err := Run(ctx, []string{"backup", "--database", src, "--out", dst}, env(&out)); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup onto an existing file: %v, want an already exists error", err)
	}
	if after, _ := os.ReadFile(dst); !bytes.Equal(before, after) {
		t.Error("backup changed the existing file")
	}

	out.Reset()
	if err := Run(ctx, []string{"backup", "--database", src}, env(&out)); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("backup without --out: %v", err)
	}
	out.Reset()
	if err := Run(ctx, []string{"backup", "--database", filepath.Join(dir, "missing.db"), "--out", filepath.Join(dir, "x.db")}, env(&out)); err == nil {
		t.Error("backup of a missing database succeeded")
	}

	out.Reset()
	err := Run(ctx, []string{"backup", "--database", "postgres://scimd:secret@127.0.0.1:5432/scimd", "--out", "scimd.dump"}, env(&out))
	if err == nil || !strings.Contains(out.String(), "pg_dump --format=custom --file=scimd.dump") {
		t.Errorf("backup of a postgres URL: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "secret") {
		t.Errorf("backup printed the password:\n%s", out.String())
	}
}
