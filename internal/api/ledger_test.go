package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// fillSize is the ledger size of the tile tests — a new server's entries
// and more — so one full tile and a partial one of 45.
const fillSize = 301

func TestAPI_Tile(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testTile(t, d) })
	}
}

func testTile(t *testing.T, d store.Dialect) {
	ts := mustStartServer(t, d)
	// A new server's ledger holds the genesis entry and the installation of
	// the built-in policy sets; fill it up to fillSize.
	ts.mustAppend(t, fillSize-int(ts.ledgerSize(t)))
	ctx := context.Background()
	entry := func(i int64) []byte {
		e, err := ts.Ledger.Entry(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	auditor := bearer(auditorToken)

	t.Run("OK", func(t *testing.T) {
		root256, err := ts.Ledger.TreeHash(ctx, 256)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name  string
			path  string
			auth  string
			cache string
			// first and n: the leaves (or level-1 nodes) the data holds.
			first, n int64
			level    int
			bundle   bool
		}{
			{name: "full hash tile", path: "0/000", cache: "public, max-age=31536000, immutable", n: 256},
			{name: "full hash tile again", path: "0/000", cache: "public, max-age=31536000, immutable", n: 256},
			{name: "partial hash tile", path: "0/001.p/45", cache: "no-cache", first: 256, n: 45},
			{name: "narrower partial hash tile", path: "0/001.p/7", cache: "no-cache", first: 256, n: 7},
			{name: "prefix of a full hash tile", path: "0/000.p/3", cache: "no-cache", n: 3},
			{name: "level 1 partial tile", path: "1/000.p/1", cache: "no-cache", n: 1, level: 1},
			{name: "full entry bundle", path: "entries/000", auth: auditor, cache: "private, no-store", n: 256, bundle: true},
			{name: "partial entry bundle", path: "entries/001.p/45", auth: auditor, cache: "private, no-store", first: 256, n: 45, bundle: true},
		} {
			r := ts.send(t, request{method: "GET", path: "/ledger/tile/" + c.path, auth: c.auth})
			if r.status != http.StatusOK {
				t.Errorf("%s: status %d: %s", c.name, r.status, r.body)
				continue
			}
			if got := r.header.Get("Cache-Control"); got != c.cache {
				t.Errorf("%s: Cache-Control %q, want %q", c.name, got, c.cache)
			}
			if got := r.header.Get("Content-Type"); got != "application/octet-stream" {
				t.Errorf("%s: Content-Type %q", c.name, got)
			}
			checkSecurityHeaders(t, c.name, r)
			if c.bundle {
				entries, err := ledger.DecodeBundle(r.body)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if int64(len(entries)) != c.n {
					t.Fatalf("%s: %d entries, want %d", c.name, len(entries), c.n)
				}
				for i, e := range entries {
					if want := entry(c.first + int64(i)); !bytes.Equal(e, want) {
						t.Errorf("%s: entry %d is %s, want %s", c.name, c.first+int64(i), e, want)
					}
				}
				continue
			}
			if int64(len(r.body)) != c.n*tlog.HashSize {
				t.Fatalf("%s: %d bytes, want %d hashes", c.name, len(r.body), c.n)
			}
			for i := range c.n {
				want := tlog.RecordHash(entry(c.first + i))
				if c.level == 1 {
					want = root256
				}
				if got := r.body[i*tlog.HashSize : (i+1)*tlog.HashSize]; !bytes.Equal(got, want[:]) {
					t.Errorf("%s: hash %d differs", c.name, i)
				}
			}
		}
	})

	t.Run("OKCheckpoint", func(t *testing.T) {
		cp := ts.mustPublish(t)
		r := ts.send(t, request{method: "GET", path: "/ledger/checkpoint"})
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if got := r.header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("Cache-Control %q, want no-cache", got)
		}
		if got := r.header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type %q", got)
		}
		vs, err := ts.Ledger.Verifiers()
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := ledger.OpenCheckpoint(r.body, vs)
		if err != nil {
			t.Fatalf("open served checkpoint: %v", err)
		}
		if got != cp {
			t.Errorf("served checkpoint %+v, want %+v", got, cp)
		}
	})

	// msg is the text a 404 for a tile path explains itself with.
	beyond := func(kind, path string) string {
		return fmt.Sprintf("tile/%s is beyond the ledger's %d entries", path, fillSize)
	}
	bad := func(path, why string) string {
		return fmt.Sprintf("not a tlog-tiles path: %q: %s", "tile/"+path, why)
	}
	for _, c := range []struct {
		name    string
		path    string
		message string
	}{
		{name: "ErrFullTileBeyond", path: "0/001", message: beyond("tile", "0/001")},
		{name: "ErrPartialTileBeyond", path: "0/001.p/46", message: beyond("tile", "0/001.p/46")},
		{name: "ErrLevelBeyond", path: "1/000", message: beyond("tile", "1/000")},
		{name: "ErrLevel2Beyond", path: "2/000.p/1", message: beyond("tile", "2/000.p/1")},
		{name: "ErrFarBeyond", path: "0/x001/x234/067", message: beyond("tile", "0/x001/x234/067")},
		{name: "ErrBundleBeyond", path: "entries/001", message: beyond("entry bundle", "entries/001")},
		{name: "ErrPartialBundleBeyond", path: "entries/001.p/46", message: beyond("entry bundle", "entries/001.p/46")},
		// Indexes whose first entry (N·256) does not fit in 63 bits.
		{name: "ErrIndexOverflowsToZero", path: "0/x072/x057/x594/x037/x927/936", message: beyond("tile", "0/x072/x057/x594/x037/x927/936")},
		{name: "ErrIndexOverflowsNegative", path: "0/x072/x057/x594/x037/x927/935", message: beyond("tile", "0/x072/x057/x594/x037/x927/935")},
		{name: "ErrBundleIndexOverflowsToZero", path: "entries/x072/x057/x594/x037/x927/936.p/1", message: beyond("entry bundle", "entries/x072/x057/x594/x037/x927/936.p/1")},
		{name: "ErrBundleIndexOverflowsNegative", path: "entries/x072/x057/x594/x037/x927/935", message: beyond("entry bundle", "entries/x072/x057/x594/x037/x927/935")},
		{name: "ErrEmpty", path: "", message: bad("", "no tile index")},
		{name: "ErrNoIndex", path: "abc", message: bad("abc", "no tile index")},
		{name: "ErrShortIndex", path: "0/1", message: bad("0/1", "index elements must be three digits")},
		{name: "ErrLongIndex", path: "0/0000", message: bad("0/0000", "index elements must be three digits")},
		{name: "ErrLetters", path: "0/abc", message: bad("0/abc", "index elements must be three digits")},
		{name: "ErrNoX", path: "0/001/000", message: bad("0/001/000", "index elements other than the last must start with x")},
		{name: "ErrXLast", path: "0/x001", message: bad("0/x001", "index elements must be three digits")},
		{name: "ErrLeadingZeroElement", path: "0/x000/001", message: bad("0/x000/001", "index has a leading zero element")},
		{name: "ErrWidthZero", path: "0/000.p/0", message: bad("0/000.p/0", "partial width must be 1 to 255")},
		{name: "ErrWidthFull", path: "0/000.p/256", message: bad("0/000.p/256", "partial width must be 1 to 255")},
		{name: "ErrWidthPadded", path: "0/000.p/07", message: bad("0/000.p/07", "partial width must be 1 to 255")},
		{name: "ErrLevelTooHigh", path: "64/000", message: bad("64/000", "bad level")},
		{name: "ErrLevelPadded", path: "01/000", message: bad("01/000", "bad level")},
		{name: "ErrLevelNegative", path: "-1/000", message: bad("-1/000", "bad level")},
		{name: "ErrBundleLetters", path: "entries/abc", message: bad("entries/abc", "index elements must be three digits")},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.send(t, request{method: "GET", path: "/ledger/tile/" + c.path, auth: auditor})
			if r.status != http.StatusNotFound {
				t.Errorf("status %d, want 404: %.100q", r.status, string(r.body))
			}
			if got := r.header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if got := r.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if got := string(r.body); got != c.message+"\n" {
				t.Errorf("body:\n got %.200q\nwant %q", got, c.message+"\n")
			}
		})
	}
	t.Run("OKStillServing", func(t *testing.T) {
		// The bad paths above did not poison the tile cache or stop the
		// ledger.
		r := ts.send(t, request{method: "GET", path: "/ledger/tile/0/000"})
		want := tlog.RecordHash(entry(0))
		if r.status != http.StatusOK || !bytes.Equal(r.body[:tlog.HashSize], want[:]) {
			t.Errorf("tile 0/000 after the errors: status %d", r.status)
		}
		if err := ts.Ledger.Failed(); err != nil {
			t.Errorf("the ledger failed: %v", err)
		}
	})
}

