package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/store"
)

// identityRoutes are the organization, people, roles, credentials and
// compliance routes.
func (a *API) identityRoutes() []Route {
	return []Route{
		{Method: "POST", Pattern: "/api/v1/auth/token", Perm: auth.Public, Handler: a.issueToken},

		{Method: "GET", Pattern: "/api/v1/me", Perm: auth.Self, Handler: a.me},
		{Method: "GET", Pattern: "/api/v1/me/sessions", Perm: auth.Self, Handler: a.mySessions},
		{Method: "DELETE", Pattern: "/api/v1/me/sessions/{ref}", Perm: auth.Self, Handler: a.endMySession},
		{Method: "POST", Pattern: "/api/v1/me/sessions/end-all", Perm: auth.Self, Handler: a.endAllMySessions},
		{Method: "GET", Pattern: "/api/v1/me/tokens", Perm: auth.Self, Handler: a.myTokens},
		{Method: "POST", Pattern: "/api/v1/me/tokens", Perm: auth.Self, Handler: a.createMyToken},
		{Method: "DELETE", Pattern: "/api/v1/me/tokens/{id}", Perm: auth.Self, Handler: a.revokeToken},
		{Method: "POST", Pattern: "/api/v1/me/password", Perm: auth.Self, Handler: a.changePassword},
		{Method: "POST", Pattern: "/api/v1/me/recovery-codes", Perm: auth.Self, Handler: a.newRecoveryCodes},
		{Method: "POST", Pattern: "/api/v1/me/rules/{key}/acknowledge", Perm: auth.Self, Handler: a.acknowledgeRules},

		{Method: "GET", Pattern: "/api/v1/components", Perm: auth.PeopleRead, Handler: a.listComponents},
		{Method: "POST", Pattern: "/api/v1/components", Perm: auth.PeopleManage, Handler: a.createComponent},
		{Method: "GET", Pattern: "/api/v1/units", Perm: auth.PeopleRead, Handler: a.listUnits},
		{Method: "POST", Pattern: "/api/v1/units", Perm: auth.PeopleManage, Handler: a.createUnit},
		{Method: "GET", Pattern: "/api/v1/people", Perm: auth.PeopleRead, Handler: a.listPeople},
		{Method: "POST", Pattern: "/api/v1/people", Perm: auth.PeopleManage, Handler: a.invitePerson},
		{Method: "GET", Pattern: "/api/v1/people/{id}", Perm: auth.PeopleRead, Handler: a.getPerson},
		{Method: "PATCH", Pattern: "/api/v1/people/{id}", Perm: auth.PeopleManage, Handler: a.updatePerson},
		{Method: "POST", Pattern: "/api/v1/people/{id}/invitation", Perm: auth.PeopleManage, Handler: a.reinvite},
		{Method: "POST", Pattern: "/api/v1/people/{id}/lock", Perm: auth.PeopleLock, Handler: a.setStatus(identity.Locked)},
		{Method: "POST", Pattern: "/api/v1/people/{id}/reinstate", Perm: auth.PeopleManage, Handler: a.setStatus(identity.Active)},
		{Method: "POST", Pattern: "/api/v1/people/{id}/disable", Perm: auth.PeopleManage, Handler: a.setStatus(identity.Disabled)},
		{Method: "POST", Pattern: "/api/v1/people/{id}/sessions/end-all", Perm: auth.SessionsRevoke, Handler: a.endPersonSessions},
		{Method: "GET", Pattern: "/api/v1/people/{id}/access", Perm: auth.ComplianceRead, Handler: a.personAccess},
		{Method: "POST", Pattern: "/api/v1/people/{id}/trainings", Perm: auth.TrainingManage, Handler: a.recordTraining},
		{Method: "POST", Pattern: "/api/v1/grants", Perm: auth.RolesGrant, Handler: a.grantRole},
		{Method: "POST", Pattern: "/api/v1/grants/{id}/revoke", Perm: auth.RolesGrant, Handler: a.revokeRole},

		{Method: "GET", Pattern: "/api/v1/rules", Perm: auth.Self, Handler: a.listRules},
		{Method: "POST", Pattern: "/api/v1/rules", Perm: auth.RulesManage, Handler: a.publishRules},
		{Method: "GET", Pattern: "/api/v1/courses", Perm: auth.TrainingRead, Handler: a.listCourses},
		{Method: "PUT", Pattern: "/api/v1/courses/{code}", Perm: auth.TrainingManage, Handler: a.defineCourse},
		{Method: "GET", Pattern: "/api/v1/campaigns", Perm: auth.RecertRead, Handler: a.listCampaigns},
		{Method: "POST", Pattern: "/api/v1/campaigns", Perm: auth.RecertManage, Handler: a.startCampaign},
		{Method: "POST", Pattern: "/api/v1/campaigns/{id}/close", Perm: auth.RecertManage, Handler: a.closeCampaign},
		{Method: "GET", Pattern: "/api/v1/campaigns/{id}/items", Perm: auth.RecertRead, Handler: a.campaignItems},
		{Method: "POST", Pattern: "/api/v1/campaign-items/{id}", Perm: auth.RecertAttest, Handler: a.attest},
		{Method: "GET", Pattern: "/api/v1/signals", Perm: auth.SignalsRead, Handler: a.listSignals},
	}
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.Invalid, "%s must be a positive whole number, not %q", name, r.PathValue(name))
	}
	return id, nil
}

