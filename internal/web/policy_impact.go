package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/policy"
	"github.com/probity-dev/probity/internal/store"
)

// An impact analysis replays every decision recorded over its look-back
// under the sets in force and under the proposed version, which takes
// seconds on a long history. The API runs it within the request; the
// pages run it in the background (POST, then a redirect to its page,
// which refreshes itself while it runs) so that nobody waits on a page
// that seems to hang. The result is stored with the version, as the
// API's is. Jobs are kept in memory: the last few, by the server that
// ran them.

const (
	// maxAnalysisJobs is how many finished analyses are remembered.
	maxAnalysisJobs = 20
	// maxRunningAnalyses is how many may run at once: each spreads its
	// replay over the processors.
	maxRunningAnalyses = 2
	// impactListed is how many changes the result page lists.
	impactListed = 500
)

// analyses are the impact analyses the pages started. They belong to the
// [Web], whose Close stops and waits for them.
type analyses struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	jobs   []*analysisJob // oldest first
	closed bool
}

func newAnalyses() *analyses {
	ctx, cancel := context.WithCancel(context.Background())
	return &analyses{ctx: ctx, cancel: cancel}
}

// close stops the running analyses and waits for them.
func (a *analyses) close() {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	a.wg.Wait()
}

// An analysisJob is one impact analysis of a version.
type analysisJob struct {
	id        string
	versionID int64
	by        string
	days      int
	started   time.Time

	// Set once, when it ends.
	mu       sync.Mutex
	finished time.Time
	err      string
}

func (j *analysisJob) result() (time.Time, string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.finished, j.err
}

func (j *analysisJob) runningNow() bool {
	fin, _ := j.result()
	return fin.IsZero()
}

// running returns the analysis of version id that is running, or nil.
func (a *analyses) running(id int64) *analysisJob {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, j := range a.jobs {
		if j.versionID == id && j.runningNow() {
			return j
		}
	}
	return nil
}

// job returns the analysis with the given ID, of version id.
func (a *analyses) job(jobID string, id int64) (*analysisJob, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, j := range a.jobs {
		if j.id == jobID && j.versionID == id {
			return j, nil
		}
	}
	return nil, fault.New(fault.NotFound, "there is no impact analysis %q of this version here: analyses are followed only for a while, and by the server that ran them; the version's page shows the latest result", clipValue(jobID))
}

// startAnalysis starts the impact analysis of version v by p over days,
// or returns the one of v already running.
func (w *Web) startAnalysis(p auth.Principal, v policy.Version, days int) (*analysisJob, error) {
	a := w.analyses
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, fault.New(fault.Unavailable, "Probity is shutting down; run the analysis again once it is back")
	}
	running := 0
	for _, j := range a.jobs {
		if !j.runningNow() {
			continue
		}
		if j.versionID == v.ID {
			return j, nil
		}
		running++
	}
	if running >= maxRunningAnalyses {
		return nil, fault.New(fault.Unavailable, "%d impact analyses are running; run this one again in a minute", running)
	}
	var id [8]byte
	rand.Read(id[:])
	j := &analysisJob{id: hex.EncodeToString(id[:]), versionID: v.ID, by: p.ID, days: days, started: time.Now().UTC()}
	a.jobs = append(a.jobs, j)
	// Forget the oldest finished analyses beyond the limit.
	for i := 0; len(a.jobs) > maxAnalysisJobs && i < len(a.jobs); {
		if a.jobs[i].runningNow() {
			i++
			continue
		}
		a.jobs = append(a.jobs[:i], a.jobs[i+1:]...)
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := w.analyse(a.ctx, p, v.ID, days)
		j.mu.Lock()
		defer j.mu.Unlock()
		j.finished = time.Now().UTC()
		switch {
		case err == nil:
		case a.ctx.Err() != nil:
			j.err = "Probity was shutting down; run the analysis again"
		default:
			j.err = fault.MessageOf(err)
			if c := fault.CodeOf(err); c == fault.Internal || c == "" {
				w.deps.Logger.Error("impact analysis failed", "version", v.ID, "err", err)
				j.err = "the analysis could not be completed; it is logged for the administrators"
			}
		}
	}()
	return j, nil
}

// analyse runs an impact analysis as the API does: against the sets in
// force as the database holds them now, not as this server loaded them
// some seconds ago.
func (w *Web) analyse(ctx context.Context, p auth.Principal, id int64, days int) error {
	if err := w.deps.Policy.Load(ctx); err != nil {
		return fault.Wrap(err, fault.Unavailable, "the policies in force could not be loaded")
	}
	_, _, err := w.deps.Policies.Analyse(ctx, p, id, days, w.deps.Policy.Snapshot())
	return err
}

