package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/program"
	"github.com/probity-dev/probity/internal/store"
)

// programRoutes are the compliance program's routes: audit reports, their
// recommendations, what answers them, and the exchange file. Reading needs
// program.read; changing, program.manage — but for linking, which a
// recommendation's owner may do too, and for the status steps, which are
// routed to every reader so that a step taken by the wrong role, or out of
// order, is refused by the program's rules and recorded.
func (a *API) programRoutes() []Route {
	const recs = "/api/v1/program/recommendations"
	return []Route{
		{Method: "GET", Pattern: "/api/v1/program/reports", Perm: auth.ProgramRead, Handler: a.listReports},
		{Method: "POST", Pattern: "/api/v1/program/reports", Perm: auth.ProgramManage, Handler: a.createReport},
		{Method: "GET", Pattern: recs, Perm: auth.ProgramRead, Handler: a.listRecommendations},
		{Method: "POST", Pattern: recs, Perm: auth.ProgramManage, Handler: a.createRecommendation},
		{Method: "GET", Pattern: recs + "/{id}", Perm: auth.ProgramRead, Handler: a.getRecommendation},
		{Method: "PATCH", Pattern: recs + "/{id}", Perm: auth.ProgramManage, Handler: a.updateRecommendation},
		{Method: "POST", Pattern: recs + "/{id}/resolve", Perm: auth.ProgramRead, Handler: a.stepRecommendation(recResolve)},
		{Method: "POST", Pattern: recs + "/{id}/close", Perm: auth.ProgramRead, Handler: a.stepRecommendation(recClose)},
		{Method: "POST", Pattern: recs + "/{id}/reopen", Perm: auth.ProgramRead, Handler: a.reopenRecommendation},
		{Method: "POST", Pattern: recs + "/{id}/links", Perm: auth.ProgramRead, Handler: a.addLink},
		{Method: "DELETE", Pattern: recs + "/{id}/links/{link}", Perm: auth.ProgramRead, Handler: a.removeLink},
		{Method: "GET", Pattern: "/api/v1/program/summary", Perm: auth.ProgramRead, Handler: a.programSummary},
		{Method: "GET", Pattern: "/api/v1/program/export", Perm: auth.ProgramRead, Handler: a.exportProgram},
		{Method: "POST", Pattern: "/api/v1/program/import", Perm: auth.ProgramManage, Handler: a.importProgram},
	}
}

// programCountsJSON are recommendation counts as the API shows them.
type programCountsJSON struct {
	Total    int `json:"total"`
	Open     int `json:"open"`
	Resolved int `json:"resolved"`
	Closed   int `json:"closed"`
	Overdue  int `json:"overdue"`
	DueSoon  int `json:"due_soon"`
	NoTarget int `json:"no_target"`
}

func toProgramCountsJSON(c program.Counts) programCountsJSON {
	return programCountsJSON{Total: c.Total, Open: c.Open, Resolved: c.Resolved, Closed: c.Closed, Overdue: c.Overdue, DueSoon: c.DueSoon, NoTarget: c.NoTarget}
}

// auditReportRefJSON names a report.
type auditReportRefJSON struct {
	ID       int64          `json:"id"`
	Issuer   program.Issuer `json:"issuer"`
	Number   string         `json:"number"`
	Title    string         `json:"title"`
	IssuedOn string         `json:"issued_on"`
}

func toAuditReportRef(r program.Report) auditReportRefJSON {
	return auditReportRefJSON{ID: r.ID, Issuer: r.Issuer, Number: r.Number, Title: r.Title, IssuedOn: r.Issued.String()}
}

