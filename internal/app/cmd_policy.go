package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/probity-dev/probity/internal/ledgerclient"
	"github.com/probity-dev/probity/internal/policy"
)

const policyUsage = `Usage: probity policy COMMAND [flags]

Offline:
  validate  check a policy set file: probity policy validate [-scope S] FILE
  schema    print the Cedar schema policies are written against
  builtin   print a built-in set: probity policy builtin department|component

Against a server (-url, with the token of probity login):
  show      list the versions (-scope S), or show one with its text: show ID
  propose   propose a new version: propose -scope S -summary TEXT FILE
  impact    run a version's impact analysis (-days N) and print it: impact ID
  approve   approve a validated version: approve ID
  activate  make an approved version the one in force: activate ID
  reject    reject a version, or withdraw your own: reject -reason TEXT ID
  decide    decide a hypothetical request (a dry run): decide [-version ID] FILE
`

func cmdPolicy(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, policyUsage)
		return errUsage
	}
	rest := args[1:]
	switch args[0] {
	case "validate":
		return policyValidate(rest, getenv, stdout, stderr)
	case "schema":
		_, err := io.WriteString(stdout, policy.SchemaText)
		return err
	case "builtin":
		return policyBuiltin(rest, stdout)
	case "show":
		return policyShow(ctx, rest, getenv, stdout, stderr)
	case "propose":
		return policyPropose(ctx, rest, getenv, stdout, stderr)
	case "impact":
		return policyImpact(ctx, rest, getenv, stdout, stderr)
	case "approve", "activate", "reject":
		return policyStep(ctx, args[0], rest, getenv, stdout, stderr)
	case "decide":
		return policyDecide(ctx, rest, getenv, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, policyUsage)
		return nil
	}
	fmt.Fprintf(stderr, "probity policy: unknown command %q\n\n%s", args[0], policyUsage)
	return errUsage
}

// readPolicyFile reads a policy set file, refusing one larger than a set
// may be.
func readPolicyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, policy.MaxTextSize+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > policy.MaxTextSize {
		return "", fmt.Errorf("%s is larger than %d bytes, the most a policy set may be", path, policy.MaxTextSize)
	}
	return string(b), nil
}

// reportProblems prints a policy file's problems as FILE:LINE:COL: lines,
// the way compilers do, and returns errReported; other errors pass
// through.
func reportProblems(path string, err error, stderr io.Writer) error {
	ie, ok := errors.AsType[*policy.InvalidError](err)
	if !ok {
		return err
	}
	for _, p := range ie.Problems {
		where := path
		if p.Line > 0 {
			where = fmt.Sprintf("%s:%d:%d", path, p.Line, p.Column)
		}
		msg := p.Message
		if p.PolicyID != "" {
			msg = "policy " + p.PolicyID + ": " + msg
		}
		fmt.Fprintf(stderr, "%s: %s\n", where, msg)
	}
	fmt.Fprintf(stderr, "%s: %s; the policy set is not valid\n", path, plural(len(ie.Problems), "problem"))
	return errReported
}

// limitsFlags are the department limits a command may be given.
type limitsFlags struct {
	area   *float64
	window *int64
	court  *string
}

func addLimitsFlags(set interface {
	Float64(string, float64, string) *float64
	Int64(string, int64, string) *int64
	String(string, string, string) *string
}) limitsFlags {
	return limitsFlags{
		area:   set.Float64("max-area-km2", 0, "department set: the largest area search without pre-approval, in km² (default: the active limits, or the built-in ones)"),
		window: set.Int64("max-window-hours", 0, "department set: the longest time window without pre-approval, in hours"),
		court:  set.String("court-order-required", "", "department set: `true` or false — a device history needs a legal-process reference"),
	}
}

// limits returns the limits the flags give, on top of base; nil when no
// flag was given.
func (l limitsFlags) limits(base policy.Limits) (*policy.Limits, error) {
	if *l.area == 0 && *l.window == 0 && *l.court == "" {
		return nil, nil
	}
	if *l.area != 0 {
		base.MaxAreaKM2 = *l.area
	}
	if *l.window != 0 {
		base.MaxWindowHours = *l.window
	}
	if *l.court != "" {
		b, err := strconv.ParseBool(*l.court)
		if err != nil {
			return nil, &usageError{"-court-order-required must be true or false"}
		}
		base.CourtOrderRequired = b
	}
	return &base, nil
}