// analysePolicy starts a version's impact analysis. A step the workflow
// refuses is sent to the store at once, which refuses it the same way
// and records the refusal; an analysis that may run runs in the
// background.
func (w *Web) analysePolicy(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := form(rw, r); err != nil {
		return err
	}
	if err := checkFormToken(r); err != nil {
		return err
	}
	id, err := versionID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	v, err := w.deps.Policies.Version(ctx, p, id)
	if err != nil {
		return err
	}
	typed := strings.TrimSpace(r.PostFormValue("days"))
	days, err := strconv.Atoi(typed)
	if typed == "" {
		days, err = 30, nil
	}
	if err != nil || days < 1 || days > store.MaxImpactDays {
		return w.policyPage(rw, r, p, id, http.StatusBadRequest, "", policyRefusal{step: string(policy.StepAnalyse),
			problem: fmt.Sprintf("the analysis looks back 1 to %d days, not %q", store.MaxImpactDays, clipValue(typed)), typed: typed}, nil)
	}
	if _, err := policy.Next(v, policy.StepAnalyse, policyActorOf(p, v.Scope)); err != nil {
		if err = w.analyse(ctx, p, id, days); err == nil {
			// It became possible meanwhile, and ran.
			http.Redirect(rw, r, fmt.Sprintf("/policies/%d/impact", id), http.StatusSeeOther)
			return nil
		}
		status, known := pageStatus[fault.CodeOf(err)]
		if !known || fault.Is(err, fault.NotFound) {
			return err
		}
		return w.policyPage(rw, r, p, id, status, "", policyRefusal{step: string(policy.StepAnalyse), problem: fault.MessageOf(err), typed: typed}, nil)
	}
	j, err := w.startAnalysis(p, v, days)
	if err != nil {
		return err
	}
	http.Redirect(rw, r, fmt.Sprintf("/policies/%d/impact?job=%s", id, j.id), http.StatusSeeOther)
	return nil
}

// The result.

type changeRow struct {
	When, Actor, Component, Action, Resource string
	Kind, Current, Proposed                  string
	Denied                                   bool // the proposed version denies what was allowed
}

type jobView struct {
	ID, Started, By string
	Elapsed         string
	Running         bool
	Error           string
}

type impactPageData struct {
	ID                   int64
	Scope, Title, Status string
	Version              int
	Summary              string
	Counts               *impactCounts
	Changes              []changeRow
	More                 int
	Elapsed              string
	Job                  *jobView
	Zone                 string
}

func changeKindText(k string) string {
	switch k {
	case policy.AllowToDeny:
		return "allowed, would be denied"
	case policy.DenyToAllow:
		return "denied, would be allowed"
	case policy.PoliciesChanged:
		return "same decision, other reasons"
	}
	return k
}

func outcomeText(o policy.Outcome) string {
	s := "denied"
	if o.Allowed {
		s = "allowed"
	}
	if len(o.Policies) > 0 {
		s += " by " + strings.Join(o.Policies, ", ")
	}
	return s
}

func (w *Web) policyImpact(rw http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := versionID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	v, err := w.deps.Policies.Version(ctx, p, id)
	if err != nil {
		return err
	}
	who := w.person(r, p)
	loc := zoneOf(who)
	d := impactPageData{ID: v.ID, Scope: v.Scope, Title: scopeTitle(v.Scope), Status: policyStatusText(v.Status), Version: v.Version, Summary: v.Summary, Zone: loc.String()}
	title := fmt.Sprintf("Impact analysis of version %d of %s", v.Version, scopeTitle(v.Scope))
	flash := ""
	if jobID := r.URL.Query().Get("job"); jobID != "" {
		j, err := w.analyses.job(jobID, id)
		if err != nil {
			return err
		}
		fin, errText := j.result()
		jv := &jobView{ID: j.id, Started: localText(j.started, loc), By: j.by, Running: fin.IsZero(), Error: errText}
		if jv.Running {
			jv.Elapsed = time.Since(j.started).Round(time.Second).String()
			d.Job = jv
			return w.render(rw, http.StatusOK, "policy_impact", view{Title: "Running: " + title, Person: who, Data: d})
		}
		jv.Elapsed = fin.Sub(j.started).Round(time.Millisecond).String()
		if errText != "" {
			d.Job = jv
			return w.render(rw, http.StatusOK, "policy_impact", view{Title: "Not completed: " + title, Person: who, Error: "The impact analysis was not completed: " + errText, Data: d})
		}
		flash = fmt.Sprintf("The impact analysis finished in %s. Its result is stored with the version and recorded in the ledger.", jv.Elapsed)
	}
	im, err := w.deps.Policies.Impact(ctx, p, id)
	if err != nil {
		return err
	}
	d.Counts = impactCountsOf(v)
	if d.Counts != nil {
		d.Counts.Analysed = localText(v.AnalysedAt, loc)
	}
	d.Elapsed = im.Elapsed.Round(time.Millisecond).String()
	for i, c := range im.Changes {
		if i == impactListed {
			d.More = len(im.Changes) - i
			break
		}
		d.Changes = append(d.Changes, changeRow{When: localText(c.At, loc), Actor: c.Actor, Component: c.Component, Action: c.Action, Resource: c.Resource,
			Kind: changeKindText(c.Kind), Current: outcomeText(c.Current), Proposed: outcomeText(c.Proposed), Denied: c.Kind == policy.AllowToDeny})
	}
	return w.render(rw, http.StatusOK, "policy_impact", view{Title: title, Person: who, Flash: flash, Data: d})
}
