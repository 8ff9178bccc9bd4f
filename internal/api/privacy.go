package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
)

// privacyRoutes are the privacy compliance routes: the inventory of systems
// and data sources with each source's gate, PTAs, PIAs and their workflow,
// and privacy compliance reviews. Workflow steps are routed to everyone
// who can see PIAs: the store decides who may take which step for the
// PIA's component, and records every refusal in the ledger.
func (a *API) privacyRoutes() []Route {
	routes := []Route{
		{Method: "GET", Pattern: "/api/v1/systems", Perm: auth.InventoryRead, Handler: a.listSystems},
		{Method: "POST", Pattern: "/api/v1/systems", Perm: auth.InventoryManage, Handler: a.createSystem},
		{Method: "GET", Pattern: "/api/v1/systems/{id}", Perm: auth.InventoryRead, Handler: a.getSystem},
		{Method: "PATCH", Pattern: "/api/v1/systems/{id}", Perm: auth.InventoryManage, Handler: a.updateSystem},

		{Method: "GET", Pattern: "/api/v1/sources", Perm: auth.InventoryRead, Handler: a.listSources},
		{Method: "POST", Pattern: "/api/v1/sources", Perm: auth.InventoryManage, Handler: a.createSource},
		{Method: "GET", Pattern: "/api/v1/sources/{id}", Perm: auth.InventoryRead, Handler: a.getSource},
		{Method: "PATCH", Pattern: "/api/v1/sources/{id}", Perm: auth.InventoryManage, Handler: a.updateSource},
		{Method: "POST", Pattern: "/api/v1/sources/{id}/suspend", Perm: auth.InventoryManage, Handler: a.suspendSource(true)},
		{Method: "POST", Pattern: "/api/v1/sources/{id}/reinstate", Perm: auth.InventoryManage, Handler: a.suspendSource(false)},
		{Method: "PUT", Pattern: "/api/v1/sources/{id}/credential", Perm: auth.InventoryManage, Handler: a.setCredential},
		{Method: "DELETE", Pattern: "/api/v1/sources/{id}/credential", Perm: auth.InventoryManage, Handler: a.removeCredential},
		{Method: "GET", Pattern: "/api/v1/sources/{id}/gate", Perm: auth.InventoryRead, Handler: a.sourceGate},

		{Method: "GET", Pattern: "/api/v1/ptas", Perm: auth.InventoryRead, Handler: a.listPTAs},
		{Method: "POST", Pattern: "/api/v1/ptas", Perm: auth.PIAWrite, Handler: a.recordPTA},
		{Method: "GET", Pattern: "/api/v1/ptas/{id}", Perm: auth.InventoryRead, Handler: a.getPTA},

		{Method: "GET", Pattern: "/api/v1/pias", Perm: auth.InventoryRead, Handler: a.listPIAs},
		{Method: "POST", Pattern: "/api/v1/pias", Perm: auth.PIAWrite, Handler: a.createPIA},
		{Method: "GET", Pattern: "/api/v1/pias/{id}", Perm: auth.InventoryRead, Handler: a.getPIA},
		{Method: "PUT", Pattern: "/api/v1/pias/{id}", Perm: auth.PIAWrite, Handler: a.editPIA},
		{Method: "POST", Pattern: "/api/v1/pias/{id}/submit", Perm: auth.InventoryRead, Handler: a.piaStep(privacy.Submit)},
		{Method: "POST", Pattern: "/api/v1/pias/{id}/review", Perm: auth.InventoryRead, Handler: a.piaStep(privacy.Accept)},
		{Method: "POST", Pattern: "/api/v1/pias/{id}/return", Perm: auth.InventoryRead, Handler: a.piaStep(privacy.Return)},
		{Method: "POST", Pattern: "/api/v1/pias/{id}/approve", Perm: auth.InventoryRead, Handler: a.piaStep(privacy.Approve)},
		{Method: "POST", Pattern: "/api/v1/pias/{id}/publish", Perm: auth.InventoryRead, Handler: a.piaStep(privacy.Publish)},
		{Method: "POST", Pattern: "/api/v1/pias/{id}/prior-approval", Perm: auth.InventoryRead, Handler: a.piaStep(privacy.RecordPrior)},
		{Method: "GET", Pattern: "/api/v1/pias/{id}/versions", Perm: auth.InventoryRead, Handler: a.piaVersions},
		{Method: "GET", Pattern: "/api/v1/pias/{id}/versions/{version}", Perm: auth.InventoryRead, Handler: a.piaVersion},
		{Method: "GET", Pattern: "/api/v1/pias/{id}/diff", Perm: auth.InventoryRead, Handler: a.piaDiff},

		{Method: "GET", Pattern: "/api/v1/pcrs", Perm: auth.InventoryRead, Handler: a.listPCRs},
		{Method: "POST", Pattern: "/api/v1/pcrs", Perm: auth.PCRManage, Handler: a.assignPCR},
		{Method: "POST", Pattern: "/api/v1/pcrs/{id}/complete", Perm: auth.PCRManage, Handler: a.completePCR},
	}
	for i := range routes {
		routes[i].Handler = withFieldErrors(routes[i].Handler)
	}
	return routes
}