func policyValidate(args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("policy validate")
	scope := set.String("scope", policy.DefaultComponent, "the set's `scope`: department, default, or a component code")
	lf := addLimitsFlags(set)
	set.Usage = func() {
		fmt.Fprintf(set.Output(), "Usage: probity policy validate [-scope S] FILE\n\nChecks a policy set file offline, as the server will: it must parse as Cedar,\nevery policy needs @id and @reason, every policy must validate against the\nschema, and the department set may hold only forbid rules. Problems are\nprinted as FILE:LINE:COLUMN: message; the exit status is 1 if there are any.\n\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args, getenv, stderr); err != nil {
		return err
	}
	if set.NArg() != 1 {
		return &usageError{"give one policy file: probity policy validate [-scope S] FILE"}
	}
	path := set.Arg(0)
	text, err := readPolicyFile(path)
	if err != nil {
		return err
	}
	limits, err := lf.limits(policy.DefaultLimits)
	if err != nil {
		return err
	}
	if *scope == policy.Department && limits == nil {
		limits = &policy.DefaultLimits
	}
	s, err := policy.Compile(*scope, text, limits)
	if err != nil {
		return reportProblems(path, err, stderr)
	}
	permits, forbids := s.Counts()
	fmt.Fprintf(stdout, "%s: valid %s set: %d policies (%d permit, %d forbid)\n", path, *scope, len(s.Policies), permits, forbids)
	return nil
}

func policyBuiltin(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return &usageError{"give the set: probity policy builtin department|component"}
	}
	switch args[0] {
	case "department":
		_, err := io.WriteString(stdout, policy.DefaultDepartmentText)
		return err
	case "component", "default":
		_, err := io.WriteString(stdout, policy.DefaultComponentText)
		return err
	}
	return &usageError{fmt.Sprintf("there is no built-in set %q: department or component", args[0])}
}

// policyClient returns a client of the server with the stored token.
func policyClient(server string, getenv Env, cmd string) (*ledgerclient.Client, error) {
	return signedInClient(server, getenv, fmt.Sprintf("give the server: probity policy %s -url https://probity.example/", cmd))
}

// versionID returns the one positional argument, a version ID.
func versionID(args []string, cmd string) (int64, error) {
	if len(args) != 1 {
		return 0, &usageError{fmt.Sprintf("give the version's ID: probity policy %s ID", cmd)}
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, &usageError{fmt.Sprintf("version ID %q is not a positive whole number", args[0])}
	}
	return id, nil
}

// policyVersionOut is a version as the server sends it.
type policyVersionOut struct {
	ID           int64                 `json:"id"`
	Scope        string                `json:"scope"`
	Version      int                   `json:"version"`
	Status       string                `json:"status"`
	Summary      string                `json:"summary"`
	Digest       string                `json:"digest"`
	Permits      int                   `json:"permits"`
	Forbids      int                   `json:"forbids"`
	Limits       *policy.Limits        `json:"limits"`
	ProposedBy   string                `json:"proposed_by"`
	ProposedAt   time.Time             `json:"proposed_at"`
	AnalysedBy   string                `json:"analysed_by"`
	ImpactDays   int                   `json:"impact_days"`
	Impact       *policy.ImpactSummary `json:"impact"`
	ApprovedBy   string                `json:"approved_by"`
	ActivatedBy  string                `json:"activated_by"`
	RejectedBy   string                `json:"rejected_by"`
	RejectReason string                `json:"reject_reason"`
	Text         string                `json:"text"`
	Refusals     []struct {
		Step   string    `json:"step"`
		Code   string    `json:"code"`
		Reason string    `json:"reason"`
		Actor  string    `json:"actor"`
		At     time.Time `json:"at"`
	} `json:"refusals"`
}

