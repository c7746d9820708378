package proxy_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/scimd/scimd/internal/proxy"
)

func TestParseCIDRs(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, tt := range []struct {
			in   []string
			want string
		}{
			{nil, ""},
			{[]string{"10.0.0.0/8"}, "10.0.0.0/8"},
			{[]string{" 192.0.2.1 ", "::1"}, "192.0.2.1/32,::1/128"},
			{[]string{"10.1.2.3/8"}, "10.0.0.0/8"}, // host bits dropped
			{[]string{"2001:DB8::/32"}, "2001:db8::/32"},
			{[]string{"::ffff:10.0.0.0/104"}, "10.0.0.0/8"},
			{[]string{"::ffff:192.0.2.7"}, "192.0.2.7/32"},
			{[]string{"0.0.0.0/0", "::/0"}, "0.0.0.0/0,::/0"},
		} {
			got, err := proxy.ParseCIDRs(tt.in)
			if err != nil {
				t.Errorf("ParseCIDRs(%q): %v", tt.in, err)
				continue
			}
			if got.String() != tt.want {
				t.Errorf("ParseCIDRs(%q) = %q; want %q", tt.in, got, tt.want)
			}
		}
	})

	t.Run("Err", func(t *testing.T) {
		for _, in := range []string{
			"", "proxy.example", "10.0.0.0/33", "10.0.0/8", "10.0.0.1:80",
			"[::1]", "fe80::1%eth0", "::ffff:0:0/80", "2001:db8::/129", "10.0.0.0/8,10.1.0.0/16",
		} {
			if got, err := proxy.ParseCIDRs([]string{"127.0.0.1", in}); err == nil {
				t.Errorf("ParseCIDRs(%q) = %q; want error", in, got)
			}
		}
	})
}

func TestTrusted_Contains(t *testing.T) {
	tr := mustParse(t, "10.0.0.0/8", "2001:db8:1::/48")
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"10.255.0.1", true},
		{"11.0.0.1", false},
		{"::ffff:10.0.0.1", true}, // IPv4-mapped
		{"2001:db8:1:ffff::1", true},
		{"2001:db8:2::1", false},
		{"fe80::1%eth0", false},
	} {
		if got := tr.Contains(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Contains(%s) = %v; want %v", tt.addr, got, tt.want)
		}
	}
	var none *proxy.Trusted
	if none.Contains(netip.MustParseAddr("10.0.0.1")) {
		t.Error("nil Trusted contains 10.0.0.1")
	}
}

