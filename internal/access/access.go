// Package access is the audited query path: the only door to location
// telemetry. Every request, from the web, the API or the command line,
// takes the same steps:
//
//  1. the request is checked (fields, geometry, window, limits);
//  2. the requester's account: active, rules of behavior acknowledged,
//     training current;
//  3. the data source's privacy compliance gate;
//  4. the Cedar decision, over the case (open, members, legal process),
//     the source and the request;
//  5. the risk tier (area, window, expected devices, protected places,
//     policies that allow the query only with approval); a query whose
//     tier needs approval waits in awaiting_approval until its approvers
//     decide, and then the requester runs it;
//  6. the connector, with a timeout;
//  7. device identifiers replaced by the case's pseudonyms (HMAC under a
//     key per case);
//  8. the screening hook (misuse detection);
//  9. the results sealed and stored with a retention date;
//  10. one ledger entry committing to the request, the decision with its
//     reasons, the approvals and the result's digest; and
//  11. the answer with a receipt: the entry, a signed checkpoint and the
//     inclusion proof, verifiable offline.
//
// Refused and failed attempts are recorded too. Before the connector is
// asked, a "query.started" entry is written: if it cannot be, the
// connector is not asked (fail closed), and a crash during the call still
// leaves the call on record.
package access

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/store"
)

// Connectors gives the connector of a data source.
type Connectors interface {
	For(ctx context.Context, src privacy.Source) (connector.Connector, error)
}

// A Screening is what the screening hook found.
type Screening struct {
	// Withhold keeps the results from the requester pending privacy
	// review; they are stored all the same.
	Withhold bool
	// Flags are short codes recorded with the query.
	Flags []string
	// Alerts are raised in the transaction that records the query's
	// completion: if they cannot be, the results are neither stored nor
	// returned.
	Alerts []alerts.Alert
}

// A Screener inspects requests before they are decided and results
// before they are returned. The misuse detectors implement it.
type Screener interface {
	// ScreenRequest returns risk flags (query.Flag…) for a request.
	ScreenRequest(ctx context.Context, in ScreenInput) ([]string, error)
	// ScreenResult inspects a result, still carrying pseudonyms only.
	ScreenResult(ctx context.Context, in ScreenInput, res query.Result) (Screening, error)
}

// ScreenInput describes the query being screened.
type ScreenInput struct {
	QueryID   int64 // 0 before the query is stored
	Requester auth.Principal
	Person    identity.Person
	Case      cases.Case
	Source    privacy.Source
	Request   query.Checked
	// DeviceTag is the keyed hash of a device history's or unmasking's
	// device, the same across cases; "" for area searches.
	DeviceTag string
	// At is when the request is submitted, or the query runs.
	At time.Time
}

// Deps are the service's collaborators.
type Deps struct {
	DB         *store.DB
	Ledger     *store.Ledger
	Identity   *store.Identity
	Privacy    *store.Privacy
	Cases      *store.Cases
	Queries    *store.Queries
	Policies   *store.Policies
	Policy     *policy.Engine
	Settings   *settings.Service
	Secrets    *sealed.Key
	Connectors Connectors
	// Screener is the screening hook; nil screens nothing.
	Screener Screener
	// Alerts raises the screening's alerts; Reviews opens the review of
	// every executed query as it completes. Both may be nil (tests of
	// the path alone); a screening with alerts then fails closed.
	Alerts  *store.Alerts
	Reviews *store.Reviews
	// Limits and Thresholds default to query.DefaultLimits and
	// query.DefaultThresholds.
	Limits     query.Limits
	Thresholds query.Thresholds
	// Timeout bounds a connector call (default 30 s).
	Timeout time.Duration
	// ApprovalValidity is how long an approval may wait to be used
	// (default 24 h).
	ApprovalValidity time.Duration
	Logger           *slog.Logger
}

// A Service runs queries.
type Service struct {
	d      Deps
	tagKey []byte // keys device tags
}

