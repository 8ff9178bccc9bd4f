package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
)

// demoPassword is every demo account's password: demo data only.
const demoPassword = "tulip orbit granite seven"

// A demoAccount is a demo person's sign-in details, written to the demo
// data directory so that "probity demo-codes" can show current codes.
type demoAccount struct {
	EmployeeID string   `json:"employee_id"`
	Name       string   `json:"name"`
	Roles      []string `json:"roles"`
	Password   string   `json:"password"`
	TOTPSecret string   `json:"totp_secret"`
}

// demoPerson describes a person the demo creates.
type demoPerson struct {
	id, name, component, unit, boss string
	grants                          []auth.Grant
}

func demoPeople() []demoPerson {
	g := func(r auth.Role, c string) auth.Grant { return auth.Grant{Role: r, Component: c} }
	var out []demoPerson
	for _, c := range []struct{ code, unit, head, sup, a1, a2, cpo, isso, opr string }{
		{"CBP", "Office of Field Operations — Targeting", "Morgan Reyes", "Avery Chen", "Jordan Patel", "Sam Okafor", "Riley Novak", "Casey Lindqvist", "Drew Castillo"},
		{"ICE", "Homeland Security Investigations — Cyber", "Taylor Brooks", "Quinn Adeyemi", "Harper Kowalski", "Rowan Silva", "Emerson Tanaka", "Parker Haddad", "Sage Moreau"},
		{"USSS", "Office of Investigations", "Jamie Fitzgerald", "Dakota Nguyen", "Skyler Ivanova", "Reese Mbeki", "Finley O'Connor", "Alexis Romero", "Blake Yilmaz"},
	} {
		lc := map[string]string{"CBP": "cbp", "ICE": "ice", "USSS": "usss"}[c.code]
		out = append(out,
			demoPerson{lc + "-head", c.head, c.code, c.unit, "", []auth.Grant{g(auth.Supervisor, c.code)}},
			demoPerson{lc + "-sup", c.sup, c.code, c.unit, lc + "-head", []auth.Grant{g(auth.Supervisor, c.code), g(auth.Analyst, c.code)}},
			demoPerson{lc + "-analyst1", c.a1, c.code, c.unit, lc + "-sup", []auth.Grant{g(auth.Analyst, c.code)}},
			demoPerson{lc + "-analyst2", c.a2, c.code, c.unit, lc + "-sup", []auth.Grant{g(auth.Analyst, c.code)}},
			demoPerson{lc + "-privacy", c.cpo, c.code, c.unit, lc + "-head", []auth.Grant{g(auth.ComponentPrivacyOfficer, c.code)}},
			demoPerson{lc + "-isso", c.isso, c.code, c.unit, lc + "-head", []auth.Grant{g(auth.SecurityOfficer, c.code)}},
			demoPerson{lc + "-opr", c.opr, c.code, c.unit, lc + "-head", []auth.Grant{g(auth.OPRIntake, c.code)}},
		)
	}
	out = append(out,
		demoPerson{"dept-privacy", "Cameron Whitfield", "", "", "", []auth.Grant{g(auth.DepartmentPrivacyOfficer, "")}},
		demoPerson{"dept-auditor", "Jesse Abernathy", "", "", "", []auth.Grant{g(auth.Auditor, "")}},
		demoPerson{"dept-opr", "Hayden Mwangi", "", "", "", []auth.Grant{g(auth.OPRIntake, "")}},
	)
	return out
}

