package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledgerclient"
	"github.com/probity-dev/probity/internal/release"
	"github.com/probity-dev/probity/internal/scan"
)

const appUsage = `Usage: probity app COMMAND [flags] -url URL

Mobile apps under the release gate: each is a system of the privacy
inventory with its own PIA, and has a versioned scan policy.

Commands:
  list [-component C]     the apps you may see
  create -name N -platform ios|android -bundle ID -developer ORG -system ID -pia ID
                          register an app (with the default scan policy)
  show ID                 an app
  policy ID [-version N]  the app's scan policy (the one in force by default)
  policy ID -set FILE     write a new version from a JSON file ({"scans": …,
                          "block_at": …, "sla": …, "documents": …, "note": …})
                          based on the version in force
  watch ID                the app's watched store listing and its last check
  watch ID -kind app_store [-bundle ID] [-country CC] [-listing-url URL]
  watch ID -kind json -listing-url URL -version-path P [-date-path P]
                          watch the store listing: every published version
                          without an approved release raises an alert
  watch ID -off           stop watching it

Commands talk to the server at -url (or PROBITY_URL) with the token
"probity login" stored. Add -json for the server's answer as it is.
`

const scanUsage = `Usage: probity scan import FILE -release ID [-type T] [-format F] -url URL

Imports a scan report into a release: SARIF 2.1.0 (static or dynamic
analysis), a MobSF JSON report (mobile app analysis), or a CycloneDX or
SPDX 2.3 SBOM. The format is detected unless -format says it; the scan
type defaults to what the format is for (sarif: static, mobsf: mobile,
cyclonedx and spdx: sbom). A report that does not parse, or names another
version or digest, is refused whole.
`

const releaseUsage = `Usage: probity release COMMAND [flags] -url URL

Releases of mobile apps and the gate they must pass.

Commands:
  list -app ID            the app's releases, newest first
  create -app ID -version V -build B (-artifact FILE | -sha256 HEX) [-listing URL]
                          submit a release bound to its artifact's digest
  show ID                 a release: scans, deliverables, gate decisions
  findings -app ID [-release ID] [-state S,…] [-min-severity S] [-overdue] [-limit N] [-after CURSOR]
                          the triage list, most severe first, with counts
  triage FINDING -state S [-reason TEXT]
                          confirmed, false_positive (with a reason), fixed or new
  approve ID [-note TEXT] approve a release through the gate
  check -app ID (-artifact FILE | -sha256 HEX)
                          for build pipelines: exit 0 when the artifact's
                          release is approved and still passes the gate,
                          1 with the reasons otherwise

Commands talk to the server at -url (or PROBITY_URL) with the token
"probity login" stored. Add -json for the server's answer as it is.
`

var (
	appCommands     = []string{"list", "create", "show", "policy", "watch"}
	releaseCommands = []string{"list", "create", "show", "findings", "triage", "approve", "check"}
)

// gateCmd runs one command of the release gate against the server.
type gateCmd struct {
	c    *ledgerclient.Client
	out  io.Writer
	json bool
}

// answer decodes the server's answer into v; with -json it prints it.
func (g *gateCmd) answer(raw json.RawMessage, v any) (printed bool, err error) {
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("the server's answer: %w", err)
	}
	if g.json {
		_, err := fmt.Fprintln(g.out, string(raw))
		return true, err
	}
	return false, nil
}

// commonFlags registers -url and -json.
func commonFlags(set *flag.FlagSet) (server *string, asJSON *bool) {
	return set.String("url", "", "the Probity server's `URL` (default $PROBITY_URL)"), set.Bool("json", false, "print the server's JSON answer")
}

func gateClient(server string, getenv Env) (*ledgerclient.Client, error) {
	if server == "" {
		server = getenv("PROBITY_URL")
	}
	return signedInClient(server, getenv, "give the server: -url https://probity.example/ (or set PROBITY_URL)")
}

