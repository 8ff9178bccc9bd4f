package app

import (
	"context"
	"fmt"
	"io"

	"github.com/probity-dev/probity/internal/store"
)

var serverFlags = []string{"config", "data", "addr", "db", "origin", "ledger-key", "secrets-key", "public-url", "password-blocklist", "log-level", "log-format", "tls-cert", "tls-key",
	"oidc-issuer", "oidc-client-id", "oidc-employee-id-claim", "oidc-scopes", "oidc-trust-mfa", "piv-ca",
	"smtp-relay", "smtp-from", "smtp-starttls", "smtp-username", "webhook-url", "scan-max-bytes"}

func cmdServe(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("serve", serverFlags...)
	cfg, err := parse(set, flags, args, getenv, stderr)
	if err != nil {
		return err
	}
	if set.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", set.Arg(0))}
	}
	srv, err := OpenServer(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.Bootstrap(ctx); err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Probity is listening on %s\n", srv.URL)
	if u := srv.EnrolmentURL(); u != "" {
		fmt.Fprintf(stdout, "No administrator has enrolled yet. Enrol the first administrator with this one-time link (valid for 7 days; a restart issues a new one):\n  %s\n", u)
	}
	fmt.Fprintf(stdout, "  database: %s\n  ledger:   %s (verifier key: probity ledger pubkey -data %s)\n", store.RedactDSN(cfg.DB), srv.Ledger.Origin(), cfg.Data)
	return srv.Serve(ctx)
}

func cmdMigrate(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("migrate", "config", "data", "db", "log-level", "log-format")
	cfg, err := parse(set, flags, args, getenv, stderr)
	if err != nil {
		return err
	}
	if !cfg.isPostgres() {
		if err := prepareDataDir(cfg.Data); err != nil {
			return err
		}
		unlock, err := lockDataDir(cfg.Data)
		if err != nil {
			return err
		}
		defer unlock()
	}
	db, err := store.Open(ctx, store.Options{DSN: cfg.DB, Logger: newLogger(cfg, stderr)})
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s is at schema version %d\n", db, v)
	return nil
}

func cmdBackup(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("backup", "config", "data", "db", "ledger-key", "log-level", "log-format")
	set.Usage = func() {
		fmt.Fprintf(set.Output(), "Usage: probity backup [flags] DEST\n\nWrites a consistent copy of the SQLite database to the new file DEST while\nProbity runs. The ledger key file is not copied: back it up separately.\nFor PostgreSQL, use pg_dump (see docs/operations.md).\n\n")
		set.PrintDefaults()
	}
	cfg, err := parse(set, flags, args, getenv, stderr)
	if err != nil {
		return err
	}
	if set.NArg() != 1 {
		return &usageError{"give exactly one destination file"}
	}
	dest := set.Arg(0)
	db, err := store.Open(ctx, store.Options{DSN: cfg.DB, ReadOnly: true, Logger: newLogger(cfg, stderr)})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, dest); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\nthe ledger key file (%s) is not in the backup: keep a copy of it apart from the database\n", db, dest, cfg.KeyFile)
	return nil
}
