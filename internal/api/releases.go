package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/importer/scanreport"
	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/scan"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/storewatch"
)

// DefaultMaxScanReport is the largest scan report or deliverable document
// the API accepts when [Deps.MaxScanReport] is not set.
const DefaultMaxScanReport int64 = 64 << 20

// releaseRoutes are the routes of the mobile-app release gate. Reading
// needs releases.read; the store scopes everything by the app's component,
// so an app, release or finding of another component does not exist for
// the caller. Each change needs its own permission (apps.manage,
// releases.submit, scans.import, findings.triage, exceptions.approve,
// releases.approve), and the store checks the roles the app's scan policy
// names. A pipeline asks GET /api/v1/apps/{id}/check with a personal token.
func (a *API) releaseRoutes() []Route {
	routes := []Route{
		{Method: "GET", Pattern: "/api/v1/apps", Perm: auth.ReleasesRead, Handler: a.listApps},
		{Method: "POST", Pattern: "/api/v1/apps", Perm: auth.AppsManage, Handler: a.createApp},
		{Method: "GET", Pattern: "/api/v1/apps/{id}", Perm: auth.ReleasesRead, Handler: a.getApp},
		{Method: "PATCH", Pattern: "/api/v1/apps/{id}", Perm: auth.AppsManage, Handler: a.updateApp},
		{Method: "GET", Pattern: "/api/v1/apps/{id}/policy", Perm: auth.ReleasesRead, Handler: a.getAppPolicy},
		{Method: "PUT", Pattern: "/api/v1/apps/{id}/policy", Perm: auth.AppsManage, Handler: a.putAppPolicy},
		{Method: "GET", Pattern: "/api/v1/apps/{id}/listing", Perm: auth.ReleasesRead, Handler: a.getListing},
		{Method: "PUT", Pattern: "/api/v1/apps/{id}/listing", Perm: auth.AppsManage, Handler: a.putListing},
		{Method: "DELETE", Pattern: "/api/v1/apps/{id}/listing", Perm: auth.AppsManage, Handler: a.deleteListing},
		{Method: "GET", Pattern: "/api/v1/apps/{id}/releases", Perm: auth.ReleasesRead, Handler: a.listReleases},
		{Method: "POST", Pattern: "/api/v1/apps/{id}/releases", Perm: auth.ReleasesSubmit, Handler: a.submitRelease},
		{Method: "GET", Pattern: "/api/v1/apps/{id}/findings", Perm: auth.ReleasesRead, Handler: a.listFindings},
		{Method: "GET", Pattern: "/api/v1/apps/{id}/check", Perm: auth.ReleasesRead, Handler: a.checkArtifact},
		{Method: "GET", Pattern: "/api/v1/releases/{id}", Perm: auth.ReleasesRead, Handler: a.getRelease},
		{Method: "POST", Pattern: "/api/v1/releases/{id}/scans", Perm: auth.ScansImport, Handler: a.importScan},
		{Method: "POST", Pattern: "/api/v1/releases/{id}/documents", Perm: auth.ReleasesSubmit, Handler: a.submitDocument},
		{Method: "GET", Pattern: "/api/v1/releases/{id}/gate", Perm: auth.ReleasesRead, Handler: a.evaluateGate},
		{Method: "POST", Pattern: "/api/v1/releases/{id}/approve", Perm: auth.ReleasesApprove, Handler: a.approveRelease},
		{Method: "GET", Pattern: "/api/v1/findings/{id}", Perm: auth.ReleasesRead, Handler: a.getFinding},
		{Method: "POST", Pattern: "/api/v1/findings/{id}/triage", Perm: auth.FindingsTriage, Handler: a.triageFinding},
		{Method: "POST", Pattern: "/api/v1/findings/{id}/exceptions", Perm: auth.FindingsTriage, Handler: a.requestException},
		{Method: "GET", Pattern: "/api/v1/exceptions", Perm: auth.ReleasesRead, Handler: a.listExceptions},
		{Method: "POST", Pattern: "/api/v1/exceptions/{id}/decide", Perm: auth.ExceptionsApprove, Handler: a.decideException},
	}
	for i := range routes {
		routes[i].Handler = withReleaseFieldErrors(routes[i].Handler)
	}
	return routes
}