// idAndReason reads the {id} of the path and the body {"reason": …}.
func idAndReason(w http.ResponseWriter, r *http.Request) (int64, string, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, "", err
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return 0, "", err
	}
	return id, body.Reason, nil
}

// personJSON is a person as the API shows them.
type personJSON struct {
	ID           int64           `json:"id"`
	EmployeeID   string          `json:"employee_id"`
	Name         string          `json:"name"`
	Email        string          `json:"email"`
	Component    string          `json:"component,omitempty"`
	UnitID       int64           `json:"unit_id,omitempty"`
	SupervisorID int64           `json:"supervisor_id,omitempty"`
	Schedule     scheduleJSON    `json:"schedule"`
	Status       identity.Status `json:"status"`
	StatusReason string          `json:"status_reason,omitempty"`
	PIVSubject   string          `json:"piv_subject,omitempty"`
	PIVUPN       string          `json:"piv_upn,omitempty"`
	LastSignIn   *time.Time      `json:"last_sign_in,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	Grants       []grantJSON     `json:"grants,omitempty"`
}

type scheduleJSON struct {
	TimeZone string   `json:"time_zone"`
	Start    string   `json:"start"` // HH:MM
	End      string   `json:"end"`
	Days     []string `json:"days"` // Mon, Tue, …
}

type grantJSON struct {
	ID         int64                `json:"id"`
	Role       auth.Role            `json:"role"`
	Component  string               `json:"component,omitempty"`
	Status     identity.GrantStatus `json:"status"`
	GrantedAt  time.Time            `json:"granted_at"`
	AttestedAt *time.Time           `json:"attested_at,omitempty"`
}

func toGrantJSON(g identity.Grant) grantJSON {
	return grantJSON{ID: g.ID, Role: g.Role, Component: g.Component, Status: g.Status, GrantedAt: g.GrantedAt, AttestedAt: timePtr(g.AttestedAt)}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

var dayNames = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

func toScheduleJSON(s identity.Schedule) scheduleJSON {
	out := scheduleJSON{TimeZone: s.TimeZone, Start: hhmm(s.Start), End: hhmm(s.End)}
	for _, d := range s.Days {
		out.Days = append(out.Days, dayNames[d])
	}
	return out
}

func hhmm(m int) string { return time.Date(0, 1, 1, m/60, m%60, 0, 0, time.UTC).Format("15:04") }

func (j scheduleJSON) schedule() (identity.Schedule, error) {
	s := identity.Schedule{TimeZone: j.TimeZone}
	for i, v := range []string{j.Start, j.End} {
		t, err := time.Parse("15:04", v)
		if err != nil {
			return s, fault.New(fault.Invalid, "working hours must be HH:MM, not %q", v)
		}
		m := t.Hour()*60 + t.Minute()
		if i == 0 {
			s.Start = m
		} else {
			s.End = m
		}
	}
	for _, d := range j.Days {
		found := false
		for i, n := range dayNames {
			if n == d {
				s.Days, found = append(s.Days, time.Weekday(i)), true
			}
		}
		if !found {
			return s, fault.New(fault.Invalid, "day %q is not one of Sun, Mon, Tue, Wed, Thu, Fri, Sat", d)
		}
	}
	return s, s.Validate()
}

func toPersonJSON(p identity.Person, grants []identity.Grant) personJSON {
	out := personJSON{ID: p.ID, EmployeeID: p.EmployeeID, Name: p.Name, Email: p.Email, Component: p.Component, UnitID: p.UnitID,
		SupervisorID: p.SupervisorID, Schedule: toScheduleJSON(p.Schedule), Status: p.Status, StatusReason: p.StatusReason,
		PIVSubject: p.PIVSubject, PIVUPN: p.PIVUPN, LastSignIn: timePtr(p.LastSignIn), CreatedAt: p.CreatedAt}
	for _, g := range grants {
		out.Grants = append(out.Grants, toGrantJSON(g))
	}
	return out
}

func (a *API) issueToken(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var body struct {
		EmployeeID string            `json:"employee_id"`
		Password   string            `json:"password"`
		Code       string            `json:"code"`
		Name       string            `json:"name"`
		Scopes     []auth.Permission `json:"scopes"`
		Days       int               `json:"days"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Days == 0 {
		body.Days = 30
	}
	t, secret, err := a.deps.Authn.IssueToken(r.Context(), body.EmployeeID, body.Password, body.Code, body.Name, body.Scopes, time.Duration(body.Days)*24*time.Hour, authn.ClientOf(r))
	if err != nil {
		return err
	}
	return writeNewToken(w, t, secret)
}

