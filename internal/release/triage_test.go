package release_test

import (
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/scan"
)

func TestCheckTriage(t *testing.T) {
	for _, c := range []struct {
		name     string
		from, to release.State
		reason   string
		code     fault.Code // "" for OK
	}{
		{"NewToConfirmed", release.New, release.Confirmed, "", ""},
		{"NewToFixed", release.New, release.Fixed, "fixed in commit 4e1a", ""},
		{"NewToFalsePositive", release.New, release.FalsePositive, "the input is a compile-time constant", ""},
		{"ConfirmedToFalsePositive", release.Confirmed, release.FalsePositive, "reproduced: the path is unreachable", ""},
		{"FalsePositiveToConfirmed", release.FalsePositive, release.Confirmed, "", ""},
		{"AcceptedRiskToFixed", release.AcceptedRisk, release.Fixed, "", ""},
		{"ErrFalsePositiveNoReason", release.New, release.FalsePositive, "  ", fault.Invalid},
		{"ErrFalsePositiveShortReason", release.New, release.FalsePositive, "no", fault.Invalid},
		{"ErrToAcceptedRisk", release.Confirmed, release.AcceptedRisk, "we accept it", fault.Invalid},
		{"ErrToNew", release.Confirmed, release.New, "", fault.Invalid},
		{"ErrToResolved", release.New, release.ResolvedByRescan, "", fault.Invalid},
		{"ErrUnknown", release.New, "ignored", "", fault.Invalid},
		{"ErrFromResolved", release.ResolvedByRescan, release.Confirmed, "", fault.Conflict},
		{"ErrSame", release.Confirmed, release.Confirmed, "", fault.Conflict},
		{"ErrReasonControl", release.New, release.Confirmed, "bad\x00reason", fault.Invalid},
		{"ErrReasonLong", release.New, release.Fixed, strings.Repeat("x", release.MaxNote+1), fault.Invalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := release.CheckTriage(c.from, c.to, c.reason)
			if c.code == "" {
				if err != nil || got != strings.TrimSpace(c.reason) {
					t.Fatalf("CheckTriage = %q, %v", got, err)
				}
				return
			}
			if fault.CodeOf(err) != c.code {
				t.Fatalf("CheckTriage = %v (code %s); want %s", err, fault.CodeOf(err), c.code)
			}
		})
	}
	t.Run("ErrFalsePositiveSaysWhy", func(t *testing.T) {
		_, err := release.CheckTriage(release.New, release.FalsePositive, "")
		if err == nil || !strings.Contains(err.Error(), "say why") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestReappear(t *testing.T) {
	for _, c := range []struct {
		name                   string
		state, triaged         release.State
		wantState, wantTriaged release.State
	}{
		{"NewStaysNew", release.New, "", release.New, ""},
		{"ConfirmedCarries", release.Confirmed, release.Confirmed, release.Confirmed, release.Confirmed},
		{"FalsePositiveCarries", release.FalsePositive, release.FalsePositive, release.FalsePositive, release.FalsePositive},
		{"AcceptedRiskCarries", release.AcceptedRisk, release.AcceptedRisk, release.AcceptedRisk, release.AcceptedRisk},
		// Marked fixed, reported again: not fixed; review it again.
		{"FixedReopens", release.Fixed, release.Fixed, release.New, ""},
		// Resolved by a re-scan, then back: the reviewer's decision returns.
		{"ResolvedFalsePositiveReturns", release.ResolvedByRescan, release.FalsePositive, release.FalsePositive, release.FalsePositive},
		{"ResolvedConfirmedReturns", release.ResolvedByRescan, release.Confirmed, release.Confirmed, release.Confirmed},
		{"ResolvedAcceptedReturns", release.ResolvedByRescan, release.AcceptedRisk, release.AcceptedRisk, release.AcceptedRisk},
		{"ResolvedUntriagedIsNew", release.ResolvedByRescan, "", release.New, ""},
		{"ResolvedFixedIsNew", release.ResolvedByRescan, release.Fixed, release.New, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, tr := release.Reappear(c.state, c.triaged)
			if s != c.wantState || tr != c.wantTriaged {
				t.Fatalf("Reappear(%s, %q) = %s, %q; want %s, %q", c.state, c.triaged, s, tr, c.wantState, c.wantTriaged)
			}
		})
	}
}

func TestEffective(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		state   release.State
		expires time.Time
		want    release.State
	}{
		{"AcceptedInForce", release.AcceptedRisk, now.Add(time.Second), release.AcceptedRisk},
		{"AcceptedExpiresNow", release.AcceptedRisk, now, release.Confirmed},
		{"AcceptedExpired", release.AcceptedRisk, now.AddDate(0, 0, -1), release.Confirmed},
		{"AcceptedNoExpiryOnRecord", release.AcceptedRisk, time.Time{}, release.Confirmed},
		{"OtherStatesUnchanged", release.FalsePositive, now.AddDate(0, 0, -1), release.FalsePositive},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := release.Effective(c.state, c.expires, now); got != c.want {
				t.Errorf("Effective = %s; want %s", got, c.want)
			}
		})
	}
}