// artifactDigest returns the digest a command names: the SHA-256 of
// -artifact FILE, or -sha256 HEX; exactly one.
func artifactDigest(file, sum string) (string, error) {
	switch {
	case file != "" && sum != "":
		return "", &usageError{"give -artifact FILE or -sha256 HEX, not both"}
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return "", fmt.Errorf("read %s: %w", file, err)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	case sum != "":
		d, err := release.NormalizeSHA256(sum)
		if err != nil {
			return "", &usageError{"-sha256: " + fault.MessageOf(err)}
		}
		return d, nil
	}
	return "", &usageError{"give the artifact: -artifact FILE (its SHA-256 is computed) or -sha256 HEX"}
}

// CLI forms of the API's answers.

type cliApp struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Component     string `json:"component"`
	Platform      string `json:"platform"`
	BundleID      string `json:"bundle_id"`
	Developer     string `json:"developer"`
	SystemID      int64  `json:"system_id"`
	PIAID         int64  `json:"pia_id"`
	PolicyVersion int    `json:"policy_version"`
}

type cliRelease struct {
	ID           int64      `json:"id"`
	AppID        int64      `json:"app_id"`
	Version      string     `json:"version"`
	Build        string     `json:"build"`
	SHA256       string     `json:"sha256"`
	StoreListing string     `json:"store_listing"`
	Submitter    string     `json:"submitter"`
	Status       string     `json:"status"`
	Approver     string     `json:"approver"`
	ApprovedAt   *time.Time `json:"approved_at"`
	CreatedAt    time.Time  `json:"created_at"`
}

type cliDecision struct {
	Approved bool `json:"approved"`
	Reasons  []struct {
		Rule    string `json:"rule"`
		Message string `json:"message"`
	} `json:"reasons"`
	PolicyVersion int `json:"policy_version"`
}

