package web

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/store"
)

// peopleRoutes are the administrator's pages of people, over the identity
// store as the API's routes are: reading needs people.read (the store
// shows each the people of the components they may read); granting and
// revoking roles needs roles.grant, locking people.lock, reinstating
// people.manage and ending sessions sessions.revoke, each in the
// person's component, which the store checks again with separation of
// duties.
func (w *Web) peopleRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/people", Perm: auth.PeopleRead, Handler: w.listPeople},
		{Method: "GET", Pattern: "/people.csv", Perm: auth.PeopleRead, Handler: w.peopleCSV},
		{Method: "GET", Pattern: "/people/{id}", Perm: auth.PeopleRead, Handler: w.showPerson},
		{Method: "POST", Pattern: "/people/{id}/grants", Perm: auth.RolesGrant, Handler: w.grantRole},
		{Method: "POST", Pattern: "/people/{id}/grants/{grant}/revoke", Perm: auth.RolesGrant, Handler: w.revokeRole},
		{Method: "POST", Pattern: "/people/{id}/lock", Perm: auth.PeopleLock, Handler: w.setPersonStatus(identity.Locked)},
		{Method: "POST", Pattern: "/people/{id}/reinstate", Perm: auth.PeopleManage, Handler: w.setPersonStatus(identity.Active)},
		{Method: "POST", Pattern: "/people/{id}/sessions/end-all", Perm: auth.SessionsRevoke, Handler: w.endPersonSessions},
	}
}

// personStatuses are the statuses of accounts, in the order filters
// offer them.
var personStatuses = []identity.Status{identity.Invited, identity.Active, identity.Suspended, identity.Locked, identity.Disabled}

// personStatusText says what an account's status means.
func personStatusText(s identity.Status) string {
	switch s {
	case identity.Invited:
		return "invited: has not activated the account"
	case identity.Active:
		return "active"
	case identity.Suspended:
		return "suspended: lapsed through inactivity"
	case identity.Locked:
		return "locked"
	case identity.Disabled:
		return "disabled for good"
	}
	return string(s)
}

func scopeText(component string) string {
	if component == "" {
		return "department-wide"
	}
	return "in " + component
}

// grantText names a grant: its role, where it is held, and its status
// when it is not active.
func grantText(g identity.Grant) string {
	s := g.Role.Title() + " (" + scopeText(g.Component) + ")"
	if g.Status != identity.GrantActive {
		s += ", " + string(g.Status)
	}
	return s
}

func grantsText(gs []identity.Grant) string {
	parts := make([]string, 0, len(gs))
	for _, g := range gs {
		parts = append(parts, grantText(g))
	}
	return strings.Join(parts, "; ")
}

func personID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.NotFound, "there is no person %q", clipValue(s))
	}
	return id, nil
}

// The list.

// peoplePageMax is the most people the list shows, each with their roles;
// the export has them all.
const peoplePageMax = 200

type personRow struct {
	ID                                         int64
	Name, EmployeeID, Component, Status, Roles string
	LastSignIn                                 string
	Attention                                  bool
}

type peopleListData struct {
	Rows              []personRow
	Statuses          []filterChoice
	Components        []filterChoice
	Q                 string
	Filtered, Clipped bool
	Total             int
	Query             string
}

// peopleFilter reads the list's filters: status, component and q (part
// of a name, email or employee ID).
func peopleFilter(v url.Values) (store.PeopleFilter, error) {
	f := store.PeopleFilter{Component: strings.TrimSpace(v.Get("component")), Query: strings.TrimSpace(v.Get("q"))}
	if s := v.Get("status"); s != "" {
		f.Status = identity.Status(s)
		found := false
		for _, st := range personStatuses {
			found = found || st == f.Status
		}
		if !found {
			return f, fault.New(fault.Invalid, "status %q is not an account status: use invited, active, suspended, locked or disabled", clipValue(s))
		}
	}
	if len(f.Query) > 100 {
		return f, fault.New(fault.Invalid, "search: at most 100 characters")
	}
	return f, nil
}

