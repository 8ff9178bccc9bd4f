package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
)

// checkpoint serves the latest signed checkpoint.
func (a *API) checkpoint(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	_, msg, err := a.deps.Ledger.Latest(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, err = w.Write(msg)
	return err
}

// tile serves hash tiles and entry bundles. Full tiles never change.
func (a *API) tile(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	tp, err := ledger.ParseTilePath("tile/" + r.PathValue("path"))
	if err != nil {
		return fault.Wrap(err, fault.NotFound, "%v", err)
	}
	if tp.Entries && !p.Can(auth.LedgerEntriesRead) {
		if !p.Authenticated() {
			return fault.New(fault.Unauthenticated, "entry bundles require an auditor's credential")
		}
		return fault.New(fault.Forbidden, "entry bundles require an auditor's credential")
	}
	if tp.Entries && !readsWholeLedger(p) {
		return errComponentAuditor()
	}
	data, err := a.deps.Ledger.Tile(r.Context(), tp)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	switch {
	case tp.Entries:
		w.Header().Set("Cache-Control", "private, no-store")
	case tp.Partial():
		w.Header().Set("Cache-Control", "no-cache")
	default:
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	_, err = w.Write(data)
	return err
}

// readsWholeLedger reports whether p may read ledger entries. Entries
// record every component's activity (who signed in from where, whom an
// officer locked), so an auditor of one component may not: only a
// department-wide auditor.
func readsWholeLedger(p auth.Principal) bool { return p.CanIn(auth.LedgerEntriesRead, "") }

func errComponentAuditor() error {
	return fault.New(fault.Forbidden, "ledger entries record every component's activity; reading them needs a department-wide auditor")
}

type checkpointJSON struct {
	Origin   string `json:"origin"`
	Size     int64  `json:"size"`
	RootHash string `json:"root_hash"`
	Note     string `json:"note"`
}

func toCheckpointJSON(cp ledger.Checkpoint, msg []byte) checkpointJSON {
	return checkpointJSON{Origin: cp.Origin, Size: cp.Size, RootHash: b64(cp.Hash), Note: string(msg)}
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

func b64s(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = b64(h)
	}
	return out
}

func (a *API) ledgerInfo(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	size, err := a.deps.Ledger.Size(r.Context())
	if err != nil {
		return err
	}
	resp := map[string]any{"size": size, "verifier_keys": a.deps.Checkpointer.KnownKeys()}
	cp, msg, err := a.deps.Ledger.Latest(r.Context())
	switch {
	case err == nil:
		resp["origin"] = cp.Origin
		resp["checkpoint"] = toCheckpointJSON(cp, msg)
	case !fault.Is(err, fault.NotFound):
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}

func queryInt(r *http.Request, name string, def int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fault.New(fault.Invalid, "%s must be a non-negative whole number, not %q", name, s)
	}
	return n, nil
}

// ledgerEntry returns an entry and its inclusion proof against a signed
// checkpoint (the latest, published now if it does not yet cover the
// entry), or against the tree size asked for.
func (a *API) ledgerEntry(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !readsWholeLedger(p) {
		return errComponentAuditor()
	}
	ctx := r.Context()
	index, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
	if err != nil || index < 0 {
		return fault.New(fault.Invalid, "the entry index must be a non-negative whole number, not %q", r.PathValue("index"))
	}
	entry, err := a.deps.Ledger.Entry(ctx, index)
	if err != nil {
		return err
	}
	var decoded json.RawMessage = entry
	resp := map[string]any{"index": index, "entry": decoded, "record_hash": b64(tlog.RecordHash(entry))}
	size, err := queryInt(r, "tree_size", -1)
	if err != nil {
		return err
	}
	if size < 0 {
		cp, msg, err := a.deps.Ledger.Latest(ctx)
		if (err != nil && fault.Is(err, fault.NotFound)) || (err == nil && cp.Size <= index) {
			cp, msg, err = a.deps.Checkpointer.Publish(ctx)
		}
		if err != nil {
			return err
		}
		size = cp.Size
		resp["checkpoint"] = toCheckpointJSON(cp, msg)
	}
	proof, err := a.deps.Ledger.InclusionProof(ctx, index, size)
	if err != nil {
		return err
	}
	root, err := a.deps.Ledger.TreeHash(ctx, size)
	if err != nil {
		return err
	}
	resp["tree_size"], resp["root_hash"], resp["inclusion_proof"] = size, b64(root), b64s(proof)
	return writeJSON(w, http.StatusOK, resp)
}

func (a *API) ledgerConsistency(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	ctx := r.Context()
	from, err := queryInt(r, "from", -1)
	if err != nil {
		return err
	}
	if from < 0 {
		return fault.New(fault.Invalid, "from is required")
	}
	to, err := queryInt(r, "to", -1)
	if err != nil {
		return err
	}
	if to < 0 {
		cp, _, err := a.deps.Ledger.Latest(ctx)
		if err != nil {
			return err
		}
		to = cp.Size
	}
	proof, err := a.deps.Ledger.ConsistencyProof(ctx, from, to)
	if err != nil {
		return err
	}
	fromRoot, err := a.deps.Ledger.TreeHash(ctx, from)
	if err != nil {
		return err
	}
	toRoot, err := a.deps.Ledger.TreeHash(ctx, to)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"from": from, "to": to, "from_root": b64(fromRoot), "to_root": b64(toRoot), "proof": b64s(proof),
	})
}

func (a *API) ledgerPublish(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	cp, msg, err := a.deps.Checkpointer.Publish(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toCheckpointJSON(cp, msg))
}