// withFieldErrors answers a validation error with the fields at fault, as
// well as the message naming them: {"error": {"code", "message",
// "fields": [{"field", "message"}]}}.
func withFieldErrors(h func(http.ResponseWriter, *http.Request, auth.Principal) error) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		err := h(w, r, p)
		if ve, ok := errors.AsType[*privacy.ValidationError](err); ok && fault.CodeOf(err) == fault.Invalid {
			return writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
				"code": string(fault.Invalid), "message": fault.MessageOf(err), "fields": ve.Fields,
			}})
		}
		return err
	}
}

// dates are YYYY-MM-DD in the API; an empty string is no date.
func parseDate(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, privacy.Errors{{Field: field, Message: fmt.Sprintf("must be a date, YYYY-MM-DD, not %q", s)}}.Err("the request is not valid")
	}
	return d, nil
}

// A datePatch is an optional date field of a PATCH body: when in is set,
// its date goes to *out.
type datePatch struct {
	field string
	in    *string
	out   **time.Time
}

// parseDatePatches parses the dates of ds that are set.
func parseDatePatches(ds ...datePatch) error {
	for _, d := range ds {
		if d.in == nil {
			continue
		}
		t, err := parseDate(d.field, *d.in)
		if err != nil {
			return err
		}
		*d.out = &t
	}
	return nil
}

func datePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.DateOnly)
	return &s
}

// decodeOptional decodes a JSON body when there is one: steps may be
// posted without.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	return decodeJSON(w, r, v)
}

// Systems.

