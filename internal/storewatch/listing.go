// Package storewatch notices app versions that reach users without going
// through the release gate. It answers the inspector general's finding
// that the agency was "not notified of updates": it relied on the
// developers to say when a new version was published, and often was not
// told. Probity does not wait to be told: it reads each watched app's
// store listing — the App Store lookup JSON, or any JSON endpoint with a
// configured version field — and reports every published version that
// has no approved release, once per version, as a high-severity
// "unscanned_release" alert.
//
// A [Client] fetches and reads listings; a [Watcher] checks every watched
// app through the small [Apps] interface that the release store
// implements, which records each check's outcome and raises the alerts
// ([Sighting.Alert] builds them).
package storewatch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/fault"
)

// A Kind is the shape of a store listing.
type Kind string

// Kinds.
const (
	// AppStore is the App Store lookup API's answer,
	// {"resultCount":1,"results":[{"bundleId":…,"version":…,
	// "currentVersionReleaseDate":…}]}, fetched by bundle ID.
	AppStore Kind = "app_store"
	// JSONEndpoint is any JSON document whose versions are at a configured
	// [Path] (and their release dates, optionally, at another).
	JSONEndpoint Kind = "json"
)

// DefaultAppStoreURL is the App Store lookup API.
const DefaultAppStoreURL = "https://itunes.apple.com/lookup"

// A Listing says where and how to read an app's published versions.
type Listing struct {
	Kind Kind
	// URL is the JSON endpoint; for the App Store, the lookup API
	// (default: the client's), to which bundleId and country are added.
	// https, or http to a loopback address.
	URL string
	// BundleID is the App Store bundle ID (App Store only).
	BundleID string
	// Country is the App Store storefront, a two-letter code (App Store
	// only; default: the API's, the United States).
	Country string
	// VersionPath is where the versions are (JSON endpoint only), e.g.
	// "data.latest.version" or "releases[*].version".
	VersionPath string
	// DatePath, optional, is where their release dates are (JSON endpoint
	// only), e.g. "releases[*].published_at": a date is paired with the
	// version picked from the same array element.
	DatePath string
}

// Validate reports whether l is complete and well formed.
func (l Listing) Validate() error {
	switch l.Kind {
	case AppStore:
		if err := checkBundleID(l.BundleID); err != nil {
			return err
		}
		if c := strings.ToLower(l.Country); c != "" && (len(c) != 2 || strings.ContainsFunc(c, func(r rune) bool { return r < 'a' || r > 'z' })) {
			return fault.New(fault.Invalid, "store listing: country %q is not a two-letter storefront code", clip(l.Country))
		}
		if l.VersionPath != "" || l.DatePath != "" {
			return fault.New(fault.Invalid, "store listing: an App Store listing has no version or date path")
		}
		if l.URL != "" {
			return CheckURL(l.URL)
		}
		return nil
	case JSONEndpoint:
		if err := CheckURL(l.URL); err != nil {
			return err
		}
		if l.BundleID != "" || l.Country != "" {
			return fault.New(fault.Invalid, "store listing: bundle ID and country are for App Store listings; a JSON endpoint names its version path")
		}
		vp, err := ParsePath(l.VersionPath)
		if err != nil {
			return fault.Wrap(err, fault.Invalid, "store listing: version path: %s", fault.MessageOf(err))
		}
		if l.DatePath != "" {
			dp, err := ParsePath(l.DatePath)
			if err != nil {
				return fault.Wrap(err, fault.Invalid, "store listing: date path: %s", fault.MessageOf(err))
			}
			if dp.wildcards() > vp.wildcards() {
				return fault.New(fault.Invalid, "store listing: the date path has more [*] steps than the version path, so its dates cannot be paired with versions")
			}
		}
		return nil
	}
	return fault.New(fault.Invalid, "store listing: kind %q is not a kind: use %s or %s", clip(string(l.Kind)), AppStore, JSONEndpoint)
}

// checkBundleID checks an App Store bundle ID (reverse-DNS, such as
// gov.dhs.cbp.mpc).
func checkBundleID(id string) error {
	if id == "" || len(id) > 155 || strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_')
	}) {
		return fault.New(fault.Invalid, "store listing: bundle ID %q: letters, digits, dots, hyphens and underscores, at most 155 characters (e.g. gov.dhs.cbp.mpc)", clip(id))
	}
	return nil
}

