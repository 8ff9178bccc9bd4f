package vendorapi

import (
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/fault"
)

// Bounds of an endpoint's per-attempt timeout.
const (
	MinTimeout = 100 * time.Millisecond
	MaxTimeout = 2 * time.Minute
)

// ParseBaseURL checks a vendor API's base URL: https with a host, or http
// to a loopback address (127.0.0.1, ::1, localhost), which only a test or
// a local proxy can be; no user name or password (the credential travels
// in a header, and a URL is recorded), no query and no fragment. The
// result's path ends in "/".
func ParseBaseURL(s string) (*url.URL, error) {
	const rule = "the vendor API's base URL must be https://HOST[/PATH] (http:// only to 127.0.0.1, ::1 or localhost), without a user name, password, query or fragment"
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, fault.New(fault.Invalid, "%s", rule)
	}
	switch {
	case u.User != nil, u.RawQuery != "", u.ForceQuery, u.Fragment != "":
		return nil, fault.New(fault.Invalid, "%s", rule)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, fault.New(fault.Invalid, "%s", rule)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckTimeout checks an endpoint's per-attempt timeout.
func CheckTimeout(d time.Duration) error {
	if d < MinTimeout || d > MaxTimeout {
		return fault.New(fault.Invalid, "the timeout must be between %s and %s, not %s", MinTimeout, MaxTimeout, d)
	}
	return nil
}
