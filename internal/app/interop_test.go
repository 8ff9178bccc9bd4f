package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
	"github.com/probity-dev/probity/internal/store/storetest"
)

// TestServer_TesseraClient verifies a served ledger with the
// transparency-dev client libraries only, as a third party that knows
// nothing about Probity would: the C2SP tlog-checkpoint, tlog-tiles hash
// tiles and entry bundles, RFC 6962 inclusion and consistency proofs.
func TestServer_TesseraClient(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) { testTesseraClient(t, d) })
	}
}

// Sizes of the ledger at the two checkpoints: the installation's first
// entries plus audited writes. The first is one full tile and a partial one; the second
// two full tiles and a partial one.
const (
	interopSize1 = 300
	interopSize2 = 530
)

func testTesseraClient(t *testing.T, d store.Dialect) {
	ts := startServer(t, testConfig(t, d))
	ctx := context.Background()
	hasher := rfc6962.DefaultHasher

	writeSettingsUntil(t, ts, interopSize1)
	cp1JSON := publishCheckpoint(t, ts)
	if cp1JSON.Size != interopSize1 {
		t.Fatalf("checkpoint size %d, want %d", cp1JSON.Size, interopSize1)
	}

	// The verifier key, as a third party gets it.
	var info struct {
		Origin       string   `json:"origin"`
		VerifierKeys []string `json:"verifier_keys"`
	}
	getJSON(t, ts, "/api/v1/ledger", "", &info)
	if len(info.VerifierKeys) != 1 || !slices.Equal(info.VerifierKeys, ts.Ledger.KnownKeys()) {
		t.Fatalf("verifier_keys %q, want the ledger's %q", info.VerifierKeys, ts.Ledger.KnownKeys())
	}
	if info.Origin != storetest.Origin {
		t.Fatalf("origin %q", info.Origin)
	}
	verifier, err := note.NewVerifier(info.VerifierKeys[0])
	if err != nil {
		t.Fatal(err)
	}

	public := newFetcher(t, ts, "")
	auditor := newFetcher(t, ts, auditorToken)
	admin := newFetcher(t, ts, adminToken)

	cp1, cp1Raw, n, err := client.FetchCheckpoint(ctx, public.ReadCheckpoint, verifier, storetest.Origin)
	if err != nil {
		t.Fatalf("FetchCheckpoint: %v", err)
	}
	size := cp1.Size

	t.Run("OKCheckpoint", func(t *testing.T) {
		if cp1.Origin != storetest.Origin || size != interopSize1 || base64.StdEncoding.EncodeToString(cp1.Hash) != cp1JSON.RootHash {
			t.Errorf("checkpoint %s/%d/%x, want the one published: %+v", cp1.Origin, size, cp1.Hash, cp1JSON)
		}
		if string(cp1Raw) != cp1JSON.Note {
			t.Errorf("served checkpoint differs from the one published:\n%s\n%s", cp1Raw, cp1JSON.Note)
		}
		if len(n.Sigs) != 1 || n.Sigs[0].Name != storetest.Origin || n.Sigs[0].Hash != verifier.KeyHash() {
			t.Errorf("signatures %+v", n.Sigs)
		}
		// The note in the JSON API's answer is the same signed checkpoint.
		parsed, rest, _, err := log.ParseCheckpoint([]byte(cp1JSON.Note), storetest.Origin, verifier)
		if err != nil {
			t.Fatalf("parse the API's checkpoint note: %v", err)
		}
		if parsed.Size != size || !bytes.Equal(parsed.Hash, cp1.Hash) || len(rest) != 0 {
			t.Errorf("the API's checkpoint is %d/%x (extra %q), want %d/%x", parsed.Size, parsed.Hash, rest, size, cp1.Hash)
		}
	})

	t.Run("ErrCheckpointWrongKey", func(t *testing.T) {
		// The checks above are not vacuous: another key of the same name,
		// or another origin, is refused.
		_, vkey, err := note.GenerateKey(rand.Reader, storetest.Origin)
		if err != nil {
			t.Fatal(err)
		}
		other, err := note.NewVerifier(vkey)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := client.FetchCheckpoint(ctx, public.ReadCheckpoint, other, storetest.Origin); err == nil {
			t.Error("the checkpoint verified with another key")
		}
		if _, _, _, err := client.FetchCheckpoint(ctx, public.ReadCheckpoint, verifier, "other.example/log"); err == nil {
			t.Error("the checkpoint verified for another origin")
		}
	})

	// Every entry, from the entry bundles.
	entries := fetchEntries(t, auditor, size)

	t.Run("OKEntryBundles", func(t *testing.T) {
		for i, e := range entries {
			var got struct {
				Entry      json.RawMessage `json:"entry"`
				RecordHash string          `json:"record_hash"`
			}
			getJSON(t, ts, fmt.Sprintf("/api/v1/ledger/entries/%d", i), auditorToken, &got)
			var compact bytes.Buffer
			if err := json.Compact(&compact, got.Entry); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(compact.Bytes(), e) {
				t.Errorf("entry %d: bundle has %s, the API %s", i, e, compact.Bytes())
			}
			if got.RecordHash != base64.StdEncoding.EncodeToString(hasher.HashLeaf(e)) {
				t.Errorf("entry %d: record_hash %s is not the RFC 6962 leaf hash", i, got.RecordHash)
			}
			var ent ledger.Entry
			if err := json.Unmarshal(e, &ent); err != nil || ent.Seq != int64(i) {
				t.Errorf("entry %d: seq %d (%v)", i, ent.Seq, err)
			}
		}
	})

	t.Run("OKLeafHashes", func(t *testing.T) {
		hashes, err := client.FetchLeafHashes(ctx, public.ReadTile, 0, size, size)
		if err != nil {
			t.Fatalf("FetchLeafHashes: %v", err)
		}
		if uint64(len(hashes)) != size {
			t.Fatalf("%d leaf hashes, want %d", len(hashes), size)
		}
		for i, h := range hashes {
			if !bytes.Equal(h, hasher.HashLeaf(entries[i])) {
				t.Errorf("leaf hash %d in the hash tile is not the hash of entry %d", i, i)
			}
		}
	})

	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, seed))

	t.Run("OKInclusion", func(t *testing.T) {
		pb, err := client.NewProofBuilder(ctx, size, public.ReadTile)
		if err != nil {
			t.Fatal(err)
		}
		indexes := []uint64{0, 1, 255, 256, size - 1}
		for range 25 {
			indexes = append(indexes, rng.Uint64N(size))
		}
		for _, i := range indexes {
			p, err := pb.InclusionProof(ctx, i)
			if err != nil {
				t.Fatalf("InclusionProof(%d): %v", i, err)
			}
			leaf := hasher.HashLeaf(entries[i])
			if err := proof.VerifyInclusion(hasher, i, size, leaf, p, cp1.Hash); err != nil {
				t.Errorf("entry %d: %v", i, err)
			}
			other := hasher.HashLeaf(entries[(i+1)%size])
			if err := proof.VerifyInclusion(hasher, i, size, other, p, cp1.Hash); err == nil {
				t.Errorf("entry %d: the proof also includes entry %d", i, (i+1)%size)
			}
			// The JSON API gives the same proof.
			var got struct {
				InclusionProof []string `json:"inclusion_proof"`
			}
			getJSON(t, ts, fmt.Sprintf("/api/v1/ledger/entries/%d?tree_size=%d", i, size), auditorToken, &got)
			if !slices.Equal(got.InclusionProof, b64s(p)) {
				t.Errorf("entry %d: the API's proof %q differs from the tiles' %q", i, got.InclusionProof, b64s(p))
			}
		}
	})

	// More audited writes, and a new checkpoint.
	writeSettingsUntil(t, ts, interopSize2)
	cp2JSON := publishCheckpoint(t, ts)
	cp2, cp2Raw, _, err := client.FetchCheckpoint(ctx, public.ReadCheckpoint, verifier, storetest.Origin)
	if err != nil {
		t.Fatalf("FetchCheckpoint: %v", err)
	}
	if cp2.Size != interopSize2 || string(cp2Raw) != cp2JSON.Note {
		t.Fatalf("second checkpoint size %d, want %d", cp2.Size, interopSize2)
	}

	t.Run("OKConsistency", func(t *testing.T) {
		pb, err := client.NewProofBuilder(ctx, cp2.Size, public.ReadTile)
		if err != nil {
			t.Fatal(err)
		}
		p, err := pb.ConsistencyProof(ctx, cp1.Size, cp2.Size)
		if err != nil {
			t.Fatalf("ConsistencyProof: %v", err)
		}
		if err := proof.VerifyConsistency(hasher, cp1.Size, cp2.Size, p, cp1.Hash, cp2.Hash); err != nil {
			t.Errorf("checkpoints %d and %d are not consistent: %v", cp1.Size, cp2.Size, err)
		}
		forged := bytes.Clone(cp1.Hash)
		forged[0] ^= 1
		if err := proof.VerifyConsistency(hasher, cp1.Size, cp2.Size, p, forged, cp2.Hash); err == nil {
			t.Error("the proof is consistent with a forged old root")
		}
		var got struct {
			Proof []string `json:"proof"`
		}
		getJSON(t, ts, fmt.Sprintf("/api/v1/ledger/consistency?from=%d&to=%d", cp1.Size, cp2.Size), "", &got)
		if !slices.Equal(got.Proof, b64s(p)) {
			t.Errorf("the API's proof %q differs from the tiles' %q", got.Proof, b64s(p))
		}

		// New entries are included in the new checkpoint, old ones still.
		newEntries := fetchEntries(t, auditor, cp2.Size)
		if !slices.EqualFunc(newEntries[:size], entries, bytes.Equal) {
			t.Error("entries of the first checkpoint changed")
		}
		for _, i := range []uint64{0, size - 1, size, 511, 512, cp2.Size - 1, rng.Uint64N(cp2.Size)} {
			ip, err := pb.InclusionProof(ctx, i)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(hasher, i, cp2.Size, hasher.HashLeaf(newEntries[i]), ip, cp2.Hash); err != nil {
				t.Errorf("entry %d in %d: %v", i, cp2.Size, err)
			}
		}

		// A log monitor that saw the first checkpoint accepts the second.
		lst, err := client.NewLogStateTracker(ctx, public.ReadTile, cp1Raw, verifier, storetest.Origin, client.UnilateralConsensus(public.ReadCheckpoint))
		if err != nil {
			t.Fatalf("NewLogStateTracker: %v", err)
		}
		old, _, latest, err := lst.Update(ctx)
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if !bytes.Equal(old, cp1Raw) || !bytes.Equal(latest, cp2Raw) || lst.Latest().Size != cp2.Size {
			t.Errorf("the tracker moved to size %d, want %d", lst.Latest().Size, cp2.Size)
		}
	})

	t.Run("ErrEntryBundleWithoutAuditor", func(t *testing.T) {
		for _, c := range []struct {
			name    string
			fetcher *client.HTTPFetcher
			status  string
		}{
			{name: "anonymous", fetcher: public, status: ": 401"},
			{name: "administrator", fetcher: admin, status: ": 403"},
		} {
			for _, bundle := range []uint64{0, cp2.Size / 256} { // a full and a partial bundle
				_, err := client.GetEntryBundle(ctx, c.fetcher.ReadEntryBundle, bundle, cp2.Size)
				if err == nil {
					t.Errorf("%s fetched entry bundle %d", c.name, bundle)
					continue
				}
				if !strings.Contains(err.Error(), c.status) {
					t.Errorf("%s, bundle %d: %v, want status%s", c.name, bundle, err, c.status)
				}
			}
		}
		// The auditor's fetcher gets the same bundles (positive control).
		for _, bundle := range []uint64{0, cp2.Size / 256} {
			if _, err := client.GetEntryBundle(ctx, auditor.ReadEntryBundle, bundle, cp2.Size); err != nil {
				t.Errorf("auditor, bundle %d: %v", bundle, err)
			}
		}
	})
}

