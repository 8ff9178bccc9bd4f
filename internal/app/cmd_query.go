package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/ledgerclient"
	"github.com/probity-dev/probity/internal/query"
)

const queryUsage = `Usage: probity query COMMAND [flags] -url URL

Location queries, through the audited query path: each names an open case
you are a member of, a data source and your justification; each is decided
under the policies, recorded in the ledger, and may wait for approval.

Commands:
  area -case C -source S -justification TEXT (-geojson FILE | -circle LAT,LON,METRES)
       -from T -to T [-legal-process REF] [-break-glass REASON]
                          the devices seen in an area (a GeoJSON Polygon or
                          MultiPolygon, or a circle) during the window
  device -case C -source S -device P -justification TEXT -from T -to T
       [-legal-process REF] [-break-glass REASON]
                          one device's pings during the window; P is a pseudonym
                          from a result of the case
  unmask -case C -source S -device P -justification TEXT
                          ask to reveal the identifier behind a pseudonym (it
                          waits for approval; then run it)
  list [-all] [-status S] [-case C]
                          your queries, newest first; -all: those you oversee
  show ID                 a query: its request, decision, reasons and approvals
  approve ID [-reason R]  approve a query awaiting your approval
  reject ID -reason R     reject a query awaiting your approval
  run ID                  run your approved query
  results ID              a completed query's results again (the reading is
                          recorded)
  withheld ID             a privacy officer reads results a detector withheld
                          (the reading is recorded)
  release ID -note TEXT   a privacy officer releases withheld results to the
                          requester
  uphold ID -note TEXT    … or keeps them withheld, saying why

Times are RFC 3339 (2026-11-01T08:00:00Z) or a date (2026-11-01, midnight UTC
at its start); the window is from its start up to, not including, its end.
Results show devices by pseudonym only. An answer ends with its receipt: the
ledger entry that records it, in a signed checkpoint, with the proof that the
entry is in the ledger. -receipt FILE writes it out, and
"probity ledger verify -receipt FILE -key KEY" checks it offline with the
ledger's verifier key. Commands talk to the server at -url (or PROBITY_URL)
with the token "probity login" stored; add -json for the server's answer as
it is.
`

// queryCommands are the commands of probity query.
var queryCommands = []string{"area", "device", "unmask", "list", "show", "approve", "reject", "run", "results", "withheld", "release", "uphold"}

