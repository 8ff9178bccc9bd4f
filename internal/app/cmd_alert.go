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

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledgerclient"
)

const alertUsage = `Usage: probity alert COMMAND [flags] -url URL

Misuse alerts. A privacy officer of the alert's component takes a new
alert into triage, then refers it to professional responsibility (OPR
intake), dismisses it with the reason, or resolves it; OPR intake resolves
what is referred to it. Every step is recorded in the ledger.

Commands:
  list [-status S] [-severity S] [-mine]
                          the alerts you may see, newest first
  show ID                 an alert: its explanation, evidence and steps
  triage ID [-note TEXT]  take a new alert into triage (it becomes yours)
  refer ID -note TEXT     refer it to professional responsibility
  dismiss ID -note TEXT   dismiss it, saying why it is not misuse
  resolve ID -note TEXT   resolve it, saying how

Commands talk to the server at -url (or PROBITY_URL) with the token
"probity login" stored. Add -json for the server's answer as it is.
`

var alertCommands = []string{"list", "show", "triage", "refer", "dismiss", "resolve"}

func cmdAlert(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	cmd, err := subcommand("alert", alertUsage, func(c string) bool { return slices.Contains(alertCommands, c) }, args, stdout, stderr)
	if cmd == "" {
		return err
	}
	set, flags := flagSet("alert " + cmd)
	server := set.String("url", "", "the Probity server's `URL` (default $PROBITY_URL)")
	asJSON := set.Bool("json", false, "print the server's JSON answer")
	var status, severity, note *string
	var mine *bool
	switch cmd {
	case "list":
		status = set.String("status", "", "only alerts in this `status` (new, triage, referred, dismissed, resolved)")
		severity = set.String("severity", "", "only alerts of this `severity` (low, medium, high)")
		mine = set.Bool("mine", false, "only the alerts assigned to you")
	case "triage", "refer", "dismiss", "resolve":
		note = set.String("note", "", "the `text` for the record (required except for triage)")
	}
	set.Usage = func() {
		fmt.Fprint(set.Output(), alertUsage+"\nFlags of "+cmd+":\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args[1:], getenv, stderr); err != nil {
		return err
	}
	if *server == "" {
		*server = getenv("PROBITY_URL")
	}
	pos := set.Args()
	var id int64
	if cmd == "list" {
		if len(pos) != 0 {
			return &usageError{fmt.Sprintf("probity alert list takes no arguments, only flags (%q is extra)", pos[0])}
		}
		if *status != "" {
			if _, err := alerts.ParseStatus(*status); err != nil {
				return &usageError{"-status: " + fault.MessageOf(err)}
			}
		}
		if *severity != "" {
			if _, err := alerts.ParseSeverity(*severity); err != nil {
				return &usageError{"-severity: " + fault.MessageOf(err)}
			}
		}
	} else if id, err = positionalID(pos, "the alert's", "alert "+cmd); err != nil {
		return err
	}
	if note != nil {
		if _, err := alerts.CheckNote(alerts.Action(cmd), *note); err != nil {
			return &usageError{"-" + fault.MessageOf(err)}
		}
	}
	c, err := signedInClient(*server, getenv, "give the server: -url https://probity.example/ (or set PROBITY_URL)")
	if err != nil {
		return err
	}
	ac := &alertCmd{c: c, out: stdout, json: *asJSON}
	switch cmd {
	case "list":
		return ac.list(ctx, *status, *severity, *mine)
	case "show":
		return ac.show(ctx, id)
	}
	return ac.step(ctx, id, cmd, *note)
}

// alertCmd runs one alert command against the server.
type alertCmd struct {
	c    *ledgerclient.Client
	out  io.Writer
	json bool
}

// cliAlert is an alert as the API shows it.
type cliAlert struct {
	ID          int64           `json:"id"`
	Detector    string          `json:"detector"`
	Severity    string          `json:"severity"`
	Component   string          `json:"component"`
	QueryID     int64           `json:"query_id"`
	Person      string          `json:"person"`
	Explanation string          `json:"explanation"`
	Evidence    json.RawMessage `json:"evidence"`
	Digest      string          `json:"evidence_digest"`
	Status      string          `json:"status"`
	Assignee    string          `json:"assignee"`
	CreatedAt   time.Time       `json:"created_at"`
	Steps       []struct {
		Action   string    `json:"action"`
		From     string    `json:"from"`
		To       string    `json:"to"`
		Actor    string    `json:"actor"`
		Capacity string    `json:"capacity"`
		Note     string    `json:"note"`
		At       time.Time `json:"at"`
	} `json:"steps"`
}

func (ac *alertCmd) answer(path string, raw json.RawMessage, v any) (printed bool, err error) {
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("the server's answer to %s: %w", path, err)
	}
	if ac.json {
		_, err := fmt.Fprintln(ac.out, string(raw))
		return true, err
	}
	return false, nil
}