// entryResponse is the answer of GET /api/v1/ledger/entries/{index}.
type entryResponse struct {
	Index          int64           `json:"index"`
	Entry          json.RawMessage `json:"entry"`
	RecordHash     string          `json:"record_hash"`
	TreeSize       int64           `json:"tree_size"`
	RootHash       string          `json:"root_hash"`
	InclusionProof []string        `json:"inclusion_proof"`
	Checkpoint     *struct {
		Origin   string `json:"origin"`
		Size     int64  `json:"size"`
		RootHash string `json:"root_hash"`
		Note     string `json:"note"`
	} `json:"checkpoint"`
}

func mustHash(tb testing.TB, s string) tlog.Hash {
	tb.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		tb.Fatalf("bad hash %q", s)
	}
	return tlog.Hash(b)
}

func mustHashes(tb testing.TB, ss []string) []tlog.Hash {
	tb.Helper()
	var hs []tlog.Hash
	for _, s := range ss {
		hs = append(hs, mustHash(tb, s))
	}
	return hs
}

func TestAPI_LedgerEntry(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testLedgerEntry(t, d) })
	}
}

func testLedgerEntry(t *testing.T, d store.Dialect) {
	ts := mustStartServer(t, d)
	ts.mustAppend(t, 40)
	ctx := context.Background()
	auditor := bearer(auditorToken)
	vs, err := ts.Ledger.Verifiers()
	if err != nil {
		t.Fatal(err)
	}

	// check verifies an answer: the entry is the stored one, and its proof
	// leads to root_hash.
	check := func(t *testing.T, index int64, got entryResponse) {
		t.Helper()
		stored, err := ts.Ledger.Entry(ctx, index)
		if err != nil {
			t.Fatal(err)
		}
		if got.Index != index {
			t.Errorf("index %d, want %d", got.Index, index)
		}
		// The entry is the canonical JSON, indented: its compact form is
		// the leaf, so a client can check record_hash itself.
		var compact bytes.Buffer
		if err := json.Compact(&compact, got.Entry); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(compact.Bytes(), stored) {
			t.Errorf("entry %d:\n got %s\nwant %s", index, compact.Bytes(), stored)
		}
		rh := mustHash(t, got.RecordHash)
		if rh != tlog.RecordHash(compact.Bytes()) {
			t.Errorf("record_hash is not the leaf hash of the entry served")
		}
		root := mustHash(t, got.RootHash)
		if err := tlog.CheckRecord(mustHashes(t, got.InclusionProof), got.TreeSize, root, index, rh); err != nil {
			t.Errorf("inclusion proof of %d in %d: %v", index, got.TreeSize, err)
		}
		if want, err := ts.Ledger.TreeHash(ctx, got.TreeSize); err != nil || want != root {
			t.Errorf("root_hash is not the tree hash of size %d (%v)", got.TreeSize, err)
		}
	}

	t.Run("OK", func(t *testing.T) {
		cp := ts.mustPublish(t)
		var got entryResponse
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/ledger/entries/5", auth: auditor}, http.StatusOK, &got)
		check(t, 5, got)
		if got.TreeSize != cp.Size || got.Checkpoint == nil || got.Checkpoint.Size != cp.Size {
			t.Fatalf("proof against size %d, checkpoint %+v; want the latest checkpoint, size %d", got.TreeSize, got.Checkpoint, cp.Size)
		}
		signed, _, err := ledger.OpenCheckpoint([]byte(got.Checkpoint.Note), vs)
		if err != nil {
			t.Fatalf("the checkpoint's note does not verify: %v", err)
		}
		if signed != cp || got.Checkpoint.RootHash != got.RootHash || got.Checkpoint.Origin != storetest.Origin {
			t.Errorf("checkpoint %+v does not match the proof's root", got.Checkpoint)
		}
	})

	t.Run("OKPublishesWhenUncovered", func(t *testing.T) {
		old := ts.mustPublish(t)
		ts.mustAppend(t, 3)
		last := ts.ledgerSize(t) - 1
		var got entryResponse
		ts.mustJSON(t, request{method: "GET", path: fmt.Sprintf("/api/v1/ledger/entries/%d", last), auth: auditor}, http.StatusOK, &got)
		check(t, last, got)
		if got.TreeSize <= last || got.TreeSize <= old.Size || got.Checkpoint == nil {
			t.Fatalf("tree_size %d for entry %d (old checkpoint %d)", got.TreeSize, last, old.Size)
		}
		if _, _, err := ledger.OpenCheckpoint([]byte(got.Checkpoint.Note), vs); err != nil {
			t.Errorf("new checkpoint: %v", err)
		}
		latest, _, err := ts.Ledger.Latest(ctx)
		if err != nil || latest.Size != got.TreeSize {
			t.Errorf("the published checkpoint is not the latest: %+v (%v)", latest, err)
		}
	})

	t.Run("OKTreeSize", func(t *testing.T) {
		var got entryResponse
		ts.mustJSON(t, request{method: "GET", path: "/api/v1/ledger/entries/3?tree_size=10", auth: auditor}, http.StatusOK, &got)
		check(t, 3, got)
		if got.TreeSize != 10 || got.Checkpoint != nil {
			t.Errorf("tree_size %d, checkpoint %v; want 10 and none", got.TreeSize, got.Checkpoint)
		}
	})

	t.Run("OKEntryWithMarkup", func(t *testing.T) {
		// Characters JSON encoders like to escape (<, >, &) must reach the
		// client as the ledger holds them, or the entry no longer hashes
		// to its leaf.
		var put struct {
			LedgerIndex int64 `json:"ledger_index"`
		}
		ts.mustJSON(t, request{method: "PUT", path: "/api/v1/settings/organization_name", auth: bearer(adminToken),
			body: `{"value": "R&D <Oversight> Office"}`}, http.StatusOK, &put)
		var got entryResponse
		ts.mustJSON(t, request{method: "GET", path: fmt.Sprintf("/api/v1/ledger/entries/%d", put.LedgerIndex), auth: auditor}, http.StatusOK, &got)
		check(t, put.LedgerIndex, got)
		if !bytes.Contains(got.Entry, []byte("R&D <Oversight> Office")) {
			t.Errorf("entry %s does not hold the value verbatim", got.Entry)
		}
	})

	for _, c := range []struct {
		name    string
		path    string
		status  int
		code    string
		message string // %d is the ledger size
	}{
		{name: "ErrBeyond", path: "100000", status: 404, code: "not_found", message: "ledger entry 100000 does not exist (the ledger has %d entries)"},
		{name: "ErrAtSize", path: "{size}", status: 404, code: "not_found", message: "ledger entry %[1]d does not exist (the ledger has %[1]d entries)"},
		{name: "ErrNotANumber", path: "abc", status: 400, code: "invalid", message: `the entry index must be a non-negative whole number, not "abc"`},
		{name: "ErrNegative", path: "-1", status: 400, code: "invalid", message: `the entry index must be a non-negative whole number, not "-1"`},
		{name: "ErrTooBig", path: "99999999999999999999", status: 400, code: "invalid", message: `the entry index must be a non-negative whole number, not "99999999999999999999"`},
		{name: "ErrTreeSizeNotANumber", path: "3?tree_size=abc", status: 400, code: "invalid", message: `tree_size must be a non-negative whole number, not "abc"`},
		{name: "ErrTreeSizeNegative", path: "3?tree_size=-4", status: 400, code: "invalid", message: `tree_size must be a non-negative whole number, not "-4"`},
		{name: "ErrTreeSizeTooSmall", path: "5?tree_size=5", status: 400, code: "invalid", message: "index 5 is not in a tree of size 5"},
		{name: "ErrTreeSizeBeyond", path: "3?tree_size=100000", status: 404, code: "not_found", message: "the ledger has %d entries, not 100000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			size := ts.ledgerSize(t)
			path := strings.ReplaceAll(c.path, "{size}", fmt.Sprint(size))
			r := ts.send(t, request{method: "GET", path: "/api/v1/ledger/entries/" + path, auth: auditor})
			if r.status != c.status {
				t.Errorf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			want := c.message
			if strings.Contains(want, "%") {
				want = fmt.Sprintf(want, size)
			}
			if msg := checkJSONError(t, r, c.code); msg != want {
				t.Errorf("message:\n got %q\nwant %q", msg, want)
			}
			checkSecurityHeaders(t, c.name, r)
		})
	}
}