// newFetcher returns a tessera fetcher of the server's ledger, sending
// token if it is not empty.
func newFetcher(t *testing.T, ts *testServer, token string) *client.HTTPFetcher {
	t.Helper()
	root, err := url.Parse(ts.URL + "ledger/")
	if err != nil {
		t.Fatal(err)
	}
	f, err := client.NewHTTPFetcher(root, &http.Client{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		f.SetAuthorizationHeader("Bearer " + token)
	}
	return f
}

// fetchEntries returns the first size entries from the entry bundles.
func fetchEntries(t *testing.T, f *client.HTTPFetcher, size uint64) [][]byte {
	t.Helper()
	var entries [][]byte
	for b := uint64(0); b*layout.EntryBundleWidth < size; b++ {
		bundle, err := client.GetEntryBundle(context.Background(), f.ReadEntryBundle, b, size)
		if err != nil {
			t.Fatalf("GetEntryBundle(%d): %v", b, err)
		}
		want := min(size-b*layout.EntryBundleWidth, layout.EntryBundleWidth)
		if uint64(len(bundle.Entries)) != want {
			t.Fatalf("entry bundle %d has %d entries, want %d", b, len(bundle.Entries), want)
		}
		entries = append(entries, bundle.Entries...)
	}
	return entries
}

// writeSettings makes n audited changes of settings, alternating settings
// and values, and checks that they are recorded at the ledger indexes from
// first on.
// writeSettingsUntil makes audited writes until the ledger holds size
// entries, checking that each lands at the next index.
func writeSettingsUntil(t *testing.T, ts *testServer, size int) {
	t.Helper()
	next := int64(-1)
	for k := 0; next < int64(size); k++ {
		var name, value string
		switch k % 4 {
		case 0:
			// Characters JSON encoders like to escape.
			name, value = "organization_name", fmt.Sprintf(`"Dept <%d> & Co"`, k)
		case 1:
			name, value = "result_retention_days", fmt.Sprint(1+k%3650)
		case 2:
			name, value = "closed_case_grace_days", fmt.Sprint(k%3650)
		case 3:
			name, value = "checkpoint_interval_seconds", fmt.Sprint(3000+k%600)
		}
		status, body := ts.do(t, "PUT", "/api/v1/settings/"+name, adminToken, `{"value": `+value+`}`)
		if status != http.StatusOK {
			t.Fatalf("PUT %s = %s: %d %s", name, value, status, body)
		}
		var resp struct {
			LedgerIndex int64 `json:"ledger_index"`
		}
		if err := json.Unmarshal([]byte(body), &resp); err != nil {
			t.Fatal(err)
		}
		if next >= 0 && resp.LedgerIndex != next {
			t.Fatalf("change %d recorded at ledger index %d, want %d", k, resp.LedgerIndex, next)
		}
		next = resp.LedgerIndex + 1
	}
}

// checkpointJSON is the API's checkpoint.
type checkpointJSON struct {
	Origin   string `json:"origin"`
	Size     int64  `json:"size"`
	RootHash string `json:"root_hash"`
	Note     string `json:"note"`
}

// publishCheckpoint asks for a checkpoint as the auditor.
func publishCheckpoint(t *testing.T, ts *testServer) checkpointJSON {
	t.Helper()
	status, body := ts.do(t, "POST", "/api/v1/ledger/checkpoint", auditorToken, "")
	if status != http.StatusOK {
		t.Fatalf("publish checkpoint: %d %s", status, body)
	}
	var cp checkpointJSON
	if err := json.Unmarshal([]byte(body), &cp); err != nil {
		t.Fatal(err)
	}
	return cp
}

func getJSON(t *testing.T, ts *testServer, path, token string, v any) {
	t.Helper()
	status, body := ts.do(t, "GET", path, token, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func b64s(hs [][]byte) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h)
	}
	return out
}