func cmdApp(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	cmd, err := subcommand("app", appUsage, func(c string) bool { return slices.Contains(appCommands, c) }, args, stdout, stderr)
	if cmd == "" {
		return err
	}
	set, flags := flagSet("app " + cmd)
	server, asJSON := commonFlags(set)
	var component, name, platform, bundle, developer, setFile *string
	var system, pia *int64
	var version *int
	var wKind, wURL, wBundle, wCountry, wVersionPath, wDatePath *string
	var wOff *bool
	switch cmd {
	case "list":
		component = set.String("component", "", "only the apps of this `component`")
	case "create":
		name = set.String("name", "", "the app's `name`")
		platform = set.String("platform", "", "ios or android")
		bundle = set.String("bundle", "", "the iOS bundle `ID` or Android package name")
		developer = set.String("developer", "", "the `organization` that builds the app")
		system = set.Int64("system", 0, "the app's system in the privacy inventory (`ID`)")
		pia = set.Int64("pia", 0, "the app's PIA (`ID`)")
	case "watch":
		wKind = set.String("kind", "", "the listing's `kind`: app_store or json")
		wURL = set.String("listing-url", "", "the JSON endpoint, or another App Store lookup `URL`")
		wBundle = set.String("bundle", "", "the App Store bundle `ID`")
		wCountry = set.String("country", "", "the App Store storefront (two-letter `code`)")
		wVersionPath = set.String("version-path", "", "where the versions are in the JSON (`path`, e.g. releases[*].version)")
		wDatePath = set.String("date-path", "", "where their release dates are (`path`)")
		wOff = set.Bool("off", false, "stop watching the listing")
	case "policy":
		version = set.Int("version", 0, "a policy `version` (default: the one in force)")
		setFile = set.String("set", "", "write a new policy version from this JSON `file`")
	}
	set.Usage = func() {
		fmt.Fprint(set.Output(), appUsage+"\nFlags of "+cmd+":\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args[1:], getenv, stderr); err != nil {
		return err
	}
	pos := set.Args()
	var id int64
	switch cmd {
	case "list", "create":
		if len(pos) != 0 {
			return &usageError{fmt.Sprintf("probity app %s takes no arguments, only flags (%q is extra)", cmd, pos[0])}
		}
	default:
		if id, err = positionalID(pos, "the app's", "app "+cmd); err != nil {
			return err
		}
	}
	var policyDoc json.RawMessage
	if cmd == "create" {
		if *name == "" || *platform == "" || *bundle == "" || *developer == "" || *system <= 0 || *pia <= 0 {
			return &usageError{"give -name, -platform, -bundle, -developer, -system and -pia"}
		}
	}
	if cmd == "policy" && *setFile != "" {
		b, err := os.ReadFile(*setFile)
		if err != nil {
			return err
		}
		// Check the policy here (its note aside) for precise errors.
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err != nil {
			return fmt.Errorf("%s: not a JSON object: %w", *setFile, err)
		}
		delete(fields, "note")
		check, _ := json.Marshal(fields)
		if _, err := release.DecodePolicy(check); err != nil {
			return fmt.Errorf("%s: %s", *setFile, fault.MessageOf(err))
		}
		policyDoc = b
	}
	c, err := gateClient(*server, getenv)
	if err != nil {
		return err
	}
	g := &gateCmd{c: c, out: stdout, json: *asJSON}
	var raw json.RawMessage
	switch cmd {
	case "list":
		path := "api/v1/apps"
		if *component != "" {
			path += "?component=" + url.QueryEscape(*component)
		}
		if err := c.GetJSON(ctx, path, &raw); err != nil {
			return err
		}
		var resp struct {
			Apps []cliApp `json:"apps"`
		}
		if printed, err := g.answer(raw, &resp); printed || err != nil {
			return err
		}
		if len(resp.Apps) == 0 {
			_, err := fmt.Fprintln(stdout, "no apps")
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCOMPONENT\tPLATFORM\tBUNDLE\tDEVELOPER\tPOLICY")
		for _, a := range resp.Apps {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\tv%d\n", a.ID, a.Name, a.Component, a.Platform, a.BundleID, a.Developer, a.PolicyVersion)
		}
		return tw.Flush()
	case "create", "show":
		var err error
		if cmd == "create" {
			err = c.PostJSON(ctx, "api/v1/apps", map[string]any{"name": *name, "platform": *platform, "bundle_id": *bundle, "developer": *developer,
				"system_id": *system, "pia_id": *pia}, &raw)
		} else {
			err = c.GetJSON(ctx, fmt.Sprintf("api/v1/apps/%d", id), &raw)
		}
		if err != nil {
			return err
		}
		var resp struct {
			App cliApp `json:"app"`
		}
		if printed, err := g.answer(raw, &resp); printed || err != nil {
			return err
		}
		a := resp.App
		_, err = fmt.Fprintf(stdout, "app %d: %s (%s, %s)\n  component  %s\n  developer  %s\n  system     %d\n  PIA        %d\n  policy     version %d\n",
			a.ID, a.Name, a.Platform, a.BundleID, a.Component, a.Developer, a.SystemID, a.PIAID, a.PolicyVersion)
		return err
	case "watch":
		path := fmt.Sprintf("api/v1/apps/%d/listing", id)
		var err error
		switch {
		case *wOff:
			err = c.Send(ctx, "DELETE", path, nil, &raw)
		case *wKind != "":
			err = c.Send(ctx, "PUT", path, map[string]string{"kind": *wKind, "url": *wURL, "bundle_id": *wBundle, "country": *wCountry,
				"version_path": *wVersionPath, "date_path": *wDatePath}, &raw)
		default:
			err = c.GetJSON(ctx, path, &raw)
		}
		if err != nil {
			return err
		}
		var resp struct {
			Watched bool `json:"watched"`
			Listing struct {
				Kind        string `json:"kind"`
				URL         string `json:"url"`
				BundleID    string `json:"bundle_id"`
				VersionPath string `json:"version_path"`
			} `json:"listing"`
			CheckedAt  *time.Time `json:"checked_at"`
			Error      string     `json:"error"`
			Published  []string   `json:"published"`
			Unapproved []string   `json:"unapproved"`
		}
		if printed, err := g.answer(raw, &resp); printed || err != nil {
			return err
		}
		if !resp.Watched {
			_, err := fmt.Fprintf(stdout, "app %d: store listing not watched\n", id)
			return err
		}
		l := resp.Listing
		fmt.Fprintf(stdout, "app %d: watching %s listing %s%s %s\n", id, l.Kind, l.URL, l.BundleID, l.VersionPath)
		switch {
		case resp.CheckedAt == nil:
			fmt.Fprintln(stdout, "  not checked yet")
		case resp.Error != "":
			fmt.Fprintf(stdout, "  last check %s failed: %s\n", resp.CheckedAt.UTC().Format(time.RFC3339), resp.Error)
		default:
			fmt.Fprintf(stdout, "  last check %s: published %s; without an approved release: %s\n", resp.CheckedAt.UTC().Format(time.RFC3339),
				strings.Join(resp.Published, ", "), strings.Join(resp.Unapproved, ", "))
		}
		return nil
	case "policy":
		path := fmt.Sprintf("api/v1/apps/%d/policy", id)
		if policyDoc != nil {
			var cur struct {
				Policy struct {
					Version int `json:"version"`
				} `json:"policy"`
			}
			if err := c.GetJSON(ctx, path, &cur); err != nil {
				return err
			}
			var body map[string]any
			if err := json.Unmarshal(policyDoc, &body); err != nil {
				return err
			}
			body["base"] = cur.Policy.Version
			if err := c.Send(ctx, "PUT", path, body, &raw); err != nil {
				return err
			}
		} else {
			if *version > 0 {
				path += "?version=" + strconv.Itoa(*version)
			}
			if err := c.GetJSON(ctx, path, &raw); err != nil {
				return err
			}
		}
		if g.json {
			_, err := fmt.Fprintln(stdout, string(raw))
			return err
		}
		var resp struct {
			Policy struct {
				Version int `json:"version"`
				Scans   []struct {
					Type     string   `json:"type"`
					RunBy    []string `json:"run_by"`
					ReviewBy []string `json:"review_by"`
				} `json:"scans"`
				BlockAt   string         `json:"block_at"`
				SLA       map[string]int `json:"sla"`
				Documents []string       `json:"documents"`
				Note      string         `json:"note"`
				CreatedBy string         `json:"created_by"`
			} `json:"policy"`
		}
		if err := json.Unmarshal(raw, &resp); err != nil {
			return err
		}
		p := resp.Policy
		fmt.Fprintf(stdout, "scan policy version %d (by %s)\n  blocks at  %s and above\n", p.Version, p.CreatedBy, p.BlockAt)
		for _, s := range p.Scans {
			fmt.Fprintf(stdout, "  scan       %s: run by %s, reviewed by %s\n", s.Type, strings.Join(s.RunBy, ", "), strings.Join(s.ReviewBy, ", "))
		}
		fmt.Fprintf(stdout, "  SLA days   critical %d, high %d, medium %d, low %d\n", p.SLA["critical_days"], p.SLA["high_days"], p.SLA["medium_days"], p.SLA["low_days"])
		fmt.Fprintf(stdout, "  documents  %s\n", strings.Join(p.Documents, ", "))
		if p.Note != "" {
			fmt.Fprintf(stdout, "  note       %s\n", p.Note)
		}
		return nil
	}
	return nil
}

// defaultScanType is the scan type a format is for, when -type is not
// given.
func defaultScanType(f scan.Format) release.ScanType {
	switch f {
	case scan.MobSF:
		return release.Mobile
	case scan.CycloneDX, scan.SPDX:
		return release.SBOM
	}
	return release.Static
}

func cmdScan(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	cmd, err := subcommand("scan", scanUsage, func(c string) bool { return c == "import" }, args, stdout, stderr)
	if cmd == "" {
		return err
	}
	set, flags := flagSet("scan import")
	server, asJSON := commonFlags(set)
	rel := set.Int64("release", 0, "the release (`ID`) the report is of")
	typ := set.String("type", "", "the scan `type`: static, sbom, mobile or dynamic")
	format := set.String("format", "", "the report's `format` (sarif, mobsf, cyclonedx, spdx); detected by default")
	set.Usage = func() {
		fmt.Fprint(set.Output(), scanUsage+"\nFlags:\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args[1:], getenv, stderr); err != nil {
		return err
	}
	pos := set.Args()
	if len(pos) != 1 {
		return &usageError{"give the report: probity scan import FILE -release ID"}
	}
	if *rel <= 0 {
		return &usageError{"give the release: -release ID"}
	}
	var f scan.Format
	if *format != "" {
		if f, err = scan.ParseFormat(*format); err != nil {
			return &usageError{"-format: " + fault.MessageOf(err)}
		}
	}
	var t release.ScanType
	if *typ != "" {
		if t, err = release.ParseScanType(*typ); err != nil {
			return &usageError{"-type: " + fault.MessageOf(err)}
		}
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	if t == "" {
		detected := f
		if detected == "" {
			if detected, err = scan.Detect(data); err != nil {
				return fmt.Errorf("%s: %s", pos[0], fault.MessageOf(err))
			}
		}
		t = defaultScanType(detected)
	}
	c, err := gateClient(*server, getenv)
	if err != nil {
		return err
	}
	q := url.Values{"type": {string(t)}}
	if f != "" {
		q.Set("format", string(f))
	}
	var raw json.RawMessage
	if err := c.PostFile(ctx, fmt.Sprintf("api/v1/releases/%d/scans?%s", *rel, q.Encode()), data, &raw); err != nil {
		return err
	}
	g := &gateCmd{c: c, out: stdout, json: *asJSON}
	var resp struct {
		Scan struct {
			ID         int64  `json:"id"`
			Type       string `json:"type"`
			Format     string `json:"format"`
			Tool       string `json:"tool"`
			Findings   int    `json:"findings"`
			Components int    `json:"components"`
			New        int    `json:"new"`
			Reopened   int    `json:"reopened"`
			Resolved   int    `json:"resolved"`
		} `json:"scan"`
	}
	if printed, err := g.answer(raw, &resp); printed || err != nil {
		return err
	}
	s := resp.Scan
	_, err = fmt.Fprintf(stdout, "scan %d imported: %s (%s from %s): %d findings (%d new, %d reopened, %d resolved), %d components\n",
		s.ID, s.Type, s.Format, s.Tool, s.Findings, s.New, s.Reopened, s.Resolved, s.Components)
	return err
}

func cmdRelease(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	cmd, err := subcommand("release", releaseUsage, func(c string) bool { return slices.Contains(releaseCommands, c) }, args, stdout, stderr)
	if cmd == "" {
		return err
	}
	set, flags := flagSet("release " + cmd)
	server, asJSON := commonFlags(set)
	var appID, relID *int64
	var version, build, artifact, sum, listing, states, minSev, after, state, reason, note *string
	var overdue *bool
	var limit *int
	switch cmd {
	case "list", "create", "findings", "check":
		appID = set.Int64("app", 0, "the app (`ID`)")
	}
	switch cmd {
	case "create":
		version = set.String("version", "", "the `version` the store shows")
		build = set.String("build", "", "the `build` number or version code")
		listing = set.String("listing", "", "the store listing (`URL` or store ID)")
	case "findings":
		relID = set.Int64("release", 0, "only what this release's (`ID`) latest scans report")
		states = set.String("state", "", "only these `states`, comma-separated")
		minSev = set.String("min-severity", "", "only findings at least this `severe`")
		overdue = set.Bool("overdue", false, "only findings open past their SLA")
		limit = set.Int("limit", 50, "page size (at most 500)")
		after = set.String("after", "", "the `cursor` of the previous page")
	case "triage":
		state = set.String("state", "", "the new `state`: confirmed, false_positive, fixed or new")
		reason = set.String("reason", "", "why (required for a false positive)")
	case "approve":
		note = set.String("note", "", "a `note` on the approval")
	}
	if cmd == "create" || cmd == "check" {
		artifact = set.String("artifact", "", "the artifact `file` (its SHA-256 is computed)")
		sum = set.String("sha256", "", "the artifact's SHA-256 (`hex`)")
	}
	set.Usage = func() {
		fmt.Fprint(set.Output(), releaseUsage+"\nFlags of "+cmd+":\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args[1:], getenv, stderr); err != nil {
		return err
	}
	pos := set.Args()
	var id int64
	switch cmd {
	case "show", "approve":
		if id, err = positionalID(pos, "the release's", "release "+cmd); err != nil {
			return err
		}
	case "triage":
		if id, err = positionalID(pos, "the finding's", "release triage"); err != nil {
			return err
		}
		if *state == "" {
			return &usageError{"give the state: -state confirmed, false_positive, fixed or new"}
		}
		if _, err := release.ParseState(*state); err != nil {
			return &usageError{"-state: " + fault.MessageOf(err)}
		}
	default:
		if len(pos) != 0 {
			return &usageError{fmt.Sprintf("probity release %s takes no arguments, only flags (%q is extra)", cmd, pos[0])}
		}
		if *appID <= 0 {
			return &usageError{"give the app: -app ID"}
		}
	}
	var digest string
	if cmd == "create" || cmd == "check" {
		if digest, err = artifactDigest(*artifact, *sum); err != nil {
			return err
		}
	}
	if cmd == "create" && (*version == "" || *build == "") {
		return &usageError{"give -version and -build"}
	}
	c, err := gateClient(*server, getenv)
	if err != nil {
		return err
	}
	g := &gateCmd{c: c, out: stdout, json: *asJSON}
	switch cmd {
	case "list":
		return g.list(ctx, *appID)
	case "create":
		return g.create(ctx, *appID, *version, *build, digest, *listing)
	case "show":
		return g.show(ctx, id)
	case "findings":
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		if *relID > 0 {
			q.Set("release", strconv.FormatInt(*relID, 10))
		}
		if *states != "" {
			q.Set("state", *states)
		}
		if *minSev != "" {
			q.Set("min_severity", *minSev)
		}
		if *overdue {
			q.Set("overdue", "true")
		}
		if *after != "" {
			q.Set("after", *after)
		}
		return g.findings(ctx, *appID, q)
	case "triage":
		return g.triage(ctx, id, *state, *reason)
	case "approve":
		return g.approve(ctx, id, *note)
	case "check":
		return g.check(ctx, *appID, digest)
	}
	return nil
}

func (g *gateCmd) list(ctx context.Context, appID int64) error {
	var raw json.RawMessage
	if err := g.c.GetJSON(ctx, fmt.Sprintf("api/v1/apps/%d/releases", appID), &raw); err != nil {
		return err
	}
	var resp struct {
		Releases []cliRelease `json:"releases"`
	}
	if printed, err := g.answer(raw, &resp); printed || err != nil {
		return err
	}
	if len(resp.Releases) == 0 {
		_, err := fmt.Fprintln(g.out, "no releases")
		return err
	}
	tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tBUILD\tSHA256\tSUBMITTER\tSTATUS\tAPPROVER")
	for _, r := range resp.Releases {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s…\t%s\t%s\t%s\n", r.ID, r.Version, r.Build, release.Short(r.SHA256), r.Submitter, r.Status, r.Approver)
	}
	return tw.Flush()
}

func (g *gateCmd) create(ctx context.Context, appID int64, version, build, digest, listing string) error {
	var raw json.RawMessage
	if err := g.c.PostJSON(ctx, fmt.Sprintf("api/v1/apps/%d/releases", appID), map[string]string{"version": version, "build": build, "sha256": digest,
		"store_listing": listing}, &raw); err != nil {
		return err
	}
	var resp struct {
		Release cliRelease `json:"release"`
	}
	if printed, err := g.answer(raw, &resp); printed || err != nil {
		return err
	}
	r := resp.Release
	_, err := fmt.Fprintf(g.out, "release %d submitted: %s (build %s), sha256 %s\n", r.ID, r.Version, r.Build, r.SHA256)
	return err
}

func (g *gateCmd) show(ctx context.Context, id int64) error {
	var raw json.RawMessage
	if err := g.c.GetJSON(ctx, fmt.Sprintf("api/v1/releases/%d", id), &raw); err != nil {
		return err
	}
	var resp struct {
		Release cliRelease `json:"release"`
		Scans   []struct {
			ID       int64     `json:"id"`
			Type     string    `json:"type"`
			Format   string    `json:"format"`
			Tool     string    `json:"tool"`
			Findings int       `json:"findings"`
			At       time.Time `json:"imported_at"`
		} `json:"scans"`
		Deliverables struct {
			Required []string `json:"required"`
			Missing  []string `json:"missing"`
		} `json:"deliverables"`
		Decisions []struct {
			Approved  bool      `json:"approved"`
			DecidedBy string    `json:"decided_by"`
			DecidedAt time.Time `json:"decided_at"`
			Reasons   []struct {
				Rule string `json:"rule"`
			} `json:"reasons"`
		} `json:"decisions"`
	}
	if printed, err := g.answer(raw, &resp); printed || err != nil {
		return err
	}
	r := resp.Release
	fmt.Fprintf(g.out, "release %d: version %s (build %s), %s\n  sha256     %s\n  submitter  %s\n", r.ID, r.Version, r.Build, r.Status, r.SHA256, r.Submitter)
	if r.Approver != "" && r.ApprovedAt != nil {
		fmt.Fprintf(g.out, "  approved   by %s at %s\n", r.Approver, r.ApprovedAt.UTC().Format(time.RFC3339))
	}
	for _, s := range resp.Scans {
		fmt.Fprintf(g.out, "  scan %d     %s (%s from %s): %d findings, %s\n", s.ID, s.Type, s.Format, s.Tool, s.Findings, s.At.UTC().Format(time.RFC3339))
	}
	if len(resp.Scans) == 0 {
		fmt.Fprintln(g.out, "  scans      none")
	}
	missing := "none"
	if len(resp.Deliverables.Missing) > 0 {
		missing = strings.Join(resp.Deliverables.Missing, ", ")
	}
	fmt.Fprintf(g.out, "  missing    %s\n", missing)
	for _, d := range resp.Decisions {
		verdict := "approved"
		if !d.Approved {
			rules := make([]string, len(d.Reasons))
			for i, x := range d.Reasons {
				rules[i] = x.Rule
			}
			verdict = "refused: " + strings.Join(rules, ", ")
		}
		fmt.Fprintf(g.out, "  decision   %s by %s at %s\n", verdict, d.DecidedBy, d.DecidedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func (g *gateCmd) findings(ctx context.Context, appID int64, q url.Values) error {
	var raw json.RawMessage
	if err := g.c.GetJSON(ctx, fmt.Sprintf("api/v1/apps/%d/findings?%s", appID, q.Encode()), &raw); err != nil {
		return err
	}
	var resp struct {
		Findings []struct {
			ID       int64     `json:"id"`
			Severity string    `json:"severity"`
			State    string    `json:"state"`
			Type     string    `json:"scan_type"`
			Title    string    `json:"title"`
			Location string    `json:"location"`
			DueAt    time.Time `json:"due_at"`
			Overdue  bool      `json:"overdue"`
		} `json:"findings"`
		Next   string `json:"next"`
		Counts struct {
			Total      int `json:"total"`
			Unreviewed int `json:"unreviewed"`
			Overdue    int `json:"overdue"`
		} `json:"counts"`
	}
	if printed, err := g.answer(raw, &resp); printed || err != nil {
		return err
	}
	fmt.Fprintf(g.out, "%d findings: %d unreviewed, %d overdue\n", resp.Counts.Total, resp.Counts.Unreviewed, resp.Counts.Overdue)
	if len(resp.Findings) > 0 {
		tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSEVERITY\tSTATE\tSCAN\tTITLE\tLOCATION")
		for _, f := range resp.Findings {
			st := statusText(f.State)
			if f.Overdue {
				st += " (OVERDUE)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", f.ID, f.Severity, st, f.Type, f.Title, f.Location)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if resp.Next != "" {
		fmt.Fprintf(g.out, "more: -after %s\n", resp.Next)
	}
	return nil
}

func (g *gateCmd) triage(ctx context.Context, id int64, state, reason string) error {
	var raw json.RawMessage
	if err := g.c.PostJSON(ctx, fmt.Sprintf("api/v1/findings/%d/triage", id), map[string]string{"state": state, "reason": reason}, &raw); err != nil {
		return err
	}
	var resp struct {
		Finding struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
			Title string `json:"title"`
		} `json:"finding"`
	}
	if printed, err := g.answer(raw, &resp); printed || err != nil {
		return err
	}
	_, err := fmt.Fprintf(g.out, "finding %d (%s): %s\n", resp.Finding.ID, resp.Finding.Title, statusText(resp.Finding.State))
	return err
}

func (g *gateCmd) approve(ctx context.Context, id int64, note string) error {
	var raw json.RawMessage
	if err := g.c.PostJSON(ctx, fmt.Sprintf("api/v1/releases/%d/approve", id), map[string]string{"note": note}, &raw); err != nil {
		return err
	}
	var resp struct {
		Release cliRelease `json:"release"`
	}
	if printed, err := g.answer(raw, &resp); printed || err != nil {
		return err
	}
	_, err := fmt.Fprintf(g.out, "release %d (%s, build %s) approved\n", resp.Release.ID, resp.Release.Version, resp.Release.Build)
	return err
}

// check asks whether an artifact may ship: nil when approved, otherwise
// the reasons are printed and errReported makes the exit status 1.
func (g *gateCmd) check(ctx context.Context, appID int64, digest string) error {
	var raw json.RawMessage
	if err := g.c.GetJSON(ctx, fmt.Sprintf("api/v1/apps/%d/check?sha256=%s", appID, digest), &raw); err != nil {
		return err
	}
	var resp struct {
		Approved bool        `json:"approved"`
		Decision cliDecision `json:"decision"`
		Release  *cliRelease `json:"release"`
	}
	printed, err := g.answer(raw, &resp)
	if err != nil {
		return err
	}
	if !printed {
		what := "sha256 " + release.Short(digest) + "…"
		if resp.Release != nil {
			what = fmt.Sprintf("release %d (%s, build %s)", resp.Release.ID, resp.Release.Version, resp.Release.Build)
		}
		if resp.Approved {
			fmt.Fprintf(g.out, "APPROVED: %s may ship\n", what)
		} else {
			fmt.Fprintf(g.out, "NOT APPROVED: %s may not ship\n", what)
			for i, r := range resp.Decision.Reasons {
				fmt.Fprintf(g.out, "  %d. %s (%s)\n", i+1, r.Message, r.Rule)
			}
		}
	}
	if !resp.Approved {
		return errReported
	}
	return nil
}

// scanMaxBytes is the configured size limit of scan reports (0: the API's
// default); the option was checked when the configuration was read.
func scanMaxBytes(cfg Config) int64 {
	n, _ := strconv.ParseInt(cfg.ScanMaxBytes, 10, 64)
	return n
}
