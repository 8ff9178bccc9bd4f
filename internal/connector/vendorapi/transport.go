package vendorapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/fault"
)

// An outcome is what a finished call tells the circuit breaker.
type outcome int

const (
	// outcomeNeutral: the vendor was not asked to the end (the caller
	// gave up, or no credential was at hand); it says nothing of the
	// vendor.
	outcomeNeutral outcome = iota
	// outcomeSuccess: the vendor answered, even with a refusal.
	outcomeSuccess
	// outcomeFailure: the vendor did not answer usably.
	outcomeFailure
)

// A breaker is a circuit breaker over calls: closed, it lets calls
// through and counts consecutive failures; threshold failures open it for
// cooldown, during which calls fail at once; then it is half-open and
// lets one trial call through, whose outcome closes or reopens it.
type breaker struct {
	threshold int
	cooldown  time.Duration

	mu        sync.Mutex
	failures  int
	openUntil time.Time // zero when closed
	trial     bool      // a half-open trial call is under way
}

// allow reports whether a call may proceed, and whether it is the trial
// call of a half-open breaker. When it may not, until says when the
// breaker will let a trial through.
func (b *breaker) allow(now time.Time) (ok, trial bool, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openUntil.IsZero():
		return true, false, time.Time{}
	case now.Before(b.openUntil) || b.trial:
		return false, false, b.openUntil
	}
	b.trial = true
	return true, true, time.Time{}
}

// done records a call's outcome.
func (b *breaker) done(now time.Time, trial bool, o outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if trial {
		b.trial = false
	}
	switch o {
	case outcomeSuccess:
		b.failures, b.openUntil = 0, time.Time{}
	case outcomeFailure:
		b.failures++
		if trial || b.failures >= b.threshold {
			b.openUntil = now.Add(b.cooldown)
		}
	}
}

// state reports whether the breaker is open (or half-open) and the count
// of consecutive failed calls.
func (b *breaker) state() (open bool, failures int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.openUntil.IsZero(), b.failures
}

// BreakerOpen reports whether the circuit breaker is open or half-open,
// and how many consecutive calls have failed.
func (c *Client) BreakerOpen() (open bool, failures int) { return c.breaker.state() }

// call sends body to path through the breaker, retrying what may pass,
// and hands a 200 answer to decode.
func (c *Client) call(ctx context.Context, op, path string, body []byte, decode func([]byte) *connector.Error) error {
	now := c.cfg.Now()
	ok, trial, until := c.breaker.allow(now)
	if !ok {
		_, n := c.breaker.state()
		if !now.Before(until) {
			return connector.Errorf(connector.ErrUnavailable, "Probity stopped calling the data source after %d failed calls in a row, and a trial call is under way; try again shortly", n)
		}
		return connector.Errorf(connector.ErrUnavailable, "Probity stopped calling the data source after %d failed calls in a row; it tries again after %s",
			n, until.UTC().Format(time.TimeOnly+" MST"))
	}
	data, err, o := c.attempts(ctx, op, path, body)
	if err == nil {
		if err = decode(data); err != nil {
			o = outcomeFailure
		}
	}
	c.breaker.done(c.cfg.Now(), trial, o)
	if err != nil {
		level := slog.LevelWarn
		if o == outcomeNeutral {
			level = slog.LevelInfo
		}
		c.log.LogAttrs(ctx, level, "vendor call failed", slog.String(logOp, op), slog.String(logDetail, err.Error()))
		return err
	}
	return nil
}

// attempts makes up to MaxAttempts attempts.
func (c *Client) attempts(ctx context.Context, op, path string, body []byte) ([]byte, *connector.Error, outcome) {
	for n := 1; ; n++ {
		a := c.attempt(ctx, path, body)
		if a.err == nil {
			return a.data, nil, outcomeSuccess
		}
		if !a.retry || n >= c.cfg.MaxAttempts {
			return nil, a.err, a.outcome
		}
		delay := backoff(n, c.cfg.BackoffBase, c.cfg.BackoffMax)
		if a.wait > 0 {
			if a.wait > c.cfg.MaxRetryAfter {
				return nil, connector.Errorf(connector.ErrUnavailable, "%s; it asks Probity to wait %s, longer than the %s Probity waits",
					a.err.Detail, a.wait.Round(time.Second), c.cfg.MaxRetryAfter), outcomeFailure
			}
			delay = a.wait
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return nil, a.err, a.outcome // no time is left for another attempt
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "vendor call failed; retrying", slog.String(logOp, op), slog.Int(logAttempt, n),
			slog.Int(logStatus, a.status), slog.Duration(logDelay, delay), slog.String(logDetail, a.err.Detail))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, cancelled(ctx), outcomeNeutral
		case <-t.C:
		}
	}
}

// backoff returns the wait before retry n (1-based): "full jitter", a
// random duration up to min(max, base·2ⁿ⁻¹), so that clients that failed
// together do not retry together.
func backoff(n int, base, max time.Duration) time.Duration {
	d := max
	if n-1 < 30 && base<<(n-1) < max && base<<(n-1) > 0 {
		d = base << (n - 1)
	}
	return rand.N(d) + 1
}