func TestOverdue(t *testing.T) {
	seen := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	sla := release.DefaultSLA
	for _, c := range []struct {
		name    string
		state   release.State
		expires time.Time
		sev     scan.Severity
		now     time.Time
		want    bool
	}{
		{"CriticalWithin", release.New, time.Time{}, scan.Critical, seen.AddDate(0, 0, 7).Add(-time.Second), false},
		{"CriticalAtDue", release.New, time.Time{}, scan.Critical, seen.AddDate(0, 0, 7), true},
		{"HighConfirmedLate", release.Confirmed, time.Time{}, scan.High, seen.AddDate(0, 0, 31), true},
		{"HighWithin", release.Confirmed, time.Time{}, scan.High, seen.AddDate(0, 0, 29), false},
		{"MediumLate", release.New, time.Time{}, scan.Medium, seen.AddDate(0, 0, 90), true},
		{"LowWithin", release.New, time.Time{}, scan.Low, seen.AddDate(0, 0, 119), false},
		{"InfoNever", release.New, time.Time{}, scan.Info, seen.AddDate(5, 0, 0), false},
		{"FalsePositiveNever", release.FalsePositive, time.Time{}, scan.Critical, seen.AddDate(1, 0, 0), false},
		{"FixedNever", release.Fixed, time.Time{}, scan.Critical, seen.AddDate(1, 0, 0), false},
		{"ResolvedNever", release.ResolvedByRescan, time.Time{}, scan.Critical, seen.AddDate(1, 0, 0), false},
		{"AcceptedInForce", release.AcceptedRisk, seen.AddDate(1, 0, 0), scan.Critical, seen.AddDate(0, 2, 0), false},
		// The exception expired: the finding is open again, and late.
		{"AcceptedExpired", release.AcceptedRisk, seen.AddDate(0, 1, 0), scan.Critical, seen.AddDate(0, 2, 0), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := release.Overdue(c.state, c.expires, c.sev, seen, sla, c.now); got != c.want {
				t.Errorf("Overdue = %v; want %v", got, c.want)
			}
		})
	}
	t.Run("DueAt", func(t *testing.T) {
		due, ok := release.DueAt(seen, scan.High, release.SLA{Critical: 1, High: 2, Medium: 3, Low: 4})
		if !ok || !due.Equal(seen.AddDate(0, 0, 2)) {
			t.Errorf("DueAt = %v, %v", due, ok)
		}
		if _, ok := release.DueAt(seen, scan.Info, sla); ok {
			t.Error("info has a due date")
		}
	})
}

func TestException_Validate(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	valid := func() release.Exception {
		return release.Exception{Justification: "The vulnerable code path is disabled by configuration in production.",
			CompensatingControls: "WAF rule 4411 blocks the payload; alerts on any attempt.", ExpiresAt: now.AddDate(0, 3, 0)}
	}
	for _, c := range []struct {
		name   string
		change func(*release.Exception)
		want   []string
	}{
		{"OK", func(*release.Exception) {}, nil},
		{"OKMaxDays", func(e *release.Exception) { e.ExpiresAt = now.AddDate(0, 0, release.MaxExceptionDays) }, nil},
		{"ErrNoJustification", func(e *release.Exception) { e.Justification = "" }, []string{"justification"}},
		{"ErrShortControls", func(e *release.Exception) { e.CompensatingControls = "none" }, []string{"compensating_controls"}},
		{"ErrNoExpiry", func(e *release.Exception) { e.ExpiresAt = time.Time{} }, []string{"expires_at"}},
		{"ErrPast", func(e *release.Exception) { e.ExpiresAt = now }, []string{"expires_at"}},
		{"ErrTooLong", func(e *release.Exception) { e.ExpiresAt = now.AddDate(0, 0, release.MaxExceptionDays+1) }, []string{"expires_at"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := valid()
			c.change(&e)
			wantFields(t, e.Validate(now), c.want...)
		})
	}
}

func TestException_CheckDecision(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	e := release.Exception{ID: 7, Status: release.ExceptionRequested, RequestedByID: 10, ExpiresAt: now.AddDate(0, 1, 0)}
	for _, c := range []struct {
		name     string
		change   func(*release.Exception)
		approver int64
		approve  bool
		code     fault.Code
	}{
		{"OKApprove", func(*release.Exception) {}, 11, true, ""},
		{"OKRejectAfterExpiry", func(e *release.Exception) { e.ExpiresAt = now }, 11, false, ""},
		{"ErrSelf", func(*release.Exception) {}, 10, true, fault.Forbidden},
		{"ErrSelfReject", func(*release.Exception) {}, 10, false, fault.Forbidden},
		{"ErrNobody", func(*release.Exception) {}, 0, true, fault.Forbidden},
		{"ErrDecided", func(e *release.Exception) { e.Status = release.ExceptionApproved }, 11, true, fault.Conflict},
		{"ErrWouldBeExpired", func(e *release.Exception) { e.ExpiresAt = now }, 11, true, fault.Conflict},
		{"ErrNote", func(e *release.Exception) { e.DecisionNote = "\x07" }, 11, true, fault.Invalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := e
			c.change(&x)
			err := x.CheckDecision(c.approver, c.approve, now)
			if c.code == "" && err != nil || c.code != "" && fault.CodeOf(err) != c.code {
				t.Fatalf("CheckDecision = %v (code %s); want %q", err, fault.CodeOf(err), c.code)
			}
		})
	}
	t.Run("InForce", func(t *testing.T) {
		x := e
		x.Status = release.ExceptionApproved
		if !x.InForce(now) || x.InForce(x.ExpiresAt) {
			t.Error("an approved exception is in force until it expires")
		}
		x.Status = release.ExceptionRequested
		if x.InForce(now) {
			t.Error("a requested exception is in force")
		}
	})
}