// writeNewToken answers with a token just created and its secret, shown
// this once.
func writeNewToken(w http.ResponseWriter, t store.Token, secret string) error {
	return writeJSON(w, http.StatusCreated, map[string]any{"token": secret, "id": t.ID, "name": t.Name, "scopes": t.Scopes, "expires_at": t.ExpiresAt,
		"note": "this token is shown once; store it now"})
}

func (a *API) me(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f, err := a.deps.Identity.AccessFacts(r.Context(), p.PersonID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"person": toPersonJSON(f.Person, f.Grants), "access_lapses": lapsesJSON(identity.Lapses(f)), "rules": rulesStatus(f)})
}

// lapseJSON is a reason a person may not access data, as the API shows it.
type lapseJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

func lapsesJSON(ls []identity.Lapse) []lapseJSON {
	out := []lapseJSON{}
	for _, l := range ls {
		out = append(out, lapseJSON{Code: l.Code, Message: l.Message, Fix: l.Fix})
	}
	return out
}

type rulesStatusJSON struct {
	Key          string     `json:"key"`
	Version      int        `json:"version"`
	Title        string     `json:"title"`
	Acknowledged *time.Time `json:"acknowledged_at,omitempty"`
}

func rulesStatus(f identity.AccessFacts) []rulesStatusJSON {
	out := []rulesStatusJSON{}
	for _, r := range f.Rules {
		st := rulesStatusJSON{Key: r.Key, Version: r.Version, Title: r.Title}
		for _, ack := range f.Acks {
			if ack.Key == r.Key && ack.Version == r.Version {
				at := ack.AckedAt
				st.Acknowledged = &at
			}
		}
		out = append(out, st)
	}
	return out
}