func printVersion(w io.Writer, v policyVersionOut) {
	fmt.Fprintf(w, "version %d: %s version %d, %s\n", v.ID, v.Scope, v.Version, v.Status)
	fmt.Fprintf(w, "  summary:   %s\n", v.Summary)
	fmt.Fprintf(w, "  policies:  %d permit, %d forbid (%s)\n", v.Permits, v.Forbids, v.Digest)
	if v.Limits != nil {
		fmt.Fprintf(w, "  limits:    %g km², %d hours, court order required: %t\n", v.Limits.MaxAreaKM2, v.Limits.MaxWindowHours, v.Limits.CourtOrderRequired)
	}
	fmt.Fprintf(w, "  proposed:  by %s at %s\n", v.ProposedBy, v.ProposedAt.Format(time.RFC3339))
	if v.Impact != nil {
		fmt.Fprintf(w, "  impact:    by %s over %d days: %d replayed, %d allow→deny, %d deny→allow, %d other reasons\n",
			v.AnalysedBy, v.ImpactDays, v.Impact.Replayed, v.Impact.AllowToDeny, v.Impact.DenyToAllow, v.Impact.PoliciesChanged)
	}
	for _, s := range []struct{ what, who string }{{"approved", v.ApprovedBy}, {"activated", v.ActivatedBy}, {"rejected", v.RejectedBy}} {
		if s.who != "" {
			fmt.Fprintf(w, "  %-10s by %s\n", s.what+":", s.who)
		}
	}
	if v.RejectReason != "" {
		fmt.Fprintf(w, "  reason:    %s\n", v.RejectReason)
	}
	for _, r := range v.Refusals {
		fmt.Fprintf(w, "  refused:   %s by %s at %s (%s): %s\n", r.Step, r.Actor, r.At.Format(time.RFC3339), r.Code, r.Reason)
	}
}

func policyShow(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("policy show")
	server := set.String("url", "", "the Probity server's `URL`")
	scope := set.String("scope", "", "list only this `scope`'s versions")
	if _, err := parse(set, flags, args, getenv, stderr); err != nil {
		return err
	}
	c, err := policyClient(*server, getenv, "show")
	if err != nil {
		return err
	}
	if set.NArg() == 1 {
		id, err := versionID(set.Args(), "show")
		if err != nil {
			return err
		}
		var v policyVersionOut
		if err := c.GetJSON(ctx, fmt.Sprintf("api/v1/policy/versions/%d", id), &v); err != nil {
			return err
		}
		printVersion(stdout, v)
		fmt.Fprintf(stdout, "\n%s", v.Text)
		return nil
	}
	if set.NArg() > 1 {
		return &usageError{"give at most one version ID"}
	}
	var resp struct {
		Versions []policyVersionOut `json:"versions"`
	}
	path := "api/v1/policy/versions"
	if *scope != "" {
		path += "?scope=" + *scope
	}
	if err := c.GetJSON(ctx, path, &resp); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSCOPE\tVERSION\tSTATUS\tPERMIT/FORBID\tPROPOSED BY\tSUMMARY")
	for _, v := range resp.Versions {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%d/%d\t%s\t%s\n", v.ID, v.Scope, v.Version, v.Status, v.Permits, v.Forbids, v.ProposedBy, v.Summary)
	}
	return tw.Flush()
}

func policyPropose(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("policy propose")
	server := set.String("url", "", "the Probity server's `URL`")
	scope := set.String("scope", "", "the set's `scope`: department, default, or a component code")
	summary := set.String("summary", "", "what the change does and why")
	lf := addLimitsFlags(set)
	set.Usage = func() {
		fmt.Fprintf(set.Output(), "Usage: probity policy propose -url URL -scope S -summary TEXT FILE\n\nChecks FILE here, then proposes it as the next version of the scope's set.\nA department proposal keeps the active limits unless flags change them.\n\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args, getenv, stderr); err != nil {
		return err
	}
	if set.NArg() != 1 || *scope == "" || *summary == "" {
		return &usageError{"give the scope, a summary and one policy file: probity policy propose -scope S -summary TEXT FILE"}
	}
	path := set.Arg(0)
	text, err := readPolicyFile(path)
	if err != nil {
		return err
	}
	c, err := policyClient(*server, getenv, "propose")
	if err != nil {
		return err
	}
	body := map[string]any{"scope": *scope, "text": text, "summary": *summary}
	var base policy.Limits
	if *scope == policy.Department {
		// Flags change the active limits, which the server reports.
		var sets struct {
			Sets []struct {
				Scope  string         `json:"scope"`
				Limits *policy.Limits `json:"limits"`
			} `json:"sets"`
		}
		if err := c.GetJSON(ctx, "api/v1/policy/sets", &sets); err != nil {
			return err
		}
		base = policy.DefaultLimits
		for _, s := range sets.Sets {
			if s.Scope == policy.Department && s.Limits != nil {
				base = *s.Limits
			}
		}
	}
	limits, err := lf.limits(base)
	if err != nil {
		return err
	}
	if limits != nil {
		if *scope != policy.Department {
			return &usageError{"only the department set has limits"}
		}
		body["limits"] = limits
	}
	check := limits
	if *scope == policy.Department && check == nil {
		check = &base
	}
	if _, err := policy.Compile(*scope, text, check); err != nil {
		return reportProblems(path, err, stderr)
	}
	var v policyVersionOut
	if err := c.PostJSON(ctx, "api/v1/policy/versions", body, &v); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "proposed version %d (%s version %d); next: probity policy impact %d\n", v.ID, v.Scope, v.Version, v.ID)
	return nil
}

