package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
)

// queryRoutes are the pages of location queries, all through the audited
// query path and all for people who may use data: their own queries, a
// form for a new one, a query with its results, running an approved one,
// and the receipt of a reading of the results.
func (w *Web) queryRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/queries", Perm: auth.DataAccess, Handler: w.queries},
		{Method: "GET", Pattern: "/queries/new", Perm: auth.DataAccess, Handler: w.newQuery},
		{Method: "POST", Pattern: "/queries", Perm: auth.DataAccess, Handler: w.submitQuery},
		{Method: "GET", Pattern: "/queries/{id}", Perm: auth.DataAccess, Handler: w.showQuery},
		{Method: "POST", Pattern: "/queries/{id}/run", Perm: auth.DataAccess, Handler: w.runQuery},
		{Method: "GET", Pattern: "/queries/{id}/receipt", Perm: auth.DataAccess, Handler: w.queryReceipt},
	}
}

// Form tokens. The server also refuses cross-origin posts; the token
// binds each posted form to the session that was shown it.

// formToken returns the form token of the browser's session: a digest of
// the session's secret, which a page of another site can neither read
// nor compute, and which does not reveal the secret.
func formToken(r *http.Request) string {
	sum := sha256.Sum256([]byte("probity form token\x00" + currentSession(r)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkFormToken refuses a posted form without the session's token.
func checkFormToken(r *http.Request) error {
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(formToken(r))) != 1 {
		return fault.New(fault.Forbidden, "this form was not sent from a Probity page of your session: open the page again and resubmit")
	}
	return nil
}

// maxQueryForm bounds a posted query form: the largest area document the
// geometry accepts, percent-encoded, and room for the other fields.
var maxQueryForm = 3*int64(geo.DefaultLimits().MaxBytes) + 16<<10

// dateTimeLocal is the format of a datetime-local field.
const dateTimeLocal = "2006-01-02T15:04"

// person returns the signed-in person, for the page's header.
func (w *Web) person(r *http.Request, p auth.Principal) *identity.Person {
	who, err := w.deps.Identity.PersonByEmployeeID(r.Context(), p.ID)
	if err != nil {
		return nil
	}
	return &who
}

func queryID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.NotFound, "there is no query %q", clipValue(s))
	}
	return id, nil
}

func clipValue(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}

// Listing.

type queryRow struct {
	ID                                int64
	Case, Kind, Status, Tier, Created string
}

func kindText(k query.Kind) string {
	switch k {
	case query.Area:
		return "area search"
	case query.DeviceHistory:
		return "device history"
	case query.Unmask:
		return "unmasking"
	}
	return string(k)
}

func statusText(s query.Status) string { return strings.ReplaceAll(string(s), "_", " ") }

