// Package proxy decides what to believe of the X-Forwarded-For,
// X-Forwarded-Proto and X-Forwarded-Host headers: they are honoured only on
// requests whose immediate peer (the connection's remote address) is in a
// configured set of trusted proxy addresses, and ignored from anyone else.
//
// Trusted proxies must append the address of their own peer to
// X-Forwarded-For and set (not pass through) X-Forwarded-Proto and
// X-Forwarded-Host. When a header holds a comma-separated list, only the
// rightmost element is used for Proto and Host, since the nearest proxy
// wrote it. The RFC 7239 Forwarded header is not read.
//
// A nil *Trusted trusts no one.
package proxy

import (
	"fmt"
	"iter"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Trusted is a set of trusted proxy addresses. Its methods are safe for
// concurrent use.
type Trusted struct {
	prefixes []netip.Prefix
}

// ParseCIDRs returns the set of addresses in the given CIDR prefixes
// ("10.0.0.0/8", "2001:db8::/32") and bare addresses ("192.0.2.1", "::1").
// Surrounding space is ignored; empty entries are an error. IPv4-mapped IPv6
// forms are treated as the IPv4 addresses they map. No entries trusts no one.
func ParseCIDRs(cidrs []string) (*Trusted, error) {
	t := &Trusted{}
	for _, s := range cidrs {
		p, err := parsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		t.prefixes = append(t.prefixes, p)
	}
	return t, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("proxy: invalid trusted address %q", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("proxy: invalid trusted CIDR %q", s)
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("proxy: invalid trusted CIDR %q: IPv4-mapped prefix shorter than /96", s)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Contains reports whether a is a trusted proxy address.
func (t *Trusted) Contains(a netip.Addr) bool {
	if t == nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String returns the trusted prefixes, comma separated.
func (t *Trusted) String() string {
	if t == nil {
		return ""
	}
	s := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// peer returns the address of r's immediate peer, if r.RemoteAddr holds one.
func peer(r *http.Request) (netip.Addr, bool) {
	return parseAddr(r.RemoteAddr)
}

// parseAddr parses an address with or without a port ("192.0.2.1",
// "192.0.2.1:443", "2001:db8::1", "[2001:db8::1]:443"), dropping any zone
// and unmapping IPv4-mapped IPv6 addresses.
func parseAddr(s string) (netip.Addr, bool) {
	// An address with a port, the usual RemoteAddr, first: it parses
	// without allocating, where a failed ParseAddr allocates its error.
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		host, _, err := net.SplitHostPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.Addr{}, false
		}
	}
	return a.Unmap().WithZone(""), true
}

// addrString returns a.String(), reusing the host part of remote, the
// address a was parsed from, when that is already its canonical form (an
// IPv4 address: netip accepts no other spelling), to save an allocation
// per request.
func addrString(a netip.Addr, remote string) string {
	if a.Is4() {
		if host, _, ok := strings.Cut(remote, ":"); ok && len(host) <= 15 {
			if b, err := netip.ParseAddr(host); err == nil && b == a {
				return host
			}
		}
	}
	return a.String()
}

// TrustedPeer reports whether r came directly from a trusted proxy.
func (t *Trusted) TrustedPeer(r *http.Request) bool {
	a, ok := peer(r)
	return ok && t.Contains(a)
}

// ClientIP returns the address of the client that made r. That is the
// immediate peer, unless the peer is a trusted proxy: then X-Forwarded-For is
// read from right to left, skipping trusted proxies, and the first address
// that is not trusted is the client. If every listed address is trusted, the
// leftmost is returned. Elements left of the client are not looked at, since
// the client could have written them. An element that is not an address
// stops the walk, and the last address verified is returned.
//
// The result is a canonical address without port or zone, suitable as a
// rate-limit key; IPv4-mapped IPv6 addresses are returned in IPv4 form. If
// r.RemoteAddr is not an address (as in some tests), it is returned as is.
func (t *Trusted) ClientIP(r *http.Request) string {
	a, ok := peer(r)
	if !ok {
		return r.RemoteAddr
	}
	if !t.Contains(a) {
		return addrString(a, r.RemoteAddr)
	}
	for elem := range backwards(r.Header.Values("X-Forwarded-For")) {
		next, ok := parseAddr(elem)
		if !ok {
			break
		}
		a = next
		if !t.Contains(a) {
			break
		}
	}
	return a.String()
}

// Scheme returns "https" if r arrived over TLS. Otherwise it returns the
// value of X-Forwarded-Proto ("http" or "https", case-insensitive) if the
// peer is a trusted proxy, and "http" in every other case.
func (t *Trusted) Scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if !t.TrustedPeer(r) {
		return "http"
	}
	switch v := strings.ToLower(lastElem(r.Header.Values("X-Forwarded-Proto"))); v {
	case "http", "https":
		return v
	}
	return "http"
}

// Host returns the host (with port, if any) the client asked for: the value
// of X-Forwarded-Host if the peer is a trusted proxy and the value is a
// syntactically valid host, else r.Host.
func (t *Trusted) Host(r *http.Request) string {
	if !t.TrustedPeer(r) {
		return r.Host
	}
	if h := lastElem(r.Header.Values("X-Forwarded-Host")); validHost(h) {
		return h
	}
	return r.Host
}

// lastElem returns the rightmost element of the comma-separated lists in
// values, or "".
func lastElem(values []string) string {
	for elem := range backwards(values) {
		return elem
	}
	return ""
}

// backwards yields the non-empty, trimmed elements of the comma-separated
// lists in values (the lines of one header, in order) from right to left.
func backwards(values []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := len(values) - 1; i >= 0; i-- {
			v := values[i]
			for v != "" {
				var elem string
				if j := strings.LastIndexByte(v, ','); j >= 0 {
					v, elem = v[:j], v[j+1:]
				} else {
					v, elem = "", v
				}
				if elem = strings.TrimSpace(elem); elem != "" && !yield(elem) {
					return
				}
			}
		}
	}
}

// validHost reports whether h is a DNS name or IP address literal, with an
// optional port: nothing that could change the meaning of a URL built from
// it.
func validHost(h string) bool {
	if h == "" || len(h) > 261 { // 253 for the name, 1+5 for the port
		return false
	}
	host, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		a, err := netip.ParseAddr(h[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return false
		}
		host, port = "", h[end+1:]
		if port != "" && port[0] != ':' {
			return false
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
		host, port = h[:i], h[i:]
	}
	if port != "" {
		if !validPort(port[1:]) {
			return false
		}
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return host != "" || strings.HasPrefix(h, "[")
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}