func cmdQuery(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	cmd, err := subcommand("query", queryUsage, func(c string) bool { return slices.Contains(queryCommands, c) }, args, stdout, stderr)
	if cmd == "" {
		return err
	}
	set, flags := flagSet("query " + cmd)
	server := set.String("url", "", "the Probity server's `URL` (default $PROBITY_URL)")
	asJSON := set.Bool("json", false, "print the server's JSON answer")
	var rf *requestFlags
	var receipt, reason, status, caseNo *string
	var all *bool
	switch cmd {
	case "area", "device", "unmask":
		rf = newRequestFlags(set, map[string]query.Kind{"area": query.Area, "device": query.DeviceHistory, "unmask": query.Unmask}[cmd])
	case "list":
		all = set.Bool("all", false, "the queries of the people and components you oversee, not only yours")
		status = set.String("status", "", "only queries in this `status` (refused, awaiting_approval, approved, rejected, expired, running, completed, withheld, failed)")
		caseNo = set.String("case", "", "only the queries of this case `number`")
	case "approve", "reject":
		reason = set.String("reason", "", "the `reason` for the record (required to reject)")
	case "release", "uphold":
		reason = set.String("note", "", "why, for the record (at least 20 characters)")
	}
	switch cmd {
	case "area", "device", "unmask", "run", "results", "withheld":
		receipt = set.String("receipt", "", "write the answer's ledger receipt to this `file`, for probity ledger verify -receipt")
	}
	set.Usage = func() {
		fmt.Fprint(set.Output(), queryUsage+"\nFlags of "+cmd+":\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args[1:], getenv, stderr); err != nil {
		return err
	}
	if *server == "" {
		*server = getenv("PROBITY_URL")
	}
	// Everything the command line says is checked before the server is
	// asked anything.
	pos := set.Args()
	var req query.Request
	var id int64
	switch cmd {
	case "area", "device", "unmask", "list":
		if len(pos) != 0 {
			return &usageError{fmt.Sprintf("probity query %s takes no arguments, only flags (%q is extra)", cmd, pos[0])}
		}
		if rf != nil {
			if req, err = rf.request(); err != nil {
				return err
			}
		}
		if status != nil && *status != "" && !slices.Contains(queryStatusNames, *status) {
			return &usageError{fmt.Sprintf("-status: %q is not a query status: use one of %s", *status, strings.Join(queryStatusNames, ", "))}
		}
	default:
		if id, err = queryID(pos, cmd); err != nil {
			return err
		}
		if cmd == "reject" && strings.TrimSpace(*reason) == "" {
			return &usageError{"give the reason for the rejection: probity query reject ID -reason TEXT"}
		}
		if (cmd == "release" || cmd == "uphold") && strings.TrimSpace(*reason) == "" {
			return &usageError{fmt.Sprintf("say why: probity query %s ID -note TEXT", cmd)}
		}
	}
	if receipt != nil && *receipt != "" {
		if err := checkWritable(*receipt); err != nil {
			return &usageError{fmt.Sprintf("-receipt: %v", err)}
		}
	}
	c, err := signedInClient(*server, getenv, "give the server: -url https://probity.example/ (or set PROBITY_URL)")
	if err != nil {
		return err
	}
	q := &queryCmd{c: c, out: stdout, json: *asJSON}
	if receipt != nil {
		q.receiptFile = *receipt
	}
	switch cmd {
	case "area", "device", "unmask":
		return q.submit(ctx, req)
	case "list":
		return q.list(ctx, *all, *status, *caseNo)
	case "show":
		return q.show(ctx, id)
	case "approve", "reject":
		return q.decide(ctx, id, cmd, *reason)
	case "run":
		return q.run(ctx, id)
	case "results":
		return q.results(ctx, id, "results")
	case "withheld":
		return q.results(ctx, id, "withheld-results")
	case "release", "uphold":
		return q.reviewWithheld(ctx, id, cmd == "release", *reason)
	}
	return nil
}

var queryStatusNames = []string{"refused", "awaiting_approval", "approved", "rejected", "expired", "running", "completed", "withheld", "failed"}

func queryID(pos []string, cmd string) (int64, error) {
	if len(pos) != 1 {
		return 0, &usageError{fmt.Sprintf("give the query's ID: probity query %s ID", cmd)}
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, &usageError{fmt.Sprintf("the query's ID is a positive whole number, not %q", pos[0])}
	}
	return id, nil
}

// checkWritable reports whether a file can be written at path, before
// the query runs: a receipt that cannot be saved after the query ran
// would be a query without its proof at hand.
func checkWritable(path string) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("%s is a directory", path)
	case err == nil:
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return unwrapPath(err)
	}
	dir := "."
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		dir = path[:i+1]
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("the directory of %s does not exist", path)
	}
	return nil
}

// requestFlags are the flags of a query request.
type requestFlags struct {
	kind                              query.Kind
	caseNo, source, justification     *string
	legalProcess, breakGlass          *string
	from, to, geojson, circle, device *string
}

func newRequestFlags(set *flag.FlagSet, kind query.Kind) *requestFlags {
	f := &requestFlags{kind: kind}
	f.caseNo = set.String("case", "", "the `number` of the open case the query serves (required)")
	f.source = set.String("source", "", "the data `source`'s name (required)")
	f.justification = set.String("justification", "", "why the case needs this data, at least 20 characters (required)")
	if kind == query.Area {
		f.geojson = set.String("geojson", "", "the area: a GeoJSON Polygon or MultiPolygon `file` (or use -circle)")
		f.circle = set.String("circle", "", "the area: a circle `LAT,LON,METRES` (or use -geojson)")
	} else {
		f.device = set.String("device", "", "the device's `pseudonym` from a result of the case (required)")
	}
	if kind != query.Unmask {
		f.from = set.String("from", "", "the window's start `time` (RFC 3339 or YYYY-MM-DD; required)")
		f.to = set.String("to", "", "the window's end `time`, not included (RFC 3339 or YYYY-MM-DD; required)")
		f.legalProcess = set.String("legal-process", "", "the warrant or court-order `reference` on the case the query relies on")
		f.breakGlass = set.String("break-glass", "", "an emergency: run without prior approval, for this stated `reason` (reviewed afterwards)")
	}
	return f
}