func tierText(t query.Tier) string {
	if t == 0 {
		return "—"
	}
	return t.String()
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func (w *Web) queries(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	qs, err := w.deps.Queries.List(r.Context(), p, false, store.QueryFilter{})
	if err != nil {
		return err
	}
	rows := make([]queryRow, 0, len(qs))
	for _, q := range qs {
		rows = append(rows, queryRow{ID: q.ID, Case: q.CaseNumber, Kind: kindText(q.Kind), Status: statusText(q.Status), Tier: tierText(q.Tier), Created: timeText(q.CreatedAt)})
	}
	return w.render(rw, http.StatusOK, "queries", view{Title: "Your queries", Person: w.person(r, p), Data: rows})
}

// The form.

// queryForm is the form of a new area search, as typed: shown again as
// it was when the query is refused.
type queryForm struct {
	Case, Source, Justification string
	Shape                       string // circle or polygon
	Lat, Lon, Radius, Polygon   string
	From, To                    string // datetime-local, UTC
	LegalProcess                string
}

// queryFormData is what the form page shows.
type queryFormData struct {
	queryForm
	CSRF string
	// Problem is why the query was not accepted; Field the id of the
	// field it is about, if one.
	Problem, Field string
	// Recorded is the ID of the query as recorded, when it was.
	Recorded int64
	// Map is the map to draw the area on.
	Map *mapView
}

// Bad reports whether the problem is about the field with this id.
func (d queryFormData) Bad(field string) bool { return d.Problem != "" && d.Field == field }

func (w *Web) newQuery(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	now := time.Now().UTC().Truncate(time.Minute)
	f := queryForm{Shape: "circle", From: now.Add(-24 * time.Hour).Format(dateTimeLocal), To: now.Add(time.Minute).Format(dateTimeLocal)}
	return w.render(rw, http.StatusOK, "query_new", view{Title: "New query", Person: w.person(r, p), Data: queryFormData{queryForm: f, CSRF: formToken(r), Map: w.drawMap(r, p, f)}})
}

// formProblem is a form that cannot become a request, with the field at
// fault.
type formProblem struct{ field, msg string }

func (e formProblem) Error() string { return e.msg }

// request builds the area search the form asks for.
func (f queryForm) request() (query.Request, *formProblem) {
	req := query.Request{Kind: query.Area, Case: f.Case, Source: f.Source, Justification: f.Justification, LegalProcess: f.LegalProcess}
	num := func(field, v, what string) (float64, *formProblem) {
		if strings.TrimSpace(v) == "" {
			return 0, &formProblem{field, field + ": give " + what}
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, &formProblem{field, fmt.Sprintf("%s: %q is not a number; give %s", field, clipValue(v), what)}
		}
		return x, nil
	}
	switch f.Shape {
	case "circle":
		lat, bad := num("lat", f.Lat, "the centre's latitude in decimal degrees, e.g. 38.8977")
		if bad != nil {
			return req, bad
		}
		lon, bad := num("lon", f.Lon, "the centre's longitude in decimal degrees, e.g. -77.0365")
		if bad != nil {
			return req, bad
		}
		radius, bad := num("radius", f.Radius, "the radius in metres, e.g. 250")
		if bad != nil {
			return req, bad
		}
		req.Circle = &query.Circle{Lat: lat, Lon: lon, RadiusM: radius}
	case "polygon":
		s := strings.TrimSpace(f.Polygon)
		switch {
		case s == "":
			return req, &formProblem{"polygon", "polygon: paste the area as a GeoJSON Polygon, or choose a circle"}
		case !json.Valid([]byte(s)):
			return req, &formProblem{"polygon", "polygon: this is not valid JSON; paste a GeoJSON Polygon such as {\"type\":\"Polygon\",\"coordinates\":[[[lon,lat],…]]}"}
		}
		req.Area = json.RawMessage(s)
	default:
		return req, &formProblem{"shape-circle", "area: choose a circle or a polygon"}
	}
	when := func(field, v, what string) (time.Time, *formProblem) {
		if strings.TrimSpace(v) == "" {
			return time.Time{}, &formProblem{field, field + ": give " + what + " (date and time, UTC)"}
		}
		for _, layout := range []string{dateTimeLocal, "2006-01-02T15:04:05"} {
			if t, err := time.ParseInLocation(layout, strings.TrimSpace(v), time.UTC); err == nil {
				return t, nil
			}
		}
		return time.Time{}, &formProblem{field, fmt.Sprintf("%s: %q is not a date and time; give %s as YYYY-MM-DDTHH:MM, in UTC", field, clipValue(v), what)}
	}
	var bad *formProblem
	if req.From, bad = when("from", f.From, "the start of the window"); bad != nil {
		return req, bad
	}
	if req.To, bad = when("to", f.To, "the end of the window"); bad != nil {
		return req, bad
	}
	return req, nil
}

// problemField returns the id of the form field a message of the query
// path is about, or "" when it is about no one field.
func problemField(msg string, shape string) string {
	if _, rest, ok := strings.Cut(msg, " refused: "); ok {
		msg = rest
	}
	for _, f := range []struct{ prefix, field string }{
		{"case:", "case"}, {"source:", "source"}, {"justification:", "justification"}, {"legal_process:", "legal-process"},
		{"give the time window", "from"}, {"the window starts", "from"}, {"the window must start", "from"}, {"the window is", "to"},
	} {
		if strings.HasPrefix(msg, f.prefix) {
			return f.field
		}
	}
	if strings.HasPrefix(msg, "area:") {
		switch {
		case shape == "polygon":
			return "polygon"
		case strings.Contains(msg, "circle.lat"):
			return "lat"
		case strings.Contains(msg, "circle.lon"):
			return "lon"
		}
		return "radius"
	}
	return ""
}

func (w *Web) submitQuery(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	r.Body = http.MaxBytesReader(rw, r.Body, maxQueryForm)
	if err := r.ParseForm(); err != nil {
		return fault.Wrap(err, fault.Invalid, "the form could not be read")
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	f := queryForm{
		Case: strings.TrimSpace(r.PostFormValue("case")), Source: strings.TrimSpace(r.PostFormValue("source")),
		Justification: r.PostFormValue("justification"), Shape: r.PostFormValue("shape"),
		Lat: r.PostFormValue("lat"), Lon: r.PostFormValue("lon"), Radius: r.PostFormValue("radius_m"), Polygon: r.PostFormValue("polygon"),
		From: r.PostFormValue("from"), To: r.PostFormValue("to"), LegalProcess: strings.TrimSpace(r.PostFormValue("legal_process")),
	}
	d := queryFormData{queryForm: f, CSRF: formToken(r)}
	again := func(status int) error {
		d.Map = w.drawMap(r, p, f)
		return w.render(rw, status, "query_new", view{Title: "New query", Person: w.person(r, p), Data: d})
	}
	req, bad := f.request()
	if bad != nil {
		d.Problem, d.Field = bad.msg, bad.field
		return again(http.StatusBadRequest)
	}
	out, err := w.deps.Queries.Submit(r.Context(), p, req)
	if err != nil {
		status, known := pageStatus[fault.CodeOf(err)]
		if !known && out.Query.ID == 0 {
			return err
		}
		if !known {
			status = http.StatusInternalServerError
			w.deps.Logger.Error("query not completed", "query", out.Query.ID, "err", err)
		}
		d.Problem, d.Field, d.Recorded = fault.MessageOf(err), problemField(fault.MessageOf(err), f.Shape), out.Query.ID
		return again(status)
	}
	http.Redirect(rw, r, "/queries/"+strconv.FormatInt(out.Query.ID, 10), http.StatusSeeOther)
	return nil
}

// A query's page.

type approvalRow struct {
	Who, Capacity, Decision, Reason, When string
}

type deviceRow struct {
	Device, FirstSeen, LastSeen string
	Pings                       int
}

type pingRow struct {
	Time, Lat, Lon, Accuracy string
}

// queryPageData is what a query's page shows.
type queryPageData struct {
	ID                               int64
	Case, Source, Kind, Status, Tier string
	Requester, Created, Updated      string
	Justification, From, To, Area    string
	LegalProcess, Device             string
	Reasons                          []string
	Approvals                        []approvalRow
	Mine                             bool
	CSRF                             string
	// Awaiting lists who must still approve; Runnable offers the Run
	// button; Withheld says the results are held back.
	Awaiting           []string
	Runnable, Withheld bool
	// Results, for the requester of a completed query.
	Results       bool
	ResultKind    query.Kind
	Devices       []deviceRow
	Pings         []pingRow
	Revealed      string
	ResultProblem string
	ResultCount   int
	// Map shows the query's area and, for a device history, its pings;
	// result is the result read for the page.
	Map    *mapView
	result *query.Result
}

func (w *Web) showQuery(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := queryID(r)
	if err != nil {
		return err
	}
	return w.queryPage(rw, r, p, id, http.StatusOK, "")
}

// queryPage renders query id's page with an optional error.
func (w *Web) queryPage(rw http.ResponseWriter, r *http.Request, p auth.Principal, id int64, status int, problem string) error {
	ctx := r.Context()
	q, approvals, err := w.deps.Queries.Get(ctx, p, id)
	if err != nil {
		return err
	}
	d := queryPageData{ID: q.ID, Case: q.CaseNumber, Source: q.SourceName, Kind: kindText(q.Kind), Status: statusText(q.Status), Tier: tierText(q.Tier),
		Requester: q.EmployeeID, Created: timeText(q.CreatedAt), Updated: timeText(q.UpdatedAt), Reasons: q.Reasons,
		Mine: q.PersonID == p.PersonID && p.PersonID != 0, CSRF: formToken(r), ResultCount: q.ResultCount}
	var req query.Request
	if json.Unmarshal(q.Request, &req) == nil {
		d.Justification, d.LegalProcess = req.Justification, req.LegalProcess
		if !req.From.IsZero() {
			d.From, d.To = timeText(req.From), timeText(req.To)
		}
		switch {
		case req.Circle != nil:
			d.Area = fmt.Sprintf("circle of %g m around %g, %g", req.Circle.RadiusM, req.Circle.Lat, req.Circle.Lon)
		case len(req.Area) > 0:
			d.Area = "GeoJSON polygon"
		}
	}
	if query.IsPseudonym(q.Device) {
		d.Device = q.Device
	}
	for _, a := range approvals {
		d.Approvals = append(d.Approvals, approvalRow{Who: a.EmployeeID, Capacity: capacityText(a.Capacity, q.Component), Decision: a.Decision, Reason: a.Reason, When: timeText(a.DecidedAt)})
	}
	switch q.Status {
	case query.AwaitingApproval:
		required := []string{"supervisor"}
		if q.Tier >= query.Critical {
			required = append(required, "privacy_officer")
		}
		for _, c := range required {
			given := false
			for _, a := range approvals {
				given = given || a.Capacity == c
			}
			if !given {
				d.Awaiting = append(d.Awaiting, capacityText(c, q.Component))
			}
		}
	case query.Approved:
		d.Runnable = d.Mine
	case query.Withheld:
		d.Withheld = true
	case query.Completed:
		if d.Mine {
			d.Results = true
			res, _, err := w.deps.Queries.Results(ctx, p, id)
			switch {
			case err == nil:
				d.fill(res)
			case fault.CodeOf(err) == fault.Internal || fault.CodeOf(err) == "":
				return err
			default:
				d.ResultProblem = fault.MessageOf(err)
			}
		}
	}
	d.Map = w.queryMap(r, p, q.ID, req, d.result)
	return w.render(rw, status, "query", view{Title: fmt.Sprintf("Query %d", q.ID), Person: w.person(r, p), Error: problem, Data: d})
}

// fill puts a result's rows in the page.
func (d *queryPageData) fill(res query.Result) {
	d.ResultKind, d.Revealed, d.result = res.Kind, res.Revealed, &res
	for _, x := range res.Devices {
		d.Devices = append(d.Devices, deviceRow{Device: x.Device, FirstSeen: timeText(x.FirstSeen), LastSeen: timeText(x.LastSeen), Pings: x.Pings})
	}
	for _, x := range res.Pings {
		acc := "—"
		if x.AccuracyM > 0 {
			acc = strconv.FormatFloat(x.AccuracyM, 'f', -1, 64) + " m"
		}
		d.Pings = append(d.Pings, pingRow{Time: timeText(x.Time), Lat: strconv.FormatFloat(x.Lat, 'f', 6, 64), Lon: strconv.FormatFloat(x.Lon, 'f', 6, 64), Accuracy: acc})
	}
}

// capacityText names who approves in a capacity.
func capacityText(capacity, component string) string {
	switch capacity {
	case "supervisor":
		return "a supervisor above the requester in their chain"
	case "privacy_officer":
		if component == "" {
			return "a component privacy officer"
		}
		return "a privacy officer of " + component
	}
	return capacity
}

func (w *Web) runQuery(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	id, err := queryID(r)
	if err != nil {
		return err
	}
	if _, err := w.deps.Queries.Run(r.Context(), p, id); err != nil {
		status, known := pageStatus[fault.CodeOf(err)]
		if !known || fault.CodeOf(err) == fault.NotFound {
			return err
		}
		return w.queryPage(rw, r, p, id, status, fault.MessageOf(err))
	}
	http.Redirect(rw, r, "/queries/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// queryReceipt serves, as a file, the receipt of a recorded reading of a
// completed query's results: the ledger entry, which commits to the
// results' digest, in a signed checkpoint with its inclusion proof.
func (w *Web) queryReceipt(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := queryID(r)
	if err != nil {
		return err
	}
	if _, _, err := w.deps.Queries.Get(r.Context(), p, id); err != nil {
		return err
	}
	_, rc, err := w.deps.Queries.Results(r.Context(), p, id)
	if err != nil {
		return err
	}
	if rc == nil {
		return fault.New(fault.Unavailable, "the reading is recorded, but its receipt could not be produced yet; try again in a moment")
	}
	b, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode receipt: %w", err)
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="probity-query-%d-receipt.json"`, id))
	_, err = rw.Write(append(b, '\n'))
	return err
}
