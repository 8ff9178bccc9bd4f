package app

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
)

// Config is the configuration of one command, resolved once: flags take
// precedence over PROBITY_* environment variables, which take precedence over
// the configuration file, which takes precedence over defaults.
type Config struct {
	ConfigFile   string
	Data         string
	Addr         string
	DB           string
	Origin       string
	KeyFile      string
	LogLevel     string
	LogFormat    string
	TLSCert      string
	TLSKey       string
	AdminToken   string
	AuditorToken string
	SecretsKey   string
	PublicURL    string
	Blocklist    string

	// Single sign-on (OpenID Connect) and PIV/CAC certificate sign-in.
	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	OIDCClaim        string // the ID token claim holding the employee ID
	OIDCScopes       string // space- or comma-separated
	OIDCTrustMFA     string // "true": trust the provider's second factor (amr)
	PIVCA            string // CA bundle file for client certificates

	// Notifications: email through an SMTP relay, and a webhook (see
	// notify.go).
	SMTPRelay     string
	SMTPFrom      string
	SMTPStartTLS  string // "true" (the default when empty): require STARTTLS
	SMTPUsername  string
	SMTPPassword  string
	WebhookURL    string
	WebhookSecret string
	// ScanMaxBytes is the largest scan report or release document the API
	// accepts.
	ScanMaxBytes string

	// clock replaces time.Now for the store and everything that reads
	// its time (tests only).
	clock func() time.Time

	// Throttle overrides the sign-in failure limits (tests); zero means the
	// defaults.
	Throttle store.ThrottlePolicy
}

// An option is one configuration setting: its flag and file name, its
// environment variable, and where it is stored in Config.
type option struct {
	name   string // flag name and configuration-file key
	env    string
	usage  string
	def    string
	secret bool // not a flag (flags show in process listings); env and file only
	field  func(*Config) *string
	check  func(string) error
}

