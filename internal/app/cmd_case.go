package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/probity-dev/probity/internal/cases"
	"github.com/probity-dev/probity/internal/ledgerclient"
)

const caseUsage = `Usage: probity case COMMAND [flags] -url URL

Commands:
  list [-component C] [-status S] [-member EMPLOYEE]
                          the cases you may see: your component's with a reading role,
                          otherwise the cases you are a member of
  show NUMBER             a case: members, legal process, evidence hold and history
  create -number NUMBER -title T -authority A -predicate P [-unit ID] [-member EMPLOYEE]...
                          open a case (a supervisor of its component); NUMBER is
                          COMPONENT-YEAR-SEQUENCE, e.g. CBP-2026-0142
  add-member NUMBER EMPLOYEE
                          add a member: an analyst or supervisor of the case's
                          component, never yourself
  remove-member NUMBER EMPLOYEE
                          remove a member
  suspend NUMBER -reason R
                          pause a case: nobody may use data for it until it is reopened
  reopen NUMBER -reason R reopen a suspended case
  close NUMBER -reason R  close a case, for good; its results are purged after the
                          grace period unless an evidence hold keeps them
  add-legal-process NUMBER -kind KIND -reference REF -issued YYYY-MM-DD [-expires YYYY-MM-DD]
                          record a warrant, court_order or subpoena obtained for the case
  hold NUMBER -reason R   set an evidence hold: the case's results are kept
  release NUMBER -reason R
                          release the evidence hold

Commands talk to the server at -url (or PROBITY_URL) with the token
"probity login" stored. Add -json for the server's answer as it is.
`

// caseCommands are the commands, each with the positional arguments it
// takes after the case number (which every command but list and create
// takes first).
var caseCommands = map[string]int{
	"list": -1, "create": -1, "show": 0, "add-member": 1, "remove-member": 1,
	"suspend": 0, "reopen": 0, "close": 0, "add-legal-process": 0, "hold": 0, "release": 0,
}

// stringList is a flag that may be given more than once.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func cmdCase(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	cmd, err := subcommand("case", caseUsage, func(c string) bool { _, ok := caseCommands[c]; return ok }, args, stdout, stderr)
	if cmd == "" {
		return err
	}
	extra := caseCommands[cmd]
	set, flags := flagSet("case " + cmd)
	server := set.String("url", "", "the Probity server's `URL` (default $PROBITY_URL)")
	asJSON := set.Bool("json", false, "print the server's JSON answer")
	var (
		component, status, member, number, title, authority, predicate, reason, kind, reference, issued, expires *string
		unit                                                                                                     *int64
		members                                                                                                  stringList
	)
	switch cmd {
	case "list":
		component = set.String("component", "", "only the cases of this `component`")
		status = set.String("status", "", "only cases with this `status`: open, suspended or closed")
		member = set.String("member", "", "only cases this `employee` is a member of")
	case "create":
		number = set.String("number", "", "the case `number`, COMPONENT-YEAR-SEQUENCE (e.g. CBP-2026-0142)")
		title = set.String("title", "", "the case's `title`")
		authority = set.String("authority", "", "the legal `authority` the case rests on")
		predicate = set.String("predicate", "", "the `facts` that justify the case")
		unit = set.Int64("unit", 0, "the `ID` of the unit that works the case")
		set.Var(&members, "member", "an `employee` ID to make a member (repeat for more)")
	case "suspend", "reopen", "close", "hold", "release":
		reason = set.String("reason", "", "the `reason`, for the record (required)")
	case "add-legal-process":
		kind = set.String("kind", "", "the `kind` of legal process: warrant, court_order or subpoena")
		reference = set.String("reference", "", "its `reference` (docket or order number)")
		issued = set.String("issued", "", "the `day` it was issued, YYYY-MM-DD")
		expires = set.String("expires", "", "the last `day` it is in force, YYYY-MM-DD (none if it does not expire)")
	}
	set.Usage = func() {
		fmt.Fprint(set.Output(), caseUsage+"\nFlags:\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args[1:], getenv, stderr); err != nil {
		return err
	}
	pos := set.Args()
	if extra >= 0 {
		if len(pos) != 1+extra {
			what := "the case number"
			if extra == 1 {
				what = "the case number and the employee ID"
			}
			return &usageError{fmt.Sprintf("give %s: probity case %s NUMBER%s", what, cmd, strings.Repeat(" EMPLOYEE", extra))}
		}
		n, err := cases.ParseNumber(pos[0])
		if err != nil {
			return &usageError{messageOf(err)}
		}
		pos[0] = n
	} else if len(pos) != 0 {
		return &usageError{fmt.Sprintf("probity case %s takes no arguments, only flags", cmd)}
	}
	if reason != nil && strings.TrimSpace(*reason) == "" {
		return &usageError{fmt.Sprintf("give the reason: probity case %s NUMBER -reason TEXT", cmd)}
	}
	if *server == "" {
		*server = getenv("PROBITY_URL")
	}
	c, err := piaClient(*server, getenv)
	if err != nil {
		return err
	}
	p := &caseCmd{c: c, out: stdout, json: *asJSON}
	switch cmd {
	case "list":
		q := url.Values{}
		for k, v := range map[string]string{"component": *component, "status": *status, "member": *member} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return p.list(ctx, q)
	case "show":
		return p.show(ctx, pos[0])
	case "create":
		if *number == "" || *title == "" || *authority == "" || *predicate == "" {
			return &usageError{"give the number, title, authority and predicate: probity case create -number N -title T -authority A -predicate P"}
		}
		body := map[string]any{"number": *number, "title": *title, "legal_authority": *authority, "predicate": *predicate, "members": []string(members)}
		if *unit != 0 {
			body["unit_id"] = *unit
		}
		return p.change(ctx, "POST", "api/v1/cases", body, "opened")
	case "add-member":
		return p.change(ctx, "POST", casePath(pos[0], "members"), map[string]string{"employee_id": pos[1]}, pos[1]+" added to")
	case "remove-member":
		return p.change(ctx, "DELETE", casePath(pos[0], "members", pos[1]), nil, pos[1]+" removed from")
	case "suspend", "reopen", "close":
		to := map[string]string{"suspend": "suspended", "reopen": "open", "close": "closed"}[cmd]
		return p.change(ctx, "POST", casePath(pos[0], "status"), map[string]string{"status": to, "reason": *reason}, map[string]string{"suspend": "suspended", "reopen": "reopened", "close": "closed"}[cmd])
	case "hold", "release":
		what := map[string]string{"hold": "evidence hold set on", "release": "evidence hold released on"}[cmd]
		return p.change(ctx, "POST", casePath(pos[0], "evidence-hold"), map[string]any{"hold": cmd == "hold", "reason": *reason}, what)
	case "add-legal-process":
		if *kind == "" || *reference == "" || *issued == "" {
			return &usageError{"give the kind, reference and issue day: probity case add-legal-process NUMBER -kind KIND -reference REF -issued YYYY-MM-DD"}
		}
		body := map[string]string{"kind": *kind, "reference": *reference, "issued_on": *issued, "expires_on": *expires}
		return p.change(ctx, "POST", casePath(pos[0], "legal-process"), body, "legal process "+*reference+" recorded on")
	}
	return nil
}

