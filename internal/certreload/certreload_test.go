package certreload_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/certreload"
)

// pair is a generated self-signed certificate and its key.
type pair struct {
	cert, key []byte // PEM
	leaf      *x509.Certificate
}

// newPair generates a self-signed ECDSA certificate for 127.0.0.1.
func newPair(tb testing.TB, name string) pair {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{name},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return pair{
		cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		leaf: leaf,
	}
}

// files are the paths a Reloader is given.
type files struct{ dir, cert, key string }

func newFiles(tb testing.TB) files {
	dir := tb.TempDir()
	return files{dir, filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")}
}

// write writes p in place, the certificate first.
func (f files) write(tb testing.TB, p pair) {
	tb.Helper()
	mustWrite(tb, f.cert, p.cert)
	mustWrite(tb, f.key, p.key)
}

// replace writes p to temporary files and renames them into place.
func (f files) replace(tb testing.TB, p pair) {
	tb.Helper()
	mustWrite(tb, f.cert+".tmp", p.cert)
	mustWrite(tb, f.key+".tmp", p.key)
	for _, name := range []string{f.key, f.cert} {
		if err := os.Rename(name+".tmp", name); err != nil {
			tb.Fatal(err)
		}
	}
}

func mustWrite(tb testing.TB, name string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// logBuffer collects log output from the server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count returns the number of log lines containing s.
func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// MustNew returns a Reloader for f that logs to the returned buffer.
func MustNew(tb testing.TB, f files) (*certreload.Reloader, *logBuffer) {
	tb.Helper()
	logs := &logBuffer{}
	r, err := certreload.New(f.cert, f.key, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	return r, logs
}

// serve runs an HTTPS server using r on a loopback port and returns its
// address.
func serve(tb testing.TB, r *certreload.Reloader) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "ok")
		}),
		TLSConfig: r.TLSConfig(),
		ErrorLog:  log.New(io.Discard, "", 0), // handshake failures are expected
	}
	go srv.ServeTLS(ln, "", "")
	tb.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// peer makes a new TLS handshake with addr and returns the certificate the
// server presented. It does not verify it: the caller compares it.
func peer(tb testing.TB, addr string) *x509.Certificate {
	tb.Helper()
	cert, err := dialPeer(addr)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}

func dialPeer(addr string) (*x509.Certificate, error) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func checkPeer(tb testing.TB, addr string, want pair) {
	tb.Helper()
	if got := peer(tb, addr); !got.Equal(want.leaf) {
		tb.Fatalf("server presented %q (serial %v); want %q (serial %v)",
			got.Subject.CommonName, got.SerialNumber, want.leaf.Subject.CommonName, want.leaf.SerialNumber)
	}
}

// get makes an HTTPS request to addr over a new connection, trusting only
// the certificate of p.
func get(addr string, p pair) (*http.Response, error) {
	roots := x509.NewCertPool()
	roots.AddCert(p.leaf)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: true,
		DisableKeepAlives: true,
	}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

