package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledgerclient"
	"github.com/probity-dev/probity/internal/review"
)

const reviewUsage = `Usage: probity review COMMAND [flags] -url URL

Post-hoc review of executed queries. Every completed or withheld query is
reviewed by a supervisor above its requester within the installation's
review_sla_days business days (a break-glass query within 24 hours); an
overdue review goes to the next supervisor up, and from the top of the
chain to the component's privacy office.

Commands:
  queue [-status pending|decided|all] [-mine] [-overdue]
                          the reviews of others' queries you may see,
                          riskiest first (highest tier, then oldest)
  show ID                 the review of query ID
  decide ID -decision D [-note TEXT]
                          decide the review of query ID: appropriate,
                          needs_explanation or refer_to_privacy (the last
                          two need a note saying why)
  bulk -decision D [-note TEXT] ID...
                          decide the reviews of several routine queries at
                          once (never break-glass ones; all or none)

Commands talk to the server at -url (or PROBITY_URL) with the token
"probity login" stored. Add -json for the server's answer as it is.
`

var reviewCommands = []string{"queue", "show", "decide", "bulk"}

func cmdReview(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	cmd, err := subcommand("review", reviewUsage, func(c string) bool { return slices.Contains(reviewCommands, c) }, args, stdout, stderr)
	if cmd == "" {
		return err
	}
	set, flags := flagSet("review " + cmd)
	server := set.String("url", "", "the Probity server's `URL` (default $PROBITY_URL)")
	asJSON := set.Bool("json", false, "print the server's JSON answer")
	var status, decision, note *string
	var mine, overdue *bool
	switch cmd {
	case "queue":
		status = set.String("status", "pending", "the reviews' `status`: pending, decided or all")
		mine = set.Bool("mine", false, "only the reviews you may decide")
		overdue = set.Bool("overdue", false, "only the reviews past due")
	case "decide", "bulk":
		decision = set.String("decision", "", "the `decision`: appropriate, needs_explanation or refer_to_privacy")
		note = set.String("note", "", "the `text` of your note (required unless appropriate)")
	}
	set.Usage = func() {
		fmt.Fprint(set.Output(), reviewUsage+"\nFlags of "+cmd+":\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args[1:], getenv, stderr); err != nil {
		return err
	}
	if *server == "" {
		*server = getenv("PROBITY_URL")
	}
	pos := set.Args()
	var ids []int64
	switch cmd {
	case "queue":
		if len(pos) != 0 {
			return &usageError{fmt.Sprintf("probity review queue takes no arguments, only flags (%q is extra)", pos[0])}
		}
		if !slices.Contains([]string{"pending", "decided", "all"}, *status) {
			return &usageError{fmt.Sprintf("-status: %q is not a review status: use pending, decided or all", *status)}
		}
	case "show", "decide":
		id, err := positionalID(pos, "the query's", "review "+cmd)
		if err != nil {
			return err
		}
		ids = []int64{id}
	case "bulk":
		if len(pos) == 0 {
			return &usageError{"give the queries whose reviews you decide: probity review bulk -decision D ID..."}
		}
		for _, a := range pos {
			id, err := strconv.ParseInt(a, 10, 64)
			if err != nil || id <= 0 {
				return &usageError{fmt.Sprintf("a query's ID is a positive whole number, not %q", a)}
			}
			ids = append(ids, id)
		}
	}
	if decision != nil {
		if *decision == "" {
			return &usageError{"give the decision: -decision appropriate, needs_explanation or refer_to_privacy"}
		}
		d, err := review.ParseDecision(*decision)
		if err != nil {
			return &usageError{"-decision: " + fault.MessageOf(err)}
		}
		if _, err := review.CheckDecision(d, *note); err != nil {
			return &usageError{"-" + fault.MessageOf(err)}
		}
	}
	c, err := signedInClient(*server, getenv, "give the server: -url https://probity.example/ (or set PROBITY_URL)")
	if err != nil {
		return err
	}
	rc := &reviewCmd{c: c, out: stdout, json: *asJSON}
	switch cmd {
	case "queue":
		return rc.queue(ctx, *status, *mine, *overdue)
	case "show":
		return rc.show(ctx, ids[0])
	case "decide":
		return rc.decide(ctx, ids[0], *decision, *note)
	case "bulk":
		return rc.bulk(ctx, ids, *decision, *note)
	}
	return nil
}

// reviewCmd runs one review command against the server.
type reviewCmd struct {
	c    *ledgerclient.Client
	out  io.Writer
	json bool
}

// cliReview is a review as the API shows it.
type cliReview struct {
	QueryID     int64      `json:"query_id"`
	Component   string     `json:"component"`
	Requester   string     `json:"requester"`
	Case        string     `json:"case"`
	Kind        string     `json:"kind"`
	QueryStatus string     `json:"query_status"`
	Tier        string     `json:"tier"`
	BreakGlass  bool       `json:"break_glass"`
	CompletedAt time.Time  `json:"completed_at"`
	DueAt       time.Time  `json:"due_at"`
	Overdue     bool       `json:"overdue"`
	AssignedTo  string     `json:"assigned_to"`
	Escalations int        `json:"escalations"`
	Status      string     `json:"status"`
	Decision    string     `json:"decision"`
	Note        string     `json:"note"`
	DecidedBy   string     `json:"decided_by"`
	DecidedAt   *time.Time `json:"decided_at"`
	Bulk        bool       `json:"bulk"`
}

// state is the review's state in a word or two.
func (r cliReview) state() string {
	switch {
	case r.Status == "decided":
		return statusText(r.Decision)
	case r.Overdue:
		return "OVERDUE"
	}
	return "pending"
}

func (r cliReview) tier() string {
	if r.BreakGlass {
		return r.Tier + " (break-glass)"
	}
	return r.Tier
}

// answer decodes the server's answer into v; with -json it prints it.
func (rc *reviewCmd) answer(path string, raw json.RawMessage, v any) (printed bool, err error) {
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("the server's answer to %s: %w", path, err)
	}
	if rc.json {
		_, err := fmt.Fprintln(rc.out, string(raw))
		return true, err
	}
	return false, nil
}