// withReleaseFieldErrors answers a validation error with the fields at
// fault: {"error": {"code", "message", "fields": [{"field", "message"}]}}.
func withReleaseFieldErrors(h func(http.ResponseWriter, *http.Request, auth.Principal) error) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		err := h(w, r, p)
		if ve, ok := errors.AsType[*release.ValidationError](err); ok && fault.CodeOf(err) == fault.Invalid {
			return writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
				"code": string(fault.Invalid), "message": fault.MessageOf(err), "fields": ve.Fields,
			}})
		}
		return err
	}
}

// The JSON forms.

type appJSON struct {
	ID            int64            `json:"id"`
	Name          string           `json:"name"`
	Component     string           `json:"component"`
	Platform      release.Platform `json:"platform"`
	BundleID      string           `json:"bundle_id"`
	Developer     string           `json:"developer"`
	SystemID      int64            `json:"system_id"`
	PIAID         int64            `json:"pia_id"`
	PolicyVersion int              `json:"policy_version"`
	CreatedBy     string           `json:"created_by"`
	CreatedAt     time.Time        `json:"created_at"`
	UpdatedAt     time.Time        `json:"updated_at"`
}

func toAppJSON(x release.App) appJSON {
	return appJSON{ID: x.ID, Name: x.Name, Component: x.Component, Platform: x.Platform, BundleID: x.BundleID, Developer: x.Developer, SystemID: x.SystemID,
		PIAID: x.PIAID, PolicyVersion: x.PolicyVersion, CreatedBy: x.CreatedBy, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
}

type scanPolicyJSON struct {
	release.ScanPolicy
	AppID     int64     `json:"app_id"`
	Version   int       `json:"version"`
	Note      string    `json:"note"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func toScanPolicyJSON(p release.ScanPolicy) scanPolicyJSON {
	return scanPolicyJSON{ScanPolicy: p, AppID: p.AppID, Version: p.Version, Note: p.Note, CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt}
}

type releaseJSON struct {
	ID           int64                `json:"id"`
	AppID        int64                `json:"app_id"`
	Component    string               `json:"component"`
	Version      string               `json:"version"`
	Build        string               `json:"build"`
	SHA256       string               `json:"sha256"`
	DigestSource release.DigestSource `json:"digest_source"`
	StoreListing string               `json:"store_listing"`
	Submitter    string               `json:"submitter"`
	Status       release.Status       `json:"status"`
	Approver     string               `json:"approver,omitempty"`
	ApprovedAt   *time.Time           `json:"approved_at,omitempty"`
	CreatedAt    time.Time            `json:"created_at"`
	UpdatedAt    time.Time            `json:"updated_at"`
}

func toReleaseJSON(x release.Release) releaseJSON {
	return releaseJSON{ID: x.ID, AppID: x.AppID, Component: x.Component, Version: x.Version, Build: x.Build, SHA256: x.SHA256, DigestSource: x.DigestSource,
		StoreListing: x.StoreListing, Submitter: x.Submitter, Status: x.Status, Approver: x.Approver, ApprovedAt: timePtr(x.ApprovedAt),
		CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
}

type scanJSON struct {
	ID             int64            `json:"id"`
	ReleaseID      int64            `json:"release_id"`
	AppID          int64            `json:"app_id"`
	Type           release.ScanType `json:"type"`
	SHA256         string           `json:"sha256"`
	Format         scan.Format      `json:"format"`
	Tool           string           `json:"tool"`
	ToolVersion    string           `json:"tool_version"`
	SubjectName    string           `json:"subject_name,omitempty"`
	SubjectVersion string           `json:"subject_version,omitempty"`
	SubjectSHA256  string           `json:"subject_sha256,omitempty"`
	RawDigest      string           `json:"raw_digest"`
	Findings       int              `json:"findings"`
	Components     int              `json:"components"`
	New            int              `json:"new"`
	Reopened       int              `json:"reopened"`
	Resolved       int              `json:"resolved"`
	Head           bool             `json:"head"`
	ImportedBy     string           `json:"imported_by"`
	ImportedAt     time.Time        `json:"imported_at"`
}

func toScanJSON(s store.ScanRecord) scanJSON {
	return scanJSON{ID: s.ID, ReleaseID: s.ReleaseID, AppID: s.AppID, Type: s.Type, SHA256: s.SHA256, Format: s.Format, Tool: s.Tool, ToolVersion: s.ToolVersion,
		SubjectName: s.SubjectName, SubjectVersion: s.SubjectVersion, SubjectSHA256: s.SubjectSHA256, RawDigest: s.RawDigest, Findings: s.Findings,
		Components: s.Components, New: s.New, Reopened: s.Reopened, Resolved: s.Resolved, Head: s.Head, ImportedBy: s.ImportedBy, ImportedAt: s.ImportedAt}
}

type findingJSON struct {
	scan.Finding
	ID            int64            `json:"id"`
	AppID         int64            `json:"app_id"`
	Component     string           `json:"component"`
	ScanType      release.ScanType `json:"scan_type"`
	State         release.State    `json:"state"`
	Triaged       release.State    `json:"triaged,omitempty"`
	Reason        string           `json:"reason,omitempty"`
	TriagedBy     string           `json:"triaged_by,omitempty"`
	TriagedAt     *time.Time       `json:"triaged_at,omitempty"`
	ExceptionID   int64            `json:"exception_id,omitempty"`
	RiskExpiresAt *time.Time       `json:"risk_expires_at,omitempty"`
	FirstSeenAt   time.Time        `json:"first_seen_at"`
	LastSeenAt    time.Time        `json:"last_seen_at"`
	ResolvedAt    *time.Time       `json:"resolved_at,omitempty"`
	DueAt         *time.Time       `json:"due_at,omitempty"`
	Overdue       bool             `json:"overdue"`
}

func toFindingJSON(f store.Finding) findingJSON {
	return findingJSON{Finding: f.Finding, ID: f.ID, AppID: f.AppID, Component: f.Component, ScanType: f.ScanType, State: f.State, Triaged: f.Triaged,
		Reason: f.Reason, TriagedBy: f.TriagedBy, TriagedAt: timePtr(f.TriagedAt), ExceptionID: f.ExceptionID, RiskExpiresAt: timePtr(f.RiskExpiresAt),
		FirstSeenAt: f.FirstSeenAt, LastSeenAt: f.LastSeenAt, ResolvedAt: timePtr(f.ResolvedAt), DueAt: timePtr(f.DueAt), Overdue: f.Overdue}
}

type countsJSON struct {
	Total      int                   `json:"total"`
	ByState    map[release.State]int `json:"by_state"`
	Unreviewed int                   `json:"unreviewed"`
	Overdue    int                   `json:"overdue"`
}

func toCountsJSON(c store.FindingCounts) countsJSON {
	by := c.ByState
	if by == nil {
		by = map[release.State]int{}
	}
	return countsJSON{Total: c.Total, ByState: by, Unreviewed: c.Unreviewed, Overdue: c.Overdue}
}

type exceptionJSON struct {
	ID                   int64                   `json:"id"`
	FindingID            int64                   `json:"finding_id"`
	AppID                int64                   `json:"app_id"`
	Component            string                  `json:"component"`
	Justification        string                  `json:"justification"`
	CompensatingControls string                  `json:"compensating_controls"`
	ExpiresAt            time.Time               `json:"expires_at"`
	Status               release.ExceptionStatus `json:"status"`
	RequestedBy          string                  `json:"requested_by"`
	RequestedAt          time.Time               `json:"requested_at"`
	DecidedBy            string                  `json:"decided_by,omitempty"`
	DecidedAt            *time.Time              `json:"decided_at,omitempty"`
	DecisionNote         string                  `json:"decision_note,omitempty"`
}

func toExceptionJSON(e release.Exception) exceptionJSON {
	return exceptionJSON{ID: e.ID, FindingID: e.FindingID, AppID: e.AppID, Component: e.Component, Justification: e.Justification,
		CompensatingControls: e.CompensatingControls, ExpiresAt: e.ExpiresAt, Status: e.Status, RequestedBy: e.RequestedBy, RequestedAt: e.RequestedAt,
		DecidedBy: e.DecidedBy, DecidedAt: timePtr(e.DecidedAt), DecisionNote: e.DecisionNote}
}

type deliverableJSON struct {
	Kind       release.DeliverableKind `json:"kind"`
	ScanID     int64                   `json:"scan_id,omitempty"`
	DocumentID int64                   `json:"document_id,omitempty"`
	Digest     string                  `json:"digest"`
	Items      int                     `json:"items"`
	ReceivedBy string                  `json:"received_by"`
	ReceivedAt time.Time               `json:"received_at"`
}

func toDeliverableJSON(d store.Deliverable) deliverableJSON {
	return deliverableJSON{Kind: d.Kind, ScanID: d.ScanID, DocumentID: d.DocumentID, Digest: d.Digest, Items: d.Items, ReceivedBy: d.ReceivedBy, ReceivedAt: d.ReceivedAt}
}

func toDeliverablesJSON(s store.DeliverableStatus) map[string]any {
	received := make([]deliverableJSON, 0, len(s.Received))
	for _, d := range s.Received {
		received = append(received, toDeliverableJSON(d))
	}
	return map[string]any{"policy_version": s.PolicyVersion, "required": nonNil(s.Required), "received": received, "missing": nonNil(s.Missing)}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func decisionJSON(d release.Decision) release.Decision {
	d.Reasons = nonNil(d.Reasons)
	return d
}

// Apps.

func (a *API) listApps(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	apps, err := a.deps.Releases.Apps(r.Context(), by, r.URL.Query().Get("component"))
	if err != nil {
		return err
	}
	out := make([]appJSON, 0, len(apps))
	for _, x := range apps {
		out = append(out, toAppJSON(x))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"apps": out})
}

type appBody struct {
	Name      string              `json:"name"`
	Platform  release.Platform    `json:"platform"`
	BundleID  string              `json:"bundle_id"`
	Developer string              `json:"developer"`
	SystemID  int64               `json:"system_id"`
	PIAID     int64               `json:"pia_id"`
	Policy    *release.ScanPolicy `json:"policy"`
}

func (a *API) createApp(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body appBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	x, err := a.deps.Releases.CreateApp(r.Context(), by, release.App{Name: body.Name, Platform: body.Platform, BundleID: body.BundleID,
		Developer: body.Developer, SystemID: body.SystemID, PIAID: body.PIAID}, body.Policy)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"app": toAppJSON(x)})
}

func (a *API) getApp(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	x, err := a.deps.Releases.App(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"app": toAppJSON(x)})
}

func (a *API) updateApp(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Name      *string `json:"name"`
		Developer *string `json:"developer"`
		SystemID  *int64  `json:"system_id"`
		PIAID     *int64  `json:"pia_id"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	x, err := a.deps.Releases.UpdateApp(r.Context(), by, id, store.AppUpdate{Name: body.Name, Developer: body.Developer, SystemID: body.SystemID, PIAID: body.PIAID})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"app": toAppJSON(x)})
}

