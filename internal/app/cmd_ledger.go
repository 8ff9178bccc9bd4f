package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/ledgerclient"
	"github.com/probity-dev/probity/internal/store"
)

const ledgerUsage = `Usage: probity ledger COMMAND [flags]

Commands:
  verify       recompute and check the whole ledger, locally or (-url) over HTTP
  checkpoint   publish a checkpoint now and print it (locally, or -url)
  proof        print and check the inclusion proof of an entry: proof INDEX
  consistency  print and check a consistency proof: consistency FROM [TO]
  pubkey       print the ledger's verifier key (signed-note format)
  rotate-key   replace the checkpoint signing key (server stopped)
`

func cmdLedger(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, ledgerUsage)
		return errUsage
	}
	rest := args[1:]
	switch args[0] {
	case "verify":
		return ledgerVerify(ctx, rest, getenv, stdout, stderr)
	case "checkpoint":
		return ledgerCheckpoint(ctx, rest, getenv, stdout, stderr)
	case "proof":
		return ledgerProof(ctx, rest, getenv, stdout, stderr)
	case "consistency":
		return ledgerConsistency(ctx, rest, getenv, stdout, stderr)
	case "pubkey":
		return ledgerPubkey(ctx, rest, getenv, stdout, stderr)
	case "rotate-key":
		return ledgerRotateKey(ctx, rest, getenv, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, ledgerUsage)
		return nil
	}
	fmt.Fprintf(stderr, "probity ledger: unknown command %q\n\n%s", args[0], ledgerUsage)
	return errUsage
}

// remoteToken returns the credential for a remote command: the bootstrap
// auditor or administrator token when configured, else the personal token
// "probity login" stored for that server.
func remoteToken(cfg Config, getenv Env, server string) string {
	switch {
	case cfg.AuditorToken != "":
		return cfg.AuditorToken
	case cfg.AdminToken != "":
		return cfg.AdminToken
	}
	return storedToken(getenv, server)
}

// openReadOnly opens the configured database and its ledger for reading.
func openReadOnly(ctx context.Context, cfg Config, stderr io.Writer) (*store.DB, *store.Ledger, error) {
	cfg.LogLevel = "warn"
	db, err := store.Open(ctx, store.Options{DSN: cfg.DB, ReadOnly: true, Logger: newLogger(cfg, stderr)})
	if err != nil {
		return nil, nil, err
	}
	l, err := store.OpenLedger(ctx, db, store.LedgerConfig{})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, l, nil
}

func ledgerVerify(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("ledger verify", "config", "data", "db", "ledger-key")
	remote := set.String("url", "", "verify the ledger served at this `URL`, as an outside auditor (entries need PROBITY_LEDGER_AUDITOR_TOKEN)")
	keyArg := set.String("key", "", "trusted verifier key(s): a key in signed-note format, or a `file` of them, one per line")
	saved := set.String("checkpoint", "", "an earlier checkpoint `file` the ledger must be consistent with")
	save := set.String("save-checkpoint", "", "after a successful verification, write the latest checkpoint to this `file`")
	asJSON := set.Bool("json", false, "print the report as JSON")
	receipt := set.String("receipt", "", "check a query receipt `file` (offline: needs only the verifier key, given with -key)")
	cfg, err := parse(set, flags, args, getenv, stderr)
	if err != nil {
		return err
	}
	if *receipt != "" {
		return verifyReceipt(ctx, *receipt, *keyArg, cfg, stdout)
	}
	var opts ledger.VerifyOptions
	if *saved != "" {
		if opts.Saved, err = os.ReadFile(*saved); err != nil {
			return &usageError{fmt.Sprintf("saved checkpoint: %v", err)}
		}
	}
	anchors, anchorSource, err := verifierAnchors(ctx, *keyArg, cfg, *remote == "")
	if err != nil {
		return err
	}
	progress := newProgress(stderr)
	opts.Progress = progress.report
	var rep ledger.Report
	if *remote != "" {
		c, err := ledgerclient.New(*remote, remoteToken(cfg, getenv, *remote))
		if err != nil {
			return &usageError{err.Error()}
		}
		if opts.Verifiers, _, err = ledger.ParseVerifiers(strings.Join(anchors, "\n")); err != nil {
			return err
		}
		rep, err = ledger.VerifyTiles(ctx, c, opts)
		if err != nil {
			return err
		}
	} else {
		db, l, err := openReadOnly(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer db.Close()
		if opts.Checkpoints, err = l.Checkpoints(ctx); err != nil {
			return err
		}
		if opts.Verifiers, _, err = ledger.TrustedVerifiers(anchors, l.KnownKeys(), opts.Checkpoints); err != nil {
			return err
		}
		opts.Origin = l.Origin()
		if keys, err := readKeys(cfg.KeyFile); err == nil {
			opts.MAC = keys.MAC
		}
		if rep, err = ledger.VerifyRows(ctx, l.AllRows(ctx), opts); err != nil {
			return err
		}
	}
	progress.done()
	if rep.OK() && *save != "" {
		msg, err := latestNote(ctx, cfg, *remote, stderr, rep.Latest)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*save, msg, 0o644); err != nil {
			return err
		}
	}
	printReport(stdout, rep, anchorSource, *asJSON)
	if !rep.OK() {
		return errReported
	}
	return nil
}

