package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/app"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// cliArgs returns the -data and -db flags that point a command at cfg.
func cliArgs(cfg app.Config) []string {
	return []string{"-data", cfg.Data, "-db", cfg.DB}
}

func TestMain_Usage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"ErrNoCommand", nil, nil, 2, "Usage:"},
		{"ErrUnknownCommand", []string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{"ErrUnknownFlag", []string{"serve", "-bogus"}, nil, 2, "flag provided but not defined: -bogus"},
		{"ErrInvalidEnv", []string{"serve"}, map[string]string{"PROBITY_ADDR": "nonsense"}, 2, `invalid value "nonsense" for PROBITY_ADDR`},
		{"ErrServeArgument", []string{"serve", "extra"}, nil, 2, `unexpected argument "extra"`},
		{"ErrUnknownLedgerCommand", []string{"ledger", "frob"}, nil, 2, `unknown command "frob"`},
		{"ErrBackupNoDest", []string{"backup"}, nil, 2, "exactly one destination"},
		{"ErrProofIndex", []string{"ledger", "proof", "minus-one"}, nil, 2, "not a non-negative whole number"},
		{"OKVersion", []string{"version"}, nil, 0, "probity "},
		{"OKHelp", []string{"help"}, nil, 0, "probity serve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, tc.env, tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", code, tc.code, out, errOut, tc.want)
			}
		})
	}
}

// serveErr runs "probity serve" and returns its exit status and message;
// each case must fail before it would start serving.
func serveErr(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := app.Main(ctx, append([]string{"serve", "-log-level", "error"}, args...), func(k string) string { return env[k] }, &out, &errb)
	if ctx.Err() != nil {
		t.Fatal("serve did not fail; it ran until the timeout")
	}
	return code, errb.String()
}

func TestServe_Errors(t *testing.T) {
	t.Run("ErrDataDirUnderFile", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o600)
		code, msg := serveErr(t, nil, "-data", filepath.Join(f, "data"))
		if code != 1 || !strings.Contains(msg, "data directory") || !strings.Contains(msg, "not a directory") {
			t.Fatalf("exit %d: %s", code, msg)
		}
	})
	t.Run("ErrDataDirUnwritable", func(t *testing.T) {
		// /proc refuses new files even to root, as a read-only mount would.
		code, msg := serveErr(t, nil, "-data", "/proc/self")
		if code != 1 || !strings.Contains(msg, "/proc/self") {
			t.Fatalf("exit %d: %s", code, msg)
		}
	})
	t.Run("ErrDataDirNotPrivate", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "open")
		os.Mkdir(dir, 0o755)
		os.Chmod(dir, 0o755)
		code, msg := serveErr(t, nil, "-data", dir)
		if code != 1 || !strings.Contains(msg, "chmod 700") {
			t.Fatalf("exit %d: %s", code, msg)
		}
	})
	t.Run("ErrPortInUse", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		code, msg := serveErr(t, nil, "-data", filepath.Join(t.TempDir(), "d"), "-addr", ln.Addr().String())
		if code != 1 || !strings.Contains(msg, "already in use") {
			t.Fatalf("exit %d: %s", code, msg)
		}
	})
	t.Run("ErrDataDirInUse", func(t *testing.T) {
		ts := startServer(t, testConfig(t, store.SQLite))
		code, msg := serveErr(t, nil, "-data", ts.Cfg.Data)
		if code != 1 || !strings.Contains(msg, "in use by process") {
			t.Fatalf("exit %d: %s", code, msg)
		}
	})
	t.Run("ErrCorruptDatabase", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "d")
		os.Mkdir(dir, 0o700)
		junk := bytes.Repeat([]byte("not a database "), 500)
		os.WriteFile(filepath.Join(dir, "probity.db"), junk, 0o600)
		code, msg := serveErr(t, nil, "-data", dir)
		if code != 1 || !strings.Contains(msg, "not an SQLite database") || !strings.Contains(msg, "refusing to start") {
			t.Fatalf("exit %d: %s", code, msg)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "probity.db")); !bytes.Equal(b, junk) {
			t.Fatal("the corrupt file was changed")
		}
	})
	t.Run("ErrCorruptPages", func(t *testing.T) {
		cfg := testConfig(t, store.SQLite)
		startServer(t, cfg).Stop()
		b, _ := os.ReadFile(cfg.DB)
		for i := 100; i < len(b); i++ { // keep the header, garble the schema
			b[i] = 0xAB
		}
		os.WriteFile(cfg.DB, b, 0o600)
		os.Remove(cfg.DB + "-wal")
		code, msg := serveErr(t, nil, cliArgs(cfg)...)
		if code != 1 || !strings.Contains(msg, "corrupt") {
			t.Fatalf("exit %d: %s", code, msg)
		}
	})
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			t.Run("ErrForeignDatabase", func(t *testing.T) {
				cfg := testConfig(t, d)
				os.MkdirAll(cfg.Data, 0o700)
				raw := storetest.RawDB(t, cfg.DB)
				if _, err := raw.Exec(`CREATE TABLE payroll (id INTEGER PRIMARY KEY)`); err != nil {
					t.Fatal(err)
				}
				code, msg := serveErr(t, nil, cliArgs(cfg)...)
				if code != 1 || !strings.Contains(msg, "not a Probity database") || !strings.Contains(msg, "payroll") {
					t.Fatalf("exit %d: %s", code, msg)
				}
			})
			t.Run("ErrKeyMissing", func(t *testing.T) {
				cfg := testConfig(t, d)
				startServer(t, cfg).Stop()
				os.Rename(cfg.KeyFile, cfg.KeyFile+".away")
				code, msg := serveErr(t, nil, cliArgs(cfg)...)
				if code != 1 || !strings.Contains(msg, "is missing") || !strings.Contains(msg, "never generated for an existing ledger") {
					t.Fatalf("exit %d: %s", code, msg)
				}
				if _, err := os.Stat(cfg.KeyFile); err == nil {
					t.Fatal("a new key file was generated")
				}
			})
			t.Run("ErrKeyDifferent", func(t *testing.T) {
				cfg := testConfig(t, d)
				startServer(t, cfg).Stop()
				other := testConfig(t, store.SQLite)
				startServer(t, other).Stop() // makes another key
				code, msg := serveErr(t, nil, append(cliArgs(cfg), "-ledger-key", other.KeyFile)...)
				if code != 1 || !strings.Contains(msg, "signing key does not match") {
					t.Fatalf("exit %d: %s", code, msg)
				}
			})
			t.Run("ErrKeyReadableByOthers", func(t *testing.T) {
				cfg := testConfig(t, d)
				startServer(t, cfg).Stop()
				os.Chmod(cfg.KeyFile, 0o644)
				code, msg := serveErr(t, nil, cliArgs(cfg)...)
				if code != 1 || !strings.Contains(msg, "chmod 600") {
					t.Fatalf("exit %d: %s", code, msg)
				}
			})
		})
	}
}

