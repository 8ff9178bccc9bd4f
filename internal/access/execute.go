package access

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
)

// execute runs a decided query: rec is new (ID 0) or an approved query.
func (s *Service) execute(ctx context.Context, by auth.Principal, rec store.QueryRecord, f facts, dec policy.Decision, in *policy.Input, approvals []store.Approval) (Outcome, error) {
	from := rec.Status
	rec.Status = query.Running
	approvalsData := approvalsJSON(approvals)
	// The call is on record before it is made: if this cannot be written,
	// the connector is not asked.
	err := s.d.DB.Update(ctx, func(tx *store.Tx) error {
		// The gate and the case again, in the transaction that records the
		// call (on PostgreSQL the gate holds the source row until commit):
		// a suspension or a closure that raced the checks wins.
		if err := s.d.Privacy.RequireGate(ctx, tx, f.src.ID); err != nil {
			return err
		}
		if cs, err := s.d.Cases.ForQuery(ctx, tx, f.cs.Number); err != nil {
			return err
		} else if cs.Status != cases.Open || !slices.Contains(cs.MemberIDs(), by.ID) {
			return fault.New(fault.Conflict, "case %s changed while the query was being checked (it is %s); submit the query again", cs.Number, cs.Status)
		}
		if rec.ID == 0 {
			if err := s.d.Queries.Insert(ctx, tx, &rec); err != nil {
				return err
			}
		} else if err := s.d.Queries.Update(ctx, tx, &rec, from); err != nil {
			return err
		}
		if err := s.recordDecision(ctx, tx, by, &rec, dec, in); err != nil {
			return err
		}
		if f.key == nil {
			k, err := s.caseKey(ctx, tx, f.cs.ID)
			if err != nil {
				return err
			}
			f.key = k
		}
		_, err := s.append(ctx, tx, by, "query.started", &rec, map[string]any{"approvals": approvalsData}, "")
		return err
	})
	if err != nil {
		return Outcome{}, err
	}
	res, err := s.call(ctx, &f)
	if err != nil {
		return s.failed(ctx, by, rec, err)
	}
	res.Salt = randomSalt()
	// Screening sees pseudonyms only. A screener that fails withholds.
	var scr Screening
	if s.d.Screener != nil {
		in := ScreenInput{QueryID: rec.ID, Requester: by, Person: f.person, Case: f.cs, Source: f.src, Request: f.checked,
			DeviceTag: s.deviceTag(f.src.ID, f.raw), At: s.d.DB.Now()}
		if scr, err = s.d.Screener.ScreenResult(ctx, in, res); err != nil {
			s.d.Logger.Error("result screening failed; results withheld", "query", rec.ID, "err", err)
			scr = Screening{Withhold: true, Flags: []string{"screening_failed"}}
		}
	}
	body := res.Encode()
	digest := ledger.PayloadDigest(body)
	days := s.d.Settings.Int(ctx, settings.ResultRetentionDays)
	rec.Status, rec.ResultCount, rec.ResultDigest = query.Completed, res.Count(), digest
	typ := "query.completed"
	if scr.Withhold {
		rec.Status, typ = query.Withheld, "query.withheld"
		rec.Reasons = []string{"results withheld pending privacy review"}
	}
	var ref store.Ref
	// The source has answered: the answer is recorded even if the requester
	// has gone away meanwhile.
	ctx = context.WithoutCancel(ctx)
	err = s.d.DB.Update(ctx, func(tx *store.Tx) error {
		retain := tx.Now.Add(time.Duration(days) * 24 * time.Hour)
		if err := s.storeDevices(ctx, tx, rec.ID, f, res, retain); err != nil {
			return err
		}
		if err := s.d.Queries.PutResult(ctx, tx, rec.ID, s.d.Secrets.Seal(body, resultBinding(rec.ID)), digest, retain); err != nil {
			return err
		}
		if err := s.d.Queries.Update(ctx, tx, &rec, query.Running); err != nil {
			return err
		}
		extra := map[string]any{"result_count": rec.ResultCount, "approvals": approvalsData, "retain_until": retain.Format(time.RFC3339)}
		if len(scr.Flags) > 0 {
			extra["flags"] = scr.Flags
		}
		if ids, err := s.raise(ctx, tx, scr.Alerts); err != nil {
			return err
		} else if len(ids) > 0 {
			refs := make([]any, len(ids))
			for i, id := range ids {
				refs[i] = id
			}
			extra["alerts"] = refs
		}
		var err error
		if ref, err = s.append(ctx, tx, by, typ, &rec, extra, digest); err != nil {
			return err
		}
		if s.d.Reviews != nil {
			_, err = s.d.Reviews.Open(ctx, tx, rec)
		}
		return err
	})
	if err != nil {
		// The results are not stored and not returned: the call stays on
		// record as started and never completed.
		return Outcome{}, err
	}
	out := Outcome{Query: rec}
	out.Receipt, err = s.receipt(ctx, ref)
	if rec.Status == query.Withheld {
		out.Message = "results withheld pending privacy review"
		return out, err
	}
	out.Result = &res
	out.Message = resultMessage(res)
	return out, err
}

