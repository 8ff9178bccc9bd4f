package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
)

// Verifying the whole ledger reads every record, which takes seconds on
// a large ledger, so it runs in the background and its page shows its
// progress: refreshed by the browser without JavaScript, in place with.
// Jobs are kept in memory, the last few of them; one runs at a time.

// maxVerifications is how many finished verifications the page lists.
const maxVerifications = 10

// verifications are the ledger verifications the pages started. They
// belong to the [Web], whose Close stops and waits for them.
type verifications struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	jobs   []*verifyJob // oldest first
	closed bool
}

func newVerifications() *verifications {
	ctx, cancel := context.WithCancel(context.Background())
	return &verifications{ctx: ctx, cancel: cancel}
}

// A verifyJob is one verification of the whole ledger.
type verifyJob struct {
	id      string
	by      string
	started time.Time
	total   int64 // the ledger's size when it started
	read    atomic.Int64

	// Set once, when it ends.
	mu       sync.Mutex
	finished time.Time
	report   *ledger.Report
	err      string
	trust    string
}

func (j *verifyJob) result() (time.Time, *ledger.Report, string, string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.finished, j.report, j.err, j.trust
}

// Close stops background work the pages started (ledger verifications,
// policy impact analyses) and waits for it.
func (w *Web) Close() {
	w.analyses.close()
	v := w.verifications
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	v.cancel()
	v.wg.Wait()
}

// start starts a verification, or returns the one running.
func (w *Web) startVerification(p auth.Principal) (*verifyJob, error) {
	v := w.verifications
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, fault.New(fault.Unavailable, "Probity is shutting down; verify the ledger again once it is back")
	}
	for _, j := range v.jobs {
		if fin, _, _, _ := j.result(); fin.IsZero() {
			return j, nil
		}
	}
	size, err := w.deps.Ledger.Size(v.ctx)
	if err != nil {
		return nil, err
	}
	var id [8]byte
	rand.Read(id[:])
	j := &verifyJob{id: hex.EncodeToString(id[:]), by: p.ID, started: time.Now().UTC(), total: size}
	v.jobs = append(v.jobs, j)
	if len(v.jobs) > maxVerifications {
		v.jobs = v.jobs[len(v.jobs)-maxVerifications:]
	}
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		rep, trust, err := w.verifyLedger(v.ctx, j)
		j.mu.Lock()
		defer j.mu.Unlock()
		j.finished, j.trust = time.Now().UTC(), trust
		if err != nil {
			j.err = fault.MessageOf(err)
			if fault.CodeOf(err) == fault.Internal || fault.CodeOf(err) == "" {
				w.deps.Logger.Error("ledger verification failed", "err", err)
				j.err = "the verification could not be completed: " + err.Error()
			}
			return
		}
		j.report = &rep
	}()
	return j, nil
}

// verifyLedger verifies the ledger as `probity ledger verify` does on
// the server: every stored record's hashes recomputed (and its MAC
// checked, with the key), every stored checkpoint's signature checked by
// keys trusted from the ledger key file, and its root compared with the
// root recomputed at its size.
func (w *Web) verifyLedger(ctx context.Context, j *verifyJob) (ledger.Report, string, error) {
	l := w.deps.Ledger
	cps, err := l.Checkpoints(ctx)
	if err != nil {
		return ledger.Report{}, "", err
	}
	anchor, trust := w.deps.LedgerAnchor, "the ledger key file's verifier key"
	if anchor == "" {
		if anchor, err = l.VerifierKey(ctx); err != nil {
			return ledger.Report{}, "", err
		}
		trust = "the verifier key the database names (not an independent check: verify with the key from your auditors too)"
	}
	vs, _, err := ledger.TrustedVerifiers([]string{anchor}, l.KnownKeys(), cps)
	if err != nil {
		return ledger.Report{}, trust, err
	}
	rows := func(yield func(ledger.Row, error) bool) {
		for r, err := range l.AllRows(ctx) {
			j.read.Add(1)
			if !yield(r, err) {
				return
			}
		}
	}
	rep, err := ledger.VerifyRows(ctx, rows, ledger.VerifyOptions{
		Verifiers: vs, Origin: l.Origin(), Checkpoints: cps, MAC: w.deps.LedgerMAC,
	})
	return rep, trust, err
}