func (rc *reviewCmd) queue(ctx context.Context, status string, mine, overdue bool) error {
	q := url.Values{"status": {status}}
	if mine {
		q.Set("mine", "true")
	}
	if overdue {
		q.Set("overdue", "true")
	}
	path := "api/v1/reviews?" + q.Encode()
	var raw json.RawMessage
	if err := rc.c.GetJSON(ctx, path, &raw); err != nil {
		return err
	}
	var resp struct {
		Reviews []cliReview `json:"reviews"`
	}
	if printed, err := rc.answer(path, raw, &resp); printed || err != nil {
		return err
	}
	if len(resp.Reviews) == 0 {
		_, err := fmt.Fprintln(rc.out, "no reviews")
		return err
	}
	tw := tabwriter.NewWriter(rc.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUERY\tTIER\tREQUESTER\tCASE\tCOMPLETED\tDUE\tREVIEWER\tSTATE")
	for _, r := range resp.Reviews {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.QueryID, r.tier(), r.Requester, r.Case, r.CompletedAt.UTC().Format(time.RFC3339),
			r.DueAt.UTC().Format(time.RFC3339), r.AssignedTo, r.state())
	}
	return tw.Flush()
}

func (rc *reviewCmd) show(ctx context.Context, id int64) error {
	path := fmt.Sprintf("api/v1/reviews/%d", id)
	var raw json.RawMessage
	if err := rc.c.GetJSON(ctx, path, &raw); err != nil {
		return err
	}
	var resp struct {
		Review cliReview `json:"review"`
	}
	if printed, err := rc.answer(path, raw, &resp); printed || err != nil {
		return err
	}
	printReview(rc.out, resp.Review)
	return nil
}

func printReview(w io.Writer, r cliReview) {
	fmt.Fprintf(w, "review of query %d: %s\n", r.QueryID, r.state())
	fmt.Fprintf(w, "  query      %s by %s, case %s, %s tier, %s\n", strings.ReplaceAll(r.Kind, "_", " "), r.Requester, r.Case, r.tier(), statusText(r.QueryStatus))
	fmt.Fprintf(w, "  completed  %s\n  due        %s\n  reviewer   %s", r.CompletedAt.UTC().Format(time.RFC3339), r.DueAt.UTC().Format(time.RFC3339), r.AssignedTo)
	if r.Escalations > 0 {
		fmt.Fprintf(w, " (escalated %d×)", r.Escalations)
	}
	fmt.Fprintln(w)
	if r.Status == "decided" {
		how := ""
		if r.Bulk {
			how = " (bulk)"
		}
		at := ""
		if r.DecidedAt != nil {
			at = " at " + r.DecidedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  decided    %s by %s%s%s\n", statusText(r.Decision), r.DecidedBy, at, how)
		if r.Note != "" {
			fmt.Fprintf(w, "  note       %s\n", r.Note)
		}
	}
}

func (rc *reviewCmd) decide(ctx context.Context, id int64, decision, note string) error {
	path := fmt.Sprintf("api/v1/reviews/%d/decide", id)
	var raw json.RawMessage
	if err := rc.c.PostJSON(ctx, path, map[string]string{"decision": decision, "note": note}, &raw); err != nil {
		return err
	}
	var resp struct {
		Review cliReview `json:"review"`
	}
	if printed, err := rc.answer(path, raw, &resp); printed || err != nil {
		return err
	}
	printReview(rc.out, resp.Review)
	return nil
}

func (rc *reviewCmd) bulk(ctx context.Context, ids []int64, decision, note string) error {
	path := "api/v1/reviews/bulk/decide"
	var raw json.RawMessage
	if err := rc.c.PostJSON(ctx, path, map[string]any{"ids": ids, "decision": decision, "note": note}, &raw); err != nil {
		return err
	}
	var resp struct {
		Reviews []cliReview `json:"reviews"`
	}
	if printed, err := rc.answer(path, raw, &resp); printed || err != nil {
		return err
	}
	for _, r := range resp.Reviews {
		fmt.Fprintf(rc.out, "query %d: %s\n", r.QueryID, r.state())
	}
	_, err := fmt.Fprintf(rc.out, "%d reviews decided\n", len(resp.Reviews))
	return err
}

// positionalID reads the one ID argument of "probity CMD ID", the ID of
// what (e.g. "the query's").
func positionalID(pos []string, what, cmd string) (int64, error) {
	if len(pos) != 1 {
		return 0, &usageError{fmt.Sprintf("give %s ID: probity %s ID", what, cmd)}
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, &usageError{fmt.Sprintf("%s ID is a positive whole number, not %q", what, pos[0])}
	}
	return id, nil
}