func TestReloader(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f := newFiles(t)
		a := newPair(t, "a.example")
		f.write(t, a)
		r, _ := MustNew(t, f)
		addr := serve(t, r)

		resp, err := get(addr, a)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Proto != "HTTP/2.0" {
			t.Errorf("protocol %s; want HTTP/2.0", resp.Proto)
		}
		if v := resp.TLS.Version; v != tls.VersionTLS13 {
			t.Errorf("TLS version %x; want TLS 1.3", v)
		}
		if got := r.Certificate().Leaf; !got.Equal(a.leaf) {
			t.Errorf("Certificate() = %q; want %q", got.Subject.CommonName, "a.example")
		}
	})

	t.Run("Rotate", func(t *testing.T) {
		f := newFiles(t)
		a, b := newPair(t, "a.example"), newPair(t, "b.example")
		f.write(t, a)
		r, logs := MustNew(t, f)
		certreload.SetInterval(r, 0) // check on every handshake
		addr := serve(t, r)
		checkPeer(t, addr, a)

		f.write(t, b)
		checkPeer(t, addr, b)
		if _, err := get(addr, b); err != nil {
			t.Fatalf("client trusting the new certificate: %v", err)
		}
		if _, err := get(addr, a); err == nil {
			t.Fatal("client trusting only the old certificate connected")
		}
		if n := logs.count("TLS certificate reloaded"); n != 1 {
			t.Fatalf("%d reload messages; want 1; log:\n%s", n, logs)
		}
	})

	t.Run("RotateByRename", func(t *testing.T) {
		f := newFiles(t)
		a, b := newPair(t, "a.example"), newPair(t, "b.example")
		f.write(t, a)
		r, _ := MustNew(t, f)
		certreload.SetInterval(r, 0)
		addr := serve(t, r)
		f.replace(t, b)
		checkPeer(t, addr, b)
	})

	// Kubernetes mounts secrets as symbolic links to a directory that is
	// swapped atomically by replacing the ..data link.
	t.Run("RotateBySymlinkSwap", func(t *testing.T) {
		dir := t.TempDir()
		a, b := newPair(t, "a.example"), newPair(t, "b.example")
		for name, p := range map[string]pair{"v1": a, "v2": b} {
			if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(dir, name, "tls.crt"), p.cert)
			mustWrite(t, filepath.Join(dir, name, "tls.key"), p.key)
		}
		link := func(target string) {
			tmp := filepath.Join(dir, "..data_tmp")
			if err := os.Symlink(target, tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
				t.Fatal(err)
			}
		}
		link("v1")
		for _, name := range []string{"tls.crt", "tls.key"} {
			if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		f := files{dir, filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")}
		r, _ := MustNew(t, f)
		certreload.SetInterval(r, 0)
		addr := serve(t, r)
		checkPeer(t, addr, a)
		link("v2")
		checkPeer(t, addr, b)
	})

	t.Run("BrokenFileKeepsOldCertificate", func(t *testing.T) {
		f := newFiles(t)
		a, c := newPair(t, "a.example"), newPair(t, "c.example")
		f.write(t, a)
		r, logs := MustNew(t, f)
		certreload.SetInterval(r, 0)
		addr := serve(t, r)

		mustWrite(t, f.key, []byte("-----BEGIN PRIVATE KEY-----\ngarbage\n"))
		for range 3 {
			checkPeer(t, addr, a)
		}
		if n := logs.count("reload failed"); n != 1 {
			t.Fatalf("%d failure messages for one broken file; want 1; log:\n%s", n, logs)
		}
		if err := r.Reload(); err == nil {
			t.Fatal("Reload() = nil with a broken key file")
		}

		f.write(t, c)
		checkPeer(t, addr, c)
		if n := logs.count("TLS certificate reloaded"); n != 1 {
			t.Fatalf("%d reload messages; want 1; log:\n%s", n, logs)
		}
	})

	// A renewal writing the certificate before the key briefly leaves a
	// mismatched pair.
	t.Run("HalfWrittenPair", func(t *testing.T) {
		f := newFiles(t)
		a, b := newPair(t, "a.example"), newPair(t, "b.example")
		f.write(t, a)
		r, logs := MustNew(t, f)
		certreload.SetInterval(r, 0)
		addr := serve(t, r)

		mustWrite(t, f.cert, b.cert)
		checkPeer(t, addr, a)
		if n := logs.count("reload failed"); n != 1 {
			t.Fatalf("%d failure messages; want 1; log:\n%s", n, logs)
		}
		mustWrite(t, f.key, b.key)
		checkPeer(t, addr, b)
	})

	t.Run("MissingFileKeepsOldCertificate", func(t *testing.T) {
		f := newFiles(t)
		a := newPair(t, "a.example")
		f.write(t, a)
		r, logs := MustNew(t, f)
		certreload.SetInterval(r, 0)
		addr := serve(t, r)

		if err := os.Remove(f.key); err != nil {
			t.Fatal(err)
		}
		checkPeer(t, addr, a)
		checkPeer(t, addr, a)
		if n := logs.count("reload failed"); n != 1 {
			t.Fatalf("%d failure messages; want 1; log:\n%s", n, logs)
		}
	})

	t.Run("UnchangedContentNotReloaded", func(t *testing.T) {
		f := newFiles(t)
		a := newPair(t, "a.example")
		f.write(t, a)
		r, logs := MustNew(t, f)
		certreload.SetInterval(r, 0)
		addr := serve(t, r)
		f.replace(t, a) // new files, new times, same content
		checkPeer(t, addr, a)
		if err := r.Reload(); err != nil {
			t.Fatal(err)
		}
		if logs.String() != "" {
			t.Fatalf("unexpected log:\n%s", logs)
		}
	})

	t.Run("ChecksAtMostOncePerInterval", func(t *testing.T) {
		f := newFiles(t)
		a, b := newPair(t, "a.example"), newPair(t, "b.example")
		f.write(t, a)
		r, _ := MustNew(t, f)
		certreload.SetInterval(r, time.Hour)
		addr := serve(t, r)
		checkPeer(t, addr, a) // this handshake checks; the next is in an hour
		f.write(t, b)
		checkPeer(t, addr, a)
		if err := r.Reload(); err != nil {
			t.Fatal(err)
		}
		checkPeer(t, addr, b)
	})

	// The default interval, in real time.
	t.Run("DefaultInterval", func(t *testing.T) {
		if testing.Short() {
			t.Skip("waits for the check interval")
		}
		f := newFiles(t)
		a, b := newPair(t, "a.example"), newPair(t, "b.example")
		f.write(t, a)
		r, _ := MustNew(t, f)
		addr := serve(t, r)
		f.write(t, b)
		time.Sleep(certreload.CheckInterval + 100*time.Millisecond)
		checkPeer(t, addr, b)
	})

	t.Run("ConcurrentHandshakes", func(t *testing.T) {
		f := newFiles(t)
		pairs := []pair{newPair(t, "a.example"), newPair(t, "b.example"), newPair(t, "c.example")}
		f.write(t, pairs[0])
		r, _ := MustNew(t, f)
		certreload.SetInterval(r, 0)
		addr := serve(t, r)

		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 20 {
					got, err := dialPeer(addr)
					if err != nil {
						t.Error(err)
						return
					}
					if !got.Equal(pairs[0].leaf) && !got.Equal(pairs[1].leaf) && !got.Equal(pairs[2].leaf) {
						t.Error("server presented an unknown certificate")
					}
				}
			})
		}
		for _, p := range pairs[1:] {
			time.Sleep(5 * time.Millisecond)
			f.replace(t, p)
		}
		wg.Wait()
		checkPeer(t, addr, pairs[2])
	})
}

