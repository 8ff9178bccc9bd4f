package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/probity-dev/probity/internal/ledgerclient"
)

// A credentialsFile holds the personal API tokens "probity login" stored,
// one per server.
type credentialsFile struct {
	Servers map[string]storedCredential `json:"servers"`
}

type storedCredential struct {
	Token      string    `json:"token"`
	TokenID    int64     `json:"token_id"`
	EmployeeID string    `json:"employee_id"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// credentialsPath returns where credentials are kept: PROBITY_CREDENTIALS,
// else probity/credentials.json in the user's configuration directory.
func credentialsPath(getenv Env) (string, error) {
	if p := getenv("PROBITY_CREDENTIALS"); p != "" {
		return p, nil
	}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("cannot find your configuration directory: set HOME or PROBITY_CREDENTIALS")
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "probity", "credentials.json"), nil
}

func readCredentials(path string) (credentialsFile, error) {
	c := credentialsFile{Servers: map[string]storedCredential{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return c, fmt.Errorf("credentials file %s has mode %04o: it must be readable only by you (chmod 600 %s)", path, st.Mode().Perm(), path)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("credentials file %s: %w", path, err)
	}
	if c.Servers == nil {
		c.Servers = map[string]storedCredential{}
	}
	return c, nil
}

// writeCredentials replaces the credentials file atomically with mode 0600
// in a directory of mode 0700.
func writeCredentials(path string, c credentialsFile) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// normalizeServer gives a server URL one spelling, ending in "/".
func normalizeServer(u string) string {
	return strings.TrimSuffix(strings.TrimSpace(u), "/") + "/"
}

// storedToken returns the token stored for a server, if any and unexpired.
func storedToken(getenv Env, server string) string {
	path, err := credentialsPath(getenv)
	if err != nil {
		return ""
	}
	c, err := readCredentials(path)
	if err != nil {
		return ""
	}
	cred, ok := c.Servers[normalizeServer(server)]
	if !ok || time.Now().After(cred.ExpiresAt) {
		return ""
	}
	return cred.Token
}

// signedInClient returns a client of the server with the token "probity
// login" stored for it. noServer is the usage message when server is empty.
func signedInClient(server string, getenv Env, noServer string) (*ledgerclient.Client, error) {
	if server == "" {
		return nil, &usageError{noServer}
	}
	token := storedToken(getenv, server)
	if token == "" {
		return nil, fmt.Errorf("you are not signed in to %s (or your token expired): run probity login -url %s", normalizeServer(server), server)
	}
	c, err := ledgerclient.New(server, token)
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	return c, nil
}

// prompter reads answers from a terminal without echoing secrets, or line
// by line from a pipe.
type prompter struct {
	in  io.Reader
	out io.Writer
	br  *bufio.Reader
}

func (p *prompter) ask(question string, secret bool) (string, error) {
	fmt.Fprint(p.out, question)
	if f, ok := p.in.(*os.File); ok && secret && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(p.out)
		return string(b), err
	}
	if p.br == nil {
		p.br = bufio.NewReader(p.in)
	}
	line, err := p.br.ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("no answer to %q", strings.TrimSpace(question))
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func cmdLogin(ctx context.Context, args []string, getenv Env, stdin io.Reader, stdout, stderr io.Writer) error {
	set, flags := flagSet("login")
	server := set.String("url", "", "the Probity server's `URL`")
	name := set.String("name", "", "a name for the token (default: probity CLI on this host)")
	days := set.Int("days", 30, "how many days the token lasts (at most 90)")
	scopes := set.String("scopes", "", "comma-separated `permissions` the token may use (default: all your roles allow except data.access, which probity query needs)")
	set.Usage = func() {
		fmt.Fprintf(set.Output(), "Usage: probity login -url URL [flags]\n\nSigns in with your employee ID, password and authenticator code, and stores a\npersonal API token for that server in your configuration directory (mode\n0600; PROBITY_CREDENTIALS names another file). Other commands given -url\nthen use it.\n\n")
		set.PrintDefaults()
	}
	if _, err := parse(set, flags, args, getenv, stderr); err != nil {
		return err
	}
	if *server == "" {
		return &usageError{"give the server: probity login -url https://probity.example/"}
	}
	c, err := ledgerclient.New(*server, "")
	if err != nil {
		return &usageError{err.Error()}
	}
	if *name == "" {
		host, _ := os.Hostname()
		*name = "probity CLI on " + host
	}
	p := &prompter{in: stdin, out: stderr}
	account, err := p.ask("Employee ID or email: ", false)
	if err != nil {
		return err
	}
	password, err := p.ask("Password: ", true)
	if err != nil {
		return err
	}
	code, err := p.ask("Authenticator code (or a recovery code): ", true)
	if err != nil {
		return err
	}
	var resp struct {
		Token     string    `json:"token"`
		ID        int64     `json:"id"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	req := map[string]any{"employee_id": account, "password": password, "code": code, "name": *name, "days": *days}
	if *scopes != "" {
		req["scopes"] = strings.Split(strings.ReplaceAll(*scopes, " ", ""), ",")
	}
	if err := c.PostJSON(ctx, "api/v1/auth/token", req, &resp); err != nil {
		return err
	}
	path, err := credentialsPath(getenv)
	if err != nil {
		return err
	}
	creds, err := readCredentials(path)
	if err != nil {
		return err
	}
	creds.Servers[normalizeServer(*server)] = storedCredential{Token: resp.Token, TokenID: resp.ID, EmployeeID: account, ExpiresAt: resp.ExpiresAt}
	if err := writeCredentials(path, creds); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signed in to %s as %s; token %d stored in %s, valid until %s\n", normalizeServer(*server), account, resp.ID, path, resp.ExpiresAt.Format(time.DateOnly))
	return nil
}

func cmdLogout(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("logout")
	server := set.String("url", "", "the Probity server's `URL`")
	if _, err := parse(set, flags, args, getenv, stderr); err != nil {
		return err
	}
	if *server == "" {
		return &usageError{"give the server: probity logout -url https://probity.example/"}
	}
	path, err := credentialsPath(getenv)
	if err != nil {
		return err
	}
	creds, err := readCredentials(path)
	if err != nil {
		return err
	}
	key := normalizeServer(*server)
	cred, ok := creds.Servers[key]
	if !ok {
		return fmt.Errorf("you are not signed in to %s", key)
	}
	c, err := ledgerclient.New(*server, cred.Token)
	if err != nil {
		return &usageError{err.Error()}
	}
	var out map[string]any
	revokeErr := c.DeleteJSON(ctx, fmt.Sprintf("api/v1/me/tokens/%d", cred.TokenID), &out)
	delete(creds.Servers, key)
	if err := writeCredentials(path, creds); err != nil {
		return err
	}
	if revokeErr != nil {
		return fmt.Errorf("removed the token from %s, but the server did not revoke it (%w); revoke it from your account page", path, revokeErr)
	}
	fmt.Fprintf(stdout, "signed out of %s: token %d revoked and removed from %s\n", key, cred.TokenID, path)
	return nil
}