// verifyReceipt checks a receipt file against trusted verifier keys,
// without reading the ledger: a receipt carries its own proof.
func verifyReceipt(ctx context.Context, file, keyArg string, cfg Config, stdout io.Writer) error {
	b, err := readLimited(file, ledger.MaxReceiptSize)
	if err != nil {
		return &usageError{fmt.Sprintf("-receipt: %v", err)}
	}
	r, err := ledger.ParseReceipt(b)
	if err != nil {
		return &usageError{fmt.Sprintf("-receipt %s: %v", file, err)}
	}
	anchors, from, err := verifierAnchors(ctx, keyArg, cfg, false)
	if err != nil {
		return err
	}
	v, _, err := ledger.ParseVerifiers(strings.Join(anchors, "\n"))
	if err != nil {
		return err
	}
	en, cp, err := r.Verify(v)
	if err != nil {
		fmt.Fprintf(stdout, "receipt %s does NOT verify: %v\n", file, err)
		return errReported
	}
	fmt.Fprintf(stdout, "receipt OK: entry %d (%s by %s %s at %s", en.Seq, en.Type, en.Actor.Kind, en.Actor.ID, en.Time)
	if en.Subject != "" {
		fmt.Fprintf(stdout, ", %s", en.Subject)
	}
	fmt.Fprintf(stdout, ") is in ledger %s, checkpoint of %d entries (keys from %s)\n", cp.Origin, cp.Size, from)
	if en.Digest != "" {
		fmt.Fprintf(stdout, "the entry commits to a payload with digest %s\n", en.Digest)
	}
	return nil
}

// readLimited reads a file of at most max bytes.
func readLimited(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	return b, nil
}

// latestNote returns the signed note of the checkpoint a verification
// checked.
func latestNote(ctx context.Context, cfg Config, remote string, stderr io.Writer, cp ledger.Checkpoint) ([]byte, error) {
	if remote != "" {
		c, err := ledgerclient.New(remote, "")
		if err != nil {
			return nil, err
		}
		return c.ReadCheckpoint(ctx)
	}
	db, l, err := openReadOnly(ctx, cfg, stderr)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	cps, err := l.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	for _, msg := range cps {
		if c, err := ledger.CheckpointFromNote(msg); err == nil && c.Size == cp.Size {
			return msg, nil
		}
	}
	return nil, fmt.Errorf("the checkpoint of size %d is no longer stored", cp.Size)
}