// request builds the request, or says which flag is wrong.
func (f *requestFlags) request() (query.Request, error) {
	r := query.Request{Kind: f.kind, Case: strings.TrimSpace(*f.caseNo), Source: strings.TrimSpace(*f.source), Justification: strings.TrimSpace(*f.justification)}
	bad := func(format string, args ...any) (query.Request, error) {
		return query.Request{}, &usageError{fmt.Sprintf(format, args...)}
	}
	switch {
	case r.Case == "":
		return bad("give the case the query serves: -case NUMBER (e.g. CBP-2026-0142)")
	case r.Source == "":
		return bad("give the data source: -source NAME")
	case r.Justification == "":
		return bad("give your justification: -justification TEXT (why the case needs this data, at least %d characters)", query.MinJustification)
	}
	if f.kind == query.Area {
		switch {
		case *f.geojson != "" && *f.circle != "":
			return bad("give the area once: either -geojson FILE or -circle LAT,LON,METRES, not both")
		case *f.geojson != "":
			b, err := readLimited(*f.geojson, int64(geo.DefaultLimits().MaxBytes))
			if err != nil {
				return bad("-geojson: %v", unwrapPath(err))
			}
			if _, err := geo.ParseArea(b, geo.DefaultLimits()); err != nil {
				return bad("-geojson %s: %v", *f.geojson, err)
			}
			r.Area = b
		case *f.circle != "":
			c, err := parseCircle(*f.circle)
			if err != nil {
				return query.Request{}, err
			}
			r.Circle = &c
		default:
			return bad("give the area: -geojson FILE (a GeoJSON Polygon or MultiPolygon) or -circle LAT,LON,METRES")
		}
	} else {
		if r.Device = strings.TrimSpace(*f.device); r.Device == "" {
			return bad("give the device: -device PSEUDONYM (from a result of the case, e.g. p-…)")
		}
	}
	if f.kind == query.Unmask {
		return r, nil
	}
	var err error
	if r.From, err = parseQueryTime("-from", *f.from); err != nil {
		return query.Request{}, err
	}
	if r.To, err = parseQueryTime("-to", *f.to); err != nil {
		return query.Request{}, err
	}
	if !r.From.Before(r.To) {
		return bad("the window must start before it ends (-from %s, -to %s)", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	}
	r.LegalProcess, r.BreakGlass = strings.TrimSpace(*f.legalProcess), strings.TrimSpace(*f.breakGlass)
	return r, nil
}

// parseQueryTime reads a time as RFC 3339, or a date as midnight UTC at
// its start.
func parseQueryTime(flagName, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, &usageError{fmt.Sprintf("give the window: %s TIME (RFC 3339, e.g. 2026-11-01T08:00:00Z, or a date, 2026-11-01)", flagName)}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, &usageError{fmt.Sprintf("%s: %q is not a time: give RFC 3339 (2026-11-01T08:00:00Z, with its zone) or a date (2026-11-01)", flagName, s)}
}

// parseCircle reads LAT,LON,METRES.
func parseCircle(s string) (query.Circle, error) {
	bad := &usageError{fmt.Sprintf("-circle: give LAT,LON,METRES in decimal degrees and metres (e.g. 38.8895,-77.0353,500), not %q", s)}
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return query.Circle{}, bad
	}
	var v [3]float64
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return query.Circle{}, bad
		}
		v[i] = x
	}
	c := query.Circle{Lat: v[0], Lon: v[1], RadiusM: v[2]}
	if _, err := geo.NewCircle(c.Lat, c.Lon, c.RadiusM, geo.DefaultLimits()); err != nil {
		return query.Circle{}, &usageError{fmt.Sprintf("-circle %s: %v", s, err)}
	}
	return c, nil
}