func options() []option {
	return []option{
		{name: "config", env: "PROBITY_CONFIG", usage: "configuration file of `name = value` lines", field: func(c *Config) *string { return &c.ConfigFile }},
		{name: "data", env: "PROBITY_DATA", usage: "data directory (database, ledger keys)", def: "probity-data", field: func(c *Config) *string { return &c.Data }},
		{name: "addr", env: "PROBITY_ADDR", usage: "address to listen on, `host:port`", def: "127.0.0.1:8080", field: func(c *Config) *string { return &c.Addr }, check: checkAddr},
		{name: "db", env: "PROBITY_DB", usage: "database: an SQLite `file` or a postgres:// URL (default: probity.db in the data directory)", field: func(c *Config) *string { return &c.DB }},
		{name: "origin", env: "PROBITY_LEDGER_ORIGIN", usage: "ledger origin, the log's name in checkpoints (default: generated when the ledger is created)", field: func(c *Config) *string { return &c.Origin }, check: checkOrigin},
		{name: "ledger-key", env: "PROBITY_LEDGER_KEY", usage: "ledger key `file` (default: ledger.key in the data directory)", field: func(c *Config) *string { return &c.KeyFile }},
		{name: "log-level", env: "PROBITY_LOG_LEVEL", usage: "log level: debug, info, warn or error", def: "info", field: func(c *Config) *string { return &c.LogLevel }, check: oneOf("debug", "info", "warn", "error")},
		{name: "log-format", env: "PROBITY_LOG_FORMAT", usage: "log format: json or text", def: "json", field: func(c *Config) *string { return &c.LogFormat }, check: oneOf("json", "text")},
		{name: "tls-cert", env: "PROBITY_TLS_CERT", usage: "TLS certificate `file` (PEM); serve HTTPS when set with -tls-key", field: func(c *Config) *string { return &c.TLSCert }},
		{name: "tls-key", env: "PROBITY_TLS_KEY", usage: "TLS private key `file` (PEM)", field: func(c *Config) *string { return &c.TLSKey }},
		{name: "secrets-key", env: "PROBITY_SECRETS_KEY", usage: "secrets key `file`, sealing secrets kept in the database (default: secrets.key in the data directory)", field: func(c *Config) *string { return &c.SecretsKey }},
		{name: "public-url", env: "PROBITY_PUBLIC_URL", usage: "the `URL` people reach Probity at, for links it sends (default: the listening address)", field: func(c *Config) *string { return &c.PublicURL }, check: checkURL},
		{name: "password-blocklist", env: "PROBITY_PASSWORD_BLOCKLIST", usage: "`file` of refused passwords, one per line, added to the built-in list", field: func(c *Config) *string { return &c.Blocklist }},
		{name: "oidc-issuer", env: "PROBITY_OIDC_ISSUER", usage: "single sign-on: the OpenID Connect provider's issuer `URL`", field: func(c *Config) *string { return &c.OIDCIssuer }, check: checkIssuer},
		{name: "oidc-client-id", env: "PROBITY_OIDC_CLIENT_ID", usage: "single sign-on: Probity's client `ID` at the provider", field: func(c *Config) *string { return &c.OIDCClientID }},
		{name: "oidc-employee-id-claim", env: "PROBITY_OIDC_EMPLOYEE_ID_CLAIM", usage: "single sign-on: the ID token `claim` holding the employee ID", def: "employee_id", field: func(c *Config) *string { return &c.OIDCClaim }, check: checkClaim},
		{name: "oidc-scopes", env: "PROBITY_OIDC_SCOPES", usage: "single sign-on: `scopes` to ask for, space-separated", def: "openid profile email", field: func(c *Config) *string { return &c.OIDCScopes }},
		{name: "oidc-trust-mfa", env: "PROBITY_OIDC_TRUST_MFA", usage: "single sign-on: true to accept the provider's second factor (amr claim) instead of asking for a Probity code", def: "false", field: func(c *Config) *string { return &c.OIDCTrustMFA }, check: oneOf("true", "false")},
		{name: "piv-ca", env: "PROBITY_PIV_CA", usage: "PIV/CAC sign-in: `file` of CA certificates (PEM) that issue client certificates; needs -tls-cert and -tls-key", field: func(c *Config) *string { return &c.PIVCA }},
		{name: "smtp-relay", env: "PROBITY_SMTP_RELAY", usage: "notifications: the SMTP relay's `host:port` (no email when unset)", field: func(c *Config) *string { return &c.SMTPRelay }, check: checkRelay},
		{name: "smtp-from", env: "PROBITY_SMTP_FROM", usage: "notifications: the `address` email comes from", field: func(c *Config) *string { return &c.SMTPFrom }, check: checkMailAddress},
		{name: "smtp-starttls", env: "PROBITY_SMTP_STARTTLS", usage: "notifications: true to require STARTTLS with the relay, false to send in the clear (a relay on this host)", def: "true", field: func(c *Config) *string { return &c.SMTPStartTLS }, check: oneOf("true", "false")},
		{name: "smtp-username", env: "PROBITY_SMTP_USERNAME", usage: "notifications: the `user` to authenticate to the relay as (with PROBITY_SMTP_PASSWORD)", field: func(c *Config) *string { return &c.SMTPUsername }},
		{name: "webhook-url", env: "PROBITY_WEBHOOK_URL", usage: "notifications: the `URL` that receives a signed POST per notification (with PROBITY_WEBHOOK_SECRET)", field: func(c *Config) *string { return &c.WebhookURL }, check: checkWebhookURL},
		{name: "scan-max-bytes", env: "PROBITY_SCAN_MAX_BYTES", usage: "the largest scan report or release document accepted, in `bytes`", def: "67108864", field: func(c *Config) *string { return &c.ScanMaxBytes }, check: checkPositive},
		{name: "oidc-client-secret", env: "PROBITY_OIDC_CLIENT_SECRET", secret: true, field: func(c *Config) *string { return &c.OIDCClientSecret }},
		{name: "smtp-password", env: "PROBITY_SMTP_PASSWORD", secret: true, field: func(c *Config) *string { return &c.SMTPPassword }},
		{name: "webhook-secret", env: "PROBITY_WEBHOOK_SECRET", secret: true, field: func(c *Config) *string { return &c.WebhookSecret }, check: checkWebhookSecret},
		{name: "bootstrap-admin-token", env: "PROBITY_BOOTSTRAP_ADMIN_TOKEN", secret: true, field: func(c *Config) *string { return &c.AdminToken }, check: checkToken},
		{name: "ledger-auditor-token", env: "PROBITY_LEDGER_AUDITOR_TOKEN", secret: true, field: func(c *Config) *string { return &c.AuditorToken }, check: checkToken},
	}
}

func oneOf(vals ...string) func(string) error {
	return func(s string) error {
		if !slices.Contains(vals, s) {
			return fmt.Errorf("must be one of %s", strings.Join(vals, ", "))
		}
		return nil
	}
}

func checkAddr(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("must be host:port (%v)", err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q must be a number from 0 to 65535", port)
	}
	if host != "" && net.ParseIP(host) == nil && strings.ContainsAny(host, " /") {
		return fmt.Errorf("host %q is not a host name or IP address", host)
	}
	return nil
}

func checkURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must be an http:// or https:// URL with a host and no query")
	}
	return nil
}

func checkOrigin(s string) error {
	if s == "" {
		return nil
	}
	return ledger.ValidateOrigin(s)
}