func mustParse(tb testing.TB, cidrs ...string) *proxy.Trusted {
	tb.Helper()
	t, err := proxy.ParseCIDRs(cidrs)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// request builds a request from remote with the given header lines, each a
// name and a value; a header may repeat.
func request(remote string, header ...string) *http.Request {
	r := httptest.NewRequest("GET", "http://scim.example.com/scim/v2/Users", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return r
}

const xff = "X-Forwarded-For"

func TestTrusted_ClientIP(t *testing.T) {
	tr := mustParse(t, "10.0.0.0/8", "2001:db8:1::/48", "127.0.0.1")
	for _, tt := range []struct {
		name string
		r    *http.Request
		want string
	}{
		{"Direct", request("203.0.113.5:40000"), "203.0.113.5"},
		{"DirectIPv6", request("[2001:db8:9::5]:40000"), "2001:db8:9::5"},
		{"DirectIPv6Canonical", request("[2001:DB8:9:0:0::5]:1"), "2001:db8:9::5"},
		{"DirectNoPort", request("203.0.113.5"), "203.0.113.5"},
		{"DirectZone", request("[fe80::1%eth0]:40000"), "fe80::1"},
		{"DirectMapped", request("[::ffff:203.0.113.5]:40000"), "203.0.113.5"},
		{"NotAnAddress", request("@pipe"), "@pipe"},

		// Spoofing: headers from untrusted peers are ignored.
		{"SpoofFromUntrusted", request("203.0.113.5:1", xff, "198.51.100.1"), "203.0.113.5"},
		{"SpoofTrustedFromUntrusted", request("203.0.113.5:1", xff, "10.0.0.1"), "203.0.113.5"},
		{"SpoofIPv6FromUntrusted", request("[2001:db8:2::7]:1", xff, "2001:db8:1::1"), "2001:db8:2::7"},
		{"SpoofMappedPeer", request("[::ffff:203.0.113.5]:1", xff, "198.51.100.1"), "203.0.113.5"},

		// Through trusted proxies.
		{"ViaProxy", request("10.0.0.1:1", xff, "203.0.113.5"), "203.0.113.5"},
		{"ViaProxyNoHeader", request("10.0.0.1:1"), "10.0.0.1"},
		{"ViaProxyEmptyHeader", request("10.0.0.1:1", xff, " , "), "10.0.0.1"},
		{"ViaLoopbackProxy", request("127.0.0.1:1", xff, "203.0.113.5"), "203.0.113.5"},
		{"ViaProxyChain", request("10.0.0.1:1", xff, "203.0.113.5, 10.0.0.2,10.0.0.3"), "203.0.113.5"},
		{"ViaProxyClientPrepends", request("10.0.0.1:1", xff, "198.51.100.1, 203.0.113.5"), "203.0.113.5"},
		{"ViaProxyClientPrependsTrusted", request("10.0.0.1:1", xff, "10.9.9.9, 203.0.113.5"), "203.0.113.5"},
		{"ViaProxyHeaderLines", request("10.0.0.1:1", xff, "198.51.100.1", xff, "203.0.113.5, 10.0.0.2"), "203.0.113.5"},
		{"ViaProxyAllTrusted", request("10.0.0.1:1", xff, "10.0.0.9, 10.0.0.2"), "10.0.0.9"},
		{"ViaProxyEmptyElements", request("10.0.0.1:1", xff, ",, 203.0.113.5 ,"), "203.0.113.5"},
		{"ViaProxyWithPort", request("10.0.0.1:1", xff, "203.0.113.5:4711"), "203.0.113.5"},
		{"ViaProxyIPv6WithPort", request("10.0.0.1:1", xff, "[2001:db8:9::5]:443"), "2001:db8:9::5"},
		{"ViaProxyGarbage", request("10.0.0.1:1", xff, "unknown"), "10.0.0.1"},
		{"ViaProxyGarbageAfterTrusted", request("10.0.0.1:1", xff, "203.0.113.5, junk, 10.0.0.2"), "10.0.0.2"},
		{"ViaProxyGarbageLeftOfClient", request("10.0.0.1:1", xff, "<script>, 203.0.113.5"), "203.0.113.5"},
		{"ViaIPv6Proxy", request("[2001:db8:1::7]:5000", xff, "2001:db8:9::1"), "2001:db8:9::1"},
		{"ViaIPv6ProxyToIPv4Client", request("[2001:db8:1::7]:5000", xff, "203.0.113.5"), "203.0.113.5"},
		{"ViaMappedProxy", request("[::ffff:10.0.0.1]:80", xff, "::ffff:203.0.113.9"), "203.0.113.9"},
		{"ViaProxyZoneClient", request("10.0.0.1:1", xff, "fe80::5%eth1"), "fe80::5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tr.ClientIP(tt.r); got != tt.want {
				t.Errorf("ClientIP(RemoteAddr %q, X-Forwarded-For %q) = %q; want %q",
					tt.r.RemoteAddr, tt.r.Header.Values(xff), got, tt.want)
			}
		})
	}

	t.Run("NilTrustsNoOne", func(t *testing.T) {
		var none *proxy.Trusted
		if got := none.ClientIP(request("10.0.0.1:1", xff, "203.0.113.5")); got != "10.0.0.1" {
			t.Errorf("ClientIP = %q; want 10.0.0.1", got)
		}
	})
}

