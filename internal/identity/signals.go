package identity

import (
	"fmt"
	"time"
)

// A SignIn is one successful sign-in.
type SignIn struct {
	PersonID  int64
	At        time.Time
	Addr      string // client IP address
	UserAgent string
	Method    string // password, oidc, piv
}

// A LiveSession is a session that has not ended.
type LiveSession struct {
	ID        string // an opaque reference, never the secret
	Addr      string
	UserAgent string
	LastSeen  time.Time
}

// A Signal is evidence that an account may be shared.
type Signal struct {
	Kind        string // concurrent_sessions, addresses_within_minutes
	Explanation string
	Evidence    map[string]any
}

// SharedUseWindow is how close two sign-ins from different addresses must
// be to suggest that two people use one account.
const SharedUseWindow = 5 * time.Minute

// SharedUseSignals looks at a new sign-in against the person's recent
// sign-ins and live sessions. Individual accounts are the rule; one
// account used from two clients at once, or from two addresses minutes
// apart, suggests it is shared.
func SharedUseSignals(in SignIn, recent []SignIn, live []LiveSession, window time.Duration) []Signal {
	var out []Signal
	for _, s := range live {
		if s.Addr != in.Addr || s.UserAgent != in.UserAgent {
			out = append(out, Signal{
				Kind:        "concurrent_sessions",
				Explanation: fmt.Sprintf("a session from another client (%s) was still active when the account signed in from %s", s.Addr, in.Addr),
				Evidence:    map[string]any{"other_addr": s.Addr, "other_user_agent": s.UserAgent, "other_last_seen": s.LastSeen.UTC().Format(time.RFC3339), "addr": in.Addr, "user_agent": in.UserAgent},
			})
			break
		}
	}
	for _, r := range recent {
		if r.PersonID == in.PersonID && r.Addr != in.Addr && in.At.Sub(r.At) >= 0 && in.At.Sub(r.At) <= window {
			out = append(out, Signal{
				Kind:        "addresses_within_minutes",
				Explanation: fmt.Sprintf("sign-ins from %s and %s within %s", r.Addr, in.Addr, in.At.Sub(r.At).Round(time.Second)),
				Evidence:    map[string]any{"earlier_addr": r.Addr, "earlier_at": r.At.UTC().Format(time.RFC3339), "addr": in.Addr},
			})
			break
		}
	}
	return out
}
