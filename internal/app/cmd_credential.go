package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/probity-dev/probity/internal/credentials"
)

const credentialUsage = `Usage: probity credential COMMAND [flags] -url URL

Commands:
  set NAME        store the vendor credential NAME, or replace (rotate) it; the secret is
                  read from standard input — typed without echo at a terminal (twice),
                  or piped (one line). It is sealed on the server at once and can never
                  be read back. Data sources name it sealed:NAME.
  list            the credentials you manage: names, components, sealing keys, dates
  delete NAME     remove the credential NAME

Only a security officer manages credentials. The commands talk to the server
at -url (or PROBITY_URL) with the token "probity login" stored.
`

func cmdCredential(ctx context.Context, args []string, getenv Env, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, err := subcommand("credential", credentialUsage, func(c string) bool { return slices.Contains([]string{"set", "list", "delete"}, c) }, args, stdout, stderr)
	if cmd == "" {
		return err
	}
	set, flags := flagSet("credential " + cmd)
	server := set.String("url", "", "the Probity server's `URL` (default $PROBITY_URL)")
	asJSON := set.Bool("json", false, "print the server's JSON answer (list)")
	set.Usage = func() {
		fmt.Fprint(set.Output(), credentialUsage+"\nFlags:\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args[1:], getenv, stderr); err != nil {
		return err
	}
	if *server == "" {
		*server = getenv("PROBITY_URL")
	}
	pos := set.Args()
	var name string
	if cmd == "list" {
		if len(pos) != 0 {
			return &usageError{"probity credential list takes no arguments"}
		}
	} else {
		if len(pos) != 1 {
			return &usageError{fmt.Sprintf("give the credential's name: probity credential %s NAME", cmd)}
		}
		name = pos[0]
	}
	c, err := signedInClient(*server, getenv, "give the server: -url https://probity.example/ (or set PROBITY_URL)")
	if err != nil {
		return err
	}
	path := "api/v1/credentials/" + url.PathEscape(name)
	switch cmd {
	case "set":
		secret, err := readSecret(stdin, stderr, name)
		if err != nil {
			return err
		}
		if err := credentials.CheckSecret(secret); err != nil {
			return err
		}
		if err := c.Send(ctx, http.MethodPut, path, map[string]string{"secret": secret}, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "credential %s stored; data sources refer to it as sealed:%s\n", name, name)
	case "delete":
		if err := c.Send(ctx, http.MethodDelete, path, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "credential %s removed\n", name)
	case "list":
		var raw json.RawMessage
		if err := c.GetJSON(ctx, "api/v1/credentials", &raw); err != nil {
			return err
		}
		if *asJSON {
			_, err := fmt.Fprintln(stdout, string(raw))
			return err
		}
		var resp struct {
			Credentials []struct {
				Name      string    `json:"name"`
				Reference string    `json:"reference"`
				Component string    `json:"component"`
				KeyID     string    `json:"key_id"`
				UpdatedBy string    `json:"updated_by"`
				UpdatedAt time.Time `json:"updated_at"`
			} `json:"credentials"`
		}
		if err := json.Unmarshal(raw, &resp); err != nil {
			return fmt.Errorf("the server's answer: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tREFERENCE\tCOMPONENT\tKEY\tUPDATED\tBY")
		for _, x := range resp.Credentials {
			comp := x.Component
			if comp == "" {
				comp = "(department)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", x.Name, x.Reference, comp, x.KeyID, x.UpdatedAt.UTC().Format(time.DateTime), x.UpdatedBy)
		}
		return tw.Flush()
	}
	return nil
}

// maxSecretInput bounds what is read of a piped secret.
const maxSecretInput = 16 << 10

// readSecret reads a secret: at a terminal, typed twice without echo; from
// a pipe, its first line (the whole input, less one line break).
func readSecret(stdin io.Reader, stderr io.Writer, name string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(q string) (string, error) {
			fmt.Fprint(stderr, q)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			return string(b), err
		}
		s, err := ask(fmt.Sprintf("Secret of %s (not shown): ", name))
		if err != nil {
			return "", err
		}
		again, err := ask("The same again: ")
		if err != nil {
			return "", err
		}
		if s != again {
			return "", errors.New("the two entries differ; nothing was stored")
		}
		return s, nil
	}
	b, err := io.ReadAll(io.LimitReader(stdin, maxSecretInput+1))
	if err != nil {
		return "", fmt.Errorf("read the secret from standard input: %w", err)
	}
	if len(b) > maxSecretInput {
		return "", fmt.Errorf("standard input holds more than %d bytes: give the secret alone", maxSecretInput)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if strings.ContainsAny(s, "\r\n") {
		return "", errors.New("standard input holds more than one line: give the secret alone, on one line")
	}
	if s == "" {
		return "", errors.New("standard input is empty: pipe the secret in, or run the command at a terminal to type it")
	}
	return s, nil
}
