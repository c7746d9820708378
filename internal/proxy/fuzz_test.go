package proxy_test

import (
	"net/netip"
	"testing"
)

// FuzzTrusted checks that no header value changes what is believed of an
// untrusted peer, and that whatever a trusted peer sends yields an address.
func FuzzTrusted(f *testing.F) {
	f.Add("203.0.113.5:1", "198.51.100.1, 10.0.0.2", "https", "acme.example.com")
	f.Add("10.0.0.1:1", "[2001:db8::1]:443,unknown", "HTTP", "[::1]:8443")
	f.Add("[::ffff:10.0.0.1]:80", ",,", "", "a/b")
	tr := mustParse(f, "10.0.0.0/8", "2001:db8:1::/48")
	f.Fuzz(func(t *testing.T, remote, forFor, proto, host string) {
		r := request(remote, xff, forFor, "X-Forwarded-Proto", proto, "X-Forwarded-Host", host)
		ip, scheme, gotHost := tr.ClientIP(r), tr.Scheme(r), tr.Host(r)
		if scheme != "http" && scheme != "https" {
			t.Fatalf("Scheme = %q", scheme)
		}
		peer, err := netip.ParseAddrPort(remote)
		if err != nil || tr.Contains(peer.Addr()) {
			if _, err := netip.ParseAddr(ip); err != nil && ip != remote {
				t.Fatalf("ClientIP = %q, neither an address nor RemoteAddr", ip)
			}
			return
		}
		want := peer.Addr().Unmap().WithZone("").String()
		if ip != want || scheme != "http" || gotHost != r.Host {
			t.Fatalf("untrusted peer %q: ClientIP %q, Scheme %q, Host %q", remote, ip, scheme, gotHost)
		}
	})
}