type auditReportJSON struct {
	auditReportRefJSON
	URL       string    `json:"url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	// Recommendations counts those the requester may see.
	Recommendations programCountsJSON `json:"recommendations"`
}

func toAuditReportJSON(r program.Report, c program.Counts) auditReportJSON {
	return auditReportJSON{auditReportRefJSON: toAuditReportRef(r), URL: r.URL, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy, Recommendations: toProgramCountsJSON(c)}
}

type recOwnerJSON struct {
	ID         int64  `json:"id"`
	EmployeeID string `json:"employee_id"`
	Name       string `json:"name"`
}

type recStepJSON struct {
	On   string    `json:"on"`
	Note string    `json:"note"`
	By   string    `json:"by"`
	At   time.Time `json:"at"`
}

func toRecStepJSON(s program.Step) *recStepJSON {
	if s.At.IsZero() {
		return nil
	}
	return &recStepJSON{On: s.On.String(), Note: s.Note, By: s.By, At: s.At}
}

type recLinkJSON struct {
	ID      int64            `json:"id"`
	Kind    program.LinkKind `json:"kind"`
	Ref     string           `json:"ref"`
	Note    string           `json:"note,omitempty"`
	AddedAt time.Time        `json:"added_at"`
	AddedBy string           `json:"added_by"`
}

func toRecLinkJSON(l program.Link) recLinkJSON {
	return recLinkJSON{ID: l.ID, Kind: l.Kind, Ref: l.Ref, Note: l.Note, AddedAt: l.AddedAt, AddedBy: l.AddedBy}
}

type recTransitionJSON struct {
	Action string         `json:"action"`
	From   program.Status `json:"from"`
	To     program.Status `json:"to"`
	On     string         `json:"on,omitempty"`
	Note   string         `json:"note"`
	// Refused says why the step was refused, when it was.
	Refused string    `json:"refused,omitempty"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// recommendationJSON is a recommendation as the API shows it.
type recommendationJSON struct {
	ID     int64              `json:"id"`
	Report auditReportRefJSON `json:"report"`
	Number string             `json:"number"`
	Text   string             `json:"text"`
	// OwnerComponent is absent for the department's own recommendations.
	OwnerComponent string              `json:"owner_component,omitempty"`
	Owner          recOwnerJSON        `json:"owner"`
	Status         program.Status      `json:"status"`
	TargetOn       string              `json:"target_on,omitempty"`
	Overdue        bool                `json:"overdue"`
	DaysOverdue    int                 `json:"days_overdue,omitempty"`
	Resolution     *recStepJSON        `json:"resolution,omitempty"`
	Closure        *recStepJSON        `json:"closure,omitempty"`
	Links          []recLinkJSON       `json:"links"`
	History        []recTransitionJSON `json:"history,omitempty"`
	Version        int64               `json:"version"`
	CreatedAt      time.Time           `json:"created_at"`
	UpdatedAt      time.Time           `json:"updated_at"`
}

func toRecommendationJSON(r program.Recommendation, today program.Date) recommendationJSON {
	out := recommendationJSON{ID: r.ID, Report: toAuditReportRef(r.Report), Number: r.Number, Text: r.Text, OwnerComponent: r.OwnerComponent,
		Owner: recOwnerJSON{ID: r.OwnerID, EmployeeID: r.OwnerEmpID, Name: r.OwnerName}, Status: r.Status, TargetOn: r.Target.String(),
		Overdue: r.Overdue(today), DaysOverdue: r.DaysOverdue(today), Resolution: toRecStepJSON(r.Resolution), Closure: toRecStepJSON(r.Closure),
		Links: []recLinkJSON{}, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	out.Report.ID = r.ReportID
	for _, l := range r.Links {
		out.Links = append(out.Links, toRecLinkJSON(l))
	}
	for _, h := range r.History {
		out.History = append(out.History, recTransitionJSON{Action: h.Action, From: h.From, To: h.To, On: h.On.String(), Note: h.Note, Refused: h.Refused, By: h.By, At: h.At})
	}
	return out
}

// programDate parses a date field of a request.
func programDate(field, s string) (program.Date, error) {
	d, err := program.ParseDate(s)
	if err != nil {
		return d, fault.Wrap(&program.FieldError{Field: field}, fault.Invalid, "%s: %v", field, err)
	}
	return d, nil
}

func (a *API) listReports(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	reports, err := a.deps.Program.Reports(r.Context(), p)
	if err != nil {
		return err
	}
	s, err := a.deps.Program.Summary(r.Context(), p)
	if err != nil {
		return err
	}
	counts := map[int64]program.Counts{}
	for _, rc := range s.Reports {
		counts[rc.Report.ID] = rc.Counts
	}
	out := []auditReportJSON{}
	for _, rep := range reports {
		out = append(out, toAuditReportJSON(rep, counts[rep.ID]))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"reports": out})
}

func (a *API) createReport(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Issuer   program.Issuer `json:"issuer"`
		Number   string         `json:"number"`
		Title    string         `json:"title"`
		IssuedOn string         `json:"issued_on"`
		URL      string         `json:"url"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	issued, err := programDate("issued_on", body.IssuedOn)
	if err != nil {
		return err
	}
	rep, err := a.deps.Program.CreateReport(r.Context(), p, program.Report{Issuer: body.Issuer, Number: body.Number, Title: body.Title, Issued: issued, URL: body.URL})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toAuditReportJSON(rep, program.Counts{}))
}

func programQueryID(q string, name string) (int64, error) {
	if q == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(q, 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.Invalid, "%s must be a positive whole number, not %q", name, q)
	}
	return id, nil
}

func (a *API) listRecommendations(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	f := store.RecommendationFilter{Status: program.Status(q.Get("status"))}
	var err error
	if f.ReportID, err = programQueryID(q.Get("report"), "report"); err != nil {
		return err
	}
	if f.OwnerID, err = programQueryID(q.Get("owner"), "owner"); err != nil {
		return err
	}
	switch c := q.Get("component"); c {
	case "department":
		f.Department = true
	default:
		f.Component = c
	}
	switch f.Status {
	case "", program.Open, program.Resolved, program.Closed:
	default:
		return fault.New(fault.Invalid, "status must be open, resolved or closed, not %q", f.Status)
	}
	switch o := q.Get("overdue"); o {
	case "", "false":
	case "true":
		f.Overdue = true
	default:
		return fault.New(fault.Invalid, "overdue must be true or false, not %q", o)
	}
	recs, err := a.deps.Program.Recommendations(r.Context(), p, f)
	if err != nil {
		return err
	}
	today := a.deps.Program.Today()
	out := []recommendationJSON{}
	for _, rec := range recs {
		out = append(out, toRecommendationJSON(rec, today))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"as_of": today.String(), "recommendations": out})
}

func (a *API) createRecommendation(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		ReportID       int64  `json:"report_id"`
		Number         string `json:"number"`
		Text           string `json:"text"`
		OwnerComponent string `json:"owner_component"`
		OwnerID        int64  `json:"owner_id"`
		TargetOn       string `json:"target_on"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	target, err := programDate("target_on", body.TargetOn)
	if err != nil {
		return err
	}
	rec, err := a.deps.Program.CreateRecommendation(r.Context(), p, program.Recommendation{ReportID: body.ReportID, Number: body.Number, Text: body.Text,
		OwnerComponent: body.OwnerComponent, OwnerID: body.OwnerID, Target: target})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toRecommendationJSON(rec, a.deps.Program.Today()))
}

