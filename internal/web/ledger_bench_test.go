package web

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// benchEntries is the size of the benchmarks' ledger.
const benchEntries = 1_000_000

// benchSpacing is the time between the benchmark ledger's entries: a
// million of them span about a year.
const benchSpacing = 30 * time.Second

// benchLedger builds, in a temporary directory, an SQLite database whose
// ledger holds benchEntries entries of the size Probity's own have
// ([storetest.BenchEvent]), a signed checkpoint every 65536 entries, and
// a department-wide auditor. It returns the database's path, the ledger's
// keys and the time of the first bulk entry. It is quick: the store
// creates the database, its genesis entry and the auditor; one
// transaction then inserts the other entries as the store's writer
// computes them (ledger.Encode, tlog.RecordHash, ledger.Tree.Append, the
// MAC key's Sum, ledger.Sign), and opening the store again checks them
// against the latest checkpoint.
func benchLedger(b *testing.B) (string, ledger.Keys, time.Time) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "probity.db")
	start := time.Now()
	keys, base, err := buildBenchLedger(context.Background(), path)
	if err != nil {
		b.Fatalf("build the benchmark ledger: %v", err)
	}
	b.Logf("built a %d-entry ledger in %v", benchEntries, time.Since(start).Round(time.Second))
	return path, keys, base
}