// casePath returns the API path of a case, and of parts under it.
func casePath(number string, parts ...string) string {
	p := "api/v1/cases/" + url.PathEscape(number)
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// caseCmd runs one command against the server.
type caseCmd struct {
	c    *ledgerclient.Client
	out  io.Writer
	json bool
}

// cliCase is a case as the commands show it.
type cliCase struct {
	Number         string `json:"number"`
	Title          string `json:"title"`
	LegalAuthority string `json:"legal_authority"`
	Predicate      string `json:"predicate"`
	Status         string `json:"status"`
	StatusReason   string `json:"status_reason"`
	Component      string `json:"component"`
	UnitID         *int64 `json:"unit_id"`
	Members        []struct {
		EmployeeID string    `json:"employee_id"`
		Name       string    `json:"name"`
		AddedAt    time.Time `json:"added_at"`
		AddedBy    string    `json:"added_by"`
	} `json:"members"`
	LegalProcess []struct {
		Kind      string  `json:"kind"`
		Reference string  `json:"reference"`
		IssuedOn  string  `json:"issued_on"`
		ExpiresOn *string `json:"expires_on"`
		InForce   bool    `json:"in_force"`
		AddedBy   string  `json:"added_by"`
	} `json:"legal_process"`
	EvidenceHold  bool       `json:"evidence_hold"`
	HoldReason    string     `json:"hold_reason"`
	HoldChangedAt *time.Time `json:"hold_changed_at"`
	HoldChangedBy string     `json:"hold_changed_by"`
	CreatedBy     string     `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	ClosedAt      *time.Time `json:"closed_at"`
	History       []struct {
		From   string    `json:"from"`
		To     string    `json:"to"`
		Reason string    `json:"reason"`
		By     string    `json:"by"`
		At     time.Time `json:"at"`
	} `json:"history"`
}

func (c cliCase) memberIDs() string {
	var ids []string
	for _, m := range c.Members {
		ids = append(ids, m.EmployeeID)
	}
	if len(ids) == 0 {
		return "-"
	}
	return strings.Join(ids, ", ")
}

func (c cliCase) statusText() string {
	s := strings.ToUpper(c.Status)
	if c.EvidenceHold {
		s += ", EVIDENCE HOLD"
	}
	return s
}

// get fetches path into v; with -json it also prints the answer as it
// is, and returns printed = true.
func (p *caseCmd) get(ctx context.Context, path string, v any) (printed bool, err error) {
	var raw json.RawMessage
	if err := p.c.GetJSON(ctx, path, &raw); err != nil {
		return false, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("the server's answer to %s: %w", path, err)
	}
	if p.json {
		_, err := fmt.Fprintln(p.out, string(raw))
		return true, err
	}
	return false, nil
}

func (p *caseCmd) list(ctx context.Context, q url.Values) error {
	var resp struct {
		Cases []cliCase `json:"cases"`
	}
	path := "api/v1/cases"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	if printed, err := p.get(ctx, path, &resp); printed || err != nil {
		return err
	}
	if len(resp.Cases) == 0 {
		_, err := fmt.Fprintln(p.out, "there are no cases you may see")
		return err
	}
	tw := tabwriter.NewWriter(p.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tSTATUS\tTITLE\tMEMBERS\tLEGAL PROCESS IN FORCE")
	for _, c := range resp.Cases {
		inForce := 0
		for _, lp := range c.LegalProcess {
			if lp.InForce {
				inForce++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", c.Number, c.statusText(), c.Title, c.memberIDs(), inForce)
	}
	return tw.Flush()
}

func (p *caseCmd) show(ctx context.Context, number string) error {
	var c cliCase
	if printed, err := p.get(ctx, casePath(number), &c); printed || err != nil {
		return err
	}
	w := p.out
	fmt.Fprintf(w, "Case %s: %s\n", c.Number, c.Title)
	fmt.Fprintf(w, "  component  %s", c.Component)
	if c.UnitID != nil {
		fmt.Fprintf(w, " (unit %d)", *c.UnitID)
	}
	fmt.Fprintf(w, "\n  status     %s", c.statusText())
	if c.StatusReason != "" {
		fmt.Fprintf(w, " — %s", c.StatusReason)
	}
	fmt.Fprintf(w, "\n  opened     %s by %s\n", c.CreatedAt.UTC().Format(time.RFC3339), c.CreatedBy)
	if c.ClosedAt != nil {
		fmt.Fprintf(w, "  closed     %s\n", c.ClosedAt.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "  authority  %s\n  predicate  %s\n", c.LegalAuthority, c.Predicate)
	if c.HoldChangedAt != nil {
		state := "released"
		if c.EvidenceHold {
			state = "set"
		}
		fmt.Fprintf(w, "  hold       %s %s by %s — %s\n", state, c.HoldChangedAt.UTC().Format(time.RFC3339), c.HoldChangedBy, c.HoldReason)
	}
	fmt.Fprintln(w, "\nMembers:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(c.Members) == 0 {
		fmt.Fprintln(tw, "  (none)")
	}
	for _, m := range c.Members {
		fmt.Fprintf(tw, "  %s\t%s\tadded %s by %s\n", m.EmployeeID, m.Name, m.AddedAt.UTC().Format(time.DateOnly), m.AddedBy)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nLegal process:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(c.LegalProcess) == 0 {
		fmt.Fprintln(tw, "  (none)")
	}
	for _, lp := range c.LegalProcess {
		until := "no expiry"
		if lp.ExpiresOn != nil {
			until = "until " + *lp.ExpiresOn
		}
		state := "in force"
		if !lp.InForce {
			state = "NOT IN FORCE"
		}
		fmt.Fprintf(tw, "  %s\t%s\tissued %s, %s\t%s\n", strings.ReplaceAll(lp.Kind, "_", " "), lp.Reference, lp.IssuedOn, until, state)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nHistory:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, h := range c.History {
		what := fmt.Sprintf("%s → %s", orNone(h.From), h.To)
		if h.From == "" {
			what = "opened"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s", h.At.UTC().Format(time.RFC3339), h.By, what)
		if h.Reason != "" {
			fmt.Fprintf(tw, " — %q", h.Reason)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// change sends a change and says what became of the case.
func (p *caseCmd) change(ctx context.Context, method, path string, body any, done string) error {
	var raw json.RawMessage
	var err error
	if method == "DELETE" {
		err = p.c.DeleteJSON(ctx, path, &raw)
	} else {
		err = p.c.PostJSON(ctx, path, body, &raw)
	}
	if err != nil {
		return err
	}
	if p.json {
		_, err := fmt.Fprintln(p.out, string(raw))
		return err
	}
	var c cliCase
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("the server's answer to %s: %w", path, err)
	}
	refs := []string{}
	for _, lp := range c.LegalProcess {
		if lp.InForce {
			refs = append(refs, lp.Reference)
		}
	}
	slices.Sort(refs)
	_, err = fmt.Fprintf(p.out, "%s case %s: %s; members %s; legal process in force: %s\n", done, c.Number, c.statusText(), c.memberIDs(), orDash(refs))
	return err
}

func orDash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}
