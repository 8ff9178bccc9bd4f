package review_test

import (
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/review"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestAddBusinessDays(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, ny)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// 2026-11-02 is a Monday.
	for _, c := range []struct {
		name string
		from string
		n    int
		want string
	}{
		{"MondayFive", "2026-11-02 10:00", 5, "2026-11-09 10:00"},
		{"WednesdayFive", "2026-11-04 10:00", 5, "2026-11-11 10:00"},
		{"FridayOne", "2026-11-06 17:30", 1, "2026-11-09 17:30"},
		{"FridayFive", "2026-11-06 23:59", 5, "2026-11-13 23:59"},
		{"SaturdayFive", "2026-11-07 10:00", 5, "2026-11-16 00:00"}, // the end of Friday the 13th
		{"SundayOne", "2026-11-08 22:00", 1, "2026-11-10 00:00"},
		{"Zero", "2026-11-04 10:00", 0, "2026-11-04 10:00"},
		{"ZeroOnWeekend", "2026-11-07 10:00", 0, "2026-11-09 00:00"},
		// Daylight saving time ends on 2026-11-01: the wall clock holds.
		{"AcrossDST", "2026-10-30 09:00", 1, "2026-11-02 09:00"},
		{"Twenty", "2026-11-02 08:00", 20, "2026-11-30 08:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := review.AddBusinessDays(at(c.from), c.n, ny); !got.Equal(at(c.want)) {
				t.Errorf("AddBusinessDays(%s, %d) = %s; want %s", c.from, c.n, got.In(ny), c.want)
			}
		})
	}
	t.Run("UTCByDefault", func(t *testing.T) {
		// Saturday 03:00 UTC is Friday evening in New York: the zone decides.
		sat := time.Date(2026, 11, 7, 3, 0, 0, 0, time.UTC)
		if got := review.AddBusinessDays(sat, 1, nil); !got.Equal(time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("in UTC: %s", got)
		}
		if got := review.AddBusinessDays(sat, 1, ny); !got.Equal(time.Date(2026, 11, 9, 22, 0, 0, 0, ny)) {
			t.Errorf("in New York: %s", got.In(ny))
		}
	})
}

func TestDueAt(t *testing.T) {
	done := time.Date(2026, 11, 6, 15, 0, 0, 0, time.UTC) // a Friday
	for _, c := range []struct {
		name       string
		days       int
		breakGlass bool
		want       time.Time
	}{
		{"Default", review.DefaultSLADays, false, time.Date(2026, 11, 13, 15, 0, 0, 0, time.UTC)},
		{"Setting", 2, false, time.Date(2026, 11, 10, 15, 0, 0, 0, time.UTC)},
		{"Unset", 0, false, time.Date(2026, 11, 13, 15, 0, 0, 0, time.UTC)},
		// A break-glass query's 24 hours run over the weekend.
		{"BreakGlass", 5, true, time.Date(2026, 11, 7, 15, 0, 0, 0, time.UTC)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := review.DueAt(done, c.days, c.breakGlass, time.UTC)
			if !got.Equal(c.want) || got.Location() != time.UTC {
				t.Errorf("DueAt = %s; want %s", got, c.want)
			}
		})
	}
	t.Run("Escalated", func(t *testing.T) {
		if got := review.EscalatedDueAt(done, true, time.UTC); !got.Equal(done.Add(4 * time.Hour)) {
			t.Errorf("break-glass: %s", got)
		}
		if got := review.EscalatedDueAt(done, false, time.UTC); !got.Equal(time.Date(2026, 11, 9, 15, 0, 0, 0, time.UTC)) {
			t.Errorf("ordinary: %s", got)
		}
	})
}

func TestCheckDecision(t *testing.T) {
	for _, c := range []struct {
		name string
		d    review.Decision
		note string
		want string // the note returned, or the error message's start
		ok   bool
	}{
		{"AppropriateWithoutNote", review.Appropriate, "", "", true},
		{"AppropriateTrimmed", review.Appropriate, "  fine \n", "fine", true},
		{"Explanation", review.NeedsExplanation, "Why this window at night?", "Why this window at night?", true},
		{"Refer", review.ReferToPrivacy, "Searched a coworker's street.", "Searched a coworker's street.", true},
		{"MultiLine", review.ReferToPrivacy, "Line one.\n\tLine two.", "Line one.\n\tLine two.", true},
		{"ErrExplanationShort", review.NeedsExplanation, "why", "note: say why the query needs an explanation", false},
		{"ErrReferBlank", review.ReferToPrivacy, "          ", "note: say why the query goes to the privacy office", false},
		{"ErrDecision", "ok", "", `decision "ok" is not a review decision`, false},
		{"ErrEmptyDecision", "", "", `decision "" is not a review decision`, false},
		{"ErrControl", review.Appropriate, "fine\x1b[31m", "note: control characters are not allowed", false},
		{"ErrUTF8", review.Appropriate, "fine \xff", "note: not valid UTF-8 text", false},
		{"ErrLong", review.Appropriate, strings.Repeat("é", review.MaxNote+1), "note: at most 2000 characters", false},
		{"LongestNote", review.Appropriate, strings.Repeat("é", review.MaxNote), strings.Repeat("é", review.MaxNote), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			note, err := review.CheckDecision(c.d, c.note)
			switch {
			case c.ok && (err != nil || note != c.want):
				t.Errorf("CheckDecision = %q, %v; want %q", note, err, c.want)
			case !c.ok && (fault.CodeOf(err) != fault.Invalid || !strings.HasPrefix(fault.MessageOf(err), c.want)):
				t.Errorf("CheckDecision error %v; want invalid starting %q", err, c.want)
			}
		})
	}
}