// queryCmd runs one command against the server.
type queryCmd struct {
	c           *ledgerclient.Client
	out         io.Writer
	json        bool
	receiptFile string
}

// The API's shapes, as far as the commands show them.
type (
	cliQuery struct {
		ID           int64           `json:"id"`
		EmployeeID   string          `json:"employee_id"`
		Component    string          `json:"component"`
		Case         string          `json:"case"`
		Source       string          `json:"source"`
		Kind         string          `json:"kind"`
		Device       string          `json:"device"`
		Status       string          `json:"status"`
		Tier         string          `json:"tier"`
		Reasons      []string        `json:"reasons"`
		BreakGlass   bool            `json:"break_glass"`
		ResultCount  int             `json:"result_count"`
		ResultDigest string          `json:"result_digest"`
		CreatedAt    time.Time       `json:"created_at"`
		CompletedAt  *time.Time      `json:"completed_at"`
		PurgedAt     *time.Time      `json:"purged_at"`
		Request      *query.Request  `json:"request"`
		Decision     json.RawMessage `json:"decision"`
	}
	cliOutcome struct {
		Query   cliQuery        `json:"query"`
		Message string          `json:"message"`
		Result  *query.Result   `json:"result"`
		Receipt *ledger.Receipt `json:"receipt"`
	}
)

// post posts in to path and decodes the answer into v; with -json it also
// prints the answer as it is.
func (q *queryCmd) post(ctx context.Context, path string, in, v any) error {
	var raw json.RawMessage
	if err := q.c.PostJSON(ctx, path, in, &raw); err != nil {
		return err
	}
	return q.decode(path, raw, v)
}

func (q *queryCmd) get(ctx context.Context, path string, v any) error {
	var raw json.RawMessage
	if err := q.c.GetJSON(ctx, path, &raw); err != nil {
		return err
	}
	return q.decode(path, raw, v)
}

func (q *queryCmd) decode(path string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("the server's answer to %s: %w", path, err)
	}
	if q.json {
		_, err := fmt.Fprintln(q.out, string(raw))
		return err
	}
	return nil
}

func (q *queryCmd) submit(ctx context.Context, r query.Request) error {
	var out cliOutcome
	if err := q.post(ctx, "api/v1/queries", r, &out); err != nil {
		return err
	}
	return q.outcome(out)
}

func (q *queryCmd) run(ctx context.Context, id int64) error {
	var out cliOutcome
	if err := q.post(ctx, fmt.Sprintf("api/v1/queries/%d/run", id), nil, &out); err != nil {
		return err
	}
	return q.outcome(out)
}

// outcome shows a query's answer and saves its receipt.
func (q *queryCmd) outcome(out cliOutcome) error {
	x := out.Query
	if !q.json {
		fmt.Fprintf(q.out, "query %d %s: %s\n", x.ID, statusText(x.Status), out.Message)
		fmt.Fprintf(q.out, "  case %s, source %s", x.Case, x.Source)
		if x.Tier != "" {
			fmt.Fprintf(q.out, ", tier %s", x.Tier)
		}
		fmt.Fprintln(q.out)
		if x.Status == "awaiting_approval" {
			fmt.Fprintf(q.out, "  once approved, run it: probity query run %d\n", x.ID)
		}
		if out.Result != nil {
			fmt.Fprintln(q.out)
			printResult(q.out, *out.Result)
		}
	}
	return q.saveReceipt(out.Receipt)
}

func statusText(s string) string { return strings.ReplaceAll(s, "_", " ") }

// printResult prints a result as a table.
func printResult(w io.Writer, r query.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	switch r.Kind {
	case query.Area:
		fmt.Fprintln(tw, "PSEUDONYM\tFIRST SEEN\tLAST SEEN\tPINGS")
		for _, d := range r.Devices {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", d.Device, d.FirstSeen.UTC().Format(time.RFC3339), d.LastSeen.UTC().Format(time.RFC3339), d.Pings)
		}
	case query.DeviceHistory:
		fmt.Fprintf(tw, "pings of %s\n", r.Device)
		fmt.Fprintln(tw, "TIME\tLAT\tLON\tACCURACY (m)")
		for _, p := range r.Pings {
			acc := "-"
			if p.AccuracyM > 0 {
				acc = strconv.FormatFloat(p.AccuracyM, 'f', -1, 64)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Time.UTC().Format(time.RFC3339), strconv.FormatFloat(p.Lat, 'f', 6, 64), strconv.FormatFloat(p.Lon, 'f', 6, 64), acc)
		}
	case query.Unmask:
		fmt.Fprintf(tw, "%s is the source's device %s\n", r.Device, r.Revealed)
	}
	tw.Flush()
}