// job returns the verification with the given ID.
func (w *Web) job(id string) (*verifyJob, error) {
	v := w.verifications
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, j := range v.jobs {
		if j.id == id {
			return j, nil
		}
	}
	return nil, fault.New(fault.NotFound, "there is no verification %q here: verifications are kept only for a while, and by the server that ran them; start a new one", clipValue(id))
}

// Pages.

type verifyJobView struct {
	ID, By, Started, Finished, Took string
	Running                         bool
	Read, Total                     int64
	Percent                         int
	// The outcome, once finished.
	OK, Failed           bool
	Error, Problem       string
	ProblemIndex         int64
	Entries              int64
	Checkpoints          int
	LatestSize, Unsigned int64
	LatestRoot, Root     string
	MACs                 bool
	Trust                string
}

func (j *verifyJob) view() verifyJobView {
	fin, rep, errText, trust := j.result()
	v := verifyJobView{ID: j.id, By: j.by, Started: timeText(j.started), Read: min(j.read.Load(), j.total), Total: j.total, Running: fin.IsZero(), Trust: trust}
	if j.total > 0 {
		v.Percent = int(v.Read * 100 / j.total)
	}
	if v.Running {
		return v
	}
	v.Finished, v.Took, v.Percent, v.Read = timeText(fin), fin.Sub(j.started).Round(time.Millisecond).String(), 100, j.total
	switch {
	case errText != "":
		v.Failed, v.Error = true, errText
	case rep != nil:
		v.OK, v.Entries, v.Checkpoints, v.MACs = rep.OK(), rep.Entries, rep.Checkpoints, rep.MACsChecked
		v.LatestSize, v.Unsigned = rep.Latest.Size, rep.Unsigned
		v.LatestRoot, v.Root = base64.StdEncoding.EncodeToString(rep.Latest.Hash[:]), base64.StdEncoding.EncodeToString(rep.Root[:])
		if rep.Problem != nil {
			v.Problem, v.ProblemIndex = rep.Problem.Error(), rep.Problem.Index
		}
	}
	return v
}

type ledgerVerifyData struct {
	CSRF string
	// Job is the verification shown; Jobs the recent ones.
	Job  *verifyJobView
	Jobs []verifyJobView
	// The latest signed checkpoint and the keys that have signed.
	Size, TreeSize int64
	Note, Root     string
	Keys           []string
}

func (w *Web) ledgerVerifyPage(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	d := ledgerVerifyData{CSRF: formToken(r), Keys: w.deps.Ledger.KnownKeys()}
	var err error
	if d.Size, err = w.deps.Ledger.Size(ctx); err != nil {
		return err
	}
	cp, msg, err := w.deps.Ledger.Latest(ctx)
	switch {
	case err == nil:
		d.TreeSize, d.Note, d.Root = cp.Size, string(msg), base64.StdEncoding.EncodeToString(cp.Hash[:])
	case !fault.Is(err, fault.NotFound):
		return err
	}
	title := "Verify the ledger"
	if id := r.URL.Query().Get("job"); id != "" {
		j, err := w.job(id)
		if err != nil {
			return err
		}
		jv := j.view()
		d.Job = &jv
		if jv.Running {
			title = fmt.Sprintf("Verifying the ledger: %d%%", jv.Percent)
		}
	}
	v := w.verifications
	v.mu.Lock()
	for i := len(v.jobs) - 1; i >= 0; i-- {
		d.Jobs = append(d.Jobs, v.jobs[i].view())
	}
	v.mu.Unlock()
	return w.render(rw, http.StatusOK, "ledger_verify", view{Title: title, Person: w.person(r, p), Data: d})
}

func (w *Web) ledgerVerifyStart(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	j, err := w.startVerification(p)
	if err != nil {
		return err
	}
	http.Redirect(rw, r, "/ledger/verify?job="+j.id, http.StatusSeeOther)
	return nil
}

// ledgerVerifyStatus reports a verification's progress as JSON, for the
// page's script.
func (w *Web) ledgerVerifyStatus(rw http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	j, err := w.job(r.URL.Query().Get("job"))
	if err != nil {
		return err
	}
	v := j.view()
	b, err := json.Marshal(map[string]any{"running": v.Running, "read": v.Read, "total": v.Total, "percent": v.Percent})
	if err != nil {
		return err
	}
	rw.Header().Set("Content-Type", "application/json")
	_, err = rw.Write(b)
	return err
}
