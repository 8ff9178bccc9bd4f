// Package vendortest is a fake of the vendor API the vendor connector
// calls (see package vendorapi's documentation), for tests: an HTTP server on
// 127.0.0.1 that answers area searches, device histories and estimates
// from an in-memory list of pings, so that results can be checked; that
// checks the credential; that records every request it receives; and that
// can be told to misbehave for its next calls — be slow, fail with a
// status, ask to retry later, or answer garbage, truncated JSON, wrong
// types or a huge body.
//
// Like a careless vendor, its error answers quote the credential they
// were sent and the request, so that tests can check that nothing of an
// answer reaches Probity's errors or logs.
package vendortest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/geo"
)

// A Ping is one position of a device the fake knows.
type Ping struct {
	Device    string
	Time      time.Time
	Lat, Lon  float64
	AccuracyM float64 // 0: not sent
}

// A Fault is how the fake answers one call instead of serving it.
type Fault struct {
	// Delay holds the answer back this long (or until the client gives
	// up), then the rest of the fault applies; a fault of only a delay
	// serves the call late.
	Delay time.Duration
	// Status answers with this status and an error body quoting the
	// request's credential.
	Status int
	// RetryAfter is the Retry-After header sent with Status.
	RetryAfter string
	// Body answers 200 with this body.
	Body []byte
	// Size answers 200 with a valid JSON object of this many bytes (mostly
	// spaces), written as it goes.
	Size int64
}

// Garbage is an answer that is not JSON.
func Garbage() Fault {
	return Fault{Body: []byte("<html><body>502 upstream proxy error</body></html>\n")}
}

// Truncated is an answer cut short in the middle of its JSON.
func Truncated() Fault {
	return Fault{Body: []byte(`{"devices": [{"device_id": "truncated-device", "first_seen": "2026-03-01T10:00:00Z", "last_se`)}
}

// WrongTypes is an answer whose members have the wrong JSON types.
func WrongTypes() Fault {
	return Fault{Body: []byte(`{"devices": [{"device_id": 12345, "first_seen": true, "last_seen": [], "pings": "uncountably-many"}], "pings": {"time": 1}}`)}
}

// Huge is a well-formed answer of size bytes.
func Huge(size int64) Fault { return Fault{Size: size} }

// A Request is a request the fake received.
type Request struct {
	Path string
	// Credential is what the credential header carried ("" if absent);
	// Authorized whether it was the key the fake expects.
	Credential string
	Authorized bool
	Body       []byte
	At         time.Time
}

// A Server is a running fake vendor API.
type Server struct {
	// URL is the base URL to configure the connector with.
	URL string

	srv *httptest.Server

	mu        sync.Mutex
	key       string
	keyHeader string
	pings     []Ping
	faults    []queued
	requests  []Request
}

type queued struct {
	left  int
	fault Fault
}

// New starts a fake that accepts key and knows pings; it stops when tb
// ends.
func New(tb testing.TB, key string, pings []Ping) *Server {
	tb.Helper()
	s := &Server{key: key, pings: slices.Clone(pings)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/"
	tb.Cleanup(s.Close)
	return s
}

// Close stops the fake.
func (s *Server) Close() { s.srv.Close() }

// SetKey changes the credential the fake accepts (the vendor rotated it).
func (s *Server) SetKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = key
}

// SetKeyHeader makes the fake read the credential from a header of its
// own (e.g. X-API-Key) instead of "Authorization: Bearer".
func (s *Server) SetKeyHeader(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyHeader = name
}

// SetPings replaces the pings the fake knows.
func (s *Server) SetPings(pings []Ping) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pings = slices.Clone(pings)
}