func TestCheckBulk(t *testing.T) {
	for _, c := range []struct {
		tier       query.Tier
		breakGlass bool
		want       string
	}{
		{query.Routine, false, ""},
		{query.Elevated, false, "query 7 is of the elevated tier; only routine queries are reviewed in bulk"},
		{query.High, false, "query 7 is of the high tier"},
		{query.Critical, false, "query 7 is of the critical tier"},
		{query.Routine, true, "query 7 ran under break-glass; review it on its own"},
	} {
		err := review.CheckBulk(7, c.tier, c.breakGlass)
		if c.want == "" && err != nil || c.want != "" && (fault.CodeOf(err) != fault.Invalid || !strings.HasPrefix(fault.MessageOf(err), c.want)) {
			t.Errorf("CheckBulk(%s, %v) = %v; want %q", c.tier, c.breakGlass, err, c.want)
		}
	}
}

func TestReviewer(t *testing.T) {
	// 5 → 4 → 3 → 2 → 1; 9 supervises 8; 3 is not eligible (no longer a
	// supervisor, say).
	chain := identity.MapChain{5: 4, 4: 3, 3: 2, 2: 1, 8: 9}
	eligible := func(p int64) bool { return p != 3 }
	for _, c := range []struct {
		name                string
		requester, current  int64
		wantFirst, wantNext int64
	}{
		{"Nearest", 5, 4, 4, 2},
		{"SkipIneligible", 4, 2, 2, 1},
		{"Top", 1, 0, 0, 0},
		{"LastInChain", 5, 1, 4, 0},
		{"CurrentLeftTheChain", 5, 9, 4, 4},
		{"OtherChain", 8, 9, 9, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := review.Reviewer(chain, c.requester, eligible); got != c.wantFirst {
				t.Errorf("Reviewer = %d; want %d", got, c.wantFirst)
			}
			if got := review.NextReviewer(chain, c.requester, c.current, eligible); got != c.wantNext {
				t.Errorf("NextReviewer = %d; want %d", got, c.wantNext)
			}
		})
	}
	t.Run("NeverSelfOrBelow", func(t *testing.T) {
		// A cycle the store would refuse: the reviewer found is never the
		// requester, and never someone the requester is above.
		loop := identity.MapChain{1: 2, 2: 1}
		if got := review.Reviewer(loop, 1, func(int64) bool { return true }); got != 0 {
			t.Errorf("in a loop: %d", got)
		}
	})
}

func TestParseDecision(t *testing.T) {
	for _, d := range review.Decisions() {
		if got, err := review.ParseDecision(string(d)); err != nil || got != d || d.Title() == "" {
			t.Errorf("ParseDecision(%q) = %q, %v", d, got, err)
		}
	}
	if _, err := review.ParseDecision("Appropriate"); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("decisions are lowercase: %v", err)
	}
}

func FuzzCheckDecision(f *testing.F) {
	f.Add("appropriate", "")
	f.Add("needs_explanation", "Why this window at night?")
	f.Add("refer_to_privacy", "\x00\xff")
	f.Fuzz(func(t *testing.T, d, note string) {
		got, err := review.CheckDecision(review.Decision(d), note)
		if err != nil {
			if fault.CodeOf(err) != fault.Invalid {
				t.Fatalf("error %v is not invalid", err)
			}
			return
		}
		if !review.Decision(d).Valid() || strings.TrimSpace(got) != got || len([]rune(got)) > review.MaxNote {
			t.Fatalf("accepted %q, %q → %q", d, note, got)
		}
		if d != string(review.Appropriate) && len([]rune(got)) < review.MinNote {
			t.Fatalf("a %s with a short note %q", d, got)
		}
	})
}