// raise raises the screening's alerts in tx.
func (s *Service) raise(ctx context.Context, tx *store.Tx, as []alerts.Alert) ([]int64, error) {
	if len(as) > 0 && s.d.Alerts == nil {
		return nil, fault.New(fault.Internal, "the screening raised alerts, but there is nowhere to raise them")
	}
	var ids []int64
	for _, a := range as {
		id, err := s.d.Alerts.Raise(ctx, tx, a)
		if err != nil {
			return nil, fmt.Errorf("raise a %s alert: %w", a.Detector, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func resultMessage(res query.Result) string {
	switch res.Kind {
	case query.Area:
		return pluralize(len(res.Devices), "device") + " seen in the area"
	case query.DeviceHistory:
		return pluralize(len(res.Pings), "ping") + " of " + res.Device
	}
	return "identifier of " + res.Device + " revealed"
}

func pluralize(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return itoa(n) + " " + what + "s"
}

// call asks the connector and pseudonymizes what it answers.
func (s *Service) call(ctx context.Context, f *facts) (query.Result, error) {
	res := query.Result{Kind: f.checked.Kind}
	if f.checked.Kind == query.Unmask {
		res.Device, res.Revealed = f.checked.Device, f.raw
		return res, nil
	}
	conn, err := s.d.Connectors.For(ctx, f.src)
	if err != nil {
		return res, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.d.Timeout)
	defer cancel()
	switch f.checked.Kind {
	case query.Area:
		devs, err := conn.AreaSearch(cctx, s.areaRequest(*f))
		if err != nil {
			return res, err
		}
		if len(devs) > s.d.Limits.MaxDevices {
			return res, fault.New(fault.Invalid, "more than %d devices were seen there; narrow the area or the window", s.d.Limits.MaxDevices)
		}
		res.Devices = make([]query.Device, len(devs))
		raws := make(map[string]string, len(devs))
		for i, d := range devs {
			p := query.Pseudonym(f.key, f.src.ID, d.Device)
			raws[p] = d.Device
			res.Devices[i] = query.Device{Device: p, FirstSeen: d.FirstSeen.UTC(), LastSeen: d.LastSeen.UTC(), Pings: d.Pings}
		}
		// Order by pseudonym: the source's order would leak its identifiers' order.
		sort.Slice(res.Devices, func(i, j int) bool { return res.Devices[i].Device < res.Devices[j].Device })
		f.rawOf = raws
	case query.DeviceHistory:
		pings, err := conn.DeviceHistory(cctx, connector.DeviceRequest{Device: f.raw, From: f.checked.From, To: f.checked.To, Limit: s.d.Limits.MaxPings})
		if err != nil {
			return res, err
		}
		if len(pings) > s.d.Limits.MaxPings {
			return res, fault.New(fault.Invalid, "the device has more than %d pings in the window; narrow the window", s.d.Limits.MaxPings)
		}
		res.Device = f.checked.Device
		res.Pings = make([]query.Ping, len(pings))
		for i, p := range pings {
			res.Pings[i] = query.Ping{Time: p.Time.UTC(), Lat: p.Lat, Lon: p.Lon, AccuracyM: p.AccuracyM}
		}
	}
	return res, nil
}

// storeDevices keeps the identifiers behind an area search's new
// pseudonyms (sealed), and extends the retention of those it names again.
func (s *Service) storeDevices(ctx context.Context, tx *store.Tx, queryID int64, f facts, res query.Result, retain time.Time) error {
	var ps []string
	switch res.Kind {
	case query.Area:
		for _, d := range res.Devices {
			ps = append(ps, d.Device)
		}
	case query.DeviceHistory, query.Unmask:
		ps = []string{res.Device}
	}
	if len(ps) == 0 {
		return nil
	}
	known, err := s.d.Queries.KnownPseudonyms(ctx, tx, f.cs.ID, ps)
	if err != nil {
		return err
	}
	devs := make([]store.CaseDevice, len(ps))
	for i, p := range ps {
		devs[i] = store.CaseDevice{Pseudonym: p, SourceID: f.src.ID}
		if !known[p] {
			raw, ok := f.rawOf[p]
			if !ok {
				return fault.New(fault.Internal, "device %s has no identifier", p)
			}
			devs[i].Sealed = s.d.Secrets.Seal([]byte(raw), deviceBinding(f.cs.ID, p))
		}
	}
	return s.d.Queries.PutDevices(ctx, tx, f.cs.ID, queryID, devs, retain)
}

// caseKey returns the case's pseudonym key, creating it on first use.
func (s *Service) caseKey(ctx context.Context, tx *store.Tx, caseID int64) (query.CaseKey, error) {
	sk, err := s.d.Queries.CaseKey(ctx, tx, caseID)
	if err != nil {
		return nil, err
	}
	if sk != nil {
		return s.openCaseKey(caseID, sk)
	}
	k := make([]byte, 32)
	rand.Read(k)
	if err := s.d.Queries.PutCaseKey(ctx, tx, caseID, s.d.Secrets.Seal(k, caseKeyBinding(caseID))); err != nil {
		return nil, err
	}
	return k, nil
}

// failed records a failed call; nothing of its results is kept.
func (s *Service) failed(ctx context.Context, by auth.Principal, rec store.QueryRecord, cause error) (Outcome, error) {
	msg, code := "the data source failed to answer", fault.Unavailable
	var ce *connector.Error
	switch {
	case errors.As(cause, &ce):
		msg = ce.Error()
	case errors.Is(cause, context.DeadlineExceeded):
		msg, code = "the data source did not answer in time", fault.Timeout
	case errors.Is(cause, context.Canceled):
		msg = "the request was cancelled before the data source answered"
	case fault.CodeOf(cause) == fault.Invalid:
		msg, code = fault.MessageOf(cause), fault.Invalid
	default:
		s.d.Logger.Error("connector call failed", "query", rec.ID, "source", rec.SourceName, "err", cause)
	}
	rec.Status, rec.Reasons = query.Failed, []string{msg}
	// Recorded even when the requester has gone away (a cancelled request
	// is a failure like any other).
	ctx = context.WithoutCancel(ctx)
	err := s.d.DB.Update(ctx, func(tx *store.Tx) error {
		if err := s.d.Queries.Update(ctx, tx, &rec, query.Running); err != nil {
			return err
		}
		_, err := s.append(ctx, tx, by, "query.failed", &rec, map[string]any{"reason": msg}, "")
		return err
	})
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Query: rec, Message: fmt.Sprintf("query %d failed: %s", rec.ID, msg)}, fault.New(code, "query %d failed: %s", rec.ID, msg)
}

func approvalsJSON(as []store.Approval) []any {
	out := []any{}
	for _, a := range as {
		if a.Decision == "approved" {
			out = append(out, map[string]any{"by": a.EmployeeID, "capacity": a.Capacity, "at": a.DecidedAt.UTC().Format(time.RFC3339)})
		}
	}
	return out
}
