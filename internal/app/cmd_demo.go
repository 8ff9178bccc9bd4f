package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/settings"
	"github.com/probity-dev/probity/internal/synth"
)

// demoCityDevices is the default size of the demo's synthetic city: about
// 1.1 million pings, imported in well under a minute.
const demoCityDevices = 1200

// demoMarker marks a data directory as the demo's, which demo may wipe.
const demoMarker = ".probity-demo"

func cmdDemo(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("demo", serverFlags...)
	devices := set.Int("city-devices", demoCityDevices, "devices in the demo's synthetic city (its local telemetry store holds about 900 pings per device)")
	set.Usage = func() {
		fmt.Fprintf(set.Output(), "Usage: probity demo [flags]\n\nStarts Probity on a fresh demo data directory (./probity-demo unless -data\nsays otherwise; a previous demo there is wiped) loaded with demo content.\n\n")
		set.PrintDefaults()
	}
	cfg, err := parseWith(set, flags, args, getenv, stderr, map[string]string{"data": "probity-demo"})
	if err != nil {
		return err
	}
	if cfg.isPostgres() {
		return &usageError{"the demo runs on its own SQLite database; do not set -db to a PostgreSQL URL"}
	}
	city := synth.DefaultConfig()
	city.Devices = *devices
	city.Employees = min(city.Employees, max(2, city.Devices/10))
	if err := city.Validate(); err != nil {
		return &usageError{fmt.Sprintf("-city-devices: %s", fault.MessageOf(err))}
	}
	if err := resetDemoDir(cfg.Data); err != nil {
		return err
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken = randomToken()
	}
	if cfg.AuditorToken == "" {
		cfg.AuditorToken = randomToken()
	}
	if err := prepareDataDir(cfg.Data); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfg.Data, demoMarker), []byte("This directory holds Probity demo data; probity demo wipes it.\n"), 0o600); err != nil {
		return err
	}
	srv, err := OpenServer(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer srv.Close()
	accounts, err := loadDemoOrg(ctx, srv)
	if err != nil {
		return fmt.Errorf("load demo people: %w", err)
	}
	if err := writeDemoAccounts(cfg.Data, accounts); err != nil {
		return err
	}
	if err := loadDemo(ctx, srv); err != nil {
		return fmt.Errorf("load demo content: %w", err)
	}
	if err := loadDemoCity(ctx, srv, city, stderr); err != nil {
		return fmt.Errorf("load the demo city: %w", err)
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	creds := fmt.Sprintf("Administrator token (bootstrap): %s\nLedger auditor token:           %s\n", cfg.AdminToken, cfg.AuditorToken)
	if err := os.WriteFile(filepath.Join(cfg.Data, "demo-credentials.txt"), []byte("DEMO ONLY — never use these outside the demo.\n"+creds), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Probity demo is listening on %s (data in %s)\n\n", srv.URL, cfg.Data)
	fmt.Fprintf(stdout, "DEMO ONLY accounts — every password is %q; add a TOTP secret to an authenticator app,\nor run \"probity demo-codes -data %s\" for the current codes:\n", demoPassword, cfg.Data)
	printDemoAccounts(stdout, accounts)
	fmt.Fprintf(stdout, "\nDEMO ONLY bootstrap credentials:\n%s\nTry:\n", creds)
	fmt.Fprintf(stdout, "  open %slogin and sign in as cbp-analyst1\n", srv.URL)
	fmt.Fprintf(stdout, "  curl %sledger/checkpoint\n", srv.URL)
	fmt.Fprintf(stdout, "  curl -H 'Authorization: Bearer %s' %sapi/v1/settings\n", cfg.AuditorToken, srv.URL)
	fmt.Fprintf(stdout, "  probity ledger verify -data %s\n", cfg.Data)
	fmt.Fprintf(stdout, "  probity login -url %s (as dept-privacy), then probity pia gate -url %s\n", srv.URL, srv.URL)
	fmt.Fprintf(stdout, "  PROBITY_LEDGER_AUDITOR_TOKEN=%s probity ledger verify -url %s -key \"$(probity ledger pubkey -data %s)\"\n", cfg.AuditorToken, srv.URL, cfg.Data)
	return srv.Serve(ctx)
}

// resetDemoDir wipes a previous demo's data directory. It refuses to touch
// a directory that is not empty and not marked as the demo's.
func resetDemoDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(ents) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo data directory %s: %w", dir, unwrapPath(err))
	}
	if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
		return fmt.Errorf("%s exists and is not a demo data directory; refusing to wipe it — choose another -data", dir)
	}
	release, err := lockDataDir(dir)
	if err != nil {
		return err
	}
	release()
	return os.RemoveAll(dir)
}

func randomToken() string {
	return "demo-" + rand.Text() + rand.Text()[:6]
}

// loadDemo loads the demo content, so that the demo's ledger is never empty
// and every part of Probity has something to show. Each domain adds its own
// step here.
func loadDemo(ctx context.Context, srv *Server) error {
	admin := ledger.Actor{Kind: ledger.ActorToken, ID: "bootstrap-admin"}
	for name, value := range map[string]string{
		settings.OrganizationName:          `"Department of Example Affairs (demonstration)"`,
		settings.ResultRetentionDays:       `90`,
		settings.ClosedCaseGraceDays:       `30`,
		settings.CheckpointIntervalSeconds: `2`,
	} {
		if _, _, err := srv.Settings.Set(ctx, admin, name, json.RawMessage(value)); err != nil {
			return err
		}
	}
	if err := loadDemoProgram(ctx, srv); err != nil {
		return fmt.Errorf("recommendations: %w", err)
	}
	if err := loadDemoPrivacy(ctx, srv); err != nil {
		return fmt.Errorf("privacy: %w", err)
	}
	if err := loadDemoPolicy(ctx, srv); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	if err := loadDemoCases(ctx, srv); err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	if err := loadDemoReleases(ctx, srv); err != nil {
		return fmt.Errorf("releases: %w", err)
	}
	_, _, err := srv.Ledger.Publish(ctx)
	return err
}