func TestReloader_TLSVersions(t *testing.T) {
	f := newFiles(t)
	a := newPair(t, "a.example")
	f.write(t, a)
	r, _ := MustNew(t, f)
	addr := serve(t, r)

	for _, tt := range []struct {
		name    string
		version uint16
		ok      bool
	}{
		{"TLS10", tls.VersionTLS10, false},
		{"TLS11", tls.VersionTLS11, false},
		{"TLS12", tls.VersionTLS12, true},
		{"TLS13", tls.VersionTLS13, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", addr, &tls.Config{
				InsecureSkipVerify: true,
				MinVersion:         tt.version,
				MaxVersion:         tt.version,
			})
			if tt.ok {
				if err != nil {
					t.Fatalf("handshake failed: %v", err)
				}
				conn.Close()
			} else if err == nil {
				conn.Close()
				t.Fatal("handshake succeeded; want refused")
			} else if !strings.Contains(err.Error(), "protocol version") {
				t.Fatalf("handshake error %q; want the server's protocol version alert", err)
			}
		})
	}
}

func TestNew_Errors(t *testing.T) {
	a, b := newPair(t, "a.example"), newPair(t, "b.example")
	for _, tt := range []struct {
		name      string
		cert, key []byte // nil: file absent
	}{
		{"MissingCert", nil, a.key},
		{"MissingKey", a.cert, nil},
		{"Empty", []byte{}, []byte{}},
		{"GarbageCert", []byte("not a certificate"), a.key},
		{"KeyAsCert", a.key, a.key},
		{"MismatchedKey", a.cert, b.key},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFiles(t)
			if tt.cert != nil {
				mustWrite(t, f.cert, tt.cert)
			}
			if tt.key != nil {
				mustWrite(t, f.key, tt.key)
			}
			r, err := certreload.New(f.cert, f.key, nil)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if r != nil {
				t.Fatal("New returned a Reloader with an error")
			}
			if !strings.HasPrefix(err.Error(), "certreload: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}