func (a *API) getAppPolicy(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := queryInt(r, "version", 0)
	if err != nil {
		return err
	}
	p, err := a.deps.Releases.Policy(r.Context(), by, id, int(v))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"policy": toScanPolicyJSON(p)})
}

func (a *API) putAppPolicy(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		// Base is the version the writer started from.
		Base int `json:"base"`
		release.ScanPolicy
		Note string `json:"note"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Base <= 0 {
		return fault.New(fault.Invalid, "base must name the policy version the change starts from")
	}
	p := body.ScanPolicy
	p.Note = body.Note
	out, err := a.deps.Releases.SetPolicy(r.Context(), by, id, body.Base, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"policy": toScanPolicyJSON(out)})
}

// Releases.

func (a *API) listReleases(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rs, err := a.deps.Releases.ReleasesOf(r.Context(), by, id)
	if err != nil {
		return err
	}
	out := make([]releaseJSON, 0, len(rs))
	for _, x := range rs {
		out = append(out, toReleaseJSON(x))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"releases": out})
}

func (a *API) submitRelease(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Version      string `json:"version"`
		Build        string `json:"build"`
		SHA256       string `json:"sha256"`
		StoreListing string `json:"store_listing"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	// A digest sent over the API is declared by its sender (a pipeline);
	// Probity computes one only from an artifact it receives.
	x, err := a.deps.Releases.SubmitRelease(r.Context(), by, release.Release{AppID: id, Version: body.Version, Build: body.Build, SHA256: body.SHA256,
		DigestSource: release.Declared, StoreListing: body.StoreListing})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"release": toReleaseJSON(x)})
}

