// Package certreload serves a TLS certificate and key from files and picks up
// new versions of the files without a restart.
//
// A Reloader is plugged into a tls.Config through GetCertificate (or use
// TLSConfig). It checks the files for changes during handshakes, at most
// once per CheckInterval: there is no background goroutine to start or
// stop. A check reads both files and compares a hash of their contents with
// the pair in use, so it does not depend on file modification times, and
// works with files replaced through symbolic links (as Kubernetes does for
// mounted secrets). Only a changed pair is parsed.
//
// If a changed pair cannot be loaded (unreadable, malformed, or a key that
// does not match the certificate), the Reloader keeps serving the previous
// certificate and logs the error once per distinct broken content. Writing
// the certificate and the key is not atomic, so a check may see a new
// certificate with the old key; that is logged and resolved by the next
// check after the key is written. Renewal tools that write both files and
// then rename them into place avoid the transient error.
//
// A server that goes a long time without a handshake notices the change on
// its next one; Reload forces a check, for instance on SIGHUP.
package certreload

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// CheckInterval is the least time between two checks for changed files made
// during handshakes.
const CheckInterval = time.Second

// Reloader holds the current certificate loaded from a pair of files. It is
// safe for concurrent use.
type Reloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	interval          time.Duration

	cert      atomic.Pointer[tls.Certificate]
	nextCheck atomic.Int64 // UnixNano before which handshakes don't check

	mu      sync.Mutex // held while checking; guards the fields below
	sum     [sha256.Size]byte
	badSum  [sha256.Size]byte // content that last failed to load
	badRead string            // last read error logged
}

// New loads the certificate chain in certFile and the matching private key
// in keyFile, both PEM encoded, and returns a Reloader serving them. It fails
// if either file cannot be read or they do not form a valid pair. A nil
// logger discards log output.
func New(certFile, keyFile string, logger *slog.Logger) (*Reloader, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{
		certFile: certFile,
		keyFile:  keyFile,
		logger:   logger,
		interval: CheckInterval,
	}
	certPEM, keyPEM, err := r.read()
	if err != nil {
		return nil, err
	}
	cert, err := parse(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("certreload: %s, %s: %w", certFile, keyFile, err)
	}
	r.cert.Store(cert)
	r.sum = hash(certPEM, keyPEM)
	r.nextCheck.Store(time.Now().Add(r.interval).UnixNano())
	return r, nil
}

// TLSConfig returns a new server configuration that takes its certificate
// from r and accepts TLS 1.2 and later. Cipher suites and curves are Go's
// defaults, which offer only forward-secret AEAD and CBC suites for TLS 1.2.
// Application protocols (NextProtos) are left for net/http to fill in, which
// it does for HTTP/2 and HTTP/1.1 when the configuration is passed in
// http.Server.TLSConfig and the server is started with ServeTLS or
// ListenAndServeTLS (with empty file names).
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
	}
}

// GetCertificate returns the current certificate, first checking the files
// for changes if the last check was at least CheckInterval ago and no other
// handshake is checking right now. It has the signature of
// tls.Config.GetCertificate and never fails.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	now := time.Now()
	if now.UnixNano() >= r.nextCheck.Load() && r.mu.TryLock() {
		// Another handshake may have checked between Load and TryLock.
		if now.UnixNano() >= r.nextCheck.Load() {
			r.check()
			r.nextCheck.Store(time.Now().Add(r.interval).UnixNano())
		}
		r.mu.Unlock()
	}
	return r.cert.Load(), nil
}

// Reload checks the files now, waiting for a check in progress. It returns
// the error that kept a changed pair from being loaded, or nil if the pair in
// use is current (whether or not it changed).
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.check()
	r.nextCheck.Store(time.Now().Add(r.interval).UnixNano())
	return err
}

// Certificate returns the certificate currently served. Its Leaf field is
// populated.
func (r *Reloader) Certificate() *tls.Certificate { return r.cert.Load() }

// check reloads the pair if its content changed, logging failures once per
// distinct cause. r.mu must be held.
func (r *Reloader) check() error {
	certPEM, keyPEM, err := r.read()
	if err != nil {
		if msg := err.Error(); msg != r.badRead {
			r.badRead = msg
			r.logger.Error("TLS certificate reload failed; serving the previous certificate", "err", err)
		}
		return err
	}
	r.badRead = ""

	sum := hash(certPEM, keyPEM)
	if sum == r.sum {
		return nil
	}
	cert, err := parse(certPEM, keyPEM)
	if err != nil {
		err = fmt.Errorf("certreload: %s, %s: %w", r.certFile, r.keyFile, err)
		if sum != r.badSum {
			r.badSum = sum
			r.logger.Error("TLS certificate reload failed; serving the previous certificate", "err", err)
		}
		return err
	}
	r.cert.Store(cert)
	r.sum = sum
	r.badSum = [sha256.Size]byte{}
	r.logger.Info("TLS certificate reloaded",
		"cert", r.certFile,
		"subject", cert.Leaf.Subject.String(),
		"dns_names", cert.Leaf.DNSNames,
		"not_after", cert.Leaf.NotAfter)
	return nil
}

// read returns the contents of the certificate and key files.
func (r *Reloader) read() (certPEM, keyPEM []byte, err error) {
	certPEM, err = os.ReadFile(r.certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("certreload: %w", err)
	}
	keyPEM, err = os.ReadFile(r.keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("certreload: %w", err)
	}
	return certPEM, keyPEM, nil
}

// parse builds a certificate from a PEM chain and key, with Leaf set.
func parse(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if cert.Leaf == nil { // X509KeyPair sets it unless GODEBUG x509keypairleaf=0
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	return &cert, nil
}

// hash identifies a pair of file contents.
func hash(certPEM, keyPEM []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write(certPEM)
	h.Write([]byte{0}) // PEM never contains NUL: the split point is unambiguous
	h.Write(keyPEM)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
