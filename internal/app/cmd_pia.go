package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/probity-dev/probity/internal/ledgerclient"
	"github.com/probity-dev/probity/internal/privacy"
)

const piaUsage = `Usage: probity pia COMMAND [flags] -url URL

Commands:
  list                    the PIAs you may see, with their status and the version in force
  show ID                 a PIA: its status, versions and every workflow step (done or refused)
  diff ID FROM TO         how version TO differs from version FROM, field by field
  create -source SOURCE -title TITLE FILE
                          start the PIA of a data source with FILE's document (JSON, the template)
  submit ID               send the latest version for review
  review ID               accept a submitted PIA and forward it (component privacy officer)
  return ID -comments T   send a PIA under review back to its authors
  approve ID              approve a forwarded PIA (Chief Privacy Officer)
  publish ID              publish an approved PIA: it comes into force
  gate [SOURCE]           whether a data source (ID or name) may be used, and if not what is
                          missing and who can fix it; all the sources you may see without one.
                          Exits 1 when the source's gate is closed.
  check FILE              check a PIA document here: what a draft and a submission need

Commands other than check talk to the server at -url (or PROBITY_URL) with the
token "probity login" stored. Add -json for the server's answer as it is.
`

func cmdPIA(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, piaUsage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, piaUsage)
		return nil
	case "check":
		return piaCheck(rest, stdout, stderr)
	}
	steps := map[string]privacy.Action{"submit": privacy.Submit, "review": privacy.Accept, "return": privacy.Return, "approve": privacy.Approve, "publish": privacy.Publish}
	if _, ok := steps[cmd]; !ok && !strings.Contains(" list show diff create gate ", " "+cmd+" ") {
		fmt.Fprintf(stderr, "probity pia: unknown command %q\n\n%s", cmd, piaUsage)
		return errUsage
	}
	set, flags := flagSet("pia " + cmd)
	server := set.String("url", "", "the Probity server's `URL` (default $PROBITY_URL)")
	asJSON := set.Bool("json", false, "print the server's JSON answer")
	var comments, source, title *string
	switch cmd {
	case "submit", "review", "return", "approve", "publish":
		comments = set.String("comments", "", "`text` for the record (required to return)")
	case "create":
		source = set.String("source", "", "the data `source` (ID or name) the PIA assesses")
		title = set.String("title", "", "the PIA's `title`")
	}
	set.Usage = func() {
		fmt.Fprint(set.Output(), piaUsage+"\nFlags:\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args[1:], getenv, stderr); err != nil {
		return err
	}
	if *server == "" {
		*server = getenv("PROBITY_URL")
	}
	c, err := piaClient(*server, getenv)
	if err != nil {
		return err
	}
	p := &piaCmd{c: c, out: stdout, json: *asJSON}
	pos := set.Args()
	if action, ok := steps[cmd]; ok {
		id, err := piaID(pos, cmd)
		if err != nil {
			return err
		}
		return p.step(ctx, id, action, *comments)
	}
	switch cmd {
	case "list":
		if len(pos) != 0 {
			return &usageError{"probity pia list takes no arguments"}
		}
		return p.list(ctx)
	case "show":
		id, err := piaID(pos, cmd)
		if err != nil {
			return err
		}
		return p.show(ctx, id)
	case "diff":
		if len(pos) != 3 {
			return &usageError{"give the PIA and two versions: probity pia diff ID FROM TO"}
		}
		var n [3]int64
		for i, a := range pos {
			if n[i], err = strconv.ParseInt(a, 10, 64); err != nil || n[i] <= 0 {
				return &usageError{fmt.Sprintf("%q is not a positive whole number", a)}
			}
		}
		return p.diff(ctx, n[0], n[1], n[2])
	case "create":
		if len(pos) != 1 || *source == "" || *title == "" {
			return &usageError{"give the source, the title and the document: probity pia create -source SOURCE -title TITLE FILE"}
		}
		return p.create(ctx, *source, *title, pos[0])
	case "gate":
		switch len(pos) {
		case 0:
			return p.gates(ctx)
		case 1:
			return p.gate(ctx, pos[0])
		}
		return &usageError{"give at most one data source: probity pia gate [SOURCE]"}
	}
	return nil
}

