package ledger

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A Row is one stored ledger record as the store keeps it.
type Row struct {
	Index  int64
	Entry  []byte
	Hashes []byte // the record's stored hashes ([tlog.StoredHashes]), concatenated
	MAC    []byte
}

// A Problem is the first discrepancy verification found.
type Problem struct {
	// Index is the first record index known to be bad, or -1 when the
	// problem is not tied to a record (a bad checkpoint signature, say).
	Index  int64
	Reason string
}

func (p *Problem) Error() string {
	if p.Index < 0 {
		return p.Reason
	}
	return fmt.Sprintf("index %d: %s", p.Index, p.Reason)
}

// A Report is the outcome of a verification.
type Report struct {
	Entries        int64      // records checked
	Root           tlog.Hash  // root over all records checked
	Checkpoints    int        // signed checkpoints whose signature and root were checked
	Latest         Checkpoint // the latest checkpoint checked
	Unsigned       int64      // records after the latest checkpoint
	EntriesChecked bool       // whether entry contents were checked, not just hashes
	MACsChecked    bool       // whether record MACs were checked
	Problem        *Problem   // the first discrepancy; nil when all is well
}

// OK reports whether verification found nothing wrong.
func (r *Report) OK() bool { return r.Problem == nil }

// VerifyOptions says what to verify against.
type VerifyOptions struct {
	// Verifiers check checkpoint signatures. Required.
	Verifiers note.Verifiers
	// Origin, when set, is the origin every checkpoint must name.
	Origin string
	// Checkpoints are the signed checkpoints the log has published, in any
	// order; each one's signature and root are checked.
	Checkpoints [][]byte
	// Saved is an earlier checkpoint kept by the verifier; the ledger must
	// be consistent with it. Optional.
	Saved []byte
	// MAC, when set, checks every record's MAC.
	MAC MACKey
	// Progress, when set, is called from time to time with the number of
	// records checked so far.
	Progress func(done int64)
}

type checkpointCheck struct {
	cp   Checkpoint
	what string
}

