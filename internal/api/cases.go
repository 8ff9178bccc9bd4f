package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/store"
)

// caseRoutes are the routes of cases. Reading is routed to every person:
// the store shows each the cases they may see (their component's with
// cases.read, and those they are a member of), and a case they may not see
// does not exist for them. Changes need cases.manage, in the case's
// component.
func (a *API) caseRoutes() []Route {
	routes := []Route{
		{Method: "GET", Pattern: "/api/v1/cases", Perm: auth.Self, Handler: a.listCases},
		{Method: "POST", Pattern: "/api/v1/cases", Perm: auth.CasesManage, Handler: a.createCase},
		{Method: "GET", Pattern: "/api/v1/cases/{number}", Perm: auth.Self, Handler: a.getCase},
		{Method: "POST", Pattern: "/api/v1/cases/{number}/members", Perm: auth.CasesManage, Handler: a.addCaseMember},
		{Method: "DELETE", Pattern: "/api/v1/cases/{number}/members/{employee_id}", Perm: auth.CasesManage, Handler: a.removeCaseMember},
		{Method: "POST", Pattern: "/api/v1/cases/{number}/status", Perm: auth.CasesManage, Handler: a.setCaseStatus},
		{Method: "POST", Pattern: "/api/v1/cases/{number}/legal-process", Perm: auth.CasesManage, Handler: a.addLegalProcess},
		{Method: "POST", Pattern: "/api/v1/cases/{number}/evidence-hold", Perm: auth.CasesManage, Handler: a.setEvidenceHold},
	}
	for i := range routes {
		routes[i].Handler = withCaseFieldErrors(routes[i].Handler)
	}
	return routes
}

// withCaseFieldErrors answers a validation error with the fields at fault,
// as well as the message naming them: {"error": {"code", "message",
// "fields": [{"field", "message"}]}}.
func withCaseFieldErrors(h func(http.ResponseWriter, *http.Request, auth.Principal) error) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		err := h(w, r, p)
		if ve, ok := errors.AsType[*cases.ValidationError](err); ok && fault.CodeOf(err) == fault.Invalid {
			return writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
				"code": string(fault.Invalid), "message": fault.MessageOf(err), "fields": ve.Fields,
			}})
		}
		return err
	}
}

type caseMemberJSON struct {
	PersonID   int64     `json:"person_id"`
	EmployeeID string    `json:"employee_id"`
	Name       string    `json:"name"`
	AddedAt    time.Time `json:"added_at"`
	AddedBy    string    `json:"added_by"`
}

type legalProcessJSON struct {
	Kind      cases.Kind `json:"kind"`
	Reference string     `json:"reference"`
	IssuedOn  string     `json:"issued_on"`
	ExpiresOn *string    `json:"expires_on"`
	InForce   bool       `json:"in_force"`
	AddedAt   time.Time  `json:"added_at"`
	AddedBy   string     `json:"added_by"`
}

type statusChangeJSON struct {
	From   cases.Status `json:"from"`
	To     cases.Status `json:"to"`
	Reason string       `json:"reason"`
	By     string       `json:"by"`
	At     time.Time    `json:"at"`
}

type caseJSON struct {
	ID             int64              `json:"id"`
	Number         string             `json:"number"`
	Title          string             `json:"title"`
	LegalAuthority string             `json:"legal_authority"`
	Predicate      string             `json:"predicate"`
	Status         cases.Status       `json:"status"`
	StatusReason   string             `json:"status_reason"`
	Component      string             `json:"component"`
	UnitID         *int64             `json:"unit_id"`
	Members        []caseMemberJSON   `json:"members"`
	LegalProcess   []legalProcessJSON `json:"legal_process"`
	EvidenceHold   bool               `json:"evidence_hold"`
	HoldReason     string             `json:"hold_reason"`
	HoldChangedAt  *time.Time         `json:"hold_changed_at"`
	HoldChangedBy  string             `json:"hold_changed_by"`
	CreatedBy      string             `json:"created_by"`
	CreatedAt      time.Time          `json:"created_at"`
	UpdatedAt      time.Time          `json:"updated_at"`
	ClosedAt       *time.Time         `json:"closed_at"`
	History        []statusChangeJSON `json:"history,omitempty"`
}

func toCaseJSON(c cases.Case, now time.Time) caseJSON {
	out := caseJSON{ID: c.ID, Number: c.Number, Title: c.Title, LegalAuthority: c.LegalAuthority, Predicate: c.Predicate, Status: c.Status,
		StatusReason: c.StatusReason, Component: c.Component, Members: []caseMemberJSON{}, LegalProcess: []legalProcessJSON{},
		EvidenceHold: c.EvidenceHold, HoldReason: c.HoldReason, HoldChangedAt: timePtr(c.HoldChangedAt), HoldChangedBy: c.HoldChangedBy,
		CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, ClosedAt: timePtr(c.ClosedAt)}
	if c.UnitID != 0 {
		out.UnitID = &c.UnitID
	}
	for _, m := range c.Members {
		out.Members = append(out.Members, caseMemberJSON{PersonID: m.PersonID, EmployeeID: m.EmployeeID, Name: m.Name, AddedAt: m.AddedAt, AddedBy: m.AddedBy})
	}
	for _, lp := range c.LegalProcess {
		out.LegalProcess = append(out.LegalProcess, legalProcessJSON{Kind: lp.Kind, Reference: lp.Reference, IssuedOn: lp.IssuedOn.Format(time.DateOnly),
			ExpiresOn: datePtr(lp.ExpiresOn), InForce: lp.InForce(now), AddedAt: lp.AddedAt, AddedBy: lp.AddedBy})
	}
	for _, h := range c.History {
		out.History = append(out.History, statusChangeJSON{From: h.From, To: h.To, Reason: h.Reason, By: h.By, At: h.At})
	}
	return out
}