type sessionJSON struct {
	Ref       string    `json:"ref"`
	Method    string    `json:"method"`
	Addr      string    `json:"addr"`
	UserAgent string    `json:"user_agent"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	ExpiresAt time.Time `json:"expires_at"`
	Current   bool      `json:"current"`
}

func (a *API) mySessions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ss, err := a.deps.Identity.Sessions(r.Context(), p.PersonID, a.deps.Authn.SessionPolicy())
	if err != nil {
		return err
	}
	out := []sessionJSON{}
	for _, s := range ss {
		out = append(out, sessionJSON{Ref: s.Ref, Method: s.Method, Addr: s.Addr, UserAgent: s.UserAgent, CreatedAt: s.CreatedAt, LastSeen: s.LastSeen, ExpiresAt: s.ExpiresAt, Current: s.Ref == p.SessionID})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

func (a *API) endMySession(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := a.deps.Identity.EndSession(r.Context(), p, "", r.PathValue("ref"), "signed out"); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ended": r.PathValue("ref")})
}

func (a *API) endAllMySessions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	n, err := a.deps.Identity.EndAllSessions(r.Context(), p, p.PersonID, "signed out everywhere")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"sessions_ended": n})
}

func (a *API) endPersonSessions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	n, err := a.deps.Identity.EndAllSessions(r.Context(), p, id, "ended by "+p.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"sessions_ended": n})
}

type tokenJSON struct {
	ID         int64             `json:"id"`
	Name       string            `json:"name"`
	Scopes     []auth.Permission `json:"scopes"`
	CreatedAt  time.Time         `json:"created_at"`
	ExpiresAt  time.Time         `json:"expires_at"`
	LastUsedAt *time.Time        `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time        `json:"revoked_at,omitempty"`
}

func (a *API) myTokens(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ts, err := a.deps.Identity.Tokens(r.Context(), p.PersonID)
	if err != nil {
		return err
	}
	out := []tokenJSON{}
	for _, t := range ts {
		out = append(out, tokenJSON{ID: t.ID, Name: t.Name, Scopes: t.Scopes, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: timePtr(t.LastUsedAt), RevokedAt: timePtr(t.RevokedAt)})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (a *API) createMyToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Name   string            `json:"name"`
		Scopes []auth.Permission `json:"scopes"`
		Days   int               `json:"days"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if p.Scopes != nil {
		return fault.New(fault.Forbidden, "a token cannot create tokens; sign in to create one")
	}
	t, secret, err := a.deps.Identity.CreateToken(r.Context(), p, body.Name, body.Scopes, time.Duration(body.Days)*24*time.Hour)
	if err != nil {
		return err
	}
	return writeNewToken(w, t, secret)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.deps.Identity.RevokeToken(r.Context(), p, id); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"revoked": id})
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := a.deps.Authn.ChangePassword(r.Context(), p.PersonID, p, body.Current, body.New, authn.ClientOf(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"changed": true, "note": "your other sessions have ended"})
}

func (a *API) newRecoveryCodes(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	codes, err := a.deps.Authn.NewRecoveryCodesFor(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes, "note": "these codes are shown once; each works once; the old ones no longer work"})
}

func (a *API) acknowledgeRules(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Version int `json:"version"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := a.deps.Identity.Acknowledge(r.Context(), p, r.PathValue("key"), body.Version); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"acknowledged": r.PathValue("key"), "version": body.Version})
}

func (a *API) listComponents(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	cs, err := a.deps.Identity.Components(r.Context())
	if err != nil {
		return err
	}
	out := []map[string]string{}
	for _, c := range cs {
		out = append(out, map[string]string{"code": c.Code, "name": c.Name})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"components": out})
}

func (a *API) createComponent(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := a.deps.Identity.CreateComponent(r.Context(), p, identity.Component{Code: body.Code, Name: body.Name}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"code": body.Code, "name": body.Name})
}

func (a *API) listUnits(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	us, err := a.deps.Identity.Units(r.Context(), r.URL.Query().Get("component"))
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, u := range us {
		out = append(out, map[string]any{"id": u.ID, "component": u.Component, "name": u.Name})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"units": out})
}