func cancelled(ctx context.Context) *connector.Error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return connector.Errorf(connector.ErrUnavailable, "the data source did not answer before the request's deadline")
	}
	return connector.Errorf(connector.ErrUnavailable, "the request was cancelled")
}

// An attemptResult is one attempt's answer or failure.
type attemptResult struct {
	data    []byte
	err     *connector.Error
	status  int           // the HTTP status, 0 without an answer
	retry   bool          // the failure may pass
	wait    time.Duration // the vendor's Retry-After
	outcome outcome
}

// attempt makes one request. Its errors say what happened in Probity's
// words: never the transport's error text (which quotes addresses and
// sometimes more) nor anything of the vendor's answer but its status.
func (c *Client) attempt(ctx context.Context, path string, body []byte) attemptResult {
	key, err := c.cfg.Credential(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return attemptResult{err: cancelled(ctx), outcome: outcomeNeutral}
		}
		return attemptResult{err: connector.Errorf(connector.ErrAuth, "the credential could not be read: %s", credentialProblem(err)), outcome: outcomeNeutral}
	}
	if key == "" || !validHeaderValue(key) {
		return attemptResult{err: connector.Errorf(connector.ErrAuth, "the stored credential cannot be sent: it is empty or holds characters a header cannot carry"), outcome: outcomeNeutral}
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := c.newRequest(actx, path, body, key)
	if err != nil {
		return attemptResult{err: connector.Errorf(connector.ErrRejected, "the request could not be built"), outcome: outcomeNeutral}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportFailure(ctx, actx, err, 0)
	}
	defer drain(resp.Body)
	st := resp.StatusCode
	status := fmt.Sprintf("%d %s", st, http.StatusText(st))
	switch {
	case st == http.StatusOK:
		data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
		if err != nil {
			return c.transportFailure(ctx, actx, err, st)
		}
		if int64(len(data)) > c.cfg.MaxResponseBytes {
			return attemptResult{err: connector.Errorf(connector.ErrMalformed, "the answer is larger than %s", sizeText(c.cfg.MaxResponseBytes)), status: st, outcome: outcomeFailure}
		}
		return attemptResult{data: data, status: st}
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return attemptResult{err: connector.Errorf(connector.ErrAuth, "the data source answered %s", status), status: st, outcome: outcomeSuccess}
	case st == http.StatusTooManyRequests:
		return attemptResult{err: connector.Errorf(connector.ErrUnavailable, "the data source answered %s", status), status: st,
			retry: true, wait: retryAfter(resp.Header.Get("Retry-After"), c.cfg.Now()), outcome: outcomeFailure}
	case st == http.StatusBadGateway || st == http.StatusServiceUnavailable || st == http.StatusGatewayTimeout:
		return attemptResult{err: connector.Errorf(connector.ErrUnavailable, "the data source answered %s", status), status: st,
			retry: true, wait: retryAfter(resp.Header.Get("Retry-After"), c.cfg.Now()), outcome: outcomeFailure}
	case st >= 500:
		return attemptResult{err: connector.Errorf(connector.ErrUnavailable, "the data source answered %s", status), status: st, outcome: outcomeFailure}
	case st >= 400:
		return attemptResult{err: connector.Errorf(connector.ErrRejected, "the data source answered %s", status), status: st, outcome: outcomeSuccess}
	}
	return attemptResult{err: connector.Errorf(connector.ErrMalformed, "the data source answered %s, which Probity does not accept", status), status: st, outcome: outcomeFailure}
}

// transportFailure classifies a failure to get or read an answer.
func (c *Client) transportFailure(ctx, actx context.Context, err error, status int) attemptResult {
	if ctx.Err() != nil {
		return attemptResult{err: cancelled(ctx), status: status, outcome: outcomeNeutral}
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return attemptResult{err: connector.Errorf(connector.ErrUnavailable, "the data source did not answer within %s", c.cfg.Timeout),
			status: status, retry: true, outcome: outcomeFailure}
	}
	return attemptResult{err: connector.Errorf(connector.ErrUnavailable, "%s", netProblem(err)), status: status, retry: true, outcome: outcomeFailure}
}

// netProblem describes a transport error without quoting it.
func netProblem(err error) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &dnsErr):
		return "the data source's host name could not be resolved"
	case errors.As(err, &certErr), errors.As(err, &recErr):
		return "the TLS connection to the data source failed (its certificate or protocol was not accepted)"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the data source closed the connection before answering in full"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "the connection to the data source could not be made"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "the connection to the data source timed out"
	}
	return "the connection to the data source failed"
}

// credentialProblem describes why the credential could not be read: the
// message of an error that has one to show, never its cause.
func credentialProblem(err error) string {
	if f, ok := errors.AsType[*fault.Error](err); ok && f.Message != "" {
		return f.Message
	}
	if s, ok := errors.AsType[*connector.Error](err); ok {
		return s.Error()
	}
	return "the credential store did not answer"
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date. It
// returns 0 when there is none or it cannot be read.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// validHeaderValue reports whether v can be sent as a header value as it
// is: visible ASCII and inner spaces.
func validHeaderValue(v string) bool {
	if strings.TrimSpace(v) != v {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// validHeaderName reports whether s is a header field name (an RFC 9110
// token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0) {
			return false
		}
	}
	return true
}