// CheckURL reports whether u may be watched: an https URL with a host and
// no user information, or http to a loopback address (a mirror on the
// same host).
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.User != nil {
		return fault.New(fault.Invalid, "store listing: the URL must be https:// with a host, without user information")
	}
	switch p.Scheme {
	case "https":
		return nil
	case "http":
		if loopback(p.Hostname()) {
			return nil
		}
		return fault.New(fault.Invalid, "store listing: the URL must use https:// (http:// only to a loopback address)")
	}
	return fault.New(fault.Invalid, "store listing: the URL must be https://")
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return (ip != nil && ip.IsLoopback()) || host == "localhost"
}

// A Version is one published version.
type Version struct {
	Version string
	// Released is when it was published, when the listing says (zero
	// otherwise, or when the date is not one of the forms understood:
	// RFC 3339, with or without a zone, or a bare date).
	Released time.Time
}

// Published is what a listing says.
type Published struct {
	// Versions are the published versions, in the listing's order, each
	// once.
	Versions []Version
	// Name is the app's name in the store, when the listing says.
	Name string
}

// Client limits and defaults.
const (
	DefaultTimeout      = 20 * time.Second
	DefaultMaxBody      = 2 << 20
	DefaultMaxRedirects = 3
	DefaultUserAgent    = "Probity-StoreWatch/1"
	// MaxVersions bounds the versions one listing may publish.
	MaxVersions = 10_000
	// MaxVersionLen bounds a version, in characters.
	MaxVersionLen = 128
)

// ClientConfig configures a [Client].
type ClientConfig struct {
	// Timeout bounds one fetch, body included (default 20 s).
	Timeout time.Duration
	// MaxBody bounds a listing's size, in bytes (default 2 MiB).
	MaxBody int64
	// UserAgent identifies Probity to the store (default
	// "Probity-StoreWatch/1").
	UserAgent string
	// AppStoreURL is the App Store lookup API (default
	// [DefaultAppStoreURL]).
	AppStoreURL string
	// RootCAs are the certificate authorities trusted (default: the
	// system's). Certificates are always verified.
	RootCAs *x509.CertPool
	// MaxRedirects bounds the redirects followed, all to the listing's
	// own host and never from https to http (default 3; negative: none).
	MaxRedirects int
}

// A Client reads store listings.
type Client struct {
	cfg ClientConfig
	hc  *http.Client
}

// NewClient checks cfg and returns a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.AppStoreURL == "" {
		cfg.AppStoreURL = DefaultAppStoreURL
	}
	if cfg.MaxRedirects == 0 {
		cfg.MaxRedirects = DefaultMaxRedirects
	}
	if err := CheckURL(cfg.AppStoreURL); err != nil {
		return nil, fmt.Errorf("App Store lookup URL: %w", err)
	}
	if strings.ContainsFunc(cfg.UserAgent, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return nil, errors.New("user agent: control characters are not allowed")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	tr.ResponseHeaderTimeout = cfg.Timeout
	limit := max(cfg.MaxRedirects, 0)
	hc := &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		switch {
		case len(via) > limit:
			return &redirectError{fmt.Sprintf("it redirects more than %d times", limit)}
		case req.URL.Host != first.Host:
			return &redirectError{"it redirects to another host, " + clip(req.URL.Host)}
		case first.Scheme == "https" && req.URL.Scheme != "https":
			return &redirectError{"it redirects from https to http"}
		}
		req.Header.Set("User-Agent", cfg.UserAgent)
		return nil
	}}
	return &Client{cfg: cfg, hc: hc}, nil
}

// A redirectError is a redirect the client refuses to follow.
type redirectError struct{ what string }

func (e *redirectError) Error() string { return e.what }