// consistencyResponse is the answer of GET /api/v1/ledger/consistency.
type consistencyResponse struct {
	From     int64    `json:"from"`
	To       int64    `json:"to"`
	FromRoot string   `json:"from_root"`
	ToRoot   string   `json:"to_root"`
	Proof    []string `json:"proof"`
}

func TestAPI_LedgerConsistency(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testLedgerConsistency(t, d) })
	}
}

func testLedgerConsistency(t *testing.T, d store.Dialect) {
	ts := mustStartServer(t, d)
	ts.mustAppend(t, 300-int(ts.ledgerSize(t))) // a new server's entries and more
	cp := ts.mustPublish(t)                     // 300 entries
	ts.mustAppend(t, 20)                        // 320, beyond the checkpoint
	ctx := context.Background()

	for _, c := range []struct {
		name     string
		query    string
		from, to int64
	}{
		{name: "OK", query: "from=17&to=300", from: 17, to: 300},
		{name: "OKTileBoundary", query: "from=256&to=257", from: 256, to: 257},
		{name: "OKBeyondCheckpoint", query: "from=300&to=320", from: 300, to: 320},
		{name: "OKDefaultToLatestCheckpoint", query: "from=1", from: 1, to: cp.Size},
		{name: "OKSameSize", query: "from=42&to=42", from: 42, to: 42},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got consistencyResponse
			ts.mustJSON(t, request{method: "GET", path: "/api/v1/ledger/consistency?" + c.query}, http.StatusOK, &got)
			if got.From != c.from || got.To != c.to {
				t.Fatalf("from %d to %d, want %d to %d", got.From, got.To, c.from, c.to)
			}
			fromRoot, toRoot := mustHash(t, got.FromRoot), mustHash(t, got.ToRoot)
			for size, root := range map[int64]tlog.Hash{c.from: fromRoot, c.to: toRoot} {
				if want, err := ts.Ledger.TreeHash(ctx, size); err != nil || want != root {
					t.Errorf("root of %d is not the tree hash (%v)", size, err)
				}
			}
			proof := mustHashes(t, got.Proof)
			if err := tlog.CheckTree(proof, c.to, toRoot, c.from, fromRoot); err != nil {
				t.Errorf("proof does not verify: %v", err)
			}
			if c.from != c.to {
				// The proof is not vacuous: it fails against another root.
				if err := tlog.CheckTree(proof, c.to, toRoot, c.from, tlog.Hash{1}); err == nil {
					t.Error("the proof verifies a wrong root")
				}
			}
		})
	}

	for _, c := range []struct {
		name    string
		query   string
		status  int
		code    string
		message string
	}{
		{name: "ErrNoFrom", query: "", status: 400, code: "invalid", message: "from is required"},
		{name: "ErrOnlyTo", query: "to=5", status: 400, code: "invalid", message: "from is required"},
		{name: "ErrFromNotANumber", query: "from=abc", status: 400, code: "invalid", message: `from must be a non-negative whole number, not "abc"`},
		{name: "ErrFromFraction", query: "from=1.5", status: 400, code: "invalid", message: `from must be a non-negative whole number, not "1.5"`},
		{name: "ErrFromNegative", query: "from=-3", status: 400, code: "invalid", message: `from must be a non-negative whole number, not "-3"`},
		{name: "ErrFromZero", query: "from=0&to=5", status: 400, code: "invalid", message: "a consistency proof needs 1 ≤ from ≤ to; got from=0 to=5"},
		{name: "ErrFromAfterTo", query: "from=10&to=5", status: 400, code: "invalid", message: "a consistency proof needs 1 ≤ from ≤ to; got from=10 to=5"},
		{name: "ErrFromAfterCheckpoint", query: "from=310", status: 400, code: "invalid", message: "a consistency proof needs 1 ≤ from ≤ to; got from=310 to=300"},
		{name: "ErrToNotANumber", query: "from=1&to=x", status: 400, code: "invalid", message: `to must be a non-negative whole number, not "x"`},
		{name: "ErrToBeyond", query: "from=1&to=321", status: 404, code: "not_found", message: "the ledger has 320 entries, not 321"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.send(t, request{method: "GET", path: "/api/v1/ledger/consistency?" + c.query})
			if r.status != c.status {
				t.Errorf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if msg := checkJSONError(t, r, c.code); msg != c.message {
				t.Errorf("message:\n got %q\nwant %q", msg, c.message)
			}
		})
	}
}