func (a *API) createUnit(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		Component string `json:"component"`
		Name      string `json:"name"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	u, err := a.deps.Identity.CreateUnit(r.Context(), p, identity.Unit{Component: body.Component, Name: body.Name})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"id": u.ID, "component": u.Component, "name": u.Name})
}

func (a *API) listPeople(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	f := store.PeopleFilter{Component: q.Get("component"), Status: identity.Status(q.Get("status")), Query: q.Get("q")}
	if s := q.Get("supervisor"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fault.New(fault.Invalid, "supervisor must be a person ID")
		}
		f.SupervisorID = id
	}
	people, err := a.deps.Identity.People(r.Context(), p, f)
	if err != nil {
		return err
	}
	out := []personJSON{}
	for _, x := range people {
		out = append(out, toPersonJSON(x, nil))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"people": out})
}

type personBody struct {
	EmployeeID   *string       `json:"employee_id"`
	Name         *string       `json:"name"`
	Email        *string       `json:"email"`
	Component    *string       `json:"component"`
	UnitID       *int64        `json:"unit_id"`
	SupervisorID *int64        `json:"supervisor_id"`
	Schedule     *scheduleJSON `json:"schedule"`
	PIVSubject   *string       `json:"piv_subject"`
	PIVUPN       *string       `json:"piv_upn"`
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (a *API) invitePerson(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body personBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	p := identity.Person{EmployeeID: deref(body.EmployeeID), Name: deref(body.Name), Email: deref(body.Email), Component: deref(body.Component),
		UnitID: deref(body.UnitID), SupervisorID: deref(body.SupervisorID), PIVSubject: deref(body.PIVSubject), PIVUPN: deref(body.PIVUPN), Schedule: identity.DefaultSchedule()}
	if body.Schedule != nil {
		s, err := body.Schedule.schedule()
		if err != nil {
			return err
		}
		p.Schedule = s
	}
	p, secret, err := a.deps.Identity.Invite(r.Context(), by, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"person": toPersonJSON(p, nil), "enrolment_url": a.enrolURL(secret),
		"note": "send the enrolment link to the person; it is shown once and works once, for 7 days"})
}

func (a *API) enrolURL(secret string) string {
	return a.deps.PublicURL + "enroll/" + secret
}

func (a *API) reinvite(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	secret, err := a.deps.Identity.Reinvite(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"enrolment_url": a.enrolURL(secret)})
}

func (a *API) getPerson(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := a.deps.Identity.Person(r.Context(), by, id)
	if err != nil {
		return err
	}
	grants, err := a.deps.Identity.Grants(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPersonJSON(p, grants))
}

func (a *API) updatePerson(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body personBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.EmployeeID != nil || body.Component != nil {
		return fault.New(fault.Invalid, "employee ID and component cannot change; disable the account and invite the person again")
	}
	u := store.PersonUpdate{Name: body.Name, Email: body.Email, UnitID: body.UnitID, SupervisorID: body.SupervisorID, PIVSubject: body.PIVSubject, PIVUPN: body.PIVUPN}
	if body.Schedule != nil {
		s, err := body.Schedule.schedule()
		if err != nil {
			return err
		}
		u.Schedule = &s
	}
	p, err := a.deps.Identity.UpdatePerson(r.Context(), by, id, u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPersonJSON(p, nil))
}

func (a *API) setStatus(status identity.Status) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
		id, reason, err := idAndReason(w, r)
		if err != nil {
			return err
		}
		if err := a.deps.Identity.SetStatus(r.Context(), by, id, status, reason); err != nil {
			return err
		}
		// The status reached: reinstating an account never activated
		// returns it to invited.
		now := status
		if p, err := a.deps.Identity.Person(r.Context(), by, id); err == nil {
			now = p.Status
		}
		return writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": now})
	}
}

func (a *API) personAccess(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := a.deps.Identity.Person(r.Context(), by, id)
	if err != nil {
		return err
	}
	if !by.CanIn(auth.ComplianceRead, p.Component) {
		return fault.New(fault.NotFound, "there is no person %d", id)
	}
	f, err := a.deps.Identity.AccessFacts(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"person_id": id, "access_lapses": lapsesJSON(identity.Lapses(f)), "rules": rulesStatus(f)})
}

func (a *API) recordTraining(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Course      string `json:"course"`
		CompletedOn string `json:"completed_on"` // YYYY-MM-DD
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	d, err := time.Parse(time.DateOnly, body.CompletedOn)
	if err != nil {
		return fault.New(fault.Invalid, "completed_on must be a date, YYYY-MM-DD")
	}
	t, err := a.deps.Identity.RecordTraining(r.Context(), by, id, body.Course, d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"person_id": id, "course": t.Course, "completed_at": t.CompletedAt, "expires_at": t.ExpiresAt})
}

func (a *API) grantRole(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		PersonID  int64     `json:"person_id"`
		Role      auth.Role `json:"role"`
		Component string    `json:"component"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	g, err := a.deps.Identity.GrantRole(r.Context(), by, identity.Grant{PersonID: body.PersonID, Role: body.Role, Component: body.Component})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toGrantJSON(g))
}