// VerifyRows checks a ledger from its stored records, in index order:
// every record's hashes are recomputed and compared with the stored ones,
// every entry is decoded and its sequence number checked, MACs are checked
// when a MAC key is given, and every signed checkpoint (and the saved one)
// must match the root recomputed at its size.
func VerifyRows(ctx context.Context, rows iter.Seq2[Row, error], opts VerifyOptions) (Report, error) {
	rep := Report{EntriesChecked: true, MACsChecked: opts.MAC != nil}
	checks, latest, prob := openCheckpoints(opts)
	if prob != nil {
		rep.Problem = prob
		return rep, nil
	}
	rep.Latest = latest
	at := rootsWanted(checks)

	var tree Tree
	var roots = map[int64]tlog.Hash{0: tree.Root()}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// One goroutine reads, several hash and check entries (the costly part),
	// and this one appends to the tree in index order. Each batch goes to a
	// worker and, in read order, to this goroutine, which waits for it.
	workers := max(1, runtime.GOMAXPROCS(0))
	jobs := make(chan *rowBatch, workers)
	ordered := make(chan *rowBatch, 2*workers+2)
	var wg sync.WaitGroup
	var readErr error
	wg.Add(1)
	go func() { // read
		defer wg.Done()
		defer close(ordered)
		defer close(jobs)
		batch := make([]Row, 0, 512)
		send := func() bool {
			rb := &rowBatch{rows: batch, done: make(chan struct{})}
			batch = make([]Row, 0, 512)
			select {
			case jobs <- rb:
			case <-ctx.Done():
				return false
			}
			select {
			case ordered <- rb:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for r, err := range rows {
			if err != nil {
				readErr = err
				return
			}
			batch = append(batch, r)
			if len(batch) == cap(batch) && !send() {
				return
			}
		}
		if len(batch) > 0 {
			send()
		}
	}()
	for range workers {
		wg.Add(1)
		go func() { // hash and check
			defer wg.Done()
			var mac *macChecker
			if opts.MAC != nil {
				mac = opts.MAC.checker()
			}
			for rb := range jobs {
				rb.hashes = make([]tlog.Hash, len(rb.rows))
				rb.bad = make([]string, len(rb.rows))
				for i, r := range rb.rows {
					rb.hashes[i] = tlog.RecordHash(r.Entry)
					if !quickCheck(r.Entry, r.Index) {
						rb.bad[i] = checkEntry(r)
					}
					if rb.bad[i] == "" && mac != nil && !mac.check(r.Index, rb.hashes[i], r.MAC) {
						rb.bad[i] = "record MAC does not match: the record was not written by this ledger's writer at this index"
					}
				}
				close(rb.done)
			}
		}()
	}

	next := int64(0)
	for res := range ordered {
		<-res.done
		if rep.Problem != nil {
			continue // drain
		}
		for i, r := range res.rows {
			if r.Index != next {
				if r.Index > next {
					rep.Problem = &Problem{next, fmt.Sprintf("record missing (the next stored record is %d)", r.Index)}
				} else {
					rep.Problem = &Problem{r.Index, "record stored twice or out of order"}
				}
				break
			}
			if res.bad[i] != "" {
				rep.Problem = &Problem{r.Index, res.bad[i]}
				break
			}
			stored, err := tree.Append(res.hashes[i])
			if err != nil {
				return rep, err
			}
			if !equalHashes(r.Hashes, stored) {
				rep.Problem = &Problem{r.Index, describeHashMismatch(r.Hashes, stored)}
				break
			}
			next++
			if at[next] {
				roots[next] = tree.Root()
			}
			if opts.Progress != nil && next%65536 == 0 {
				opts.Progress(next)
			}
		}
		if rep.Problem != nil {
			cancel()
		}
	}
	wg.Wait()
	if readErr != nil && rep.Problem == nil {
		return rep, fmt.Errorf("read ledger records: %w", readErr)
	}
	if err := ctx.Err(); err != nil && rep.Problem == nil {
		return rep, err
	}
	rep.Entries = next
	rep.Root = tree.Root()
	if rep.Problem == nil {
		rep.Problem = compareRoots(checks, roots, next)
	}
	if rep.Problem == nil {
		rep.Checkpoints = len(checks)
		rep.Unsigned = next - latest.Size
	}
	if opts.Progress != nil {
		opts.Progress(next)
	}
	return rep, nil
}

// A rowBatch is a batch of rows, with their record hashes and problems
// once done is closed.
type rowBatch struct {
	rows   []Row
	hashes []tlog.Hash
	bad    []string
	done   chan struct{}
}

// equalHashes reports whether stored holds exactly the hashes hs.
func equalHashes(stored []byte, hs []tlog.Hash) bool {
	if len(stored) != len(hs)*tlog.HashSize {
		return false
	}
	for i, h := range hs {
		if !bytes.Equal(stored[i*tlog.HashSize:(i+1)*tlog.HashSize], h[:]) {
			return false
		}
	}
	return true
}

// checkEntry decodes a record's entry and checks that it names its index.
func checkEntry(r Row) string {
	en, err := Decode(r.Entry)
	if err != nil {
		return fmt.Sprintf("entry does not decode: %v", err)
	}
	if en.Seq != r.Index {
		return fmt.Sprintf("entry says it is number %d", en.Seq)
	}
	return ""
}

func describeHashMismatch(stored []byte, want []tlog.Hash) string {
	if len(stored) != len(want)*tlog.HashSize {
		return fmt.Sprintf("stored hashes have %d bytes, want %d", len(stored), len(want)*tlog.HashSize)
	}
	if !bytes.Equal(stored[:tlog.HashSize], want[0][:]) {
		return "stored record hash does not match the entry"
	}
	return "stored subtree hash does not match the hashes recomputed from the entries"
}

func hashBytes(hs []tlog.Hash) []byte {
	b := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// openCheckpoints verifies the signatures of the log's checkpoints and the
// saved one, and returns what must be checked against recomputed roots.
func openCheckpoints(opts VerifyOptions) ([]checkpointCheck, Checkpoint, *Problem) {
	var checks []checkpointCheck
	var latest Checkpoint
	if opts.Verifiers == nil {
		return nil, latest, &Problem{-1, "no verifier key"}
	}
	for i, msg := range opts.Checkpoints {
		cp, _, err := OpenCheckpoint(msg, opts.Verifiers)
		if err != nil {
			return nil, latest, &Problem{-1, fmt.Sprintf("stored checkpoint %d: %v", i, err)}
		}
		if opts.Origin != "" && cp.Origin != opts.Origin {
			return nil, latest, &Problem{-1, fmt.Sprintf("checkpoint of size %d names origin %q, not %q", cp.Size, cp.Origin, opts.Origin)}
		}
		checks = append(checks, checkpointCheck{cp, fmt.Sprintf("signed checkpoint of size %d", cp.Size)})
		if cp.Size >= latest.Size {
			latest = cp
		}
	}
	if opts.Saved != nil {
		cp, _, err := OpenCheckpoint(opts.Saved, opts.Verifiers)
		if err != nil {
			return nil, latest, &Problem{-1, fmt.Sprintf("saved checkpoint: %v", err)}
		}
		if latest.Origin != "" && cp.Origin != latest.Origin {
			return nil, latest, &Problem{-1, fmt.Sprintf("saved checkpoint is for origin %q, the ledger's is %q", cp.Origin, latest.Origin)}
		}
		checks = append(checks, checkpointCheck{cp, fmt.Sprintf("saved checkpoint of size %d", cp.Size)})
	}
	return checks, latest, nil
}

func rootsWanted(checks []checkpointCheck) map[int64]bool {
	at := map[int64]bool{}
	for _, c := range checks {
		at[c.cp.Size] = true
	}
	return at
}

// compareRoots checks each checkpoint against the root recomputed at its
// size. A mismatch means records before the checkpoint's size changed after
// it was signed; the first possibly bad index is the size of the largest
// earlier checkpoint that still matches.
func compareRoots(checks []checkpointCheck, roots map[int64]tlog.Hash, size int64) *Problem {
	slices.SortFunc(checks, func(a, b checkpointCheck) int { return cmp.Compare(a.cp.Size, b.cp.Size) })
	good := int64(0)
	for _, c := range checks {
		if c.cp.Size > size {
			return &Problem{size, fmt.Sprintf("the %s covers %d records but only %d are stored", c.what, c.cp.Size, size)}
		}
		if roots[c.cp.Size] != c.cp.Hash {
			return &Problem{good, fmt.Sprintf("the %s does not match the records: some record in [%d, %d) was changed after it was signed", c.what, good, c.cp.Size)}
		}
		good = c.cp.Size
	}
	return nil
}

// ErrUnauthorized is returned by a [TileSource] that is not allowed to read
// entry bundles.
var ErrUnauthorized = errors.New("not authorized")

// A TileSource serves a log in the C2SP tlog-tiles layout.
type TileSource interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level int, index int64, width int) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index int64, width int) ([]byte, error)
}