func piaID(pos []string, cmd string) (int64, error) {
	if len(pos) != 1 {
		return 0, &usageError{fmt.Sprintf("give the PIA's ID: probity pia %s ID", cmd)}
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, &usageError{fmt.Sprintf("the PIA's ID is a positive whole number, not %q", pos[0])}
	}
	return id, nil
}

// piaClient returns a client of the server with the stored token.
func piaClient(server string, getenv Env) (*ledgerclient.Client, error) {
	return signedInClient(server, getenv, "give the server: -url https://probity.example/ (or set PROBITY_URL)")
}

// piaCmd runs one command against the server.
type piaCmd struct {
	c    *ledgerclient.Client
	out  io.Writer
	json bool
}

// get fetches path into v; with -json it also prints the answer as it
// is, and returns printed = true.
func (p *piaCmd) get(ctx context.Context, path string, v any) (printed bool, err error) {
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

// The API's shapes, as far as the commands show them.
type (
	cliPIA struct {
		ID        int64  `json:"id"`
		SourceID  int64  `json:"source_id"`
		Component string `json:"component"`
		Title     string `json:"title"`
		Status    string `json:"status"`
		Version   int    `json:"version"`
		Effective *struct {
			Version        int       `json:"version"`
			ApprovedAt     time.Time `json:"approved_at"`
			ExpiresAt      time.Time `json:"expires_at"`
			PriorReference string    `json:"prior_reference"`
		} `json:"effective"`
		UpdateRequired *struct {
			Since  time.Time `json:"since"`
			Reason string    `json:"reason"`
		} `json:"update_required"`
	}
	cliGate struct {
		SourceID  int64  `json:"source_id"`
		Source    string `json:"source"`
		Component string `json:"component"`
		Usable    bool   `json:"usable"`
		Missing   []struct {
			Code    string   `json:"code"`
			Message string   `json:"message"`
			Fix     string   `json:"fix"`
			Roles   []string `json:"roles"`
			People  []struct {
				EmployeeID string `json:"employee_id"`
				Name       string `json:"name"`
				Role       string `json:"role"`
			} `json:"people"`
		} `json:"missing"`
		PIAID        int64      `json:"pia_id"`
		PIAExpiresAt *time.Time `json:"pia_expires_at"`
	}
)

func inForce(p cliPIA, now time.Time) string {
	if p.Effective == nil {
		return "none"
	}
	s := fmt.Sprintf("v%d until %s", p.Effective.Version, p.Effective.ExpiresAt.Format(time.DateOnly))
	if !now.Before(p.Effective.ExpiresAt) {
		s = fmt.Sprintf("v%d EXPIRED %s", p.Effective.Version, p.Effective.ExpiresAt.Format(time.DateOnly))
	}
	if p.UpdateRequired != nil {
		s += ", UPDATE REQUIRED (" + p.UpdateRequired.Reason + ")"
	}
	return s
}

func (p *piaCmd) list(ctx context.Context) error {
	var resp struct {
		PIAs []cliPIA `json:"pias"`
	}
	if printed, err := p.get(ctx, "api/v1/pias", &resp); printed || err != nil {
		return err
	}
	tw := tabwriter.NewWriter(p.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCOMPONENT\tSOURCE\tTITLE\tSTATUS\tVERSION\tIN FORCE")
	now := time.Now()
	for _, x := range resp.PIAs {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%d\t%s\n", x.ID, x.Component, x.SourceID, x.Title, x.Status, x.Version, inForce(x, now))
	}
	return tw.Flush()
}

func (p *piaCmd) show(ctx context.Context, id int64) error {
	var resp struct {
		PIA   cliPIA `json:"pia"`
		Steps []struct {
			Action   string    `json:"action"`
			From     string    `json:"from"`
			To       string    `json:"to"`
			Version  int       `json:"version"`
			Actor    string    `json:"actor"`
			Comments string    `json:"comments"`
			Refused  string    `json:"refused"`
			At       time.Time `json:"at"`
		} `json:"steps"`
		Versions []struct {
			Version   int       `json:"version"`
			Digest    string    `json:"digest"`
			AuthorID  int64     `json:"author_id"`
			Note      string    `json:"note"`
			CreatedAt time.Time `json:"created_at"`
		} `json:"versions"`
	}
	if printed, err := p.get(ctx, fmt.Sprintf("api/v1/pias/%d", id), &resp); printed || err != nil {
		return err
	}
	x := resp.PIA
	fmt.Fprintf(p.out, "PIA %d: %s\n  data source %d (%s)\n  status      %s, latest version %d\n  in force    %s\n", x.ID, x.Title, x.SourceID, x.Component, x.Status, x.Version, inForce(x, time.Now()))
	if x.Effective != nil && x.Effective.PriorReference != "" {
		fmt.Fprintf(p.out, "              approved before Probity: %s\n", x.Effective.PriorReference)
	}
	fmt.Fprintln(p.out, "\nVersions:")
	tw := tabwriter.NewWriter(p.out, 0, 0, 2, ' ', 0)
	for _, v := range resp.Versions {
		fmt.Fprintf(tw, "  v%d\t%s\tby person %d\t%s\t%s\n", v.Version, v.CreatedAt.UTC().Format(time.RFC3339), v.AuthorID, v.Digest, v.Note)
	}
	tw.Flush()
	fmt.Fprintln(p.out, "\nSteps:")
	tw = tabwriter.NewWriter(p.out, 0, 0, 2, ' ', 0)
	for _, s := range resp.Steps {
		what := fmt.Sprintf("%s → %s", orNone(s.From), s.To)
		if s.Refused != "" {
			what = "REFUSED: " + s.Refused
		}
		fmt.Fprintf(tw, "  %s\t%s\tv%d\t%s\t%s", s.At.UTC().Format(time.RFC3339), s.Action, s.Version, s.Actor, what)
		if s.Comments != "" {
			fmt.Fprintf(tw, " — %q", s.Comments)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "(new)"
	}
	return s
}

func (p *piaCmd) diff(ctx context.Context, id, from, to int64) error {
	var resp struct {
		Changes []privacy.Change `json:"changes"`
	}
	if printed, err := p.get(ctx, fmt.Sprintf("api/v1/pias/%d/diff?from=%d&to=%d", id, from, to), &resp); printed || err != nil {
		return err
	}
	if len(resp.Changes) == 0 {
		_, err := fmt.Fprintf(p.out, "versions %d and %d of PIA %d are the same\n", from, to, id)
		return err
	}
	fmt.Fprintf(p.out, "--- PIA %d version %d\n+++ PIA %d version %d\n", id, from, id, to)
	for _, c := range resp.Changes {
		fmt.Fprintf(p.out, "@@ %s (%s)\n", c.Field, c.Kind)
		for _, l := range c.Lines {
			fmt.Fprintf(p.out, "%s%s\n", l.Op, l.Text)
		}
	}
	return nil
}

func (p *piaCmd) step(ctx context.Context, id int64, action privacy.Action, comments string) error {
	route := map[privacy.Action]string{privacy.Submit: "submit", privacy.Accept: "review", privacy.Return: "return", privacy.Approve: "approve", privacy.Publish: "publish"}[action]
	var x cliPIA
	if err := p.c.PostJSON(ctx, fmt.Sprintf("api/v1/pias/%d/%s", id, route), map[string]string{"comments": comments}, &x); err != nil {
		return err
	}
	if p.json {
		b, _ := json.Marshal(x)
		_, err := fmt.Fprintln(p.out, string(b))
		return err
	}
	_, err := fmt.Fprintf(p.out, "PIA %d is %s (version %d; in force: %s)\n", x.ID, x.Status, x.Version, inForce(x, time.Now()))
	return err
}

// sourceID resolves a data source given by ID or name.
func (p *piaCmd) sourceID(ctx context.Context, source string) (int64, error) {
	if id, err := strconv.ParseInt(source, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	var resp struct {
		Sources []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"sources"`
	}
	if err := p.c.GetJSON(ctx, "api/v1/sources", &resp); err != nil {
		return 0, err
	}
	for _, s := range resp.Sources {
		if s.Name == source {
			return s.ID, nil
		}
	}
	return 0, fmt.Errorf("there is no data source %q that you may see", source)
}

func (p *piaCmd) create(ctx context.Context, source, title, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return unwrapPath(err)
	}
	doc, err := privacy.DecodeDocument(b)
	if err != nil {
		return fmt.Errorf("%s: %s", file, messageOf(err))
	}
	id, err := p.sourceID(ctx, source)
	if err != nil {
		return err
	}
	var x cliPIA
	if err := p.c.PostJSON(ctx, "api/v1/pias", map[string]any{"source_id": id, "title": title, "document": doc}, &x); err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.out, "PIA %d started for data source %d: %s, version %d\n", x.ID, x.SourceID, x.Status, x.Version)
	return err
}

// errGateClosed reports a closed gate after it has been shown.
var errGateClosed = fmt.Errorf("%w: the gate is closed", errReported)

func (p *piaCmd) gate(ctx context.Context, source string) error {
	id, err := p.sourceID(ctx, source)
	if err != nil {
		return err
	}
	var g cliGate
	printed, err := p.get(ctx, fmt.Sprintf("api/v1/sources/%d/gate", id), &g)
	if err != nil {
		return err
	}
	if !printed {
		printGate(p.out, g)
	}
	if !g.Usable {
		return errGateClosed
	}
	return nil
}

func printGate(w io.Writer, g cliGate) {
	if g.Usable {
		fmt.Fprintf(w, "%s (%s): USABLE", g.Source, g.Component)
		if g.PIAExpiresAt != nil {
			fmt.Fprintf(w, " — PIA in force until %s", g.PIAExpiresAt.Format(time.DateOnly))
		}
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "%s (%s): CLOSED — %d missing:\n", g.Source, g.Component, len(g.Missing))
	for i, m := range g.Missing {
		fmt.Fprintf(w, "  %d. %s [%s]\n     fix: %s\n", i+1, m.Message, m.Code, m.Fix)
		var who []string
		for _, p := range m.People {
			who = append(who, fmt.Sprintf("%s (%s, %s)", p.Name, p.EmployeeID, strings.ReplaceAll(p.Role, "_", " ")))
		}
		if len(who) == 0 {
			who = append(who, "nobody holds "+strings.Join(m.Roles, " or ")+" for this component yet")
		}
		fmt.Fprintf(w, "     who: %s\n", strings.Join(who, "; "))
	}
}

func (p *piaCmd) gates(ctx context.Context) error {
	var resp struct {
		Sources []struct {
			Gate cliGate `json:"gate"`
		} `json:"sources"`
	}
	if printed, err := p.get(ctx, "api/v1/sources", &resp); printed || err != nil {
		return err
	}
	if len(resp.Sources) == 0 {
		_, err := fmt.Fprintln(p.out, "there are no data sources you may see")
		return err
	}
	for i, s := range resp.Sources {
		if i > 0 {
			fmt.Fprintln(p.out)
		}
		printGate(p.out, s.Gate)
	}
	return nil
}

// piaCheck checks a PIA document file without a server.
func piaCheck(args []string, stdout, stderr io.Writer) error {
	set := flag.NewFlagSet("probity pia check", flag.ContinueOnError)
	set.SetOutput(stderr)
	if err := set.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if set.NArg() != 1 {
		return &usageError{"give one document: probity pia check FILE"}
	}
	file := set.Arg(0)
	b, err := os.ReadFile(file)
	if err != nil {
		return unwrapPath(err)
	}
	doc, err := privacy.DecodeDocument(b)
	if err != nil {
		return fmt.Errorf("%s: %s", file, messageOf(err))
	}
	if err := doc.ValidateComplete(); err != nil {
		fmt.Fprintf(stdout, "%s: a valid draft, not yet ready to submit:\n", file)
		if ve, ok := errors.AsType[*privacy.ValidationError](err); ok {
			for _, f := range ve.Fields {
				fmt.Fprintf(stdout, "  %s %s\n", f.Field, f.Message)
			}
		}
		return errReported
	}
	_, err = fmt.Fprintf(stdout, "%s: complete; ready to submit\n", file)
	return err
}

// messageOf returns an error's user-facing message.
func messageOf(err error) string {
	if ve, ok := errors.AsType[*privacy.ValidationError](err); ok {
		var parts []string
		for _, f := range ve.Fields {
			parts = append(parts, f.Field+" "+f.Message)
		}
		return ve.What + ": " + strings.Join(parts, "; ")
	}
	return err.Error()
}