// New returns the query service.
func New(d Deps) *Service {
	if d.Limits.MaxWindow == 0 {
		d.Limits = query.DefaultLimits()
	}
	if d.Thresholds == (query.Thresholds{}) {
		d.Thresholds = query.DefaultThresholds()
	}
	if d.Timeout == 0 {
		d.Timeout = 30 * time.Second
	}
	if d.ApprovalValidity == 0 {
		d.ApprovalValidity = 24 * time.Hour
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{d: d}
	if d.Secrets != nil {
		s.tagKey = d.Secrets.Derive("device-tag")
	}
	return s
}

// An Outcome is what a request came to.
type Outcome struct {
	Query store.QueryRecord
	// Result is set when the query completed and its results are the
	// requester's to see.
	Result *query.Result
	// Receipt proves the query's final ledger entry.
	Receipt *ledger.Receipt
	// Message tells the requester what happened, in a sentence.
	Message string
}

// facts is what a decision is made from.
type facts struct {
	checked query.Checked
	person  identity.Person
	access  identity.AccessFacts
	src     privacy.Source
	gate    privacy.GateStatus
	cs      cases.Case
	key     query.CaseKey // nil until the case has one
	device  store.CaseDevice
	raw     string // the device's source identifier, for histories and unmaskings
	// rawOf maps an area search's pseudonyms to the source's identifiers.
	rawOf map[string]string
}

// refusal is a reason a request is refused at a step before execution.
type refusal struct {
	stage   string // invalid, account, case, gate, policy, approval
	reasons []string
	cause   error
}

func (r *refusal) Error() string { return strings.Join(r.reasons, "; ") }

func refuse(stage string, reasons ...string) *refusal {
	return &refusal{stage: stage, reasons: reasons}
}

// Submit takes a new request through the path. A refusal returns the
// stored query and a Forbidden or Invalid error whose message lists the
// reasons; a query that needs approval returns in awaiting_approval.
func (s *Service) Submit(ctx context.Context, by auth.Principal, r query.Request) (Outcome, error) {
	if by.Kind != ledger.ActorUser || by.PersonID == 0 {
		return Outcome{}, fault.New(fault.Forbidden, "only a named person may query data; sign in with your own account")
	}
	rec := store.QueryRecord{
		PersonID: by.PersonID, EmployeeID: by.ID, Component: by.Component,
		CaseNumber: clip(r.Case, 64), SourceName: clip(r.Source, 64), Kind: query.Kind(clip(string(r.Kind), 32)), Device: clip(r.Device, 200),
		BreakGlass: r.BreakGlass != "",
	}
	reqJSON, err := json.Marshal(r)
	if err != nil {
		return Outcome{}, fault.Wrap(err, fault.Invalid, "the request cannot be encoded")
	}
	rec.Request, rec.RequestDigest = reqJSON, ledger.PayloadDigest(reqJSON)
	if !by.Can(auth.DataAccess) {
		return s.refused(ctx, by, &rec, facts{}, refuse("account", "your roles do not include using data"), nil, nil)
	}
	f, rf := s.gather(ctx, by, r)
	if rf != nil {
		return s.refused(ctx, by, &rec, f, rf, nil, nil)
	}
	rec.CaseID, rec.SourceID = f.cs.ID, f.src.ID
	if f.checked.Kind != query.Area && query.IsPseudonym(f.checked.Device) {
		rec.Device = f.checked.Device
	}
	rec.DeviceTag = s.deviceTag(f.src.ID, f.raw)
	risk, rf := s.assess(ctx, by, f)
	if rf != nil {
		return s.refused(ctx, by, &rec, f, rf, nil, &risk)
	}
	dec, in := s.decide(by, f, risk.Flags, false, r.BreakGlass != "")
	if !dec.Allowed && r.BreakGlass == "" {
		// Would the policies allow it once approved?
		if dec2, in2 := s.decide(by, f, risk.Flags, true, false); dec2.Allowed {
			risk.PolicyNeedsApproval = true
			dec, in = dec2, in2
		}
	}
	if !dec.Allowed {
		return s.refused(ctx, by, &rec, f, refuse("policy", decisionReasons(dec)...), &decided{dec, in}, &risk)
	}
	tier, why := risk.Assess(s.d.Thresholds)
	rec.Tier = tier
	rec.Risk, _ = json.Marshal(riskJSON{Risk: risk, Tier: tier.String(), Why: why})
	rec.Decision = decisionJSON(dec)
	if tier.NeedsApproval() && r.BreakGlass == "" {
		rec.Status = query.AwaitingApproval
		rec.Reasons = why
		var ref store.Ref
		err := s.d.DB.Update(ctx, func(tx *store.Tx) error {
			if err := s.d.Queries.Insert(ctx, tx, &rec); err != nil {
				return err
			}
			if err := s.recordDecision(ctx, tx, by, &rec, dec, in); err != nil {
				return err
			}
			var err error
			ref, err = s.append(ctx, tx, by, "query.awaiting_approval", &rec, map[string]any{"required": requiredCapacities(tier)}, "")
			return err
		})
		if err != nil {
			return Outcome{}, err
		}
		rc, err := s.receipt(ctx, ref)
		return Outcome{Query: rec, Receipt: rc, Message: "the query waits for approval by " + approversText(tier) + ": " + strings.Join(why, "; ")}, err
	}
	return s.execute(ctx, by, rec, f, dec, in, nil)
}

// gather checks the request and reads what deciding it needs: the
// account, the case, the source and its gate.
func (s *Service) gather(ctx context.Context, by auth.Principal, r query.Request) (facts, *refusal) {
	var f facts
	now := s.d.DB.Now()
	var err error
	if f.checked, err = r.Check(now, s.d.Limits); err != nil {
		return f, &refusal{stage: "invalid", reasons: []string{fault.MessageOf(err)}, cause: err}
	}
	// On PostgreSQL a read-write transaction, though it writes nothing:
	// the case and the source are read as the acting transaction reads
	// them (locked). SQLite locks nothing; a read transaction keeps the
	// single writer free.
	txn := s.d.DB.View
	if s.d.DB.Dialect() == store.Postgres {
		txn = s.d.DB.Update
	}
	err = txn(ctx, func(tx *store.Tx) error {
		var err error
		if f.src, err = s.d.Privacy.SourceByName(ctx, tx, r.Source); err != nil {
			return err
		}
		if f.gate, err = s.d.Privacy.PeekGate(ctx, tx, f.src.ID); err != nil {
			return err
		}
		if f.cs, err = s.d.Cases.ForQuery(ctx, tx, r.Case); err != nil {
			return err
		}
		if sk, err := s.d.Queries.CaseKey(ctx, tx, f.cs.ID); err != nil {
			return err
		} else if sk != nil {
			if f.key, err = s.openCaseKey(f.cs.ID, sk); err != nil {
				return err
			}
		}
		return s.resolveDevice(ctx, tx, by, &f)
	})
	if err != nil {
		if fault.CodeOf(err) == fault.Internal {
			return f, &refusal{stage: "error", reasons: []string{"the request could not be checked"}, cause: err}
		}
		return f, &refusal{stage: "case", reasons: []string{fault.MessageOf(err)}, cause: err}
	}
	if f.access, err = s.d.Identity.AccessFacts(ctx, by.PersonID, f.src.RulesKey); err != nil {
		return f, &refusal{stage: "error", reasons: []string{"your account could not be checked"}, cause: err}
	}
	f.person = f.access.Person
	if lapses := identity.Lapses(f.access); len(lapses) > 0 {
		rs := make([]string, len(lapses))
		for i, l := range lapses {
			rs[i] = l.Message + " (" + l.Fix + ")"
		}
		return f, refuse("account", rs...)
	}
	if !f.gate.Usable {
		rs := make([]string, len(f.gate.Missing))
		for i, m := range f.gate.Missing {
			rs[i] = m.Message
		}
		return f, refuse("gate", append([]string{"data source " + f.src.Name + " may not be used"}, rs...)...)
	}
	return f, nil
}

// resolveDevice finds the source identifier behind a device history's or
// an unmasking's device.
func (s *Service) resolveDevice(ctx context.Context, tx *store.Tx, by auth.Principal, f *facts) error {
	if f.checked.Kind == query.Area {
		return nil
	}
	dev := f.checked.Device
	if !query.IsPseudonym(dev) {
		// A raw identifier: allowed only when an approved unmasking in this
		// case revealed it to this requester.
		if f.key == nil {
			return fault.New(fault.Forbidden, "device: give a pseudonym from a result of this case; a raw identifier may be used only after an approved unmasking revealed it to you in this case")
		}
		p := query.Pseudonym(f.key, f.src.ID, dev)
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM queries WHERE case_id = $1 AND person_id = $2 AND kind = 'unmask' AND status = 'completed' AND device = $3`,
			f.cs.ID, by.PersonID, p).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fault.New(fault.Forbidden, "device: a raw identifier may be used only after an approved unmasking revealed it to you in this case; give its pseudonym instead")
		}
		f.checked.Device = p
		dev = p
	}
	d, err := s.d.Queries.CaseDevice(ctx, tx, f.cs.ID, dev)
	if err != nil {
		return err
	}
	if d.SourceID != f.src.ID {
		return fault.New(fault.Invalid, "device %s was found in another data source than %s", dev, f.src.Name)
	}
	raw, err := s.d.Secrets.Open(d.Sealed, deviceBinding(f.cs.ID, dev))
	if err != nil {
		return fault.Wrap(err, fault.Internal, "the device identifier cannot be opened")
	}
	f.device, f.raw = d, string(raw)
	return nil
}

// assess gathers the risk: expected devices, request screening, off-hours.
func (s *Service) assess(ctx context.Context, by auth.Principal, f facts) (query.Risk, *refusal) {
	risk := query.Risk{Kind: f.checked.Kind, AreaKm2: f.checked.AreaKm2(), WindowHours: f.checked.WindowHours, ExpectedDevices: -1}
	if f.checked.Kind != query.Area {
		risk.ExpectedDevices = 1
	}
	if !f.person.Schedule.OnDuty(s.d.DB.Now()) && f.person.Schedule.TimeZone != "" {
		risk.Flags = append(risk.Flags, query.FlagOffHours)
	}
	if f.checked.Kind == query.Area {
		if conn, err := s.d.Connectors.For(ctx, f.src); err == nil {
			if est, ok := conn.(connector.Estimator); ok {
				ectx, cancel := context.WithTimeout(ctx, s.d.Timeout)
				n, err := est.EstimateDevices(ectx, s.areaRequest(f))
				cancel()
				if err == nil {
					risk.ExpectedDevices = n
				} else {
					s.d.Logger.Warn("device estimate failed", "source", f.src.Name, "err", err)
				}
			}
		}
	}
	if s.d.Screener != nil {
		flags, err := s.d.Screener.ScreenRequest(ctx, ScreenInput{Requester: by, Person: f.person, Case: f.cs, Source: f.src, Request: f.checked,
			DeviceTag: s.deviceTag(f.src.ID, f.raw), At: s.d.DB.Now()})
		if err != nil {
			// Screening that fails must not let a query through unseen.
			return risk, &refusal{stage: "error", reasons: []string{"the request could not be screened; try again later"}, cause: err}
		}
		risk.Flags = append(risk.Flags, flags...)
	}
	slices.Sort(risk.Flags)
	risk.Flags = slices.Compact(risk.Flags)
	return risk, nil
}

type decided struct {
	dec policy.Decision
	in  *policy.Input
}

var actionOf = map[query.Kind]policy.Action{query.Area: policy.QueryArea, query.DeviceHistory: policy.QueryDeviceHistory, query.Unmask: policy.QueryUnmask}

// decide asks Cedar.
func (s *Service) decide(by auth.Principal, f facts, flags []string, preApproved, breakGlass bool) (policy.Decision, *policy.Input) {
	var roles []string
	for _, g := range f.access.Grants {
		if g.Status == identity.GrantActive {
			roles = append(roles, string(g.Role))
		}
	}
	slices.Sort(roles)
	missing := make([]string, len(f.gate.Missing))
	for i, m := range f.gate.Missing {
		missing[i] = m.Code
	}
	lapses := identity.Lapses(f.access)
	has := func(codes ...string) bool {
		return slices.ContainsFunc(lapses, func(l identity.Lapse) bool { return slices.Contains(codes, l.Code) })
	}
	req := policy.Request{
		Action: actionOf[f.checked.Kind],
		Principal: policy.Principal{EmployeeID: by.ID, Component: f.person.Component, Roles: roles,
			AccountActive: f.person.Status == identity.Active, TrainingCurrent: !has("training_missing", "training_expired"), RulesAcknowledged: !has("rules_unacknowledged", "rules_expired")},
		Query: policy.Query{ID: "request", Case: policy.Case{Number: f.cs.Number, Component: f.cs.Component, Status: string(f.cs.Status), Members: f.cs.MemberIDs(), LegalProcess: f.cs.LegalRefs(s.d.DB.Now())},
			Source:  policy.DataSource{Name: f.src.Name, Usable: f.gate.Usable, Missing: missing, Connector: string(f.src.Connector), Categories: f.src.Categories},
			AreaKM2: f.checked.AreaKm2(), WindowHours: f.checked.WindowHours, LegalProcessRef: f.checked.LegalProcess,
			PreApproved: preApproved || breakGlass, Justification: f.checked.Justification, RiskFlags: flags},
		OffHours: slices.Contains(flags, query.FlagOffHours),
	}
	return s.d.Policy.DecideRequest(req)
}

func decisionReasons(d policy.Decision) []string {
	var out []string
	if d.Refusal != "" {
		out = append(out, d.Refusal)
	}
	for _, x := range d.Determining {
		if x.Reason != "" {
			out = append(out, x.Reason)
		} else {
			out = append(out, "policy "+x.ID)
		}
	}
	if len(d.Errors) > 0 {
		out = append(out, "a policy could not be evaluated, so the request is refused")
	}
	if len(out) == 0 {
		out = append(out, "no policy allows this request")
	}
	return out
}

func decisionJSON(d policy.Decision) json.RawMessage {
	b, _ := json.Marshal(struct {
		Allowed  bool     `json:"allowed"`
		Policies []string `json:"policies"`
		Reasons  []string `json:"reasons"`
	}{d.Allowed, d.PolicyIDs(), decisionReasons(d)})
	return b
}

type riskJSON struct {
	query.Risk
	Tier string   `json:"tier"`
	Why  []string `json:"why,omitempty"`
}

// refused records a refused request with its ledger entry, and returns
// the refusal as an error.
func (s *Service) refused(ctx context.Context, by auth.Principal, rec *store.QueryRecord, f facts, rf *refusal, d *decided, risk *query.Risk) (Outcome, error) {
	if rf.cause != nil && rf.stage == "error" {
		s.d.Logger.Error("query refused on an error", "employee_id", by.ID, "err", rf.cause)
	}
	rec.Status, rec.Reasons = query.Refused, rf.reasons
	if !rec.Kind.Valid() {
		rec.Kind = "invalid"
	}
	rec.CaseID, rec.SourceID = f.cs.ID, f.src.ID
	if d != nil {
		rec.Decision = decisionJSON(d.dec)
	}
	if risk != nil {
		rec.Risk, _ = json.Marshal(risk)
	}
	var ref store.Ref
	err := s.d.DB.Update(ctx, func(tx *store.Tx) error {
		if err := s.d.Queries.Insert(ctx, tx, rec); err != nil {
			return err
		}
		if d != nil && d.in != nil {
			if err := s.recordDecision(ctx, tx, by, rec, d.dec, d.in); err != nil {
				return err
			}
		}
		var err error
		ref, err = s.append(ctx, tx, by, "query.refused", rec, map[string]any{"stage": rf.stage, "reasons": rf.reasons}, "")
		return err
	})
	if err != nil {
		return Outcome{}, err
	}
	rc, _ := s.receipt(ctx, ref)
	code := fault.Forbidden
	switch rf.stage {
	case "invalid":
		code = fault.Invalid
	case "case":
		code = fault.CodeOf(rf.cause)
	case "error":
		code = fault.Unavailable
	}
	msg := "query " + strconv.FormatInt(rec.ID, 10) + " refused: " + strings.Join(rf.reasons, "; ")
	return Outcome{Query: *rec, Receipt: rc, Message: msg}, fault.New(code, "%s", msg)
}

func (s *Service) recordDecision(ctx context.Context, tx *store.Tx, by auth.Principal, rec *store.QueryRecord, dec policy.Decision, in *policy.Input) error {
	_, err := s.d.Policies.RecordDecision(ctx, tx, store.DecisionRecord{PersonID: by.PersonID, Actor: by.ID, Component: by.Component,
		Resource: querySubject(rec.ID), Input: in, Decision: dec})
	return err
}

// append writes a query's ledger entry.
func (s *Service) append(ctx context.Context, tx *store.Tx, by auth.Principal, typ string, rec *store.QueryRecord, extra map[string]any, digest string) (store.Ref, error) {
	data := map[string]any{
		"kind": string(rec.Kind), "status": string(rec.Status), "case": rec.CaseNumber, "source": rec.SourceName,
		"request_digest": rec.RequestDigest,
	}
	if rec.Tier != 0 {
		data["tier"] = rec.Tier.String()
	}
	if rec.Device != "" && query.IsPseudonym(rec.Device) {
		data["device"] = rec.Device
	}
	if len(rec.Decision) > 0 {
		var d any
		if json.Unmarshal(rec.Decision, &d) == nil {
			data["decision"] = d
		}
	}
	if rec.BreakGlass {
		data["break_glass"] = true
	}
	for k, v := range extra {
		data[k] = v
	}
	comp := rec.Component
	return s.d.Ledger.Append(ctx, tx, ledger.Event{Type: typ, Actor: by.Actor(), Component: comp, Subject: querySubject(rec.ID), Data: data, Digest: digest})
}

// receipt returns the receipt of an entry, or nil with the error logged:
// the action has happened and is recorded; only its proof is late.
func (s *Service) receipt(ctx context.Context, ref store.Ref) (*ledger.Receipt, error) {
	rc, err := s.d.Ledger.Receipt(ctx, ref)
	if err != nil {
		s.d.Logger.Error("receipt", "err", err)
		return nil, fault.Wrap(err, fault.Unavailable, "the query is recorded, but its receipt could not be produced yet; fetch it later from the query")
	}
	return &rc, nil
}

func (s *Service) areaRequest(f facts) connector.AreaRequest {
	return connector.AreaRequest{Area: f.checked.AreaOf, From: f.checked.From, To: f.checked.To, Limit: s.d.Limits.MaxDevices}
}

func requiredCapacities(t query.Tier) []string {
	if t >= query.Critical {
		return []string{capSupervisor, capPrivacy}
	}
	return []string{capSupervisor}
}

func approversText(t query.Tier) string {
	if t >= query.Critical {
		return "a supervisor in your chain and a component privacy officer"
	}
	return "a supervisor in your chain"
}

const (
	capSupervisor = "supervisor"
	capPrivacy    = "privacy_officer"
)

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

func deviceBinding(caseID int64, pseudonym string) string {
	return "case-device/" + strconv.FormatInt(caseID, 10) + "/" + pseudonym
}

func caseKeyBinding(caseID int64) string { return "case-key/" + strconv.FormatInt(caseID, 10) }

func resultBinding(queryID int64) string { return "query-result/" + strconv.FormatInt(queryID, 10) }

func (s *Service) openCaseKey(caseID int64, sk []byte) (query.CaseKey, error) {
	k, err := s.d.Secrets.Open(sk, caseKeyBinding(caseID))
	if err != nil {
		return nil, fault.Wrap(err, fault.Internal, "the case's pseudonym key cannot be opened")
	}
	return k, nil
}

func randomSalt() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func itoa(n int) string { return strconv.Itoa(n) }

// querySubject is a query's subject in the ledger.
func querySubject(id int64) string { return "query/" + strconv.FormatInt(id, 10) }