func (a *API) getRecommendation(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rec, err := a.deps.Program.Recommendation(r.Context(), p, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toRecommendationJSON(rec, a.deps.Program.Today()))
}

func (a *API) updateRecommendation(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Number         *string `json:"number"`
		Text           *string `json:"text"`
		OwnerComponent *string `json:"owner_component"`
		OwnerID        *int64  `json:"owner_id"`
		TargetOn       *string `json:"target_on"`
		Reason         string  `json:"reason"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	c := program.Change{Number: body.Number, Text: body.Text, OwnerComponent: body.OwnerComponent, OwnerID: body.OwnerID, Reason: body.Reason}
	if body.TargetOn != nil {
		d, err := programDate("target_on", *body.TargetOn)
		if err != nil {
			return err
		}
		c.Target = &d
	}
	rec, err := a.deps.Program.UpdateRecommendation(r.Context(), p, id, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toRecommendationJSON(rec, a.deps.Program.Today()))
}

// A recStepKind is a status step taken with a note and a day.
type recStepKind int

const (
	recResolve recStepKind = iota + 1
	recClose
)

func (a *API) stepRecommendation(kind recStepKind) func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var body struct {
			Note string `json:"note"`
			On   string `json:"on"`
		}
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
		on, err := programDate("on", body.On)
		if err != nil {
			return err
		}
		st := program.Step{Note: body.Note, On: on}
		var rec program.Recommendation
		if kind == recResolve {
			rec, err = a.deps.Program.Resolve(r.Context(), p, id, st)
		} else {
			rec, err = a.deps.Program.Close(r.Context(), p, id, st)
		}
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, toRecommendationJSON(rec, a.deps.Program.Today()))
	}
}

func (a *API) reopenRecommendation(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, reason, err := idAndReason(w, r)
	if err != nil {
		return err
	}
	rec, err := a.deps.Program.Reopen(r.Context(), p, id, reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toRecommendationJSON(rec, a.deps.Program.Today()))
}

func (a *API) addLink(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Kind program.LinkKind `json:"kind"`
		Ref  string           `json:"ref"`
		Note string           `json:"note"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	l, err := a.deps.Program.AddLink(r.Context(), p, id, program.Link{Kind: body.Kind, Ref: body.Ref, Note: body.Note})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toRecLinkJSON(l))
}

