package access

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
)

// MinWithheldNote is the shortest note a decision on withheld results
// takes.
const MinWithheldNote = 20

// ReviewWithheld records a privacy officer's decision on a query whose
// results a detector withheld: release them to the requester (the query
// becomes completed) or uphold the withholding (they stay withheld; a
// later decision may still release them). The note says why. Only a
// privacy officer of the query's component (or the department's) who is
// not the requester decides, and each decision is a ledger entry
// ("query.released" or "query.withholding_upheld") committing to the
// note.
func (s *Service) ReviewWithheld(ctx context.Context, by auth.Principal, id int64, release bool, note string) (store.QueryRecord, error) {
	note = strings.TrimSpace(note)
	if n := utf8.RuneCountInString(note); n < MinWithheldNote || n > 4000 || !utf8.ValidString(note) {
		return store.QueryRecord{}, fault.New(fault.Invalid, "note: say why, in %d to 4000 characters", MinWithheldNote)
	}
	var rec store.QueryRecord
	err := s.d.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		if rec, err = s.d.Queries.Get(ctx, tx, id, true); err != nil {
			return err
		}
		if !s.maySee(ctx, by, rec) {
			return fault.New(fault.NotFound, "there is no query %d", id)
		}
		switch {
		case rec.PersonID == by.PersonID:
			return fault.New(fault.Forbidden, "you may not decide on the withheld results of your own query")
		case !holdsIn(by, auth.ComponentPrivacyOfficer, rec.Component) && !by.HasRole(auth.DepartmentPrivacyOfficer):
			return fault.New(fault.Forbidden, "only a privacy officer of %s decides on withheld results", rec.Component)
		case rec.Status != query.Withheld:
			return fault.New(fault.Conflict, "query %d is %s: only withheld results are reviewed", id, strings.ReplaceAll(string(rec.Status), "_", " "))
		}
		typ, reason := "query.withholding_upheld", "the privacy office upheld the withholding: "+note
		if release {
			typ, reason = "query.released", "released by the privacy office: "+note
			rec.Status = query.Completed
		}
		rec.Reasons = append(rec.Reasons, reason)
		if err := s.d.Queries.Update(ctx, tx, &rec, query.Withheld); err != nil {
			return err
		}
		_, err = s.d.Ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: by.Actor(), Component: rec.Component, Subject: querySubject(id),
			Data: map[string]any{"status": string(rec.Status), "requester": rec.EmployeeID}, Digest: ledger.PayloadDigest([]byte(note))})
		return err
	})
	return rec, err
}
