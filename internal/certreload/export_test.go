package certreload

import "time"

// SetInterval changes r's check interval and makes the next handshake check.
func SetInterval(r *Reloader, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.interval = d
	r.nextCheck.Store(0)
}