// TestTilePath_String checks that Probity names tiles and entry bundles
// exactly as the transparency-dev libraries do, and parses their names.
func TestTilePath_String(t *testing.T) {
	indexes := []uint64{0, 1, 9, 10, 99, 100, 255, 256, 999, 1000, 1001, 9999, 999999, 1000000, 1234067, 1 << 32, 1<<40 + 7, 1<<55 - 2}
	widths := []uint8{0, 1, 17, 128, 255} // 0: a full tile
	t.Run("OK", func(t *testing.T) {
		checked := 0
		for _, index := range indexes {
			for _, p := range widths {
				w := int(p)
				if p == 0 {
					w = ledger.TileWidth
				}
				for _, level := range []uint64{0, 1, 2, 5, 63} {
					tp := ledger.TilePath{Level: int(level), Index: int64(index), Width: w}
					checkTilePath(t, tp, layout.TilePath(level, index, p))
					checked++
					l, i, gotP, err := layout.ParseTileLevelIndexPartial(fmt.Sprint(level), strings.TrimPrefix(tp.String(), fmt.Sprintf("tile/%d/", level)))
					if err != nil || l != level || i != index || gotP != p {
						t.Errorf("tessera parses %s as %d/%d/%d (%v)", tp, l, i, gotP, err)
					}
				}
				tp := ledger.TilePath{Entries: true, Index: int64(index), Width: w}
				checkTilePath(t, tp, layout.EntriesPath(index, p))
				checked++
			}
		}
		if want := len(indexes) * len(widths) * 6; checked != want {
			t.Errorf("checked %d paths, want %d", checked, want)
		}
	})
	t.Run("OKExamples", func(t *testing.T) {
		// The C2SP tlog-tiles examples.
		for _, c := range []struct {
			name string
			tp   ledger.TilePath
			want string
		}{
			{name: "spec example", tp: ledger.TilePath{Index: 1234067, Width: ledger.TileWidth}, want: "tile/0/x001/x234/067"},
			{name: "spec partial", tp: ledger.TilePath{Index: 1234067, Width: 8}, want: "tile/0/x001/x234/067.p/8"},
			{name: "first bundle", tp: ledger.TilePath{Entries: true, Width: ledger.TileWidth}, want: "tile/entries/000"},
			{name: "thousandth", tp: ledger.TilePath{Level: 1, Index: 1000, Width: 3}, want: "tile/1/x001/000.p/3"},
		} {
			if got := c.tp.String(); got != c.want {
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}
	})
}

// checkTilePath checks that tp formats as tessera's path want, and that
// Probity parses want back to tp.
func checkTilePath(t *testing.T, tp ledger.TilePath, want string) {
	t.Helper()
	if got := tp.String(); got != want {
		t.Errorf("%+v formats as %q, tessera as %q", tp, got, want)
	}
	parsed, err := ledger.ParseTilePath(want)
	if err != nil {
		t.Errorf("parse %q: %v", want, err)
	} else if parsed != tp {
		t.Errorf("parse %q = %+v, want %+v", want, parsed, tp)
	}
}