// saveReceipt prints where the receipt puts the entry and writes it to
// the receipt file, if one was given.
func (q *queryCmd) saveReceipt(rc *ledger.Receipt) error {
	if rc == nil {
		if q.receiptFile != "" {
			return fmt.Errorf("the server gave no receipt, so none was written to %s", q.receiptFile)
		}
		return nil
	}
	if !q.json {
		fmt.Fprintf(q.out, "\nreceipt: ledger entry %d", rc.Index)
		if cp, err := ledger.CheckpointFromNote([]byte(rc.Checkpoint)); err == nil {
			fmt.Fprintf(q.out, ", in the checkpoint of %d entries of %s", cp.Size, cp.Origin)
		}
		fmt.Fprintln(q.out)
	}
	if q.receiptFile == "" {
		return nil
	}
	b, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(q.receiptFile, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the receipt: %w", unwrapPath(err))
	}
	if !q.json {
		fmt.Fprintf(q.out, "receipt written to %s; check it with: probity ledger verify -receipt %s -key KEY\n", q.receiptFile, q.receiptFile)
	}
	return nil
}

func (q *queryCmd) results(ctx context.Context, id int64, which string) error {
	var out struct {
		QueryID int64           `json:"query_id"`
		Result  query.Result    `json:"result"`
		Receipt *ledger.Receipt `json:"receipt"`
	}
	if err := q.get(ctx, fmt.Sprintf("api/v1/queries/%d/%s", id, which), &out); err != nil {
		return err
	}
	if !q.json {
		fmt.Fprintf(q.out, "results of query %d (this reading is recorded):\n\n", out.QueryID)
		printResult(q.out, out.Result)
	}
	return q.saveReceipt(out.Receipt)
}

func (q *queryCmd) list(ctx context.Context, all bool, status, caseNo string) error {
	path := "api/v1/queries?all=" + strconv.FormatBool(all)
	if status != "" {
		path += "&status=" + status
	}
	if caseNo != "" {
		path += "&case=" + url.QueryEscape(caseNo)
	}
	var resp struct {
		Queries []cliQuery `json:"queries"`
	}
	if err := q.get(ctx, path, &resp); err != nil || q.json {
		return err
	}
	tw := tabwriter.NewWriter(q.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tREQUESTER\tKIND\tCASE\tSOURCE\tSTATUS\tTIER\tRESULTS")
	for _, x := range resp.Queries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", x.ID, x.CreatedAt.UTC().Format(time.RFC3339), x.EmployeeID, x.Kind, x.Case, x.Source,
			statusText(x.Status), blankAsDash(x.Tier), x.ResultCount)
	}
	return tw.Flush()
}

func blankAsDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (q *queryCmd) show(ctx context.Context, id int64) error {
	var resp struct {
		Query     cliQuery `json:"query"`
		Approvals []struct {
			EmployeeID string    `json:"employee_id"`
			Capacity   string    `json:"capacity"`
			Decision   string    `json:"decision"`
			Reason     string    `json:"reason"`
			DecidedAt  time.Time `json:"decided_at"`
		} `json:"approvals"`
	}
	if err := q.get(ctx, fmt.Sprintf("api/v1/queries/%d", id), &resp); err != nil || q.json {
		return err
	}
	x := resp.Query
	w := q.out
	fmt.Fprintf(w, "query %d: %s, %s", x.ID, strings.ReplaceAll(x.Kind, "_", " "), statusText(x.Status))
	if x.Tier != "" {
		fmt.Fprintf(w, " (tier %s)", x.Tier)
	}
	fmt.Fprintf(w, "\n  requester      %s (%s)\n  case           %s\n  source         %s\n  created        %s\n", x.EmployeeID, blankAsDash(x.Component), x.Case, x.Source, x.CreatedAt.UTC().Format(time.RFC3339))
	if x.CompletedAt != nil {
		fmt.Fprintf(w, "  completed      %s\n", x.CompletedAt.UTC().Format(time.RFC3339))
	}
	if x.ResultDigest != "" {
		fmt.Fprintf(w, "  results        %d, digest %s", x.ResultCount, x.ResultDigest)
		if x.PurgedAt != nil {
			fmt.Fprintf(w, " (purged %s)", x.PurgedAt.UTC().Format(time.DateOnly))
		}
		fmt.Fprintln(w)
	}
	if x.BreakGlass {
		fmt.Fprintln(w, "  break glass    yes")
	}
	if r := x.Request; r != nil {
		fmt.Fprintf(w, "  justification  %s\n", r.Justification)
		switch {
		case r.Circle != nil:
			fmt.Fprintf(w, "  area           circle of %g m around %g, %g\n", r.Circle.RadiusM, r.Circle.Lat, r.Circle.Lon)
		case len(r.Area) > 0:
			fmt.Fprintf(w, "  area           GeoJSON, %d bytes\n", len(r.Area))
		case r.Device != "":
			fmt.Fprintf(w, "  device         %s\n", r.Device)
		}
		if !r.From.IsZero() {
			fmt.Fprintf(w, "  window         %s to %s\n", r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339))
		}
		if r.LegalProcess != "" {
			fmt.Fprintf(w, "  legal process  %s\n", r.LegalProcess)
		}
	}
	var dec struct {
		Allowed  bool     `json:"allowed"`
		Policies []string `json:"policies"`
	}
	if len(x.Decision) > 0 && json.Unmarshal(x.Decision, &dec) == nil {
		verdict := "refused"
		if dec.Allowed {
			verdict = "allowed"
		}
		fmt.Fprintf(w, "  decision       %s by %s\n", verdict, strings.Join(dec.Policies, ", "))
	}
	for i, r := range x.Reasons {
		label := ""
		if i == 0 {
			label = "reasons"
		}
		fmt.Fprintf(w, "  %-14s %s\n", label, r)
	}
	if len(resp.Approvals) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nApprovals:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, a := range resp.Approvals {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s", a.DecidedAt.UTC().Format(time.RFC3339), a.EmployeeID, strings.ReplaceAll(a.Capacity, "_", " "), a.Decision)
		if a.Reason != "" {
			fmt.Fprintf(tw, "\t%q", a.Reason)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// reviewWithheld releases a query's withheld results, or upholds the
// withholding.
func (q *queryCmd) reviewWithheld(ctx context.Context, id int64, release bool, note string) error {
	var resp struct {
		Query cliQuery `json:"query"`
	}
	if err := q.post(ctx, fmt.Sprintf("api/v1/queries/%d/withheld", id), map[string]any{"release": release, "note": note}, &resp); err != nil || q.json {
		return err
	}
	if release {
		_, err := fmt.Fprintf(q.out, "query %d's results are released to its requester %s\n", resp.Query.ID, resp.Query.EmployeeID)
		return err
	}
	_, err := fmt.Fprintf(q.out, "query %d's results stay withheld from its requester %s\n", resp.Query.ID, resp.Query.EmployeeID)
	return err
}

func (q *queryCmd) decide(ctx context.Context, id int64, action, reason string) error {
	var resp struct {
		Query cliQuery `json:"query"`
	}
	if err := q.post(ctx, fmt.Sprintf("api/v1/queries/%d/%s", id, action), map[string]string{"reason": reason}, &resp); err != nil || q.json {
		return err
	}
	x := resp.Query
	switch x.Status {
	case "approved":
		_, err := fmt.Fprintf(q.out, "query %d is approved; its requester %s may run it now\n", x.ID, x.EmployeeID)
		return err
	case "awaiting_approval":
		_, err := fmt.Fprintf(q.out, "your approval of query %d is recorded; it still waits for the other approval\n", x.ID)
		return err
	}
	_, err := fmt.Fprintf(q.out, "query %d is %s\n", x.ID, statusText(x.Status))
	return err
}