func TestTrusted_Scheme(t *testing.T) {
	tr := mustParse(t, "10.0.0.0/8", "2001:db8:1::/48")
	const xfp = "X-Forwarded-Proto"
	withTLS := func(r *http.Request) *http.Request { r.TLS = &tls.ConnectionState{}; return r }
	for _, tt := range []struct {
		name string
		r    *http.Request
		want string
	}{
		{"Plain", request("203.0.113.5:1"), "http"},
		{"TLS", withTLS(request("203.0.113.5:1")), "https"},
		{"TLSIgnoresHeader", withTLS(request("10.0.0.1:1", xfp, "http")), "https"},
		{"SpoofFromUntrusted", request("203.0.113.5:1", xfp, "https"), "http"},
		{"SpoofWithTrustedXFF", request("203.0.113.5:1", xff, "10.0.0.1", xfp, "https"), "http"},
		{"ViaProxy", request("10.0.0.1:1", xfp, "https"), "https"},
		{"ViaIPv6Proxy", request("[2001:db8:1::1]:1", xfp, "https"), "https"},
		{"ViaProxyHTTP", request("10.0.0.1:1", xfp, "http"), "http"},
		{"ViaProxyUpperCase", request("10.0.0.1:1", xfp, "HTTPS"), "https"},
		{"ViaProxyNoHeader", request("10.0.0.1:1"), "http"},
		{"ViaProxyUnknown", request("10.0.0.1:1", xfp, "wss"), "http"},
		{"ViaProxyList", request("10.0.0.1:1", xfp, "http, https"), "https"},
		{"ViaProxyLines", request("10.0.0.1:1", xfp, "https", xfp, "http"), "http"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tr.Scheme(tt.r); got != tt.want {
				t.Errorf("Scheme = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestTrusted_Host(t *testing.T) {
	tr := mustParse(t, "10.0.0.0/8", "2001:db8:1::/48")
	const xfh = "X-Forwarded-Host"
	for _, tt := range []struct {
		name string
		r    *http.Request
		want string
	}{
		{"Direct", request("203.0.113.5:1"), "scim.example.com"},
		{"SpoofFromUntrusted", request("203.0.113.5:1", xfh, "evil.example"), "scim.example.com"},
		{"SpoofFromUntrustedIPv6", request("[2001:db8:2::1]:1", xfh, "evil.example"), "scim.example.com"},
		{"ViaProxy", request("10.0.0.1:1", xfh, "acme.scim.example.com"), "acme.scim.example.com"},
		{"ViaIPv6Proxy", request("[2001:db8:1::1]:1", xfh, "acme.scim.example.com"), "acme.scim.example.com"},
		{"ViaProxyPort", request("10.0.0.1:1", xfh, "acme.example.com:8443"), "acme.example.com:8443"},
		{"ViaProxyIPv4", request("10.0.0.1:1", xfh, "192.0.2.10:8443"), "192.0.2.10:8443"},
		{"ViaProxyIPv6", request("10.0.0.1:1", xfh, "[2001:db8::10]:8443"), "[2001:db8::10]:8443"},
		{"ViaProxyIPv6NoPort", request("10.0.0.1:1", xfh, "[2001:db8::10]"), "[2001:db8::10]"},
		{"ViaProxyList", request("10.0.0.1:1", xfh, "spoof.example, acme.example.com"), "acme.example.com"},
		{"ViaProxyNoHeader", request("10.0.0.1:1"), "scim.example.com"},

		// Values that could change the meaning of a URL are refused.
		{"Path", request("10.0.0.1:1", xfh, "evil.example/x"), "scim.example.com"},
		{"UserInfo", request("10.0.0.1:1", xfh, "user@evil.example"), "scim.example.com"},
		{"Space", request("10.0.0.1:1", xfh, "evil example"), "scim.example.com"},
		{"BadPort", request("10.0.0.1:1", xfh, "acme.example.com:99999"), "scim.example.com"},
		{"EmptyPort", request("10.0.0.1:1", xfh, "acme.example.com:"), "scim.example.com"},
		{"OnlyPort", request("10.0.0.1:1", xfh, ":443"), "scim.example.com"},
		{"UnclosedBracket", request("10.0.0.1:1", xfh, "[2001:db8::10"), "scim.example.com"},
		{"BracketedIPv4", request("10.0.0.1:1", xfh, "[192.0.2.1]"), "scim.example.com"},
		{"Zone", request("10.0.0.1:1", xfh, "[fe80::1%25eth0]"), "scim.example.com"},
		{"BareIPv6", request("10.0.0.1:1", xfh, "2001:db8::10"), "scim.example.com"},
		{"AfterBracket", request("10.0.0.1:1", xfh, "[2001:db8::10]x"), "scim.example.com"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tr.Host(tt.r); got != tt.want {
				t.Errorf("Host = %q; want %q", got, tt.want)
			}
		})
	}
}
