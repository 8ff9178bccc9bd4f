package web

import (
	"encoding/json"
	"testing"
	"time"
)

func TestCountdown(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, ny)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// 2026-11-04 is a Wednesday.
	for _, c := range []struct {
		name, now, due, want string
	}{
		{"Week", "2026-11-04 11:00", "2026-11-11 11:00", "due in 5 business days"},
		{"OverWeekend", "2026-11-06 10:00", "2026-11-10 10:00", "due in 2 business days"},
		{"OneDay", "2026-11-04 11:00", "2026-11-05 12:00", "due in 1 business day"},
		{"Hours", "2026-11-04 11:00", "2026-11-05 09:30", "due in 22 h"},
		{"Minutes", "2026-11-04 11:00", "2026-11-04 11:20", "due in 20 min"},
		{"WeekendOnly", "2026-11-06 20:00", "2026-11-08 20:00", "due in 2 days"},
		{"OverdueMinutes", "2026-11-04 11:05", "2026-11-04 11:00", "overdue by 5 min"},
		{"AtDue", "2026-11-04 11:00", "2026-11-04 11:00", "due in 1 min"},
		{"JustOverdue", "2026-11-04 11:00", "2026-11-04 10:59", "overdue by 1 min"},
		{"OverdueHours", "2026-11-07 14:00", "2026-11-07 11:00", "overdue by 3 h"},
		{"OverdueDays", "2026-11-09 11:00", "2026-11-06 10:00", "overdue by 3 days"},
		// Daylight saving time ends on 2026-11-01: the dates count, not 24-hour steps.
		{"AcrossDST", "2026-10-30 09:00", "2026-11-02 09:00", "due in 1 business day"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := countdown(at(c.now).UTC(), at(c.due).UTC(), ny); got != c.want {
				t.Errorf("countdown(%s, %s) = %q; want %q", c.now, c.due, got, c.want)
			}
		})
	}
	t.Run("ZoneDecidesTheDays", func(t *testing.T) {
		// Thursday 23:00 in New York is Friday in UTC: up to Monday
		// 10:00, New York counts Friday and Monday, UTC Monday alone.
		now, due := at("2026-11-05 23:00").UTC(), at("2026-11-09 10:00").UTC()
		if got := countdown(now, due, ny); got != "due in 2 business days" {
			t.Errorf("in New York: %q", got)
		}
		if got := countdown(now, due, time.UTC); got != "due in 1 business day" {
			t.Errorf("in UTC: %q", got)
		}
	})
}

func TestEvidenceItems(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want []evidenceItem
	}{
		{"Empty", ``, nil},
		{"EmptyObject", `{}`, []evidenceItem{}},
		{"Scalars", `{"b_key":true,"a_key":"x<y","n":1.5,"z":null}`, []evidenceItem{{Key: "a key", Value: "x<y"}, {Key: "b key", Value: "true"}, {Key: "n", Value: "1.5"}, {Key: "z", Value: "null"}}},
		{"Nested", `{"cells":[1,2]}`, []evidenceItem{{Key: "cells", Value: "[\n  1,\n  2\n]", Block: true}}},
		{"NotAnObject", `[1]`, []evidenceItem{{Key: "evidence", Value: "[\n  1\n]", Block: true}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := evidenceItems(json.RawMessage(c.in))
			if len(got) != len(c.want) {
				t.Fatalf("evidenceItems(%s) = %+v; want %+v", c.in, got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("item %d = %+v; want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}