func (ac *alertCmd) list(ctx context.Context, status, severity string, mine bool) error {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if severity != "" {
		q.Set("severity", severity)
	}
	if mine {
		q.Set("mine", "true")
	}
	path := "api/v1/alerts"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var raw json.RawMessage
	if err := ac.c.GetJSON(ctx, path, &raw); err != nil {
		return err
	}
	var resp struct {
		Alerts []cliAlert `json:"alerts"`
	}
	if printed, err := ac.answer(path, raw, &resp); printed || err != nil {
		return err
	}
	if len(resp.Alerts) == 0 {
		_, err := fmt.Fprintln(ac.out, "no alerts")
		return err
	}
	tw := tabwriter.NewWriter(ac.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tDETECTOR\tCOMPONENT\tQUERY\tPERSON\tSTATUS\tASSIGNEE\tRAISED")
	for _, a := range resp.Alerts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, strings.ToUpper(a.Severity), a.Detector, a.Component, dashIfZero(a.QueryID), blankAsDash(a.Person),
			a.Status, blankAsDash(a.Assignee), a.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func dashIfZero(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func (ac *alertCmd) show(ctx context.Context, id int64) error {
	path := fmt.Sprintf("api/v1/alerts/%d", id)
	var raw json.RawMessage
	if err := ac.c.GetJSON(ctx, path, &raw); err != nil {
		return err
	}
	var resp struct {
		Alert cliAlert `json:"alert"`
	}
	if printed, err := ac.answer(path, raw, &resp); printed || err != nil {
		return err
	}
	printAlert(ac.out, resp.Alert)
	return nil
}

func printAlert(w io.Writer, a cliAlert) {
	fmt.Fprintf(w, "alert %d: %s severity, %s\n", a.ID, a.Severity, a.Status)
	fmt.Fprintf(w, "  detector     %s\n  component    %s\n", a.Detector, a.Component)
	if a.QueryID != 0 {
		fmt.Fprintf(w, "  query        %d\n", a.QueryID)
	}
	if a.Person != "" {
		fmt.Fprintf(w, "  person       %s\n", a.Person)
	}
	fmt.Fprintf(w, "  assigned to  %s\n  explanation  %s\n", blankAsDash(a.Assignee), a.Explanation)
	if len(a.Evidence) > 0 {
		fmt.Fprintf(w, "  evidence     %s (%s)\n", a.Evidence, a.Digest)
	}
	if len(a.Steps) > 0 {
		fmt.Fprintln(w, "\nSteps:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, s := range a.Steps {
			fmt.Fprintf(tw, "  %s\t%s\t%s → %s\t%s (%s)", s.At.UTC().Format(time.RFC3339), s.Action, orNone(s.From), s.To, s.Actor, strings.ReplaceAll(s.Capacity, "_", " "))
			if s.Note != "" {
				fmt.Fprintf(tw, " — %q", s.Note)
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
}

func (ac *alertCmd) step(ctx context.Context, id int64, action, note string) error {
	path := fmt.Sprintf("api/v1/alerts/%d/%s", id, action)
	var raw json.RawMessage
	if err := ac.c.PostJSON(ctx, path, map[string]string{"note": note}, &raw); err != nil {
		return err
	}
	var resp struct {
		Alert cliAlert `json:"alert"`
	}
	if printed, err := ac.answer(path, raw, &resp); printed || err != nil {
		return err
	}
	_, err := fmt.Fprintf(ac.out, "alert %d is %s (assigned to %s)\n", resp.Alert.ID, resp.Alert.Status, blankAsDash(resp.Alert.Assignee))
	return err
}