func buildBenchLedger(ctx context.Context, path string) (ledger.Keys, time.Time, error) {
	keys, err := ledger.GenerateKeys(storetest.Origin)
	if err != nil {
		return keys, time.Time{}, err
	}
	// The store's own entries come first, dated before the bulk ones, so
	// that times increase with the index.
	clock := &storetest.Clock{}
	clock.Advance(-(benchEntries*benchSpacing + 48*time.Hour))
	db, err := store.Open(ctx, store.Options{DSN: path, Logger: storetest.Logger(), Clock: clock.Now})
	if err != nil {
		return keys, time.Time{}, err
	}
	l, err := store.OpenLedger(ctx, db, store.LedgerConfig{Origin: storetest.Origin, Keys: &keys})
	if err != nil {
		db.Close()
		return keys, time.Time{}, err
	}
	ids := db.Identity()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "bench-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	p, secret, err := ids.Invite(ctx, admin, identity.Person{EmployeeID: "auditor", Name: "Bench auditor", Email: "auditor@example.gov", Schedule: identity.DefaultSchedule()})
	if err == nil {
		_, err = ids.GrantRole(ctx, admin, identity.Grant{PersonID: p.ID, Role: auth.Auditor})
	}
	if err == nil {
		_, err = ids.Activate(ctx, secret, store.Enrolment{PasswordHash: "unused", TOTPSealed: []byte("unused")})
	}
	l.Close()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return keys, time.Time{}, err
	}

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return keys, time.Time{}, err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	var tree ledger.Tree
	rows, err := raw.QueryContext(ctx, `SELECT idx, entry, hashes FROM ledger_entries ORDER BY idx`)
	if err != nil {
		return keys, time.Time{}, err
	}
	for rows.Next() {
		var idx int64
		var entry, stored []byte
		if err := rows.Scan(&idx, &entry, &stored); err != nil {
			rows.Close()
			return keys, time.Time{}, err
		}
		hashes, err := tree.Append(tlog.RecordHash(entry))
		if err != nil {
			rows.Close()
			return keys, time.Time{}, err
		}
		if idx != tree.Size()-1 || !bytes.Equal(stored, benchJoinHashes(hashes)) {
			rows.Close()
			return keys, time.Time{}, errors.New("the builder computes records differently from the store's writer")
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return keys, time.Time{}, err
	}

	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return keys, time.Time{}, err
	}
	defer tx.Rollback()
	insEntry, err := tx.PrepareContext(ctx, `INSERT INTO ledger_entries (idx, entry, hashes, mac) VALUES ($1, $2, $3, $4)`)
	if err != nil {
		return keys, time.Time{}, err
	}
	insCheckpoint, err := tx.PrepareContext(ctx, `INSERT INTO ledger_checkpoints (size, note, created_at) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING`)
	if err != nil {
		return keys, time.Time{}, err
	}
	base := time.Now().UTC().Add(-(benchEntries*benchSpacing + 24*time.Hour)).Truncate(time.Second)
	for i := tree.Size(); i < benchEntries; i++ {
		at := base.Add(time.Duration(i) * benchSpacing)
		entry, err := ledger.Encode(storetest.BenchEvent(i), i, at)
		if err != nil {
			return keys, base, err
		}
		h := tlog.RecordHash(entry)
		hashes, err := tree.Append(h)
		if err != nil {
			return keys, base, err
		}
		if _, err := insEntry.ExecContext(ctx, i, entry, benchJoinHashes(hashes), keys.MAC.Sum(i, h)); err != nil {
			return keys, base, fmt.Errorf("insert entry %d: %w", i, err)
		}
		if size := i + 1; size%65536 == 0 || size == benchEntries {
			msg, err := ledger.Sign(ledger.Checkpoint{Origin: storetest.Origin, Size: size, Hash: tree.Root()}, keys.Signing.Signer)
			if err != nil {
				return keys, base, err
			}
			// The format the store's SQLite driver writes times in.
			if _, err := insCheckpoint.ExecContext(ctx, size, msg, at.Format("2006-01-02 15:04:05.999999999-07:00")); err != nil {
				return keys, base, fmt.Errorf("insert checkpoint %d: %w", size, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return keys, base, err
	}
	if _, err := raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return keys, base, err
	}
	return keys, base, raw.Close()
}

func benchJoinHashes(hs []tlog.Hash) []byte {
	b := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// BenchmarkWeb_LedgerList measures the server time of the ledger's pages
// on a ledger of a million entries, through the router as a browser's
// request goes (authentication included), and reports the p50 and p95 of
// one page in milliseconds.
func BenchmarkWeb_LedgerList(b *testing.B) {
	path, keys, base := benchLedger(b)
	ctx := context.Background()
	db, l := storetest.MustOpen(b, path, keys)
	if size, err := l.Size(ctx); err != nil || size < benchEntries {
		b.Fatalf("ledger size %d, %v; want %d", size, err, benchEntries)
	}
	ids := db.Identity()
	who, err := ids.PersonByEmployeeID(ctx, "auditor")
	if err != nil {
		b.Fatal(err)
	}
	sess, err := ids.StartSession(ctx, who.ID, "password", "127.0.0.1", "web-bench", nil, "", store.DefaultSessionPolicy)
	if err != nil {
		b.Fatal(err)
	}
	key, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		b.Fatal(err)
	}
	w, err := New(Deps{Authn: authn.New(ids, authn.Config{Secrets: key, Logger: storetest.Logger()}), Identity: ids, Logger: storetest.Logger(),
		Ledger: l, LedgerAnchor: keys.Signing.VerifierKey, LedgerMAC: keys.MAC})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Close)
	day := base.Add(benchEntries / 2 * benchSpacing).Format("2006-01-02")
	for _, c := range []struct {
		name, path string
		// rows is how many rows the page must list; a rare match's
		// page lists those its time allowed (sparse).
		rows   int
		sparse bool
	}{
		{"newest", "/ledger", ledgerPageSize, false},
		{"older", "/ledger?before=500000", ledgerPageSize, false},
		{"day", "/ledger?from=" + day + "&to=" + day, ledgerPageSize, false},
		{"component", "/ledger?component=component-07&from=" + day, ledgerPageSize, false},
		// One entry in 997.
		{"actor", "/ledger?actor=analyst-0042@component.example.gov", ledgerPageSize, true},
		{"nothing", "/ledger?type=no.such", 0, false},
		{"entry", "/ledger/500000", -1, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			var took []time.Duration
			listed := 0
			for b.Loop() {
				r := httptest.NewRequest("GET", c.path, nil)
				r.AddCookie(&http.Cookie{Name: authn.SessionCookie, Value: sess.Secret})
				rec := httptest.NewRecorder()
				t0 := time.Now()
				w.ServeHTTP(rec, r)
				took = append(took, time.Since(t0))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: status %d", c.path, rec.Code)
				}
				n := bytes.Count(rec.Body.Bytes(), []byte(`<td><a href="/ledger/`))
				listed += n
				switch {
				case c.rows < 0:
				case c.sparse && (n == 0 || n > c.rows || !bytes.Contains(rec.Body.Bytes(), []byte(`rel="next">Older entries`))):
					b.Fatalf("GET %s lists %d entries, and a link to older ones: %v", c.path, n, bytes.Contains(rec.Body.Bytes(), []byte(`rel="next"`)))
				case !c.sparse && n != c.rows:
					b.Fatalf("GET %s lists %d entries, want %d", c.path, n, c.rows)
				}
			}
			slices.Sort(took)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
			b.ReportMetric(ms(took[(len(took)*95+99)/100-1]), "p95-ms")
			if c.rows >= 0 {
				b.ReportMetric(float64(listed)/float64(len(took)), "rows/page")
			}
		})
	}
}
