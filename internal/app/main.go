// Package app is Probity's program: it parses the command line and the
// configuration once, wires the store, the ledger, the services and the
// HTTP server together, and runs the subcommands.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Env is how the program reads its environment.
type Env func(name string) string

const usage = `Probity: accountable access to sensitive data, and a compliance program that proves itself.

Usage:
  probity serve    [flags]          run the server (embedded SQLite in ./probity-data by default)
  probity demo     [flags]          run the server on a fresh demo data directory with demo content
  probity migrate  [flags]          apply database migrations
  probity ledger   verify|checkpoint|proof|consistency|pubkey|rotate-key [flags]
  probity login    -url URL         sign in and store a personal API token for that server
  probity logout   -url URL         revoke and forget the stored token
  probity demo-codes [flags]        print the demo accounts' current authenticator codes
  probity pia      list|show|diff|create|submit|review|return|approve|publish|gate|check
                                    privacy impact assessments, their workflow, and the data-source gate
  probity case     list|show|create|add-member|remove-member|suspend|reopen|close|add-legal-process|hold|release
                                    cases: the purpose every query serves, their members and legal process
  probity import   pings FILE|DIR -source NAME   load location pings into the local telemetry store
  probity recommendations import|export|check   audit reports and recommendations, as exchange files
  probity policy   validate|schema|builtin|show|propose|impact|approve|activate|reject|decide
                                    Cedar policy sets: the department floor, components' sets, their changes
  probity query    area|device|unmask|list|show|approve|reject|run|results
                                    location queries, their approvals and results, with ledger receipts
  probity credential set|list|delete   vendor credentials, sealed at once and never shown again
  probity places   import|list|summary|delete|delete-import|home
                                    protected places screened against every query; employees' homes
  probity basemap  import|list|delete
                                    the basemap layers maps are drawn over (GeoJSON, TopoJSON)
  probity review   queue|show|decide|bulk
                                    supervisory review of every executed query
  probity alert    list|show|triage|refer|dismiss|resolve
                                    misuse alerts: triage, referral to professional responsibility
  probity app      list|create|show|policy
                                    mobile apps under the release gate and their scan policies
  probity scan     import FILE -release ID   import a SARIF, MobSF, CycloneDX or SPDX report
  probity release  list|create|show|findings|triage|approve|check
                                    releases, their findings and the gate; check for build pipelines
  probity backup   [flags] DEST     copy the SQLite database consistently while it is in use
  probity version                   print the version

Run "probity COMMAND -h" for a command's flags. Flags take precedence over
PROBITY_* environment variables, which take precedence over the file named by
-config (lines of "name = value"), which takes precedence over defaults.
`

// Main runs the command in args (without the program name) and returns the
// exit status: 0 on success, 1 on failure, 2 on a usage error. Commands that
// ask questions read the answers from standard input.
func Main(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) int {
	return MainIO(ctx, args, getenv, os.Stdin, stdout, stderr)
}