type systemJSON struct {
	ID         int64          `json:"id"`
	Name       string         `json:"name"`
	Component  string         `json:"component"`
	OwnerID    int64          `json:"owner_id"`
	ISSOID     int64          `json:"isso_id"`
	Impact     privacy.Impact `json:"impact"`
	ATOGranted *string        `json:"ato_granted"`
	ATOExpires *string        `json:"ato_expires"`
	ATOStatus  string         `json:"ato_status"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

func toSystemJSON(s privacy.System) systemJSON {
	return systemJSON{ID: s.ID, Name: s.Name, Component: s.Component, OwnerID: s.OwnerID, ISSOID: s.ISSOID, Impact: s.Impact,
		ATOGranted: datePtr(s.ATOGranted), ATOExpires: datePtr(s.ATOExpires), ATOStatus: s.ATOStatus(time.Now()), CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

type systemBody struct {
	Name       *string         `json:"name"`
	Component  *string         `json:"component"`
	OwnerID    *int64          `json:"owner_id"`
	ISSOID     *int64          `json:"isso_id"`
	Impact     *privacy.Impact `json:"impact"`
	ATOGranted *string         `json:"ato_granted"` // YYYY-MM-DD; "" clears
	ATOExpires *string         `json:"ato_expires"`
}

func (a *API) listSystems(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	systems, err := a.deps.Privacy.Systems(r.Context(), by, r.URL.Query().Get("component"))
	if err != nil {
		return err
	}
	out := []systemJSON{}
	for _, s := range systems {
		out = append(out, toSystemJSON(s))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"systems": out})
}

func (a *API) createSystem(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body systemBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	s := privacy.System{Name: deref(body.Name), Component: deref(body.Component), OwnerID: deref(body.OwnerID), ISSOID: deref(body.ISSOID), Impact: deref(body.Impact)}
	var err error
	if s.ATOGranted, err = parseDate("ato_granted", deref(body.ATOGranted)); err != nil {
		return err
	}
	if s.ATOExpires, err = parseDate("ato_expires", deref(body.ATOExpires)); err != nil {
		return err
	}
	s, err = a.deps.Privacy.CreateSystem(r.Context(), by, s)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toSystemJSON(s))
}

func (a *API) getSystem(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	s, err := a.deps.Privacy.System(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toSystemJSON(s))
}

func (a *API) updateSystem(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body systemBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Component != nil {
		return privacy.Errors{{Field: "component", Message: "cannot change: a system stays in its component"}}.Err("the request is not valid")
	}
	u := store.SystemUpdate{Name: body.Name, OwnerID: body.OwnerID, ISSOID: body.ISSOID, Impact: body.Impact}
	if err := parseDatePatches(datePatch{"ato_granted", body.ATOGranted, &u.ATOGranted}, datePatch{"ato_expires", body.ATOExpires, &u.ATOExpires}); err != nil {
		return err
	}
	s, err := a.deps.Privacy.UpdateSystem(r.Context(), by, id, u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toSystemJSON(s))
}

// Data sources and their gate.

type sourceJSON struct {
	ID                     int64             `json:"id"`
	Name                   string            `json:"name"`
	Title                  string            `json:"title"`
	Component              string            `json:"component"`
	SystemID               int64             `json:"system_id"`
	Vendor                 string            `json:"vendor"`
	ContractNumber         string            `json:"contract_number"`
	ContractStart          *string           `json:"contract_start"`
	ContractEnd            *string           `json:"contract_end"`
	Categories             []string          `json:"categories"`
	Connector              privacy.Connector `json:"connector"`
	RulesKey               string            `json:"rules_key"`
	CredentialConfigured   bool              `json:"credential_configured"`
	CredentialConfiguredAt *time.Time        `json:"credential_configured_at,omitempty"`
	Suspended              bool              `json:"suspended"`
	SuspendedAt            *time.Time        `json:"suspended_at,omitempty"`
	SuspendedBy            string            `json:"suspended_by,omitempty"`
	SuspendedReason        string            `json:"suspended_reason,omitempty"`
	CreatedAt              time.Time         `json:"created_at"`
	UpdatedAt              time.Time         `json:"updated_at"`
	Gate                   *gateJSON         `json:"gate,omitempty"`
}

// toSourceJSON shows a source; where its credential is kept is never shown,
// only whether it is configured.
func toSourceJSON(s privacy.Source) sourceJSON {
	return sourceJSON{ID: s.ID, Name: s.Name, Title: s.Title, Component: s.Component, SystemID: s.SystemID, Vendor: s.Vendor,
		ContractNumber: s.ContractNumber, ContractStart: datePtr(s.ContractStart), ContractEnd: datePtr(s.ContractEnd),
		Categories: s.Categories, Connector: s.Connector, RulesKey: s.RulesKey,
		CredentialConfigured: s.CredentialRef != "", CredentialConfiguredAt: timePtr(s.CredentialConfiguredAt),
		Suspended: s.Suspended(), SuspendedAt: timePtr(s.SuspendedAt), SuspendedBy: s.SuspendedBy, SuspendedReason: s.SuspendedReason,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

type missingJSON struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fix     string            `json:"fix"`
	Roles   []auth.Role       `json:"roles"`
	People  []privacy.Contact `json:"people"`
}

type gateJSON struct {
	SourceID         int64          `json:"source_id"`
	Source           string         `json:"source"`
	Component        string         `json:"component"`
	Usable           bool           `json:"usable"`
	Missing          []missingJSON  `json:"missing"`
	PIAID            int64          `json:"pia_id,omitempty"`
	PIAStatus        privacy.Status `json:"pia_status,omitempty"`
	EffectiveVersion int            `json:"effective_version,omitempty"`
	PIAExpiresAt     *time.Time     `json:"pia_expires_at,omitempty"`
	RulesKey         string         `json:"rules_key"`
	RulesVersion     int            `json:"rules_version"`
	CheckedAt        time.Time      `json:"checked_at"`
}

func toGateJSON(g privacy.GateStatus) gateJSON {
	out := gateJSON{SourceID: g.SourceID, Source: g.SourceName, Component: g.Component, Usable: g.Usable, Missing: []missingJSON{},
		PIAID: g.PIAID, PIAStatus: g.PIAStatus, EffectiveVersion: g.EffectiveVersion, PIAExpiresAt: timePtr(g.PIAExpiresAt),
		RulesKey: g.RulesKey, RulesVersion: g.RulesVersion, CheckedAt: g.CheckedAt}
	for _, m := range g.Missing {
		people := m.People
		if people == nil {
			people = []privacy.Contact{}
		}
		out.Missing = append(out.Missing, missingJSON{Code: m.Code, Message: m.Message, Fix: m.Fix, Roles: m.Roles, People: people})
	}
	return out
}

type sourceBody struct {
	Name           *string            `json:"name"`
	Title          *string            `json:"title"`
	SystemID       *int64             `json:"system_id"`
	Vendor         *string            `json:"vendor"`
	ContractNumber *string            `json:"contract_number"`
	ContractStart  *string            `json:"contract_start"` // YYYY-MM-DD; "" clears
	ContractEnd    *string            `json:"contract_end"`
	Categories     *[]string          `json:"categories"`
	Connector      *privacy.Connector `json:"connector"`
	RulesKey       *string            `json:"rules_key"`
}

func (a *API) listSources(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	ctx, comp := r.Context(), r.URL.Query().Get("component")
	sources, err := a.deps.Privacy.Sources(ctx, by, comp)
	if err != nil {
		return err
	}
	gates, err := a.deps.Privacy.GateStatuses(ctx, by, comp)
	if err != nil {
		return err
	}
	byID := map[int64]privacy.GateStatus{}
	for _, g := range gates {
		byID[g.SourceID] = g
	}
	out := []sourceJSON{}
	for _, s := range sources {
		j := toSourceJSON(s)
		if g, ok := byID[s.ID]; ok {
			gj := toGateJSON(g)
			j.Gate = &gj
		}
		out = append(out, j)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"sources": out})
}

func (a *API) createSource(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body sourceBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	s := privacy.Source{Name: deref(body.Name), Title: deref(body.Title), SystemID: deref(body.SystemID), Vendor: deref(body.Vendor),
		ContractNumber: deref(body.ContractNumber), Connector: deref(body.Connector), RulesKey: deref(body.RulesKey)}
	if body.Categories != nil {
		s.Categories = *body.Categories
	}
	var err error
	if s.ContractStart, err = parseDate("contract_start", deref(body.ContractStart)); err != nil {
		return err
	}
	if s.ContractEnd, err = parseDate("contract_end", deref(body.ContractEnd)); err != nil {
		return err
	}
	if s, err = a.deps.Privacy.CreateSource(r.Context(), by, s); err != nil {
		return err
	}
	return a.writeSource(w, r, by, http.StatusCreated, s)
}

// writeSource answers with a source and its gate now.
func (a *API) writeSource(w http.ResponseWriter, r *http.Request, by auth.Principal, status int, s privacy.Source) error {
	g, err := a.deps.Privacy.GateStatus(r.Context(), by, s.ID)
	if err != nil {
		return err
	}
	j := toSourceJSON(s)
	gj := toGateJSON(g)
	j.Gate = &gj
	return writeJSON(w, status, j)
}

func (a *API) getSource(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	s, err := a.deps.Privacy.Source(r.Context(), by, id)
	if err != nil {
		return err
	}
	return a.writeSource(w, r, by, http.StatusOK, s)
}

func (a *API) updateSource(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body sourceBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Name != nil {
		return privacy.Errors{{Field: "name", Message: "cannot change: a data source keeps its name"}}.Err("the request is not valid")
	}
	u := store.SourceUpdate{Title: body.Title, SystemID: body.SystemID, Vendor: body.Vendor, ContractNumber: body.ContractNumber,
		Categories: body.Categories, Connector: body.Connector, RulesKey: body.RulesKey}
	if err := parseDatePatches(datePatch{"contract_start", body.ContractStart, &u.ContractStart}, datePatch{"contract_end", body.ContractEnd, &u.ContractEnd}); err != nil {
		return err
	}
	s, err := a.deps.Privacy.UpdateSource(r.Context(), by, id, u)
	if err != nil {
		return err
	}
	return a.writeSource(w, r, by, http.StatusOK, s)
}

func (a *API) suspendSource(suspend bool) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
		id, reason, err := idAndReason(w, r)
		if err != nil {
			return err
		}
		var s privacy.Source
		if suspend {
			s, err = a.deps.Privacy.SuspendSource(r.Context(), by, id, reason)
		} else {
			s, err = a.deps.Privacy.ReinstateSource(r.Context(), by, id, reason)
		}
		if err != nil {
			return err
		}
		return a.writeSource(w, r, by, http.StatusOK, s)
	}
}

func (a *API) setCredential(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Reference string `json:"reference"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Reference) == "" {
		return privacy.Errors{{Field: "reference", Message: "name where the credential is kept, e.g. sealed:cbp-venntel (DELETE removes it)"}}.Err("the request is not valid")
	}
	s, err := a.deps.Privacy.SetCredential(r.Context(), by, id, body.Reference)
	if err != nil {
		return err
	}
	return a.writeSource(w, r, by, http.StatusOK, s)
}