func (a *API) getRelease(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	x, err := a.deps.Releases.Release(ctx, by, id)
	if err != nil {
		return err
	}
	scans, err := a.deps.Releases.Scans(ctx, by, id)
	if err != nil {
		return err
	}
	del, err := a.deps.Releases.Deliverables(ctx, by, id)
	if err != nil {
		return err
	}
	ds, err := a.deps.Releases.Decisions(ctx, by, id)
	if err != nil {
		return err
	}
	sj := make([]scanJSON, 0, len(scans))
	for _, s := range scans {
		sj = append(sj, toScanJSON(s))
	}
	dj := make([]map[string]any, 0, len(ds))
	for _, d := range ds {
		dj = append(dj, map[string]any{"id": d.ID, "approved": d.Approved, "reasons": nonNil(d.Reasons), "policy_version": d.PolicyVersion,
			"decided_by": d.DecidedBy, "note": d.Note, "decided_at": d.CheckedAt})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"release": toReleaseJSON(x), "scans": sj, "deliverables": toDeliverablesJSON(del), "decisions": dj})
}

// maxScanReport is the size limit of an uploaded report or document.
func (a *API) maxScanReport() int64 {
	if a.deps.MaxScanReport > 0 {
		return a.deps.MaxScanReport
	}
	return DefaultMaxScanReport
}