func (w *Web) listPeople(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	f, err := peopleFilter(r.URL.Query())
	if err != nil {
		return err
	}
	people, err := w.deps.Identity.People(ctx, p, f)
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	d := peopleListData{Q: f.Query, Filtered: f.Status != "" || f.Component != "" || f.Query != "", Total: len(people), Query: r.URL.RawQuery}
	d.Statuses = append(d.Statuses, filterChoice{Value: "", Title: "Any status", Selected: f.Status == ""})
	for _, s := range personStatuses {
		d.Statuses = append(d.Statuses, filterChoice{Value: string(s), Title: string(s), Selected: f.Status == s})
	}
	comps, err := w.deps.Identity.Components(ctx)
	if err != nil {
		return err
	}
	d.Components = append(d.Components, filterChoice{Value: "", Title: "Any component", Selected: f.Component == ""})
	for _, c := range comps {
		if p.CanIn(auth.PeopleRead, c.Code) {
			d.Components = append(d.Components, filterChoice{Value: c.Code, Title: c.Code + " — " + c.Name, Selected: f.Component == c.Code})
		}
	}
	if len(people) > peoplePageMax {
		people, d.Clipped = people[:peoplePageMax], true
	}
	for _, x := range people {
		grants, err := w.deps.Identity.Grants(ctx, x.ID)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, personRow{ID: x.ID, Name: x.Name, EmployeeID: x.EmployeeID, Component: orDepartment(x.Component), Status: personStatusText(x.Status),
			Roles: grantsText(grants), LastSignIn: localText(x.LastSignIn, loc), Attention: needsAttention(x.Status)})
	}
	return w.render(rw, http.StatusOK, "people", view{Title: "People", Person: who, Data: d})
}

// needsAttention reports whether an account in status s waits for an
// administrator: an invitation not taken up, a lock, a suspension.
func needsAttention(s identity.Status) bool {
	return s == identity.Invited || s == identity.Locked || s == identity.Suspended
}

func orDepartment(component string) string {
	if component == "" {
		return "department"
	}
	return component
}

func (w *Web) peopleCSV(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	f, err := peopleFilter(r.URL.Query())
	if err != nil {
		return err
	}
	people, err := w.deps.Identity.People(ctx, p, f)
	if err != nil {
		return err
	}
	rows := func(yield func([]string, error) bool) {
		for _, x := range people {
			grants, err := w.deps.Identity.Grants(ctx, x.ID)
			if err != nil {
				yield(nil, err)
				return
			}
			last := ""
			if !x.LastSignIn.IsZero() {
				last = x.LastSignIn.UTC().Format(time.RFC3339)
			}
			if !yield([]string{strconv.FormatInt(x.ID, 10), x.EmployeeID, x.Name, x.Email, x.Component, string(x.Status), x.StatusReason, grantsText(grants), last,
				x.CreatedAt.UTC().Format(time.RFC3339)}, nil) {
				return
			}
		}
	}
	return w.writeCSV(rw, r, "probity-people.csv", []string{"id", "employee_id", "name", "email", "component", "status", "status_reason", "roles", "last_sign_in", "created_at"},
		iter.Seq2[[]string, error](rows))
}

// A person's page.

type grantRow struct {
	ID                                 int64
	Role, Scope, Status, Granted, Seen string
	Revocable                          bool
}

type roleChoice struct {
	Value, Title string
	Selected     bool
}

type sessionRow struct {
	Method, Addr, Agent, Started, LastSeen, Expires string
}

// personPageData is what a person's page shows, with the forms the reader
// may use.
type personPageData struct {
	ID                                             int64
	Name, EmployeeID, Email, Component, Supervisor string
	Status, StatusReason, LastSignIn, Created      string
	Zone                                           string
	Self                                           bool
	Grants                                         []grantRow
	// The forms: CanGrant offers the grant form, with Roles and the
	// scopes it may be held in; Lockable, Reinstatable and EndSessions
	// the other actions. ShowSessions lists the live sessions.
	CanGrant, Lockable, Reinstatable, EndSessions, ShowSessions bool
	Roles                                                       []roleChoice
	Scope                                                       string
	Sessions                                                    []sessionRow
	CSRF                                                        string
	// Problem is why the last action was refused, shown with the form of
	// Action (grant, revoke, lock, reinstate, sessions); Reason what was
	// typed.
	Problem, Action, Reason string
}