// Inject makes the next n calls answer with f (after the faults already
// waiting).
func (s *Server) Inject(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, queued{left: n, fault: f})
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Calls returns how many requests were received so far.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// next records a request and returns the fault it gets, if any, and the
// state to serve it from.
func (s *Server) next(r *http.Request, body []byte) (f *Fault, authorized bool, pings []Ping) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cred string
	if s.keyHeader != "" {
		cred = r.Header.Get(s.keyHeader)
	} else if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		cred = h[7:]
	}
	authorized = cred != "" && cred == s.key
	s.requests = append(s.requests, Request{Path: r.URL.Path, Credential: cred, Authorized: authorized, Body: body, At: time.Now()})
	if len(s.faults) > 0 {
		q := &s.faults[0]
		fault := q.fault
		f = &fault
		if q.left--; q.left <= 0 {
			s.faults = s.faults[1:]
		}
	}
	return f, authorized, s.pings
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	f, authorized, pings := s.next(r, body)
	if f != nil {
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		switch {
		case f.Status != 0:
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			s.fail(w, r, f.Status, "injected failure")
			return
		case f.Body != nil:
			w.Header().Set("Content-Type", "application/json")
			w.Write(f.Body)
			return
		case f.Size > 0:
			writeHuge(w, f.Size)
			return
		}
	}
	if r.Method != http.MethodPost {
		s.fail(w, r, http.StatusMethodNotAllowed, "POST only")
		return
	}
	if !authorized {
		s.fail(w, r, http.StatusUnauthorized, "invalid API key")
		return
	}
	var answer any
	var problem string
	switch r.URL.Path {
	case "/v1/area-search":
		answer, problem = areaSearch(body, pings, false)
	case "/v1/area-estimate":
		answer, problem = areaSearch(body, pings, true)
	case "/v1/device-history":
		answer, problem = deviceHistory(body, pings)
	default:
		s.fail(w, r, http.StatusNotFound, "no such endpoint")
		return
	}
	if problem != "" {
		s.fail(w, r, http.StatusBadRequest, problem)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(answer)
}

// fail answers an error as a careless vendor does: quoting the credential
// and the request.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	cred := r.Header.Get("Authorization") + r.Header.Get("X-API-Key")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg, "credential_seen": cred, "path": r.URL.Path})
}

// writeHuge writes a well-formed JSON object of size bytes.
func writeHuge(w http.ResponseWriter, size int64) {
	w.Header().Set("Content-Type", "application/json")
	head, tail := []byte(`{"devices": [`), []byte(`], "pings": []}`)
	pad := size - int64(len(head)+len(tail))
	if _, err := w.Write(head); err != nil {
		return
	}
	chunk := bytes.Repeat([]byte{' '}, 64<<10)
	for pad > 0 {
		n := min(pad, int64(len(chunk)))
		if _, err := w.Write(chunk[:n]); err != nil {
			return // the client stopped reading
		}
		pad -= n
	}
	w.Write(tail)
}

// The wire formats, as the vendor documents them.

type circleIn struct {
	Lat     *float64 `json:"lat"`
	Lon     *float64 `json:"lon"`
	RadiusM *float64 `json:"radius_m"`
}

type areaIn struct {
	Area   json.RawMessage `json:"area"`
	Circle *circleIn       `json:"circle"`
	From   string          `json:"from"`
	To     string          `json:"to"`
	Limit  *int            `json:"limit"`
}

type deviceOut struct {
	DeviceID  string `json:"device_id"`
	FirstSeen string `json:"first_seen"`
	LastSeen  string `json:"last_seen"`
	Pings     int    `json:"pings"`
}

type historyIn struct {
	DeviceID string `json:"device_id"`
	From     string `json:"from"`
	To       string `json:"to"`
	Limit    *int   `json:"limit"`
}

type pingOut struct {
	Time      string   `json:"time"`
	Lat       float64  `json:"lat"`
	Lon       float64  `json:"lon"`
	AccuracyM *float64 `json:"accuracy_m,omitempty"`
}

func decodeRequest(body []byte, v any) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return "the request is not valid JSON for this endpoint: " + err.Error()
	}
	return ""
}