// readUpload reads a raw request body of at most limit bytes.
func readUpload(w http.ResponseWriter, r *http.Request, limit int64, what string) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, fault.New(fault.TooLarge, "the %s is larger than the limit of %d bytes", what, limit)
	}
	if err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "the %s could not be read", what)
	}
	if len(body) == 0 {
		return nil, fault.New(fault.Invalid, "the request body is empty: send the %s itself", what)
	}
	return body, nil
}

// importScan imports the raw report in the body as a scan of the release:
// ?type= names the scan type (static, sbom, mobile, dynamic) and ?format=
// the report's format when it is not to be detected. The report is parsed
// whole before anything is stored, and stored whole or not at all.
func (a *API) importScan(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	// One who may not see the release learns nothing of their upload.
	if _, err := a.deps.Releases.Release(ctx, by, id); err != nil {
		return err
	}
	q := r.URL.Query()
	t, err := release.ParseScanType(q.Get("type"))
	if err != nil {
		return err
	}
	var f scan.Format
	if s := q.Get("format"); s != "" {
		if f, err = scan.ParseFormat(s); err != nil {
			return err
		}
	}
	limit := a.maxScanReport()
	body, err := readUpload(w, r, limit, "report")
	if err != nil {
		return err
	}
	var rep scan.Report
	if f == "" {
		rep, err = scanreport.Parse(body, limit)
	} else {
		rep, err = scanreport.ParseAs(f, body, limit)
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	rec, err := a.deps.Releases.ImportScan(ctx, by, id, t, rep, hex.EncodeToString(sum[:]))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"scan": toScanJSON(rec)})
}

// submitDocument receives a deliverable document (?kind=data_flow_manifest
// or traceability_answers) as the raw body.
func (a *API) submitDocument(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := a.deps.Releases.Release(ctx, by, id); err != nil {
		return err
	}
	kind := release.DeliverableKind(strings.TrimSpace(r.URL.Query().Get("kind")))
	if !kind.IsDocument() {
		names := make([]string, 0, 2)
		for _, k := range release.DocumentKinds() {
			names = append(names, string(k))
		}
		return fault.New(fault.Invalid, "kind must be one of %s, not %q", strings.Join(names, ", "), clipText(string(kind)))
	}
	body, err := readUpload(w, r, a.maxScanReport(), "document")
	if err != nil {
		return err
	}
	d, err := a.deps.Releases.SubmitDocument(ctx, by, id, kind, body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"deliverable": toDeliverableJSON(d)})
}