// legalProcessBody is legal process as requests give it.
type legalProcessBody struct {
	Kind      cases.Kind `json:"kind"`
	Reference string     `json:"reference"`
	IssuedOn  string     `json:"issued_on"`  // YYYY-MM-DD
	ExpiresOn string     `json:"expires_on"` // YYYY-MM-DD, or "" when it does not expire
}

// parse returns the legal process of b, naming its fields with prefix.
func (b legalProcessBody) parse(prefix string) (cases.LegalProcess, error) {
	lp := cases.LegalProcess{Kind: b.Kind, Reference: b.Reference}
	var errs cases.Errors
	collect := func(err error) {
		if ve, ok := errors.AsType[*cases.ValidationError](err); ok {
			errs = append(errs, ve.Fields...)
		}
	}
	var err error
	lp.IssuedOn, err = cases.ParseDate(prefix+"issued_on", b.IssuedOn)
	collect(err)
	lp.ExpiresOn, err = cases.ParseDate(prefix+"expires_on", b.ExpiresOn)
	collect(err)
	return lp, errs.Err("the request is not valid")
}

type caseBody struct {
	Number         string             `json:"number"`
	Title          string             `json:"title"`
	LegalAuthority string             `json:"legal_authority"`
	Predicate      string             `json:"predicate"`
	Component      string             `json:"component"`
	UnitID         int64              `json:"unit_id"`
	Members        []string           `json:"members"`
	LegalProcess   []legalProcessBody `json:"legal_process"`
}

func (a *API) listCases(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	q := r.URL.Query()
	f := store.CaseFilter{Component: q.Get("component"), Member: q.Get("member")}
	if s := q.Get("status"); s != "" {
		st, err := cases.ParseStatus(s)
		if err != nil {
			return err
		}
		f.Status = st
	}
	list, err := a.deps.Cases.List(r.Context(), by, f)
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]caseJSON, 0, len(list))
	for _, c := range list {
		out = append(out, toCaseJSON(c, now))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"cases": out})
}

func (a *API) createCase(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body caseBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	c := cases.Case{Number: body.Number, Title: body.Title, LegalAuthority: body.LegalAuthority, Predicate: body.Predicate, Component: body.Component, UnitID: body.UnitID}
	for _, m := range body.Members {
		c.Members = append(c.Members, cases.Member{EmployeeID: m})
	}
	var errs cases.Errors
	for i, b := range body.LegalProcess {
		lp, err := b.parse(fmt.Sprintf("legal_process[%d].", i))
		if ve, ok := errors.AsType[*cases.ValidationError](err); ok {
			errs = append(errs, ve.Fields...)
		}
		c.LegalProcess = append(c.LegalProcess, lp)
	}
	if err := errs.Err("the request is not valid"); err != nil {
		return err
	}
	c, err := a.deps.Cases.Create(r.Context(), by, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toCaseJSON(c, time.Now()))
}

func (a *API) getCase(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	c, err := a.deps.Cases.Get(r.Context(), by, r.PathValue("number"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toCaseJSON(c, time.Now()))
}

func (a *API) addCaseMember(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		EmployeeID string `json:"employee_id"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	c, err := a.deps.Cases.AddMember(r.Context(), by, r.PathValue("number"), body.EmployeeID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toCaseJSON(c, time.Now()))
}

func (a *API) removeCaseMember(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	c, err := a.deps.Cases.RemoveMember(r.Context(), by, r.PathValue("number"), r.PathValue("employee_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toCaseJSON(c, time.Now()))
}

func (a *API) setCaseStatus(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	to, err := cases.ParseStatus(body.Status)
	if err != nil {
		return err
	}
	c, err := a.deps.Cases.SetStatus(r.Context(), by, r.PathValue("number"), to, body.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toCaseJSON(c, time.Now()))
}

func (a *API) addLegalProcess(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body legalProcessBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	lp, err := body.parse("")
	if err != nil {
		return err
	}
	c, err := a.deps.Cases.AddLegalProcess(r.Context(), by, r.PathValue("number"), lp)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toCaseJSON(c, time.Now()))
}

func (a *API) setEvidenceHold(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		Hold   *bool  `json:"hold"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Hold == nil {
		return cases.Errors{{Field: "hold", Message: "is required: true sets an evidence hold, false releases it"}}.Err("the request is not valid")
	}
	c, err := a.deps.Cases.SetEvidenceHold(r.Context(), by, r.PathValue("number"), *body.Hold, body.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toCaseJSON(c, time.Now()))
}