func window(from, to string) (time.Time, time.Time, string) {
	f, err1 := time.Parse(time.RFC3339Nano, from)
	t, err2 := time.Parse(time.RFC3339Nano, to)
	if err1 != nil || err2 != nil || !f.Before(t) {
		return f, t, "from and to must be RFC 3339 times, from before to"
	}
	return f, t, ""
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// areaSearch serves an area search, or with estimate an area estimate.
func areaSearch(body []byte, pings []Ping, estimate bool) (any, string) {
	var in areaIn
	if p := decodeRequest(body, &in); p != "" {
		return nil, p
	}
	from, to, p := window(in.From, in.To)
	if p != "" {
		return nil, p
	}
	var area *geo.Area
	var err error
	switch {
	case in.Area != nil && in.Circle != nil, in.Area == nil && in.Circle == nil:
		return nil, "give exactly one of area and circle"
	case in.Circle != nil:
		c := in.Circle
		if c.Lat == nil || c.Lon == nil || c.RadiusM == nil {
			return nil, "a circle has lat, lon and radius_m"
		}
		area, err = geo.NewCircle(*c.Lat, *c.Lon, *c.RadiusM, geo.Limits{MaxAreaKm2: math.MaxFloat64})
	default:
		area, err = geo.ParseArea(in.Area, geo.Limits{MaxAreaKm2: math.MaxFloat64})
	}
	if err != nil {
		return nil, "the area is not valid: " + err.Error()
	}
	if !estimate && (in.Limit == nil || *in.Limit < 1) {
		return nil, "limit must be at least 1"
	}
	seen := map[string]*deviceOut{}
	var firsts, lasts = map[string]time.Time{}, map[string]time.Time{}
	for _, p := range pings {
		if p.Time.Before(from) || !p.Time.Before(to) || !area.Contains(p.Lat, p.Lon) {
			continue
		}
		d := seen[p.Device]
		if d == nil {
			d = &deviceOut{DeviceID: p.Device}
			seen[p.Device], firsts[p.Device], lasts[p.Device] = d, p.Time, p.Time
		}
		d.Pings++
		if p.Time.Before(firsts[p.Device]) {
			firsts[p.Device] = p.Time
		}
		if p.Time.After(lasts[p.Device]) {
			lasts[p.Device] = p.Time
		}
	}
	if estimate {
		return map[string]int{"devices": len(seen)}, ""
	}
	out := []deviceOut{}
	for id, d := range seen {
		d.FirstSeen, d.LastSeen = stamp(firsts[id]), stamp(lasts[id])
		out = append(out, *d)
	}
	// A vendor answers in its own order.
	slices.SortFunc(out, func(a, b deviceOut) int { return strings.Compare(b.DeviceID, a.DeviceID) })
	truncated := len(out) > *in.Limit
	if truncated {
		out = out[len(out)-*in.Limit:]
	}
	return map[string]any{"devices": out, "truncated": truncated}, ""
}

// deviceHistory serves a device history.
func deviceHistory(body []byte, pings []Ping) (any, string) {
	var in historyIn
	if p := decodeRequest(body, &in); p != "" {
		return nil, p
	}
	from, to, p := window(in.From, in.To)
	if p != "" {
		return nil, p
	}
	if in.DeviceID == "" || in.Limit == nil || *in.Limit < 1 {
		return nil, "device_id and a limit of at least 1 are required"
	}
	var mine []Ping
	for _, p := range pings {
		if p.Device == in.DeviceID && !p.Time.Before(from) && p.Time.Before(to) {
			mine = append(mine, p)
		}
	}
	slices.SortStableFunc(mine, func(a, b Ping) int { return a.Time.Compare(b.Time) })
	truncated := len(mine) > *in.Limit
	if truncated {
		mine = mine[:*in.Limit]
	}
	out := []pingOut{}
	// A vendor answers in its own order: newest first.
	for i := len(mine) - 1; i >= 0; i-- {
		p := mine[i]
		po := pingOut{Time: stamp(p.Time), Lat: p.Lat, Lon: p.Lon}
		if p.AccuracyM > 0 {
			acc := p.AccuracyM
			po.AccuracyM = &acc
		}
		out = append(out, po)
	}
	return map[string]any{"pings": out, "truncated": truncated}, ""
}

// String describes the fake for test messages.
func (s *Server) String() string { return fmt.Sprintf("fake vendor at %s", s.URL) }