func TestAPI_LedgerInfo(t *testing.T) {
	ts := mustStartServer(t, store.SQLite)
	ts.mustAppend(t, 10-int(ts.ledgerSize(t))) // a new server's entries and more: 10
	cp := ts.mustPublish(t)
	ts.mustAppend(t, 2)
	var got struct {
		Origin       string   `json:"origin"`
		Size         int64    `json:"size"`
		VerifierKeys []string `json:"verifier_keys"`
		Checkpoint   struct {
			Size int64  `json:"size"`
			Note string `json:"note"`
		} `json:"checkpoint"`
	}
	ts.mustJSON(t, request{method: "GET", path: "/api/v1/ledger"}, http.StatusOK, &got)
	t.Run("OK", func(t *testing.T) {
		if got.Origin != storetest.Origin || got.Size != 12 || got.Checkpoint.Size != cp.Size {
			t.Errorf("origin %q size %d checkpoint %d; want %q, 12, %d", got.Origin, got.Size, got.Checkpoint.Size, storetest.Origin, cp.Size)
		}
		if !slices.Equal(got.VerifierKeys, ts.Ledger.KnownKeys()) || len(got.VerifierKeys) != 1 {
			t.Errorf("verifier_keys %q, want %q", got.VerifierKeys, ts.Ledger.KnownKeys())
		}
		vs, _, err := ledger.ParseVerifiers(strings.Join(got.VerifierKeys, "\n"))
		if err != nil {
			t.Fatal(err)
		}
		if c, _, err := ledger.OpenCheckpoint([]byte(got.Checkpoint.Note), vs); err != nil || c != cp {
			t.Errorf("the checkpoint does not verify with the keys served: %+v, %v", c, err)
		}
	})
}
