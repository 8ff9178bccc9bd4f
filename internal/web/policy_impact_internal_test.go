package web

import (
	"fmt"
	"time"
)

// FakeAnalysis adds an impact analysis of version id that runs until the
// returned function ends it, with an error message or none.
func (w *Web) FakeAnalysis(id int64, by string) (job string, finish func(errText string)) {
	a := w.analyses
	a.mu.Lock()
	defer a.mu.Unlock()
	j := &analysisJob{id: fmt.Sprintf("fa%014x", len(a.jobs)+1), versionID: id, by: by, days: 30, started: time.Now().Add(-3 * time.Second)}
	a.jobs = append(a.jobs, j)
	return j.id, func(errText string) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.finished, j.err = time.Now(), errText
	}
}