// Fetch reads the listing l and returns its published versions. Its
// errors are [fault.Error]s that say what went wrong without the URL (it
// may hold a token), only its host: the listing is unreachable
// ([fault.Unavailable]), did not answer in time ([fault.Timeout]),
// answered another status than 200 ([fault.NotFound] for 404,
// [fault.Unavailable] otherwise), is too large ([fault.TooLarge]), is not
// JSON, lacks the version field or holds something else than versions
// there ([fault.Invalid]), or, for the App Store, has no app with the
// bundle ID ([fault.NotFound]). When ctx ends, its error is returned.
func (c *Client) Fetch(ctx context.Context, l Listing) (Published, error) {
	if err := l.Validate(); err != nil {
		return Published{}, err
	}
	target := l.URL
	if l.Kind == AppStore {
		if target == "" {
			target = c.cfg.AppStoreURL
		}
		u, _ := url.Parse(target)
		q := u.Query()
		q.Set("bundleId", l.BundleID)
		if l.Country != "" {
			q.Set("country", strings.ToLower(l.Country))
		}
		u.RawQuery = q.Encode()
		target = u.String()
	}
	body, err := c.get(ctx, target)
	if err != nil {
		return Published{}, err
	}
	var p Published
	if l.Kind == AppStore {
		p, err = readAppStore(body, l.BundleID)
	} else {
		p, err = readJSON(body, l.VersionPath, l.DatePath)
	}
	if fe, ok := errors.AsType[*fault.Error](err); ok {
		return Published{}, &fault.Error{Code: fe.Code, Message: "the store listing at " + host(target) + ": " + fe.Message, Err: fe.Err}
	} else if err != nil {
		return Published{}, err
	}
	return p, nil
}

// get fetches target and returns its body.
func (c *Client) get(ctx context.Context, target string) ([]byte, error) {
	h := host(target)
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fault.New(fault.Invalid, "the store listing's URL cannot be requested")
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	req.Header.Set("Accept", "application/json")
	failed := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if rd, ok := errors.AsType[*redirectError](err); ok {
			return fault.Wrap(err, fault.Unavailable, "the store listing at %s is not read: %s", h, rd.what)
		}
		if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
			return fault.Wrap(err, fault.Unavailable, "the store listing at %s cannot be reached: its certificate is not trusted", h)
		}
		if errors.Is(err, context.DeadlineExceeded) || rctx.Err() != nil {
			return fault.Wrap(err, fault.Timeout, "the store listing at %s did not answer within %s", h, c.cfg.Timeout)
		}
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		if op, ok := errors.AsType[*net.OpError](err); ok && op.Err != nil {
			err = op.Err
		}
		return fault.Wrap(err, fault.Unavailable, "the store listing at %s cannot be reached", h)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, failed(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		code := fault.Unavailable
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
			code = fault.NotFound
		}
		return nil, fault.New(code, "the store listing at %s answered %d %s, not 200 OK", h, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	tooLarge := fault.New(fault.TooLarge, "the store listing at %s is larger than %d bytes", h, c.cfg.MaxBody)
	if resp.ContentLength > c.cfg.MaxBody {
		return nil, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBody+1))
	if err != nil {
		return nil, failed(err)
	}
	if int64(len(body)) > c.cfg.MaxBody {
		return nil, tooLarge
	}
	return body, nil
}

// host returns the host of a URL, for messages.
func host(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return "its URL"
}

// bom is a UTF-8 byte order mark, which some servers put before JSON.
var bom = []byte("\xef\xbb\xbf")

// decode decodes a JSON document, keeping numbers as written.
func decode(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(body, bom)))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, notJSON(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fault.New(fault.Invalid, "not JSON: more data after the document")
	}
	return doc, nil
}

func notJSON(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fault.Wrap(err, fault.Invalid, "not JSON: %s at byte %d", se.Error(), se.Offset)
	case errors.Is(err, io.EOF):
		return fault.Wrap(err, fault.Invalid, "not JSON: the document is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fault.Wrap(err, fault.Invalid, "not JSON: the document is cut short")
	}
	return fault.Wrap(err, fault.Invalid, "not JSON")
}

// readAppStore reads an App Store lookup answer for bundleID.
func readAppStore(body []byte, bundleID string) (Published, error) {
	doc, err := decode(body)
	if err != nil {
		return Published{}, err
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return Published{}, fault.New(fault.Invalid, "not an App Store lookup answer: the document is %s, not an object", kindOf(doc))
	}
	raw, ok := obj["results"]
	if !ok {
		return Published{}, fault.New(fault.Invalid, "not an App Store lookup answer: no field results")
	}
	results, ok := raw.([]any)
	if !ok {
		return Published{}, fault.New(fault.Invalid, "not an App Store lookup answer: results is %s, not an array", kindOf(raw))
	}
	var p Published
	seen := map[string]int{}
	for i, r := range results {
		app, ok := r.(map[string]any)
		if !ok {
			return Published{}, fault.New(fault.Invalid, "not an App Store lookup answer: results[%d] is %s, not an object", i, kindOf(r))
		}
		if id, _ := app["bundleId"].(string); !strings.EqualFold(id, bundleID) {
			continue // another app, which a lookup by bundle ID does not return
		}
		v, ok := app["version"]
		if !ok || v == nil {
			return Published{}, fault.New(fault.Invalid, "no field results[%d].version", i)
		}
		version, err := versionOf(v, fmt.Sprintf("results[%d].version", i))
		if err != nil {
			return Published{}, err
		}
		released, _ := app["currentVersionReleaseDate"].(string)
		p.add(seen, Version{Version: version, Released: parseDate(released)})
		if p.Name == "" {
			p.Name, _ = app["trackName"].(string)
		}
	}
	if len(p.Versions) == 0 {
		return Published{}, fault.New(fault.NotFound, "the App Store has no app with bundle ID %s (in this storefront)", bundleID)
	}
	return p, nil
}