func (a *API) removeLink(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	linkID, err := pathID(r, "link")
	if err != nil {
		return err
	}
	l, err := a.deps.Program.RemoveLink(r.Context(), p, id, linkID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"removed": toRecLinkJSON(l)})
}

func (a *API) programSummary(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := a.deps.Program.Summary(r.Context(), p)
	if err != nil {
		return err
	}
	type programComponentJSON struct {
		// Component is "" for the department's own recommendations.
		Component string `json:"component"`
		programCountsJSON
	}
	type programReportCountsJSON struct {
		Report auditReportRefJSON `json:"report"`
		programCountsJSON
	}
	type programOverdueJSON struct {
		ID             int64        `json:"id"`
		Report         string       `json:"report"`
		Number         string       `json:"number"`
		OwnerComponent string       `json:"owner_component,omitempty"`
		Owner          recOwnerJSON `json:"owner"`
		TargetOn       string       `json:"target_on"`
		DaysOverdue    int          `json:"days_overdue"`
	}
	out := struct {
		AsOf string `json:"as_of"`
		programCountsJSON
		Components []programComponentJSON    `json:"components"`
		Reports    []programReportCountsJSON `json:"reports"`
		Overdue    []programOverdueJSON      `json:"overdue_recommendations"`
	}{AsOf: s.Today.String(), programCountsJSON: toProgramCountsJSON(s.Counts), Components: []programComponentJSON{}, Reports: []programReportCountsJSON{}, Overdue: []programOverdueJSON{}}
	for _, c := range s.Components {
		out.Components = append(out.Components, programComponentJSON{Component: c.Component, programCountsJSON: toProgramCountsJSON(c.Counts)})
	}
	for _, rc := range s.Reports {
		out.Reports = append(out.Reports, programReportCountsJSON{Report: toAuditReportRef(rc.Report), programCountsJSON: toProgramCountsJSON(rc.Counts)})
	}
	for _, rec := range s.OverdueList {
		out.Overdue = append(out.Overdue, programOverdueJSON{ID: rec.ID, Report: rec.Report.Number, Number: rec.Number, OwnerComponent: rec.OwnerComponent,
			Owner: recOwnerJSON{ID: rec.OwnerID, EmployeeID: rec.OwnerEmpID, Name: rec.OwnerName}, TargetOn: rec.Target.String(), DaysOverdue: rec.DaysOverdue(s.Today)})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) exportProgram(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	x, err := a.deps.Program.Export(r.Context(), p)
	if err != nil {
		return err
	}
	b, err := program.Marshal(x)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="recommendations.json"`)
	_, err = w.Write(b)
	return err
}

// importProgram applies an exchange file, all of it or nothing. The body
// is the file as it is, so that the line numbers of problems are the
// file's; it may be larger than other requests' bodies.
func (a *API) importProgram(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return fault.New(fault.Unsupported, "the request body must be an exchange file, application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, program.MaxFileSize))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return fault.New(fault.TooLarge, "the file is larger than %d bytes (1 MiB)", program.MaxFileSize)
	}
	if err != nil {
		return fault.Wrap(err, fault.Invalid, "the request body could not be read")
	}
	x, err := program.Parse(body)
	if err != nil {
		return err
	}
	res, err := a.deps.Program.Import(r.Context(), p, x, ledger.PayloadDigest(body))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"imported": map[string]int{
		"reports": res.Reports, "recommendations": res.Recommendations, "links": res.Links, "resolved": res.Resolved, "closed": res.Closed,
	}})
}