func (a *API) removeCredential(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	s, err := a.deps.Privacy.SetCredential(r.Context(), by, id, "")
	if err != nil {
		return err
	}
	return a.writeSource(w, r, by, http.StatusOK, s)
}

func (a *API) sourceGate(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	g, err := a.deps.Privacy.GateStatus(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toGateJSON(g))
}

// PTAs.

type ptaJSON struct {
	ID        int64              `json:"id"`
	Subject   string             `json:"subject"`
	Component string             `json:"component"`
	Answers   privacy.PTAAnswers `json:"answers"`
	Outcome   privacy.PTAOutcome `json:"outcome"`
	AuthorID  int64              `json:"author_id"`
	CreatedAt time.Time          `json:"created_at"`
}

func toPTAJSON(p privacy.PTA) ptaJSON {
	return ptaJSON{ID: p.ID, Subject: p.Subject, Component: p.Component, Answers: p.Answers, Outcome: p.Outcome, AuthorID: p.AuthorID, CreatedAt: p.CreatedAt}
}

func (a *API) listPTAs(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	ptas, err := a.deps.Privacy.PTAs(r.Context(), by, r.URL.Query().Get("subject"))
	if err != nil {
		return err
	}
	out := []ptaJSON{}
	for _, p := range ptas {
		out = append(out, toPTAJSON(p))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ptas": out, "questions": privacy.PTAQuestions()})
}

func (a *API) recordPTA(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		Subject string             `json:"subject"`
		Answers privacy.PTAAnswers `json:"answers"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	p, err := a.deps.Privacy.RecordPTA(r.Context(), by, body.Subject, body.Answers)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toPTAJSON(p))
}

func (a *API) getPTA(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := a.deps.Privacy.PTA(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPTAJSON(p))
}

// PIAs.

type effectiveJSON struct {
	Version     int       `json:"version"`
	ApprovedAt  time.Time `json:"approved_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	PublishedAt time.Time `json:"published_at"`
	// PriorReference is the reference of an approval given before Probity.
	PriorReference string `json:"prior_reference,omitempty"`
}

type updateJSON struct {
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"`
}

type piaJSON struct {
	ID               int64          `json:"id"`
	SourceID         int64          `json:"source_id"`
	Component        string         `json:"component"`
	Title            string         `json:"title"`
	Status           privacy.Status `json:"status"`
	Version          int            `json:"version"`
	SubmittedVersion int            `json:"submitted_version,omitempty"`
	SubmittedAt      *time.Time     `json:"submitted_at,omitempty"`
	ApprovedVersion  int            `json:"approved_version,omitempty"`
	ApprovedAt       *time.Time     `json:"approved_at,omitempty"`
	ExpiresAt        *time.Time     `json:"expires_at,omitempty"`
	Effective        *effectiveJSON `json:"effective"`
	UpdateRequired   *updateJSON    `json:"update_required"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`
}

func toPIAJSON(p privacy.PIA) piaJSON {
	out := piaJSON{ID: p.ID, SourceID: p.SourceID, Component: p.Component, Title: p.Title, Status: p.Status, Version: p.Version,
		SubmittedVersion: p.SubmittedVersion, SubmittedAt: timePtr(p.SubmittedAt), ApprovedVersion: p.ApprovedVersion,
		ApprovedAt: timePtr(p.ApprovedAt), ExpiresAt: timePtr(p.ExpiresAt), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if p.EffectiveVersion > 0 {
		out.Effective = &effectiveJSON{Version: p.EffectiveVersion, ApprovedAt: p.EffectiveApprovedAt, ExpiresAt: p.EffectiveExpiresAt,
			PublishedAt: p.EffectivePublishedAt, PriorReference: p.EffectivePrior}
	}
	if !p.UpdateRequiredAt.IsZero() {
		out.UpdateRequired = &updateJSON{Since: p.UpdateRequiredAt, Reason: p.UpdateReason}
	}
	return out
}

type piaStepJSON struct {
	Action   privacy.Action `json:"action"`
	From     privacy.Status `json:"from,omitempty"`
	To       privacy.Status `json:"to"`
	Version  int            `json:"version"`
	Actor    string         `json:"actor"`
	PersonID int64          `json:"person_id,omitempty"`
	Comments string         `json:"comments,omitempty"`
	Refused  string         `json:"refused,omitempty"`
	At       time.Time      `json:"at"`
}

type versionJSON struct {
	Version   int               `json:"version"`
	Digest    string            `json:"digest"`
	AuthorID  int64             `json:"author_id"`
	Note      string            `json:"note,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	Document  *privacy.Document `json:"document,omitempty"`
}

func toVersionJSON(v privacy.Version, full bool) versionJSON {
	out := versionJSON{Version: v.Number, Digest: v.Digest, AuthorID: v.AuthorID, Note: v.Note, CreatedAt: v.CreatedAt}
	if full {
		d := v.Document
		out.Document = &d
	}
	return out
}

func (a *API) listPIAs(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	q := r.URL.Query()
	pias, err := a.deps.Privacy.PIAs(r.Context(), by, store.PIAFilter{Component: q.Get("component"), Status: privacy.Status(q.Get("status"))})
	if err != nil {
		return err
	}
	out := []piaJSON{}
	for _, p := range pias {
		out = append(out, toPIAJSON(p))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"pias": out})
}

func (a *API) createPIA(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		SourceID int64           `json:"source_id"`
		Title    string          `json:"title"`
		Document json.RawMessage `json:"document"`
		Note     string          `json:"note"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.SourceID <= 0 {
		return privacy.Errors{{Field: "source_id", Message: "name the data source the PIA assesses"}}.Err("the request is not valid")
	}
	doc, err := decodeDocument(body.Document)
	if err != nil {
		return err
	}
	p, err := a.deps.Privacy.CreatePIA(r.Context(), by, body.SourceID, body.Title, doc, body.Note)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toPIAJSON(p))
}

// decodeDocument reads a PIA document; none is an empty draft.
func decodeDocument(raw json.RawMessage) (privacy.Document, error) {
	if len(raw) == 0 {
		d := privacy.Document{}
		d.Normalize()
		return d, nil
	}
	return privacy.DecodeDocument(raw)
}

func (a *API) getPIA(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	p, err := a.deps.Privacy.PIA(ctx, by, id)
	if err != nil {
		return err
	}
	steps, err := a.deps.Privacy.Steps(ctx, by, id)
	if err != nil {
		return err
	}
	versions, err := a.deps.Privacy.Versions(ctx, by, id, false)
	if err != nil {
		return err
	}
	out := map[string]any{"pia": toPIAJSON(p)}
	sj := []piaStepJSON{}
	for _, s := range steps {
		sj = append(sj, piaStepJSON{Action: s.Action, From: s.From, To: s.To, Version: s.Version, Actor: s.Actor, PersonID: s.PersonID, Comments: s.Comments, Refused: s.Refused, At: s.At})
	}
	vj := []versionJSON{}
	for _, v := range versions {
		vj = append(vj, toVersionJSON(v, false))
	}
	out["steps"], out["versions"] = sj, vj
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) editPIA(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		BaseVersion int             `json:"base_version"`
		Document    json.RawMessage `json:"document"`
		Note        string          `json:"note"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.BaseVersion <= 0 || len(body.Document) == 0 {
		var errs privacy.Errors
		if body.BaseVersion <= 0 {
			errs = append(errs, privacy.FieldError{Field: "base_version", Message: "give the version you edited, so that nobody's changes are lost"})
		}
		if len(body.Document) == 0 {
			errs = append(errs, privacy.FieldError{Field: "document", Message: "is required"})
		}
		return errs.Err("the request is not valid")
	}
	doc, err := privacy.DecodeDocument(body.Document)
	if err != nil {
		return err
	}
	p, err := a.deps.Privacy.EditPIA(r.Context(), by, id, body.BaseVersion, doc, body.Note)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPIAJSON(p))
}

func (a *API) piaStep(action privacy.Action) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var in store.StepInput
		if action == privacy.RecordPrior {
			var body struct {
				ApprovedOn string `json:"approved_on"`
				Approver   string `json:"approver"`
				Reference  string `json:"reference"`
			}
			if err := decodeJSON(w, r, &body); err != nil {
				return err
			}
			if in.Prior.ApprovedOn, err = parseDate("approved_on", body.ApprovedOn); err != nil {
				return err
			}
			in.Prior.Approver, in.Prior.Reference = body.Approver, body.Reference
		} else {
			var body struct {
				Comments string `json:"comments"`
			}
			if err := decodeOptional(w, r, &body); err != nil {
				return err
			}
			in.Comments = body.Comments
		}
		p, err := a.deps.Privacy.Step(r.Context(), by, id, action, in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, toPIAJSON(p))
	}
}

func (a *API) piaVersions(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	vs, err := a.deps.Privacy.Versions(r.Context(), by, id, false)
	if err != nil {
		return err
	}
	out := []versionJSON{}
	for _, v := range vs {
		out = append(out, toVersionJSON(v, false))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"versions": out})
}

func (a *API) piaVersion(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	n, err := pathID(r, "version")
	if err != nil {
		return err
	}
	v, err := a.deps.Privacy.Version(r.Context(), by, id, int(n))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toVersionJSON(v, true))
}

func (a *API) piaDiff(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var errs privacy.Errors
	num := func(name string) int {
		n, err := strconv.Atoi(q.Get(name))
		if err != nil || n <= 0 {
			errs = append(errs, privacy.FieldError{Field: name, Message: fmt.Sprintf("must be a version number, not %q", q.Get(name))})
		}
		return n
	}
	from, to := num("from"), num("to")
	if err := errs.Err("the request is not valid"); err != nil {
		return err
	}
	va, vb, changes, err := a.deps.Privacy.Diff(r.Context(), by, id, from, to)
	if err != nil {
		return err
	}
	if changes == nil {
		changes = []privacy.Change{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"pia_id": id, "from": toVersionJSON(va, false), "to": toVersionJSON(vb, false), "changes": changes})
}

// Privacy compliance reviews.

type pcrJSON struct {
	ID          int64             `json:"id"`
	Subject     string            `json:"subject"`
	Component   string            `json:"component"`
	Title       string            `json:"title"`
	AssigneeID  int64             `json:"assignee_id"`
	DueOn       string            `json:"due_on"`
	AssignedBy  string            `json:"assigned_by"`
	AssignedAt  time.Time         `json:"assigned_at"`
	Overdue     bool              `json:"overdue"`
	CompletedAt *time.Time        `json:"completed_at,omitempty"`
	CompletedBy int64             `json:"completed_by,omitempty"`
	Result      privacy.PCRResult `json:"result,omitempty"`
	Findings    string            `json:"findings,omitempty"`
}

func toPCRJSON(p privacy.PCR, now time.Time) pcrJSON {
	return pcrJSON{ID: p.ID, Subject: p.Subject, Component: p.Component, Title: p.Title, AssigneeID: p.AssigneeID, DueOn: p.DueAt.UTC().Format(time.DateOnly),
		AssignedBy: p.AssignedBy, AssignedAt: p.AssignedAt, Overdue: p.Overdue(now), CompletedAt: timePtr(p.CompletedAt), CompletedBy: p.CompletedBy,
		Result: p.Result, Findings: p.Findings}
}

func (a *API) listPCRs(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	q := r.URL.Query()
	f := store.PCRFilter{Subject: q.Get("subject")}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"open", &f.Open}, {"overdue", &f.Overdue}} {
		if v := q.Get(b.name); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				return privacy.Errors{{Field: b.name, Message: fmt.Sprintf("must be true or false, not %q", v)}}.Err("the request is not valid")
			}
			*b.dst = x
		}
	}
	pcrs, err := a.deps.Privacy.PCRs(r.Context(), by, f)
	if err != nil {
		return err
	}
	now := time.Now()
	out := []pcrJSON{}
	for _, p := range pcrs {
		out = append(out, toPCRJSON(p, now))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"pcrs": out})
}

func (a *API) assignPCR(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		Subject    string `json:"subject"`
		Title      string `json:"title"`
		AssigneeID int64  `json:"assignee_id"`
		DueOn      string `json:"due_on"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	due, err := parseDate("due_on", body.DueOn)
	if err != nil {
		return err
	}
	p, err := a.deps.Privacy.AssignPCR(r.Context(), by, privacy.PCR{Subject: body.Subject, Title: body.Title, AssigneeID: body.AssigneeID, DueAt: due})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toPCRJSON(p, time.Now()))
}

func (a *API) completePCR(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Result   privacy.PCRResult `json:"result"`
		Findings string            `json:"findings"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	p, err := a.deps.Privacy.CompletePCR(r.Context(), by, id, body.Result, body.Findings)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPCRJSON(p, time.Now()))
}