// verifierAnchors returns the keys a verification trusts and where they
// came from: -key, else the local key file, else (local only, with a
// warning) the database itself.
func verifierAnchors(ctx context.Context, keyArg string, cfg Config, local bool) ([]string, string, error) {
	if keyArg != "" {
		text := keyArg
		if !strings.Contains(keyArg, "+") {
			b, err := os.ReadFile(keyArg)
			if err != nil {
				return nil, "", &usageError{fmt.Sprintf("-key: %v", err)}
			}
			text = string(b)
		}
		_, keys, err := ledger.ParseVerifiers(text)
		if err != nil {
			return nil, "", &usageError{fmt.Sprintf("-key: %v", err)}
		}
		return keys, "-key", nil
	}
	if keys, err := readKeys(cfg.KeyFile); err == nil {
		return []string{keys.Signing.VerifierKey}, "the ledger key file " + cfg.KeyFile, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	if !local {
		return nil, "", &usageError{"give the ledger's verifier key with -key (from probity ledger pubkey, obtained out of band)"}
	}
	db, err := store.Open(ctx, store.Options{DSN: cfg.DB, ReadOnly: true, Logger: newLogger(Config{LogLevel: "error"}, io.Discard)})
	if err != nil {
		return nil, "", err
	}
	defer db.Close()
	vkey, err := db.Meta(ctx, "ledger_verifier_key")
	if err != nil || vkey == "" {
		return nil, "", fmt.Errorf("no verifier key: give one with -key")
	}
	return []string{vkey}, "the database itself (WARNING: not an independent check; pass -key)", nil
}

type reportJSON struct {
	OK             bool   `json:"ok"`
	Entries        int64  `json:"entries"`
	Root           string `json:"root_hash"`
	Checkpoints    int    `json:"checkpoints_verified"`
	LatestSize     int64  `json:"latest_checkpoint_size"`
	Unsigned       int64  `json:"entries_after_latest_checkpoint"`
	EntriesChecked bool   `json:"entries_checked"`
	MACsChecked    bool   `json:"macs_checked"`
	TrustedKeys    string `json:"trusted_keys_from"`
	FirstBadIndex  *int64 `json:"first_bad_index,omitempty"`
	Problem        string `json:"problem,omitempty"`
}

func printReport(w io.Writer, rep ledger.Report, keysFrom string, asJSON bool) {
	if asJSON {
		r := reportJSON{OK: rep.OK(), Entries: rep.Entries, Root: base64.StdEncoding.EncodeToString(rep.Root[:]),
			Checkpoints: rep.Checkpoints, LatestSize: rep.Latest.Size, Unsigned: rep.Unsigned,
			EntriesChecked: rep.EntriesChecked, MACsChecked: rep.MACsChecked, TrustedKeys: keysFrom}
		if p := rep.Problem; p != nil {
			r.Problem = p.Reason
			if p.Index >= 0 {
				r.FirstBadIndex = &p.Index
			}
		}
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	if p := rep.Problem; p != nil {
		if p.Index >= 0 {
			fmt.Fprintf(w, "ledger verify: FAILED: first bad index %d: %s\n", p.Index, p.Reason)
		} else {
			fmt.Fprintf(w, "ledger verify: FAILED: %s\n", p.Reason)
		}
		return
	}
	fmt.Fprintf(w, "ledger verify: OK\n")
	what := "entries recomputed and matched"
	if !rep.EntriesChecked {
		what = "hashes checked; entries not read (no auditor credential)"
	}
	fmt.Fprintf(w, "  entries:     %d (%s)\n", rep.Entries, what)
	fmt.Fprintf(w, "  checkpoints: %d verified, the latest covering %d entries\n", rep.Checkpoints, rep.Latest.Size)
	if rep.Unsigned > 0 {
		how := "not yet covered by a checkpoint"
		if rep.MACsChecked {
			how += "; authenticated by their MACs"
		}
		fmt.Fprintf(w, "  unsigned:    %d entries after the latest checkpoint (%s)\n", rep.Unsigned, how)
	}
	fmt.Fprintf(w, "  root:        %s\n", base64.StdEncoding.EncodeToString(rep.Root[:]))
	fmt.Fprintf(w, "  trusted key: from %s\n", keysFrom)
}

// progress reports long verifications on stderr every few seconds.
type progress struct {
	w     io.Writer
	start time.Time
	last  time.Time
	shown bool
}

func newProgress(w io.Writer) *progress { return &progress{w: w, start: time.Now(), last: time.Now()} }

func (p *progress) report(done int64) {
	if time.Since(p.last) < 2*time.Second {
		return
	}
	p.last = time.Now()
	p.shown = true
	fmt.Fprintf(p.w, "verified %d entries (%.0f/s)…\n", done, float64(done)/time.Since(p.start).Seconds())
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintf(p.w, "done in %s\n", time.Since(p.start).Round(time.Millisecond))
	}
}

func ledgerCheckpoint(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("ledger checkpoint", "config", "data", "db", "ledger-key", "log-level", "log-format")
	remote := set.String("url", "", "ask the server at this `URL` (with PROBITY_LEDGER_AUDITOR_TOKEN or PROBITY_BOOTSTRAP_ADMIN_TOKEN)")
	cfg, err := parse(set, flags, args, getenv, stderr)
	if err != nil {
		return err
	}
	if *remote != "" {
		c, err := ledgerclient.New(*remote, remoteToken(cfg, getenv, *remote))
		if err != nil {
			return &usageError{err.Error()}
		}
		var cp struct{ Note string }
		if err := c.PostJSON(ctx, "api/v1/ledger/checkpoint", nil, &cp); err != nil {
			return err
		}
		fmt.Fprint(stdout, cp.Note)
		return nil
	}
	srv, err := openLocalWriter(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer srv.Close()
	_, msg, err := srv.Ledger.Publish(ctx)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, string(msg))
	return nil
}

// openLocalWriter opens the installation for a command that writes to the
// ledger itself (the server must not be running on SQLite).
func openLocalWriter(ctx context.Context, cfg Config, stderr io.Writer) (*Server, error) {
	if _, err := os.Stat(cfg.KeyFile); err != nil {
		return nil, fmt.Errorf("ledger key file: %w", unwrapPath(err))
	}
	if cfg.LogLevel == "info" {
		cfg.LogLevel = "warn"
	}
	return OpenServer(ctx, cfg, newLogger(cfg, stderr))
}

type proofJSON struct {
	Index      int64    `json:"index"`
	RecordHash string   `json:"record_hash"`
	TreeSize   int64    `json:"tree_size"`
	RootHash   string   `json:"root_hash"`
	Proof      []string `json:"inclusion_proof"`
	Checkpoint *struct {
		Note string `json:"note"`
	} `json:"checkpoint,omitempty"`
}

func ledgerProof(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("ledger proof", "config", "data", "db", "ledger-key")
	remote := set.String("url", "", "ask the server at this `URL` (with PROBITY_LEDGER_AUDITOR_TOKEN)")
	size := set.Int64("size", 0, "prove against the tree of this size (default: the latest checkpoint)")
	cfg, err := parse(set, flags, args, getenv, stderr)
	if err != nil {
		return err
	}
	if set.NArg() != 1 {
		return &usageError{"give the entry's index: probity ledger proof INDEX"}
	}
	index, err := strconv.ParseInt(set.Arg(0), 10, 64)
	if err != nil || index < 0 {
		return &usageError{fmt.Sprintf("index %q is not a non-negative whole number", set.Arg(0))}
	}
	var out proofJSON
	if *remote != "" {
		c, err := ledgerclient.New(*remote, remoteToken(cfg, getenv, *remote))
		if err != nil {
			return &usageError{err.Error()}
		}
		path := fmt.Sprintf("api/v1/ledger/entries/%d", index)
		if *size > 0 {
			path += fmt.Sprintf("?tree_size=%d", *size)
		}
		if err := c.GetJSON(ctx, path, &out); err != nil {
			return err
		}
	} else {
		db, l, err := openReadOnly(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer db.Close()
		n := *size
		if n == 0 {
			cp, msg, err := l.Latest(ctx)
			if err != nil {
				return err
			}
			n = cp.Size
			out.Checkpoint = &struct {
				Note string `json:"note"`
			}{string(msg)}
		}
		entry, err := l.Entry(ctx, index)
		if err != nil {
			return err
		}
		p, err := l.InclusionProof(ctx, index, n)
		if err != nil {
			return err
		}
		root, err := l.TreeHash(ctx, n)
		if err != nil {
			return err
		}
		out = proofJSON{Index: index, RecordHash: b64(tlog.RecordHash(entry)), TreeSize: n, RootHash: b64(root), Proof: b64s(p), Checkpoint: out.Checkpoint}
	}
	if err := checkProofJSON(out); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintf(stdout, "%s\n", b)
	return nil
}

// checkProofJSON checks an inclusion proof before it is printed, so that the
// command never hands out a proof that does not verify.
func checkProofJSON(p proofJSON) error {
	leaf, err1 := unb64(p.RecordHash)
	root, err2 := unb64(p.RootHash)
	proof, err3 := unb64s(p.Proof)
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("malformed proof: %w", err)
	}
	if err := tlog.CheckRecord(proof, p.TreeSize, root, p.Index, leaf); err != nil {
		return fmt.Errorf("the inclusion proof of entry %d does not verify: %w", p.Index, err)
	}
	if p.Checkpoint != nil {
		cp, err := ledger.CheckpointFromNote([]byte(p.Checkpoint.Note))
		if err != nil || cp.Size != p.TreeSize || cp.Hash != root {
			return fmt.Errorf("the proof is not against the checkpoint it came with")
		}
	}
	return nil
}

func ledgerConsistency(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("ledger consistency", "config", "data", "db")
	remote := set.String("url", "", "ask the server at this `URL`")
	cfg, err := parse(set, flags, args, getenv, stderr)
	if err != nil {
		return err
	}
	if set.NArg() < 1 || set.NArg() > 2 {
		return &usageError{"give the sizes: probity ledger consistency FROM [TO]"}
	}
	nums := make([]int64, set.NArg())
	for i, a := range set.Args() {
		if nums[i], err = strconv.ParseInt(a, 10, 64); err != nil || nums[i] < 1 {
			return &usageError{fmt.Sprintf("size %q is not a positive whole number", a)}
		}
	}
	var out struct {
		From     int64    `json:"from"`
		To       int64    `json:"to"`
		FromRoot string   `json:"from_root"`
		ToRoot   string   `json:"to_root"`
		Proof    []string `json:"proof"`
	}
	if *remote != "" {
		c, err := ledgerclient.New(*remote, "")
		if err != nil {
			return &usageError{err.Error()}
		}
		path := fmt.Sprintf("api/v1/ledger/consistency?from=%d", nums[0])
		if len(nums) == 2 {
			path += fmt.Sprintf("&to=%d", nums[1])
		}
		if err := c.GetJSON(ctx, path, &out); err != nil {
			return err
		}
	} else {
		db, l, err := openReadOnly(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer db.Close()
		out.From = nums[0]
		if len(nums) == 2 {
			out.To = nums[1]
		} else {
			cp, _, err := l.Latest(ctx)
			if err != nil {
				return err
			}
			out.To = cp.Size
		}
		p, err := l.ConsistencyProof(ctx, out.From, out.To)
		if err != nil {
			return err
		}
		fr, err := l.TreeHash(ctx, out.From)
		if err != nil {
			return err
		}
		tr, err := l.TreeHash(ctx, out.To)
		if err != nil {
			return err
		}
		out.FromRoot, out.ToRoot, out.Proof = b64(fr), b64(tr), b64s(p)
	}
	fr, err1 := unb64(out.FromRoot)
	tr, err2 := unb64(out.ToRoot)
	proof, err3 := unb64s(out.Proof)
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("malformed proof: %w", err)
	}
	if err := tlog.CheckTree(proof, out.To, tr, out.From, fr); err != nil {
		return fmt.Errorf("the consistency proof %d→%d does not verify: %w", out.From, out.To, err)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintf(stdout, "%s\n", b)
	return nil
}

func ledgerPubkey(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("ledger pubkey", "config", "data", "db", "ledger-key")
	cfg, err := parse(set, flags, args, getenv, stderr)
	if err != nil {
		return err
	}
	keys, err := readKeys(cfg.KeyFile)
	if err == nil {
		fmt.Fprintln(stdout, keys.Signing.VerifierKey)
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	db, err := store.Open(ctx, store.Options{DSN: cfg.DB, ReadOnly: true, Logger: newLogger(Config{LogLevel: "error"}, stderr)})
	if err != nil {
		return err
	}
	defer db.Close()
	vkey, err := db.Meta(ctx, "ledger_verifier_key")
	if err != nil {
		return err
	}
	if vkey == "" {
		return fmt.Errorf("database %s holds no ledger yet", db)
	}
	fmt.Fprintln(stdout, vkey)
	return nil
}

func ledgerRotateKey(ctx context.Context, args []string, getenv Env, stdout, stderr io.Writer) error {
	set, flags := flagSet("ledger rotate-key", "config", "data", "db", "ledger-key", "log-level", "log-format")
	set.Usage = func() {
		fmt.Fprintf(set.Output(), "Usage: probity ledger rotate-key [flags]\n\nReplaces the checkpoint signing key. Stop the server first (every replica,\non PostgreSQL). The rotation is recorded in the ledger, and the checkpoint\nthat covers it is signed by both keys. The old key file is kept as\nledger.key.retired-TIME; give the new verifier key to your auditors.\n\n")
		set.PrintDefaults()
	}
	cfg, err := parse(set, flags, args, getenv, stderr)
	if err != nil {
		return err
	}
	old, err := readKeys(cfg.KeyFile)
	if err != nil {
		return err
	}
	srv, err := openLocalWriter(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer srv.Close()
	fresh, err := ledger.GenerateKeys(srv.Ledger.Origin())
	if err != nil {
		return err
	}
	fresh.MAC = old.MAC // the MAC key authenticates stored rows; it stays
	pending := cfg.KeyFile + ".new"
	if err := writeKeys(pending, fresh); err != nil {
		return fmt.Errorf("%w (a previous rotation may have been interrupted: check %s)", err, pending)
	}
	actor := ledger.Actor{Kind: ledger.ActorSystem, ID: "probity ledger rotate-key"}
	if err := srv.Ledger.RotateKey(ctx, actor, fresh.Signing); err != nil {
		os.Remove(pending)
		return err
	}
	retired := fmt.Sprintf("%s.retired-%s", cfg.KeyFile, time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(cfg.KeyFile, retired); err != nil {
		return fmt.Errorf("the rotation is recorded, but the key files could not be swapped (rename %s to %s and %s to %s by hand): %w", cfg.KeyFile, retired, pending, cfg.KeyFile, err)
	}
	if err := os.Rename(pending, cfg.KeyFile); err != nil {
		return fmt.Errorf("the rotation is recorded, but %s could not be renamed to %s (do it by hand): %w", pending, cfg.KeyFile, err)
	}
	fmt.Fprintf(stdout, "rotated the ledger signing key\n  old: %s (kept in %s)\n  new: %s\n", old.Signing.VerifierKey, retired, fresh.Signing.VerifierKey)
	return nil
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

func b64s(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = b64(h)
	}
	return out
}

func unb64(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		return h, fmt.Errorf("bad hash %q", s)
	}
	copy(h[:], b)
	return h, nil
}

func unb64s(ss []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		var err error
		if out[i], err = unb64(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}