// VerifyTiles checks a log served in the C2SP tlog-tiles layout, as an
// outside auditor would: the checkpoint's signature; every entry bundle
// (when the source may read them), whose entries are hashed; every hash tile
// at every level, recomputed from the level below; and the root against the
// checkpoint and the saved one.
func VerifyTiles(ctx context.Context, src TileSource, opts VerifyOptions) (Report, error) {
	var rep Report
	msg, err := src.ReadCheckpoint(ctx)
	if err != nil {
		return rep, fmt.Errorf("read checkpoint: %w", err)
	}
	opts.Checkpoints = [][]byte{msg}
	checks, latest, prob := openCheckpoints(opts)
	if prob != nil {
		rep.Problem = prob
		return rep, nil
	}
	rep.Latest = latest
	at := rootsWanted(checks)
	roots := map[int64]tlog.Hash{}
	n := latest.Size
	rep.EntriesChecked = true

	var tree Tree
	roots[0] = tree.Root()
	// levels[l] collects the hashes of level l*8 subtrees as they complete,
	// to be compared with the served tile at level l.
	levels := make([][]tlog.Hash, 8)
	tileStart := make([]int64, 8) // first record covered by the pending tile at each level
	compare := func(l int, final bool) *Problem {
		hs := levels[l]
		if len(hs) == 0 || (!final && len(hs) < TileWidth) {
			return nil
		}
		idx := tileStart[l] >> (TileHeight * uint(l)) / TileWidth
		data, err := src.ReadTile(ctx, l, idx, len(hs))
		if err != nil {
			return &Problem{tileStart[l], fmt.Sprintf("read tile %s: %v", TilePath{Level: l, Index: idx, Width: len(hs)}, err)}
		}
		if len(data) != len(hs)*tlog.HashSize {
			return &Problem{tileStart[l], fmt.Sprintf("tile %s has %d bytes, want %d", TilePath{Level: l, Index: idx, Width: len(hs)}, len(data), len(hs)*tlog.HashSize)}
		}
		for i, h := range hs {
			if !bytes.Equal(data[i*tlog.HashSize:(i+1)*tlog.HashSize], h[:]) {
				first := tileStart[l] + int64(i)<<(TileHeight*uint(l))
				return &Problem{first, fmt.Sprintf("tile %s: hash %d does not match the hash recomputed from the entries", TilePath{Level: l, Index: idx, Width: len(hs)}, i)}
			}
		}
		tileStart[l] += int64(len(hs)) << (TileHeight * uint(l))
		levels[l] = levels[l][:0]
		return nil
	}

	for start := int64(0); start < n && rep.Problem == nil; start += TileWidth {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		w := int(min(TileWidth, n-start))
		var leaves []tlog.Hash
		if rep.EntriesChecked {
			bundle, err := src.ReadEntryBundle(ctx, start/TileWidth, w)
			switch {
			case errors.Is(err, ErrUnauthorized) && start == 0:
				rep.EntriesChecked = false
			case err != nil:
				return rep, fmt.Errorf("read entry bundle %d: %w", start/TileWidth, err)
			default:
				entries, err := DecodeBundle(bundle)
				if err != nil {
					rep.Problem = &Problem{start, err.Error()}
					break
				}
				if len(entries) != w {
					rep.Problem = &Problem{start + int64(min(len(entries), w)), fmt.Sprintf("entry bundle %d holds %d entries, want %d", start/TileWidth, len(entries), w)}
					break
				}
				for i, e := range entries {
					if bad := checkEntry(Row{Index: start + int64(i), Entry: e}); bad != "" {
						rep.Problem = &Problem{start + int64(i), bad}
						break
					}
					leaves = append(leaves, tlog.RecordHash(e))
				}
			}
		}
		if rep.Problem != nil {
			break
		}
		if !rep.EntriesChecked {
			// Without entries, take the level-0 tile as given and check
			// everything above it.
			data, err := src.ReadTile(ctx, 0, start/TileWidth, w)
			if err != nil {
				return rep, fmt.Errorf("read tile 0/%d: %w", start/TileWidth, err)
			}
			if len(data) != w*tlog.HashSize {
				rep.Problem = &Problem{start, fmt.Sprintf("tile 0/%d has %d bytes, want %d", start/TileWidth, len(data), w*tlog.HashSize)}
				break
			}
			for i := range w {
				leaves = append(leaves, tlog.Hash(data[i*tlog.HashSize:(i+1)*tlog.HashSize]))
			}
		}
		for _, h := range leaves {
			stored, err := tree.Append(h)
			if err != nil {
				return rep, err
			}
			first := 0
			if !rep.EntriesChecked {
				first = TileHeight // level 0 came from the tiles themselves
			}
			for lv := first; lv < len(stored); lv += TileHeight {
				levels[lv/TileHeight] = append(levels[lv/TileHeight], stored[lv])
			}
			if at[tree.Size()] {
				roots[tree.Size()] = tree.Root()
			}
			for l := range levels {
				if rep.Problem = compare(l, false); rep.Problem != nil {
					break
				}
			}
			if rep.Problem != nil {
				break
			}
		}
		if opts.Progress != nil {
			opts.Progress(tree.Size())
		}
	}
	for l := range levels {
		if rep.Problem == nil {
			rep.Problem = compare(l, true)
		}
	}
	rep.Entries = tree.Size()
	rep.Root = tree.Root()
	if rep.Problem == nil {
		rep.Problem = compareRoots(checks, roots, tree.Size())
	}
	if rep.Problem == nil {
		rep.Checkpoints = len(checks)
	}
	return rep, nil
}