// loadDemoOrg creates the demo department: three components with units, a
// supervisor chain in each, an active account for every role (the first
// administrator included), rules of behavior acknowledged and training
// recorded. It returns the accounts' sign-in details.
func loadDemoOrg(ctx context.Context, srv *Server) ([]demoAccount, error) {
	ids := srv.Identity
	bootstrap := auth.Principal{Kind: ledger.ActorToken, ID: "demo-loader", Name: "Demo loader", Grants: []auth.Grant{{Role: auth.Administrator}}}
	var accounts []demoAccount

	// The first administrator enrols through the bootstrap link, as on a
	// real installation.
	if err := srv.Bootstrap(ctx); err != nil {
		return nil, err
	}
	if srv.enrolSecret == "" {
		return nil, fmt.Errorf("the demo has an administrator already")
	}
	secret, err := enrolDemo(ctx, srv.Authn, srv.enrolSecret)
	if err != nil {
		return nil, fmt.Errorf("enrol the demo administrator: %w", err)
	}
	srv.enrolSecret = ""
	accounts = append(accounts, demoAccount{EmployeeID: "admin", Name: "First administrator", Roles: []string{"administrator"}, Password: demoPassword, TOTPSecret: secret})

	units := map[string]int64{}
	for _, c := range []identity.Component{
		{Code: "CBP", Name: "U.S. Customs and Border Protection"},
		{Code: "ICE", Name: "U.S. Immigration and Customs Enforcement"},
		{Code: "USSS", Name: "U.S. Secret Service"},
	} {
		if err := ids.CreateComponent(ctx, bootstrap, c); err != nil {
			return nil, err
		}
	}
	byID := map[string]identity.Person{}
	for _, d := range demoPeople() {
		p := identity.Person{EmployeeID: d.id, Name: d.name, Email: d.id + "@demo.probity.invalid", Component: d.component, Schedule: identity.DefaultSchedule()}
		if d.unit != "" {
			if _, ok := units[d.component+d.unit]; !ok {
				u, err := ids.CreateUnit(ctx, bootstrap, identity.Unit{Component: d.component, Name: d.unit})
				if err != nil {
					return nil, err
				}
				units[d.component+d.unit] = u.ID
			}
			p.UnitID = units[d.component+d.unit]
		}
		if d.boss != "" {
			p.SupervisorID = byID[d.boss].ID
		}
		p, link, err := ids.Invite(ctx, bootstrap, p)
		if err != nil {
			return nil, fmt.Errorf("invite %s: %w", d.id, err)
		}
		byID[d.id] = p
		secret, err := enrolDemo(ctx, srv.Authn, link)
		if err != nil {
			return nil, fmt.Errorf("enrol %s: %w", d.id, err)
		}
		acct := demoAccount{EmployeeID: d.id, Name: d.name, Password: demoPassword, TOTPSecret: secret}
		for _, g := range d.grants {
			if _, err := ids.GrantRole(ctx, bootstrap, identity.Grant{PersonID: p.ID, Role: g.Role, Component: g.Component}); err != nil {
				return nil, fmt.Errorf("grant %s to %s: %w", g.Role, d.id, err)
			}
			acct.Roles = append(acct.Roles, identity.Grant{Role: g.Role, Component: g.Component}.Describe())
		}
		accounts = append(accounts, acct)
	}

	// Rules of behavior for commercial telemetry data, published by the
	// department privacy officer and acknowledged by everyone but one
	// analyst, whose access therefore shows a lapse.
	dpo := byID["dept-privacy"]
	dpoGrants, err := ids.Grants(ctx, dpo.ID)
	if err != nil {
		return nil, err
	}
	rules, err := ids.PublishRules(ctx, identity.Principal(dpo, dpoGrants), identity.Rules{
		Key:   "program:ctd",
		Title: "Rules of behavior for commercial telemetry data",
		Body: "1. Use commercial telemetry data only for an open case you are assigned to, with a written justification.\n" +
			"2. Never query the locations of coworkers, family, acquaintances or yourself.\n" +
			"3. Never share your account, password or authenticator; report any suspected sharing.\n" +
			"4. Results are pseudonymous; ask for unmasking only through Probity, with approval.\n" +
			"5. Every query is reviewed by your supervisor and recorded in a ledger that cannot be altered.",
	})
	if err != nil {
		return nil, err
	}
	course := identity.Course{Code: "privacy-awareness", Title: "Privacy awareness for data users", ValidMonths: 12, RequiredFor: []auth.Role{auth.Analyst, auth.Supervisor}}
	if err := ids.DefineCourse(ctx, identity.Principal(dpo, dpoGrants), course); err != nil {
		return nil, err
	}
	for _, d := range demoPeople() {
		p := byID[d.id]
		grants, err := ids.Grants(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		pr := identity.Principal(p, grants)
		if d.id != "usss-analyst2" {
			if err := ids.Acknowledge(ctx, pr, rules.Key, rules.Version); err != nil {
				return nil, err
			}
		}
		if pr.HasRole(auth.Analyst) || pr.HasRole(auth.Supervisor) {
			if _, err := ids.RecordTraining(ctx, identity.Principal(dpo, dpoGrants), p.ID, course.Code, time.Now().AddDate(0, -2, 0)); err != nil {
				return nil, err
			}
		}
	}
	return accounts, nil
}

// enrolDemo completes an enrolment with the demo password and returns the
// TOTP secret.
func enrolDemo(ctx context.Context, a *authn.Service, link string) (string, error) {
	e, err := a.BeginEnrolment(ctx, link)
	if err != nil {
		return "", err
	}
	// Enrol with the previous time step's code (still accepted), so that the
	// current code works for signing in right away.
	code, err := authn.TOTPCode(e.TOTPSecret, time.Now().Add(-30*time.Second))
	if err != nil {
		return "", err
	}
	if _, _, err := a.CompleteEnrolment(ctx, link, demoPassword, e.Sealed, code); err != nil {
		return "", err
	}
	return e.TOTPSecret, nil
}

const demoAccountsFile = "demo-accounts.json"

func writeDemoAccounts(dir string, accounts []demoAccount) error {
	b, err := json.MarshalIndent(accounts, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, demoAccountsFile), b, 0o600)
}

func printDemoAccounts(w io.Writer, accounts []demoAccount) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  EMPLOYEE ID\tNAME\tROLES\tTOTP SECRET")
	for _, a := range accounts {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", a.EmployeeID, a.Name, joinRoles(a.Roles), a.TOTPSecret)
	}
	tw.Flush()
}

func joinRoles(r []string) string {
	s := ""
	for i, x := range r {
		if i > 0 {
			s += "; "
		}
		s += x
	}
	return s
}

// cmdDemoCodes prints the current authenticator code of every demo
// account, for signing in to the demo without an authenticator app.
func cmdDemoCodes(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("demo-codes", "data")
	cfg, err := parseWith(set, flags, args, getenv, stderr, map[string]string{"data": "probity-demo"})
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(cfg.Data, demoMarker)); err != nil {
		return fmt.Errorf("%s is not a demo data directory; demo-codes only reads the demo's accounts", cfg.Data)
	}
	b, err := os.ReadFile(filepath.Join(cfg.Data, demoAccountsFile))
	if err != nil {
		return err
	}
	var accounts []demoAccount
	if err := json.Unmarshal(b, &accounts); err != nil {
		return err
	}
	sort.Slice(accounts, func(i, j int) bool { return accounts[i].EmployeeID < accounts[j].EmployeeID })
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "EMPLOYEE ID\tCODE (valid %ds more)\tROLES\n", 30-now.Unix()%30)
	for _, a := range accounts {
		code, err := authn.TOTPCode(a.TOTPSecret, now)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a.EmployeeID, code, joinRoles(a.Roles))
	}
	return tw.Flush()
}
