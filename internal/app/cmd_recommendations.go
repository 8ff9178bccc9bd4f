package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/probity-dev/probity/internal/ledgerclient"
	"github.com/probity-dev/probity/internal/program"
)

const recommendationsUsage = `Usage: probity recommendations COMMAND [flags]

Commands:
  import -url URL FILE   record the audit reports and recommendations of an exchange
                         file on the server: all of it, or on any problem nothing
  export -url URL        write the reports and recommendations you may see as an
                         exchange file (-o FILE, else standard output)
  check FILE             check an exchange file here, without sending it

Import and export use the token "probity login -url URL" stored. Problems in a
file are reported with their line, column and field.
`

func cmdRecommendations(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, recommendationsUsage)
		return errUsage
	}
	rest := args[1:]
	switch args[0] {
	case "import":
		return recommendationsImport(ctx, rest, getenv, stdout, stderr)
	case "export":
		return recommendationsExport(ctx, rest, getenv, stdout, stderr)
	case "check":
		return recommendationsCheck(rest, getenv, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, recommendationsUsage)
		return nil
	}
	fmt.Fprintf(stderr, "probity recommendations: unknown command %q\n\n%s", args[0], recommendationsUsage)
	return errUsage
}

// readExchangeFile reads an exchange file, refusing one larger than the
// server would accept before reading it all.
func readExchangeFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > program.MaxFileSize {
		return nil, fmt.Errorf("%s is %d bytes; an exchange file may be at most %d (1 MiB)", path, st.Size(), program.MaxFileSize)
	}
	b, err := io.ReadAll(io.LimitReader(f, program.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > program.MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes (1 MiB), the most an exchange file may be", path, program.MaxFileSize)
	}
	return b, nil
}

// parseExchangeFile reads and checks an exchange file; a problem names
// the file, the line and the field.
func parseExchangeFile(path string) ([]byte, program.Exchange, error) {
	b, err := readExchangeFile(path)
	if err != nil {
		return nil, program.Exchange{}, err
	}
	x, err := program.Parse(b)
	if err != nil {
		return nil, x, fmt.Errorf("%s: %w", path, err)
	}
	return b, x, nil
}

// oneFile returns the one positional argument, a file.
func oneFile(args []string, cmd string) (string, error) {
	if len(args) != 1 {
		return "", &usageError{fmt.Sprintf("give one exchange file: probity recommendations %s FILE", cmd)}
	}
	return args[0], nil
}

// programClient returns a client of the server with the stored token.
func programClient(server string, getenv Env, cmd string) (*ledgerclient.Client, error) {
	return signedInClient(server, getenv, fmt.Sprintf("give the server: probity recommendations %s -url https://probity.example/", cmd))
}

func recommendationsImport(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("recommendations import")
	server := set.String("url", "", "the Probity server's `URL`")
	set.Usage = func() {
		fmt.Fprintf(set.Output(), "Usage: probity recommendations import -url URL FILE\n\nChecks FILE here, then sends it to the server, which records every report,\nrecommendation, link and status step in it as you — all of it, or on any\nproblem nothing.\n\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args, getenv, stderr); err != nil {
		return err
	}
	path, err := oneFile(set.Args(), "import")
	if err != nil {
		return err
	}
	c, err := programClient(*server, getenv, "import")
	if err != nil {
		return err
	}
	b, _, err := parseExchangeFile(path)
	if err != nil {
		return err
	}
	var resp struct {
		Imported struct {
			Reports         int `json:"reports"`
			Recommendations int `json:"recommendations"`
			Links           int `json:"links"`
			Resolved        int `json:"resolved"`
			Closed          int `json:"closed"`
		} `json:"imported"`
	}
	if err := c.PostFile(ctx, "api/v1/program/import", b, &resp); err != nil {
		if he, ok := errors.AsType[*ledgerclient.HTTPError](err); ok {
			return fmt.Errorf("%s: nothing was imported: %s", path, he.Message)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	n := resp.Imported
	fmt.Fprintf(stdout, "imported %s into %s: %s, %s (%d resolved, %d of them closed), %s\n",
		path, normalizeServer(*server), plural(n.Reports, "report"), plural(n.Recommendations, "recommendation"), n.Resolved, n.Closed, plural(n.Links, "link"))
	return nil
}

func recommendationsExport(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("recommendations export")
	server := set.String("url", "", "the Probity server's `URL`")
	out := set.String("o", "", "write to `FILE` instead of standard output")
	set.Usage = func() {
		fmt.Fprintf(set.Output(), "Usage: probity recommendations export -url URL [-o FILE]\n\nWrites the audit reports and the recommendations you may see as an exchange\nfile, which probity recommendations import reads.\n\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args, getenv, stderr); err != nil {
		return err
	}
	if set.NArg() > 0 {
		return &usageError{"export takes no arguments; name the output with -o FILE"}
	}
	c, err := programClient(*server, getenv, "export")
	if err != nil {
		return err
	}
	var doc json.RawMessage
	if err := c.GetJSON(ctx, "api/v1/program/export", &doc); err != nil {
		return err
	}
	// Check what arrived before writing it anywhere.
	x, err := program.Parse(doc)
	if err != nil {
		return fmt.Errorf("the server's export is not a valid exchange file: %w", err)
	}
	if *out == "" {
		_, err := stdout.Write(doc)
		return err
	}
	if err := os.WriteFile(*out, doc, 0o600); err != nil {
		return unwrapPath(err)
	}
	recs := 0
	for _, r := range x.Reports {
		recs += len(r.Recommendations)
	}
	fmt.Fprintf(stdout, "wrote %s and %s to %s\n", plural(len(x.Reports), "report"), plural(recs, "recommendation"), *out)
	return nil
}

func recommendationsCheck(args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("recommendations check")
	if _, err := parse(set, flags, args, getenv, stderr); err != nil {
		return err
	}
	path, err := oneFile(set.Args(), "check")
	if err != nil {
		return err
	}
	_, x, err := parseExchangeFile(path)
	if err != nil {
		return err
	}
	recs := 0
	for _, r := range x.Reports {
		recs += len(r.Recommendations)
	}
	fmt.Fprintf(stdout, "%s: %s and %s, no problems found here (owners, components and permissions are checked on import)\n", path, plural(len(x.Reports), "report"), plural(recs, "recommendation"))
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
