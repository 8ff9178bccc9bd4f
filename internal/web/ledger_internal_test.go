package web

import (
	"context"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// TestWeb_Search checks that a search reads no more than its budget and
// says where it stopped, so that the next page goes on from there, in
// both directions.
func TestWeb_Search(t *testing.T) {
	e := mustLedgerEnv(t, store.SQLite)
	var want []int64
	for i := range 300 {
		typ := "searchtest.other"
		if i%40 == 0 {
			typ = "searchtest.rare"
		}
		n := e.record(t, "", ledger.Event{Type: typ, Actor: ledger.Actor{Kind: ledger.ActorSystem, ID: "searcher"}})
		if typ == "searchtest.rare" {
			want = append(want, n)
		}
	}
	size := storetest.SettledSize(t, e.db, e.l)
	f, bad := parseLedgerFilter(url.Values{"type": {"searchtest.rare"}})
	if bad != nil {
		t.Fatal(bad.msg)
	}
	ctx := context.Background()

	t.Run("OKNewestFirst", func(t *testing.T) {
		var got []int64
		hi := size
		for pages := 0; ; pages++ {
			s, err := e.w.search(ctx, f, 0, hi, false, 3, 100, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if s.hi != hi || s.lo < hi-100 || s.lo > hi {
				t.Fatalf("a search below %d covered [%d, %d), more than its budget of 100", hi, s.lo, s.hi)
			}
			for _, h := range s.hits {
				if h.index < s.lo || h.index >= s.hi {
					t.Fatalf("hit %d is outside the range [%d, %d) the search says it covered", h.index, s.lo, s.hi)
				}
				got = append(got, h.index)
			}
			if !s.more {
				if s.lo != 0 {
					t.Fatalf("the search ended at %d, not at the start", s.lo)
				}
				break
			}
			hi = s.lo
			if pages > 20 {
				t.Fatal("the search does not end")
			}
		}
		slices.Reverse(got)
		if !slices.Equal(got, want) {
			t.Errorf("found %v, want %v", got, want)
		}
	})

	t.Run("OKOldestFirst", func(t *testing.T) {
		var got []int64
		lo := int64(0)
		for pages := 0; ; pages++ {
			s, err := e.w.search(ctx, f, lo, size, true, 2, 64, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if s.lo != lo || s.hi > lo+64 {
				t.Fatalf("a search from %d covered [%d, %d), more than its budget of 64", lo, s.lo, s.hi)
			}
			for _, h := range s.hits {
				got = append(got, h.index)
			}
			if !s.more {
				break
			}
			lo = s.hi
			if pages > 20 {
				t.Fatal("the search does not end")
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("found %v, want %v", got, want)
		}
	})
}

func FuzzLedgerFilter(f *testing.F) {
	f.Add("aud-1", "webtest.alpha", "case/7", "CBP", "2026-01-02", "2026-01-03")
	f.Add(evilActor, "x.y", evilSubject, "+1", "", "2026-02-01T10:30")
	f.Add("a\\u0041", "q.", "\x01\"\u2028", "", "2026-02-30", "")
	f.Add(" spaced ", "", "\xff", "", "", "")
	f.Fuzz(func(t *testing.T, actor, typ, subject, component, from, to string) {
		q := url.Values{"actor": {actor}, "type": {typ}, "subject": {subject}, "component": {component}, "from": {from}, "to": {to}}
		flt, bad := parseLedgerFilter(q)
		if bad != nil {
			if !strings.HasPrefix(bad.msg, bad.field+": ") {
				t.Fatalf("the problem %q does not start with its field %q", bad.msg, bad.field)
			}
			return
		}
		again, bad := parseLedgerFilter(flt.values())
		if bad != nil || !reflect.DeepEqual(again, flt) {
			t.Fatalf("the search %+v does not survive its own link: %+v, %v", flt, again, bad)
		}
		// An entry made of what is searched for must get past the quick
		// test whenever it matches.
		at := time.Now().UTC()
		switch {
		case flt.from != "":
			at, _ = time.Parse(ledger.TimeFormat, flt.from)
		case flt.to != "":
			at, _ = time.Parse(ledger.TimeFormat, flt.to)
			at = at.Add(-time.Microsecond)
		}
		ev := ledger.Event{Type: strings.TrimSuffix(flt.Type, ".") + ".sub", Actor: ledger.Actor{Kind: ledger.ActorUser, ID: flt.Actor},
			Component: flt.Component, Subject: "[" + flt.Subject + "]", Data: map[string]any{"v": flt.Subject + flt.Actor}}
		if ev.Actor.ID == "" {
			ev.Actor.ID = "someone"
		}
		raw, err := ledger.Encode(ev, 7, at)
		if err != nil {
			return
		}
		en, err := ledger.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if flt.match(en) && !flt.candidate(raw) {
			t.Fatalf("the quick test refuses %s, which matches %+v", raw, flt)
		}
		if !flt.match(en) {
			t.Fatalf("%s, made of the search, does not match %+v", raw, flt)
		}
	})
}

func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "plain", "'=1", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := csvCell(s)
		if got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
			t.Fatalf("csvCell(%q) = %q starts a formula", s, got)
		}
		if got != s && got != "'"+s {
			t.Fatalf("csvCell(%q) = %q changes more than a leading apostrophe", s, got)
		}
		if got != s && !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			t.Fatalf("csvCell(%q) = %q changes a harmless cell", s, got)
		}
	})
}