func (a *API) evaluateGate(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := a.deps.Releases.Evaluate(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"decision": decisionJSON(d)})
}

// approveRelease asks the gate to approve a release. A refusal is
// recorded and answered 409 with the decision and every reason.
func (a *API) approveRelease(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Note string `json:"note"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	x, d, err := a.deps.Releases.Approve(r.Context(), by, id, body.Note)
	if ge, ok := errors.AsType[*release.GateError](err); ok {
		return writeJSON(w, http.StatusConflict, map[string]any{"error": map[string]any{
			"code": string(fault.CodeOf(err)), "message": fault.MessageOf(err), "decision": decisionJSON(ge.Decision),
		}})
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"release": toReleaseJSON(x), "decision": decisionJSON(d)})
}

// checkArtifact answers a build pipeline: may the artifact with
// ?sha256= ship? 200 either way, with "approved" and the reasons.
func (a *API) checkArtifact(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sum := r.URL.Query().Get("sha256")
	if sum == "" {
		return fault.New(fault.Invalid, "sha256 is required: the artifact's SHA-256 digest, 64 hex digits")
	}
	c, err := a.deps.Releases.Check(r.Context(), by, id, sum)
	if err != nil {
		return err
	}
	out := map[string]any{"app": toAppJSON(c.App), "approved": c.Decision.Approved, "decision": decisionJSON(c.Decision)}
	if c.Release.ID != 0 {
		out["release"] = toReleaseJSON(c.Release)
	}
	return writeJSON(w, http.StatusOK, out)
}

// Findings.

func (a *API) listFindings(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.FindingFilter{AppID: id, After: q.Get("after")}
	if f.ReleaseID, err = queryInt(r, "release", 0); err != nil {
		return err
	}
	if s := q.Get("type"); s != "" {
		if f.ScanType, err = release.ParseScanType(s); err != nil {
			return err
		}
	}
	for _, s := range q["state"] {
		for part := range strings.SplitSeq(s, ",") {
			st, err := release.ParseState(part)
			if err != nil {
				return err
			}
			f.States = append(f.States, st)
		}
	}
	if s := q.Get("min_severity"); s != "" {
		sev := scan.Severity(strings.ToLower(strings.TrimSpace(s)))
		if !validSeverity(sev) {
			return fault.New(fault.Invalid, "min_severity must be critical, high, medium, low or info, not %q", clipText(s))
		}
		f.MinSeverity = sev
	}
	if f.Overdue, err = boolParam(r, "overdue"); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	f.Limit = int(min(limit, 500))
	page, err := a.deps.Releases.Findings(r.Context(), by, f)
	if err != nil {
		return err
	}
	out := make([]findingJSON, 0, len(page.Findings))
	for _, x := range page.Findings {
		out = append(out, toFindingJSON(x))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"findings": out, "next": page.Next, "counts": toCountsJSON(page.Counts), "as_of": page.ReadAt})
}

func validSeverity(s scan.Severity) bool {
	for _, x := range release.Severities() {
		if x == s {
			return true
		}
	}
	return false
}

func (a *API) getFinding(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f, err := a.deps.Releases.Finding(r.Context(), by, id)
	if err != nil {
		return err
	}
	scans, err := a.deps.Releases.FindingScans(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"finding": toFindingJSON(f), "scans": nonNil(scans)})
}

func (a *API) triageFinding(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.deps.Releases.Finding(r.Context(), by, id); err != nil {
		return err
	}
	var body struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	to, err := release.ParseState(body.State)
	if err != nil {
		return err
	}
	f, err := a.deps.Releases.Triage(r.Context(), by, id, to, body.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"finding": toFindingJSON(f)})
}

func (a *API) requestException(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.deps.Releases.Finding(r.Context(), by, id); err != nil {
		return err
	}
	var body struct {
		Justification        string `json:"justification"`
		CompensatingControls string `json:"compensating_controls"`
		ExpiresAt            string `json:"expires_at"` // YYYY-MM-DD or RFC 3339
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	e := release.Exception{Justification: body.Justification, CompensatingControls: body.CompensatingControls}
	if body.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, body.ExpiresAt)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, body.ExpiresAt); err != nil {
				return release.Errors{{Field: "expires_at", Message: "must be a date (YYYY-MM-DD) or an RFC 3339 time"}}.Err("the exception is not valid")
			}
			t = t.Add(24*time.Hour - time.Second)
		}
		e.ExpiresAt = t
	}
	e.Normalize()
	if err := e.Validate(time.Now()); err != nil {
		return err
	}
	out, err := a.deps.Releases.RequestException(r.Context(), by, id, e)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"exception": toExceptionJSON(out)})
}

func (a *API) listExceptions(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var f store.ExceptionFilter
	var err error
	if f.AppID, err = queryInt(r, "app", 0); err != nil {
		return err
	}
	if f.FindingID, err = queryInt(r, "finding", 0); err != nil {
		return err
	}
	if s := r.URL.Query().Get("status"); s != "" {
		f.Status = release.ExceptionStatus(s)
		switch f.Status {
		case release.ExceptionRequested, release.ExceptionApproved, release.ExceptionRejected, release.ExceptionExpired, release.ExceptionWithdrawn:
		default:
			return fault.New(fault.Invalid, "status must be requested, approved, rejected, expired or withdrawn, not %q", clipText(s))
		}
	}
	limit, err := queryInt(r, "limit", 500)
	if err != nil {
		return err
	}
	f.Limit = int(min(limit, 500))
	es, err := a.deps.Releases.Exceptions(r.Context(), by, f)
	if err != nil {
		return err
	}
	out := make([]exceptionJSON, 0, len(es))
	for _, e := range es {
		out = append(out, toExceptionJSON(e))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"exceptions": out})
}

func (a *API) decideException(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Decision string `json:"decision"` // approve or reject
		Note     string `json:"note"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	var approve bool
	switch body.Decision {
	case "approve":
		approve = true
	case "reject":
	default:
		return fault.New(fault.Invalid, "decision must be approve or reject, not %q", clipText(body.Decision))
	}
	e, err := a.deps.Releases.DecideException(r.Context(), by, id, approve, body.Note)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"exception": toExceptionJSON(e)})
}