// checkPositive accepts a positive whole number, or nothing (the default).
func checkPositive(s string) error {
	if s == "" {
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err != nil || n <= 0 {
		return fmt.Errorf("must be a positive whole number, not %q", s)
	}
	return nil
}

func checkToken(s string) error {
	if s != "" && len(s) < auth.MinTokenLength {
		return fmt.Errorf("must be at least %d characters", auth.MinTokenLength)
	}
	return nil
}

// A usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// flagSet returns a flag set for a command, with the named options
// registered as flags.
func flagSet(cmd string, names ...string) (*flag.FlagSet, map[string]*string) {
	fs := flag.NewFlagSet("probity "+cmd, flag.ContinueOnError)
	vals := map[string]*string{}
	for _, o := range options() {
		if o.secret || !slices.Contains(names, o.name) {
			continue
		}
		vals[o.name] = fs.String(o.name, "", o.usage+defaultNote(o))
	}
	return fs, vals
}

func defaultNote(o option) string {
	if o.def == "" {
		return ""
	}
	return fmt.Sprintf(" (default %q)", o.def)
}

// loadConfig resolves the configuration from parsed flags, the
// environment and the configuration file.
// defaults, when set, replaces some options' defaults (the demo's data
// directory, say).
func loadConfig(fs *flag.FlagSet, flags map[string]*string, getenv func(string) string, defaults map[string]string) (Config, error) {
	var c Config
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	opts := options()
	for _, o := range opts {
		*o.field(&c) = o.def
		if v, ok := defaults[o.name]; ok {
			*o.field(&c) = v
		}
	}
	// Find the configuration file first: it is itself configurable by flag
	// or environment.
	cfgFile := getenv("PROBITY_CONFIG")
	if set["config"] {
		cfgFile = *flags["config"]
	}
	if cfgFile != "" {
		fileVals, err := readConfigFile(cfgFile)
		if err != nil {
			return c, err
		}
		for _, o := range opts {
			if v, ok := fileVals[o.name]; ok {
				if err := validate(o, v, fmt.Sprintf("%s (in %s)", o.name, cfgFile)); err != nil {
					return c, err
				}
				*o.field(&c) = v
			}
		}
		c.ConfigFile = cfgFile
	}
	for _, o := range opts {
		if v := getenv(o.env); v != "" {
			if err := validate(o, v, o.env); err != nil {
				return c, err
			}
			*o.field(&c) = v
		}
	}
	for _, o := range opts {
		if set[o.name] {
			v := *flags[o.name]
			if err := validate(o, v, "-"+o.name); err != nil {
				return c, err
			}
			*o.field(&c) = v
		}
	}
	if c.AdminToken != "" && c.AdminToken == c.AuditorToken {
		return c, &usageError{"the bootstrap administrator token and the ledger auditor token must differ"}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, &usageError{"-tls-cert and -tls-key must be given together"}
	}
	if err := c.checkSignOn(); err != nil {
		return c, err
	}
	if err := c.checkNotify(); err != nil {
		return c, err
	}
	return c.derived(), nil
}

// derived fills in the paths that default to files in the data directory.
func (c Config) derived() Config {
	if c.DB == "" {
		c.DB = filepath.Join(c.Data, "probity.db")
	}
	if c.KeyFile == "" {
		c.KeyFile = filepath.Join(c.Data, "ledger.key")
	}
	if c.SecretsKey == "" {
		c.SecretsKey = filepath.Join(c.Data, "secrets.key")
	}
	return c
}

func validate(o option, v, where string) error {
	if o.check == nil {
		return nil
	}
	if err := o.check(v); err != nil {
		shown := v
		if o.secret {
			shown = "(hidden)"
		}
		return &usageError{fmt.Sprintf("invalid value %q for %s: %v", shown, where, err)}
	}
	return nil
}

// maxConfigFile bounds the configuration file, which is read whole.
const maxConfigFile = 1 << 20

// readConfigFile reads a configuration file of `name = value` lines, where
// name is a flag name; blank lines and lines starting with # are ignored.
func readConfigFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &usageError{fmt.Sprintf("configuration file: %v", err)}
	}
	vals, err := parseConfig(b)
	if err != nil {
		return nil, &usageError{fmt.Sprintf("configuration file %s: %v", path, err)}
	}
	return vals, nil
}

// parseConfig parses configuration-file text.
func parseConfig(b []byte) (map[string]string, error) {
	if len(b) > maxConfigFile {
		return nil, fmt.Errorf("larger than %d bytes", maxConfigFile)
	}
	known := map[string]bool{}
	for _, o := range options() {
		if o.name != "config" {
			known[o.name] = true
		}
	}
	vals := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxConfigFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: expected name = value", n)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !known[name] {
			var names []string
			for k := range known {
				names = append(names, k)
			}
			slices.Sort(names)
			return nil, fmt.Errorf("line %d: unknown setting %q (known: %s)", n, name, strings.Join(names, ", "))
		}
		if _, dup := vals[name]; dup {
			return nil, fmt.Errorf("line %d: %s is set twice", n, name)
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			uq, err := strconv.Unquote(value)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad quoted value: %v", n, err)
			}
			value = uq
		}
		vals[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return vals, nil
}

// isPostgres reports whether the configuration names a PostgreSQL database.
func (c Config) isPostgres() bool { return store.IsPostgresDSN(c.DB) }

var errUsage = errors.New("usage")