var personDone = map[string]string{
	"granted":    "The role is granted.",
	"revoked":    "The role is revoked.",
	"locked":     "The account is locked: its sessions and tokens have ended.",
	"reinstated": "The account is reinstated.",
	"ended":      "The person's sessions have ended.",
}

func (w *Web) showPerson(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := personID(r)
	if err != nil {
		return err
	}
	flash := ""
	if msg, ok := personDone[r.URL.Query().Get("done")]; ok {
		flash = msg + " This is recorded in the ledger."
	}
	return w.personPage(rw, r, p, id, http.StatusOK, flash, personProblem{})
}

// personProblem is an action on a person that was refused: which, why,
// and what was typed.
type personProblem struct {
	action, msg, reason string
	role                auth.Role
	scope               string
}

func (w *Web) personPage(rw http.ResponseWriter, r *http.Request, p auth.Principal, id int64, status int, flash string, pr personProblem) error {
	ctx := r.Context()
	x, err := w.deps.Identity.Person(ctx, p, id)
	if err != nil {
		return err
	}
	grants, err := w.deps.Identity.Grants(ctx, id)
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	self := p.PersonID == id
	d := personPageData{ID: x.ID, Name: x.Name, EmployeeID: x.EmployeeID, Email: x.Email, Component: orDepartment(x.Component), Status: personStatusText(x.Status),
		StatusReason: x.StatusReason, LastSignIn: localText(x.LastSignIn, loc), Created: localText(x.CreatedAt, loc), Zone: loc.String(), Self: self,
		CSRF: formToken(r), Problem: pr.msg, Action: pr.action, Reason: pr.reason}
	if x.SupervisorID != 0 {
		d.Supervisor = fmt.Sprintf("person %d", x.SupervisorID)
		if sup, err := w.deps.Identity.Person(ctx, p, x.SupervisorID); err == nil {
			d.Supervisor = sup.Name + " (" + sup.EmployeeID + ")"
		}
	}
	granter := p.CanIn(auth.RolesGrant, x.Component) && !self
	for _, g := range grants {
		d.Grants = append(d.Grants, grantRow{ID: g.ID, Role: g.Role.Title(), Scope: scopeText(g.Component), Status: string(g.Status), Granted: localText(g.GrantedAt, loc),
			Seen: localText(g.AttestedAt, loc), Revocable: granter})
	}
	d.CanGrant = granter && x.Status != identity.Disabled
	if d.CanGrant {
		for _, role := range auth.Roles() {
			d.Roles = append(d.Roles, roleChoice{Value: string(role), Title: role.Title(), Selected: role == pr.role})
		}
		d.Scope = pr.scope
	}
	d.Lockable = p.CanIn(auth.PeopleLock, x.Component) && !self && x.Status != identity.Locked && x.Status != identity.Disabled
	d.Reinstatable = p.CanIn(auth.PeopleManage, x.Component) && !self && (x.Status == identity.Locked || x.Status == identity.Suspended)
	d.ShowSessions = self || p.CanIn(auth.SessionsRevoke, x.Component)
	d.EndSessions = !self && p.CanIn(auth.SessionsRevoke, x.Component)
	if d.ShowSessions {
		ss, err := w.deps.Identity.Sessions(ctx, id, w.deps.Authn.SessionPolicy())
		if err != nil {
			return err
		}
		for _, s := range ss {
			d.Sessions = append(d.Sessions, sessionRow{Method: s.Method, Addr: s.Addr, Agent: s.UserAgent, Started: localText(s.CreatedAt, loc),
				LastSeen: localText(s.LastSeen, loc), Expires: localText(s.ExpiresAt, loc)})
		}
	}
	return w.render(rw, status, "person", view{Title: x.Name, Person: who, Flash: flash, Data: d})
}