// The store watch.

type listingJSON struct {
	Kind        storewatch.Kind `json:"kind"`
	URL         string          `json:"url,omitempty"`
	BundleID    string          `json:"bundle_id,omitempty"`
	Country     string          `json:"country,omitempty"`
	VersionPath string          `json:"version_path,omitempty"`
	DatePath    string          `json:"date_path,omitempty"`
}

func (a *API) writeWatch(w http.ResponseWriter, r *http.Request, by auth.Principal, id int64) error {
	ws, ok, err := a.deps.Releases.Watch(r.Context(), by, id)
	if err != nil {
		return err
	}
	out := map[string]any{"watched": ok}
	if ok {
		l := ws.Listing
		out["listing"] = listingJSON{Kind: l.Kind, URL: l.URL, BundleID: l.BundleID, Country: l.Country, VersionPath: l.VersionPath, DatePath: l.DatePath}
		out["set_by"], out["set_at"] = ws.SetBy, ws.SetAt
		out["checked_at"], out["error"] = timePtr(ws.CheckedAt), ws.Error
		out["published"], out["unapproved"] = nonNil(ws.Published), nonNil(ws.Unapproved)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) getListing(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return a.writeWatch(w, r, by, id)
}

// putListing sets where the app's published versions are read: the App
// Store lookup by bundle ID, or any JSON endpoint with the path of its
// version field.
func (a *API) putListing(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.deps.Releases.App(r.Context(), by, id); err != nil {
		return err
	}
	var body listingJSON
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	l := storewatch.Listing{Kind: body.Kind, URL: body.URL, BundleID: body.BundleID, Country: body.Country, VersionPath: body.VersionPath, DatePath: body.DatePath}
	if err := a.deps.Releases.SetListing(r.Context(), by, id, &l); err != nil {
		return err
	}
	return a.writeWatch(w, r, by, id)
}

func (a *API) deleteListing(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.deps.Releases.SetListing(r.Context(), by, id, nil); err != nil {
		return err
	}
	return a.writeWatch(w, r, by, id)
}