func (a *API) revokeRole(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, reason, err := idAndReason(w, r)
	if err != nil {
		return err
	}
	if err := a.deps.Identity.RevokeRole(r.Context(), by, id, reason); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"revoked": id})
}

func (a *API) listRules(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	rs, err := a.deps.Identity.CurrentRules(r.Context())
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, x := range rs {
		out = append(out, map[string]any{"key": x.Key, "version": x.Version, "title": x.Title, "body": x.Body, "published_at": x.PublishedAt})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"rules": out})
}

func (a *API) publishRules(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		Key   string `json:"key"`
		Title string `json:"title"`
		Body  string `json:"body"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	x, err := a.deps.Identity.PublishRules(r.Context(), by, identity.Rules{Key: body.Key, Title: body.Title, Body: body.Body})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"key": x.Key, "version": x.Version, "title": x.Title, "published_at": x.PublishedAt})
}

func (a *API) listCourses(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	cs, err := a.deps.Identity.Courses(r.Context())
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, c := range cs {
		out = append(out, map[string]any{"code": c.Code, "title": c.Title, "valid_months": c.ValidMonths, "required_for": c.RequiredFor})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"courses": out})
}

func (a *API) defineCourse(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		Title       string      `json:"title"`
		ValidMonths int         `json:"valid_months"`
		RequiredFor []auth.Role `json:"required_for"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	c := identity.Course{Code: r.PathValue("code"), Title: body.Title, ValidMonths: body.ValidMonths, RequiredFor: body.RequiredFor}
	if err := a.deps.Identity.DefineCourse(r.Context(), by, c); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"code": c.Code, "title": c.Title, "valid_months": c.ValidMonths, "required_for": c.RequiredFor})
}

func (a *API) listCampaigns(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	cs, err := a.deps.Identity.Campaigns(r.Context())
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, c := range cs {
		out = append(out, map[string]any{"id": c.ID, "name": c.Name, "started_at": c.StartedAt, "due_at": c.DueAt, "closed_at": timePtr(c.ClosedAt)})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"campaigns": out})
}

func (a *API) startCampaign(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	var body struct {
		Name  string    `json:"name"`
		DueAt time.Time `json:"due_at"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.DueAt.IsZero() {
		body.DueAt = time.Now().Add(identity.DefaultCampaignLength)
	}
	c, n, err := a.deps.Identity.StartCampaign(r.Context(), by, body.Name, body.DueAt)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID, "name": c.Name, "due_at": c.DueAt, "items": n})
}

func (a *API) closeCampaign(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	n, err := a.deps.Identity.CloseDueCampaigns(r.Context(), by, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"closed": id, "grants_suspended": n})
}

func (a *API) campaignItems(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	items, err := a.deps.Identity.CampaignItems(r.Context(), by, id, r.URL.Query().Get("mine") == "1")
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, it := range items {
		out = append(out, map[string]any{"id": it.ID, "grant_id": it.GrantID, "person_id": it.PersonID, "attester_id": it.AttesterID, "decision": it.Decision, "decided_at": timePtr(it.DecidedAt)})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (a *API) attest(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body struct {
		Decision identity.Decision `json:"decision"`
		Note     string            `json:"note"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := a.deps.Identity.Attest(r.Context(), by, id, body.Decision, body.Note); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"item": id, "decision": body.Decision})
}

func (a *API) listSignals(w http.ResponseWriter, r *http.Request, by auth.Principal) error {
	ss, err := a.deps.Identity.Signals(r.Context(), by, 500)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, s := range ss {
		out = append(out, map[string]any{"id": s.ID, "person_id": s.PersonID, "at": s.At, "kind": s.Kind, "explanation": s.Explanation, "evidence": s.Evidence})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"signals": out})
}