// MainIO is [Main] with the answers to questions read from stdin.
func MainIO(ctx context.Context, args []string, getenv Env, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, rest, getenv, stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "ledger":
		err = cmdLedger(ctx, rest, getenv, stdout, stderr)
		cmd = "ledger " + firstOr(rest, "")
	case "login":
		err = cmdLogin(ctx, rest, getenv, stdin, stdout, stderr)
	case "import":
		err, cmd = cmdImport(ctx, rest, getenv, stdout, stderr), "import "+firstOr(rest, "")
	case "recommendations":
		err = cmdRecommendations(ctx, rest, getenv, stdout, stderr)
		cmd = "recommendations " + firstOr(rest, "")
	case "pia":
		err = cmdPIA(ctx, rest, getenv, stdout, stderr)
		cmd = "pia " + firstOr(rest, "")
	case "case":
		err = cmdCase(ctx, rest, getenv, stdout, stderr)
		cmd = "case " + firstOr(rest, "")
	case "policy":
		err = cmdPolicy(ctx, rest, getenv, stdout, stderr)
		cmd = "policy " + firstOr(rest, "")
	case "query":
		err, cmd = cmdQuery(ctx, rest, getenv, stdout, stderr), "query "+firstOr(rest, "")
	case "review":
		err, cmd = cmdReview(ctx, rest, getenv, stdout, stderr), "review "+firstOr(rest, "")
	case "alert":
		err, cmd = cmdAlert(ctx, rest, getenv, stdout, stderr), "alert "+firstOr(rest, "")
	case "credential":
		err, cmd = cmdCredential(ctx, rest, getenv, stdin, stdout, stderr), "credential "+firstOr(rest, "")
	case "places":
		err, cmd = cmdPlaces(ctx, rest, getenv, stdin, stdout, stderr), "places "+firstOr(rest, "")
	case "basemap":
		err, cmd = cmdBasemap(ctx, rest, getenv, stdout, stderr), "basemap "+firstOr(rest, "")
	case "app":
		err, cmd = cmdApp(ctx, rest, getenv, stdout, stderr), "app "+firstOr(rest, "")
	case "scan":
		err, cmd = cmdScan(ctx, rest, getenv, stdout, stderr), "scan "+firstOr(rest, "")
	case "release":
		err, cmd = cmdRelease(ctx, rest, getenv, stdout, stderr), "release "+firstOr(rest, "")
	case "logout":
		err = cmdLogout(ctx, rest, getenv, stdout, stderr)
	case "demo-codes":
		err = cmdDemoCodes(ctx, rest, getenv, stdout, stderr)
	case "backup":
		err = cmdBackup(ctx, rest, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionString())
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "probity: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	return exitStatus(err, "probity "+strings.TrimSpace(cmd), stderr)
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// errReported is returned by a command that has already told the user what
// went wrong (a failed verification, say): exit 1 without another message.
var errReported = errors.New("reported")

func exitStatus(err error, prefix string, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errReported):
		return 1
	case errors.Is(err, context.Canceled):
		return 1
	}
	if ue, ok := errors.AsType[*usageError](err); ok {
		fmt.Fprintf(stderr, "%s: %s\n", prefix, ue.msg)
		return 2
	}
	if errors.Is(err, errUsage) {
		return 2 // the flag package has printed the problem and the usage
	}
	fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
	return 1
}

// parse parses a command's flags and resolves its configuration.
func parse(fs *flag.FlagSet, flags map[string]*string, args []string, getenv Env, stderr io.Writer) (Config, error) {
	return parseWith(fs, flags, args, getenv, stderr, nil)
}

// parseWith is parse with some options' defaults replaced.
func parseWith(fs *flag.FlagSet, flags map[string]*string, args []string, getenv Env, stderr io.Writer, defaults map[string]string) (Config, error) {
	fs.SetOutput(stderr)
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, errUsage
	}
	return loadConfig(fs, flags, getenv, defaults)
}

func versionString() string {
	v, rev, when, dirty := "(devel)", "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		s := "probity " + v
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			s += " " + rev
			if dirty {
				s += "+dirty"
			}
			if when != "" {
				s += " " + when
			}
		}
		return s + " " + bi.GoVersion
	}
	return "probity " + v
}

// interspersed moves positional arguments after the flags, so that
// "probity ledger proof 12 -data d" means what it says; "--" ends flags.
func interspersed(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // the flag package reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	if len(pos) == 0 {
		return flags
	}
	return append(append(flags, "--"), pos...)
}

// subcommand picks the command of a command group (probity GROUP COMMAND
// …) from args: "" after printing the usage on a request for help, a usage
// error after saying what is wrong on no command or an unknown one.
func subcommand(group, usage string, known func(string) bool, args []string, stdout, stderr io.Writer) (string, error) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return "", errUsage
	}
	switch cmd := args[0]; {
	case cmd == "-h" || cmd == "-help" || cmd == "--help" || cmd == "help":
		fmt.Fprint(stdout, usage)
		return "", nil
	case !known(cmd):
		fmt.Fprintf(stderr, "probity %s: unknown command %q\n\n%s", group, cmd, usage)
		return "", errUsage
	default:
		return cmd, nil
	}
}