// readJSON reads a JSON document's versions at versionPath, and their
// dates at datePath when set.
func readJSON(body []byte, versionPath, datePath string) (Published, error) {
	vp, err := ParsePath(versionPath)
	if err != nil {
		return Published{}, err
	}
	var dp Path
	if datePath != "" {
		if dp, err = ParsePath(datePath); err != nil {
			return Published{}, err
		}
	}
	doc, err := decode(body)
	if err != nil {
		return Published{}, err
	}
	return extract(doc, vp, dp)
}

// extract picks the versions at vp out of doc, and their dates at dp
// (nil for none).
func extract(doc any, vp, dp Path) (Published, error) {
	vs, err := vp.eval(doc)
	if err != nil {
		return Published{}, err
	}
	if len(vs) > MaxVersions {
		return Published{}, fault.New(fault.TooLarge, "%s holds more than %d versions", vp, MaxVersions)
	}
	// Dates are optional: a date path that picks nothing leaves the
	// versions undated rather than failing the check.
	dates := map[string]time.Time{} // by the indexes of the element they are in
	var nd int
	if dp != nil && dp.wildcards() <= vp.wildcards() {
		ds, _ := dp.eval(doc)
		for _, d := range ds {
			if s, ok := d.value.(string); ok {
				if t := parseDate(s); !t.IsZero() {
					dates[indexKey(d.at)] = t
				}
			}
		}
		nd = dp.wildcards()
	}
	var p Published
	seen := map[string]int{}
	for _, m := range vs {
		version, err := versionOf(m.value, vp.String())
		if err != nil {
			return Published{}, err
		}
		p.add(seen, Version{Version: version, Released: dates[indexKey(m.at[:nd])]})
	}
	return p, nil
}

// indexKey is a map key for the indexes of an element.
func indexKey(at []int) string {
	b := make([]byte, 0, 4*len(at))
	for _, i := range at {
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ',')
	}
	return string(b)
}

// add adds v to p's versions unless it is there already; seen holds the
// index of each normalized version in p.Versions.
func (p *Published) add(seen map[string]int, v Version) {
	n := NormalizeVersion(v.Version)
	if i, ok := seen[n]; ok {
		if p.Versions[i].Released.IsZero() {
			p.Versions[i].Released = v.Released
		}
		return
	}
	seen[n] = len(p.Versions)
	p.Versions = append(p.Versions, v)
}

// versionOf returns the version a listing's value holds: a string, or a
// number as written (2.1).
func versionOf(v any, where string) (string, error) {
	var s string
	switch v := v.(type) {
	case string:
		s = strings.TrimSpace(v)
	case json.Number:
		s = v.String()
	default:
		return "", fault.New(fault.Invalid, "%s is %s, not a version", where, kindOf(v))
	}
	switch {
	case s == "":
		return "", fault.New(fault.Invalid, "%s is an empty version", where)
	case utf8.RuneCountInString(s) > MaxVersionLen:
		return "", fault.New(fault.Invalid, "%s is a version longer than %d characters", where, MaxVersionLen)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		return "", fault.New(fault.Invalid, "%s is a version with control characters", where)
	}
	return s, nil
}

// NormalizeVersion returns the form in which versions are compared: v
// without surrounding space, and without a "v" before a digit ("v2.4.1"
// is "2.4.1"). Nothing else is equated: "2.4" is not "2.4.0", so a
// listing that writes versions differently from the releases reports them
// (failing closed).
func NormalizeVersion(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 1 && (v[0] == 'v' || v[0] == 'V') && v[1] >= '0' && v[1] <= '9' {
		v = v[1:]
	}
	return v
}

// parseDate parses a listing's release date; zero when it is none of the
// forms understood.
func parseDate(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func clip(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return strings.ToValidUTF8(s, "�")
}