// putSettings makes n audited writes through the API and returns their
// ledger indexes.
func putSettings(t testing.TB, ts *testServer, n int) []int64 {
	t.Helper()
	var idx []int64
	for i := range n {
		status, body := ts.do(t, "PUT", "/api/v1/settings/result_retention_days", adminToken, fmt.Sprintf(`{"value": %d}`, 30+i%300))
		if status != 200 {
			t.Fatalf("PUT: %d %s", status, body)
		}
		var r struct {
			LedgerIndex int64 `json:"ledger_index"`
		}
		json.Unmarshal([]byte(body), &r)
		idx = append(idx, r.LedgerIndex)
	}
	return idx
}

var firstBad = regexp.MustCompile(`first bad index (\d+)`)

func TestLedgerVerify_Tampering(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			// Each case: a ledger of 43 entries (genesis, the two built-in policy sets, 40 writes) with a
			// checkpoint at 33, then tampering by direct SQL.
			for _, tc := range []struct {
				name  string
				sql   []string
				index int64
			}{
				{"OK", nil, -1},
				{"ErrEntryUpdated", []string{`UPDATE ledger_entries SET entry = ` + replaceSQL(d, "entry", `"value":`, `"value":9`) + ` WHERE idx = 12`}, 12},
				{"ErrHashesUpdated", []string{`UPDATE ledger_entries SET hashes = ` + reverseSQL(d, "hashes") + ` WHERE idx = 13`}, 13},
				{"ErrEntryDeleted", []string{`DELETE FROM ledger_entries WHERE idx = 14`}, 14},
				{"ErrEntryInserted", []string{
					`UPDATE ledger_entries SET idx = idx + 1000 WHERE idx >= 15`,
					`UPDATE ledger_entries SET idx = idx - 999 WHERE idx >= 1000`,
					`INSERT INTO ledger_entries (idx, entry, hashes, mac) SELECT 15, entry, hashes, mac FROM ledger_entries WHERE idx = 14`,
				}, 15},
				{"ErrEntriesReordered", []string{
					`UPDATE ledger_entries SET idx = -1 WHERE idx = 16`,
					`UPDATE ledger_entries SET idx = 16 WHERE idx = 17`,
					`UPDATE ledger_entries SET idx = 17 WHERE idx = -1`,
				}, 16},
				{"ErrTailEntryForged", []string{`UPDATE ledger_entries SET entry = ` + replaceSQL(d, "entry", `"value":`, `"value":9`) + ` WHERE idx = 35`}, 35},
			} {
				t.Run(tc.name, func(t *testing.T) {
					cfg := testConfig(t, d)
					ts := startServer(t, cfg)
					putSettings(t, ts, 30)
					if status, body := ts.do(t, "POST", "/api/v1/ledger/checkpoint", auditorToken, ""); status != 200 {
						t.Fatalf("checkpoint: %d %s", status, body)
					}
					putSettings(t, ts, 10)
					ts.Stop()
					raw := storetest.RawDB(t, cfg.DB)
					for _, q := range tc.sql {
						if _, err := raw.Exec(q); err != nil {
							t.Fatalf("%s: %v", q, err)
						}
					}
					out, errOut, code := runCLI(t, nil, append([]string{"ledger", "verify"}, cliArgs(cfg)...)...)
					if tc.index < 0 {
						if code != 0 || !strings.Contains(out, "ledger verify: OK") || !strings.Contains(out, "43 (entries recomputed") {
							t.Fatalf("exit %d\n%s%s", code, out, errOut)
						}
						return
					}
					m := firstBad.FindStringSubmatch(out)
					if code != 1 || m == nil || m[1] != fmt.Sprint(tc.index) {
						t.Fatalf("exit %d; want 1 naming index %d\n%s%s", code, tc.index, out, errOut)
					}
				})
			}
		})
	}
}