// personAction runs an action on person {id} from a posted form with its
// token: on success it goes back to the person's page saying done; a
// refusal the reader may see is shown on the page, with the form's
// input, as problem says.
func (w *Web) personAction(rw http.ResponseWriter, r *http.Request, p auth.Principal, done string, act func(ctx context.Context, id int64) (personProblem, error)) error {
	if err := form(rw, r); err != nil {
		return err
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	id, err := personID(r)
	if err != nil {
		return err
	}
	pr, err := act(r.Context(), id)
	if err != nil {
		status, known := pageStatus[fault.CodeOf(err)]
		if !known || fault.Is(err, fault.NotFound) {
			return err
		}
		pr.msg = fault.MessageOf(err)
		return w.personPage(rw, r, p, id, status, "", pr)
	}
	http.Redirect(rw, r, fmt.Sprintf("/people/%d?done=%s", id, done), http.StatusSeeOther)
	return nil
}

// grantRole grants the role the form names, in the person's component or
// department-wide. Separation of duties is the store's to check; its
// refusal is shown with the form.
func (w *Web) grantRole(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return w.personAction(rw, r, p, "granted", func(ctx context.Context, id int64) (personProblem, error) {
		role, scope := auth.Role(r.PostFormValue("role")), r.PostFormValue("scope")
		pr := personProblem{action: "grant", role: role, scope: scope}
		x, err := w.deps.Identity.Person(ctx, p, id)
		if err != nil {
			return pr, err
		}
		g := identity.Grant{PersonID: id, Role: role}
		switch scope {
		case "department":
		case "component":
			if x.Component == "" {
				return pr, fault.New(fault.Invalid, "%s belongs to no component: choose department-wide", x.Name)
			}
			g.Component = x.Component
		default:
			return pr, fault.New(fault.Invalid, "choose where the role is held: in %s's component or department-wide", x.Name)
		}
		if role == "" {
			return pr, fault.New(fault.Invalid, "choose the role to grant")
		}
		_, err = w.deps.Identity.GrantRole(ctx, p, g)
		return pr, err
	})
}

func (w *Web) revokeRole(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return w.personAction(rw, r, p, "revoked", func(ctx context.Context, id int64) (personProblem, error) {
		reason := r.PostFormValue("reason")
		pr := personProblem{action: "revoke", reason: reason}
		gid, err := strconv.ParseInt(r.PathValue("grant"), 10, 64)
		if err != nil || gid <= 0 {
			return pr, fault.New(fault.NotFound, "there is no grant %q", clipValue(r.PathValue("grant")))
		}
		// The person must be one the reader may see, and the grant theirs.
		if _, err := w.deps.Identity.Person(ctx, p, id); err != nil {
			return pr, err
		}
		grants, err := w.deps.Identity.Grants(ctx, id)
		if err != nil {
			return pr, err
		}
		found := false
		for _, g := range grants {
			found = found || g.ID == gid
		}
		if !found {
			return pr, fault.New(fault.NotFound, "person %d holds no grant %d", id, gid)
		}
		return pr, w.deps.Identity.RevokeRole(ctx, p, gid, reason)
	})
}

func (w *Web) setPersonStatus(status identity.Status) func(http.ResponseWriter, *http.Request, auth.Principal) error {
	action, done := "lock", "locked"
	if status == identity.Active {
		action, done = "reinstate", "reinstated"
	}
	return func(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
		return w.personAction(rw, r, p, done, func(ctx context.Context, id int64) (personProblem, error) {
			reason := r.PostFormValue("reason")
			pr := personProblem{action: action, reason: reason}
			if _, err := w.deps.Identity.Person(ctx, p, id); err != nil {
				return pr, err
			}
			return pr, w.deps.Identity.SetStatus(ctx, p, id, status, reason)
		})
	}
}

func (w *Web) endPersonSessions(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return w.personAction(rw, r, p, "ended", func(ctx context.Context, id int64) (personProblem, error) {
		pr := personProblem{action: "sessions"}
		if _, err := w.deps.Identity.Person(ctx, p, id); err != nil {
			return pr, err
		}
		_, err := w.deps.Identity.EndAllSessions(ctx, p, id, "ended by "+p.ID)
		return pr, err
	})
}