func policyImpact(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("policy impact")
	server := set.String("url", "", "the Probity server's `URL`")
	days := set.Int("days", 30, "replay the decisions of this many past `days`")
	asJSON := set.Bool("json", false, "print the analysis as JSON")
	if _, err := parse(set, flags, args, getenv, stderr); err != nil {
		return err
	}
	id, err := versionID(set.Args(), "impact")
	if err != nil {
		return err
	}
	c, err := policyClient(*server, getenv, "impact")
	if err != nil {
		return err
	}
	var resp struct {
		Version policyVersionOut     `json:"version"`
		Impact  policy.ImpactSummary `json:"impact"`
		Changes []policy.Change      `json:"changes"`
	}
	if err := c.PostJSON(ctx, fmt.Sprintf("api/v1/policy/versions/%d/impact", id), map[string]int{"days": *days}, &resp); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(resp)
	}
	printVersion(stdout, resp.Version)
	if len(resp.Changes) == 0 {
		fmt.Fprintln(stdout, "\nno recorded decision would change")
		return nil
	}
	fmt.Fprintf(stdout, "\nchanges (the first %d):\n", len(resp.Changes))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECORD\tAT\tACTOR\tACTION\tCHANGE\tNOW\tPROPOSED")
	for _, ch := range resp.Changes {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", ch.RecordID, ch.At.Format(time.DateTime), ch.Actor, ch.Action, ch.Kind,
			outcome(ch.Current), outcome(ch.Proposed))
	}
	return tw.Flush()
}

func outcome(o policy.Outcome) string {
	d := "deny"
	if o.Allowed {
		d = "allow"
	}
	return d + " (" + strings.Join(o.Policies, ", ") + ")"
}

func policyStep(ctx context.Context, step string, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("policy " + step)
	server := set.String("url", "", "the Probity server's `URL`")
	var reason *string
	if step == "reject" {
		reason = set.String("reason", "", "why the version is rejected or withdrawn")
	}
	if _, err := parse(set, flags, args, getenv, stderr); err != nil {
		return err
	}
	id, err := versionID(set.Args(), step)
	if err != nil {
		return err
	}
	var body any
	if reason != nil {
		if *reason == "" {
			return &usageError{"give a reason: probity policy reject -reason TEXT ID"}
		}
		body = map[string]string{"reason": *reason}
	}
	c, err := policyClient(*server, getenv, step)
	if err != nil {
		return err
	}
	var v policyVersionOut
	if err := c.PostJSON(ctx, fmt.Sprintf("api/v1/policy/versions/%d/%s", id, step), body, &v); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "version %d (%s version %d) is %s\n", v.ID, v.Scope, v.Version, v.Status)
	return nil
}

func policyDecide(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("policy decide")
	server := set.String("url", "", "the Probity server's `URL`")
	version := set.Int64("version", 0, "decide with this version `ID` in place of its scope's active set")
	set.Usage = func() {
		fmt.Fprintf(set.Output(), "Usage: probity policy decide -url URL [-version ID] FILE\n\nDecides the hypothetical request in FILE (JSON: action, principal, query,\noff_hours) without recording anything, and prints the decision and its\nreasons.\n\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args, getenv, stderr); err != nil {
		return err
	}
	if set.NArg() != 1 {
		return &usageError{"give one request file: probity policy decide FILE"}
	}
	b, err := os.ReadFile(set.Arg(0))
	if err != nil {
		return err
	}
	var req map[string]any
	if err := json.Unmarshal(b, &req); err != nil {
		return fmt.Errorf("%s: %w", set.Arg(0), err)
	}
	if *version != 0 {
		req["version_id"] = *version
	}
	c, err := policyClient(*server, getenv, "decide")
	if err != nil {
		return err
	}
	var d struct {
		Allowed  bool     `json:"allowed"`
		Reasons  []string `json:"reasons"`
		Policies []string `json:"policies"`
	}
	if err := c.PostJSON(ctx, "api/v1/policy/decide", req, &d); err != nil {
		return err
	}
	verdict := "DENY"
	if d.Allowed {
		verdict = "ALLOW"
	}
	fmt.Fprintf(stdout, "%s (%s)\n", verdict, strings.Join(d.Policies, ", "))
	for _, r := range d.Reasons {
		fmt.Fprintf(stdout, "  %s\n", r)
	}
	return nil
}