// replaceSQL returns an SQL expression replacing text in a BLOB column.
func replaceSQL(d store.Dialect, col, from, to string) string {
	if d == store.Postgres {
		return fmt.Sprintf(`convert_to(replace(convert_from(%s, 'UTF8'), '%s', '%s'), 'UTF8')`, col, from, to)
	}
	return fmt.Sprintf(`CAST(replace(CAST(%s AS TEXT), '%s', '%s') AS BLOB)`, col, from, to)
}

// reverseSQL returns an SQL expression that changes a BLOB's bytes while
// keeping its length.
func reverseSQL(d store.Dialect, col string) string {
	if d == store.Postgres {
		return fmt.Sprintf(`overlay(%s placing '\xff'::bytea from 1 for 1)`, col)
	}
	return fmt.Sprintf(`x'ff' || substr(%s, 2)`, col)
}

func TestLedgerCLI_Remote(t *testing.T) {
	cfg := testConfig(t, store.SQLite)
	ts := startServer(t, cfg)
	putSettings(t, ts, 300)
	pub, _, code := runCLI(t, nil, "ledger", "pubkey", "-data", cfg.Data)
	if code != 0 || !strings.HasPrefix(pub, storetest.Origin+"+") {
		t.Fatalf("pubkey: %d %q", code, pub)
	}
	key := strings.TrimSpace(pub)
	auditor := map[string]string{"PROBITY_LEDGER_AUDITOR_TOKEN": auditorToken}
	saved := filepath.Join(t.TempDir(), "checkpoint")

	t.Run("Checkpoint", func(t *testing.T) {
		out, errOut, code := runCLI(t, auditor, "ledger", "checkpoint", "-url", ts.URL)
		if code != 0 || !strings.HasPrefix(out, storetest.Origin+"\n303\n") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("VerifyWithEntries", func(t *testing.T) {
		out, errOut, code := runCLI(t, auditor, "ledger", "verify", "-url", ts.URL, "-key", key, "-save-checkpoint", saved)
		if code != 0 || !strings.Contains(out, "303 (entries recomputed and matched)") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("VerifyWithoutCredential", func(t *testing.T) {
		out, errOut, code := runCLI(t, nil, "ledger", "verify", "-url", ts.URL, "-key", key, "-json")
		var rep struct {
			OK             bool  `json:"ok"`
			Entries        int64 `json:"entries"`
			EntriesChecked bool  `json:"entries_checked"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.OK || rep.EntriesChecked || rep.Entries != 303 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("VerifyAgainstSavedCheckpoint", func(t *testing.T) {
		putSettings(t, ts, 20)
		runCLI(t, auditor, "ledger", "checkpoint", "-url", ts.URL)
		out, errOut, code := runCLI(t, auditor, "ledger", "verify", "-url", ts.URL, "-key", key, "-checkpoint", saved)
		if code != 0 || !strings.Contains(out, "323 (entries") || !strings.Contains(out, "2 verified") {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("ErrVerifyWrongKey", func(t *testing.T) {
		other := testConfig(t, store.SQLite)
		startServer(t, other).Stop()
		otherKey, _, _ := runCLI(t, nil, "ledger", "pubkey", "-data", other.Data)
		out, _, code := runCLI(t, auditor, "ledger", "verify", "-url", ts.URL, "-key", strings.TrimSpace(otherKey))
		if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "signature") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("ErrVerifyRemoteWithoutKey", func(t *testing.T) {
		_, errOut, code := runCLI(t, nil, "ledger", "verify", "-url", ts.URL, "-data", filepath.Join(t.TempDir(), "none"))
		if code != 2 || !strings.Contains(errOut, "-key") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("Proof", func(t *testing.T) {
		out, errOut, code := runCLI(t, auditor, "ledger", "proof", "-url", ts.URL, "123")
		var p struct {
			Index    int64    `json:"index"`
			TreeSize int64    `json:"tree_size"`
			Proof    []string `json:"inclusion_proof"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &p) != nil || p.Index != 123 || p.TreeSize < 323 || len(p.Proof) == 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		_, errOut, code = runCLI(t, nil, "ledger", "proof", "-url", ts.URL, "123")
		if code != 1 || !strings.Contains(errOut, "401") {
			t.Fatalf("proof without a credential: exit %d %s", code, errOut)
		}
	})
	t.Run("Consistency", func(t *testing.T) {
		out, errOut, code := runCLI(t, nil, "ledger", "consistency", "-url", ts.URL, "7", "300")
		if code != 0 || !strings.Contains(out, `"from": 7`) || !strings.Contains(out, `"to": 300`) {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		_, errOut, code = runCLI(t, nil, "ledger", "consistency", "-url", ts.URL, "300", "7")
		if code != 1 || !strings.Contains(errOut, "from ≤ to") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("Local", func(t *testing.T) {
		ts.Stop()
		out, errOut, code := runCLI(t, nil, append([]string{"ledger", "proof", "200"}, cliArgs(cfg)...)...)
		if code != 0 || !strings.Contains(out, `"index": 200`) {
			t.Fatalf("proof: exit %d\n%s%s", code, out, errOut)
		}
		out, errOut, code = runCLI(t, nil, append([]string{"ledger", "consistency", "10", "200"}, cliArgs(cfg)...)...)
		if code != 0 || !strings.Contains(out, `"to": 200`) {
			t.Fatalf("consistency: exit %d\n%s%s", code, out, errOut)
		}
		out, errOut, code = runCLI(t, nil, append([]string{"ledger", "checkpoint"}, cliArgs(cfg)...)...)
		if code != 0 || !strings.HasPrefix(out, storetest.Origin+"\n323\n") {
			t.Fatalf("checkpoint: exit %d\n%s%s", code, out, errOut)
		}
	})
}

func TestLedgerRotateKey(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			cfg := testConfig(t, d)
			ts := startServer(t, cfg)
			putSettings(t, ts, 5)
			ts.Stop()
			oldKey, _, _ := runCLI(t, nil, "ledger", "pubkey", "-data", cfg.Data)
			out, errOut, code := runCLI(t, nil, append([]string{"ledger", "rotate-key", "-log-level", "error"}, cliArgs(cfg)...)...)
			if code != 0 || !strings.Contains(out, "rotated the ledger signing key") {
				t.Fatalf("rotate-key: exit %d\n%s%s", code, out, errOut)
			}
			newKey, _, _ := runCLI(t, nil, "ledger", "pubkey", "-data", cfg.Data)
			if newKey == oldKey {
				t.Fatal("the key did not change")
			}
			ts = startServer(t, cfg) // the new key opens the ledger
			putSettings(t, ts, 3)
			ts.do(t, "POST", "/api/v1/ledger/checkpoint", auditorToken, "")
			ts.Stop()
			// An auditor who trusts only the old key still verifies the whole
			// ledger, through the checkpoint both keys signed.
			out, errOut, code = runCLI(t, nil, append([]string{"ledger", "verify", "-key", strings.TrimSpace(oldKey)}, cliArgs(cfg)...)...)
			if code != 0 || !strings.Contains(out, "ledger verify: OK") {
				t.Fatalf("verify with the old key: exit %d\n%s%s", code, out, errOut)
			}
			if matches, _ := filepath.Glob(cfg.KeyFile + ".retired-*"); len(matches) != 1 {
				t.Fatalf("retired key files: %v", matches)
			}
		})
	}
}

func TestBackup(t *testing.T) {
	cfg := testConfig(t, store.SQLite)
	ts := startServer(t, cfg)
	putSettings(t, ts, 50)
	// Back up while writes go on.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ts.do(t, "PUT", "/api/v1/settings/closed_case_grace_days", adminToken, fmt.Sprintf(`{"value": %d}`, i%100))
		}
	}()
	dest := filepath.Join(t.TempDir(), "backup.db")
	out, errOut, code := runCLI(t, nil, "backup", "-data", cfg.Data, dest)
	close(stop)
	wg.Wait()
	if code != 0 || !strings.Contains(out, "backed up") || !strings.Contains(out, "not in the backup") {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
	}
	if st, err := os.Stat(dest); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", st, err)
	}
	_, errOut, code = runCLI(t, nil, "backup", "-data", cfg.Data, dest)
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("backup over an existing file: exit %d %s", code, errOut)
	}

	// Restore: a new data directory with the backup and the key file.
	restored := filepath.Join(t.TempDir(), "restored")
	os.Mkdir(restored, 0o700)
	os.Rename(dest, filepath.Join(restored, "probity.db"))
	for _, f := range []string{"ledger.key", "secrets.key"} {
		b, _ := os.ReadFile(filepath.Join(cfg.Data, f))
		os.WriteFile(filepath.Join(restored, f), b, 0o600)
	}
	out, errOut, code = runCLI(t, nil, "ledger", "verify", "-data", restored)
	if code != 0 || !strings.Contains(out, "ledger verify: OK") {
		t.Fatalf("verify the restored backup: exit %d\n%s%s", code, out, errOut)
	}
	rcfg := cfg
	rcfg.Data, rcfg.DB, rcfg.KeyFile = restored, filepath.Join(restored, "probity.db"), filepath.Join(restored, "ledger.key")
	rs := startServer(t, rcfg)
	if status, body := rs.do(t, "GET", "/api/v1/settings/result_retention_days", auditorToken, ""); status != 200 || !strings.Contains(body, `"value": 79`) {
		t.Fatalf("restored setting: %d %s", status, body)
	}
	putSettings(t, rs, 1) // the restored ledger takes new entries
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	run := func() (origin string) {
		ctx, cancel := context.WithCancel(context.Background())
		var out, errb syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- app.Main(ctx, []string{"demo", "-data", dir, "-addr", "127.0.0.1:0", "-log-level", "error", "-city-devices", "150"}, func(string) string { return "" }, &out, &errb)
		}()
		re := regexp.MustCompile(`listening on (http://\S+)`)
		deadline := time.Now().Add(60 * time.Second)
		// The banner ends with the "Try:" examples.
		for re.FindStringSubmatch(out.String()) == nil || !strings.Contains(out.String(), "\nTry:\n") {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("demo did not start\n%s%s", out.String(), errb.String())
			}
			select {
			case code := <-done:
				t.Fatalf("demo exited %d\n%s%s", code, out.String(), errb.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		url := re.FindStringSubmatch(out.String())[1]
		if !strings.Contains(out.String(), "DEMO ONLY") || !strings.Contains(out.String(), "Ledger auditor token:") {
			t.Fatalf("demo output: %s", out.String())
		}
		if !regexp.MustCompile(`demo city: [1-9][0-9]+ pings of 150 devices imported`).MatchString(errb.String()) {
			t.Fatalf("the demo city was not imported: %s", errb.String())
		}
		c, err := httpGet(url + "api/v1/ledger")
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			Origin string
			Size   int64
		}
		json.Unmarshal(c, &info)
		if info.Size < 5 {
			t.Fatalf("demo ledger holds %d entries: %s", info.Size, c)
		}
		cancel()
		if code := <-done; code != 0 {
			t.Fatalf("demo exited %d after the interrupt\n%s", code, errb.String())
		}
		return info.Origin
	}
	first := run()
	second := run() // a second demo starts fresh
	if first == second {
		t.Fatal("the second demo reused the first demo's ledger")
	}
	t.Run("ErrNotDemoDir", func(t *testing.T) {
		other := t.TempDir()
		os.WriteFile(filepath.Join(other, "precious.txt"), []byte("keep"), 0o600)
		_, errOut, code := runCLI(t, nil, "demo", "-data", other)
		if code != 1 || !strings.Contains(errOut, "not a demo data directory") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if _, err := os.Stat(filepath.Join(other, "precious.txt")); err != nil {
			t.Fatal("demo wiped a directory that was not its own")
		}
	})
}

func httpGet(url string) ([]byte, error) {
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
