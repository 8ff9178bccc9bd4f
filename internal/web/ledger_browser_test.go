package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/probity-dev/probity/internal/authn"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/store"
)

// browserEnv, set to 1, makes a missing browser fail the browser tests
// rather than skip them, so that CI cannot pass without running them.
const browserEnv = "PROBITY_TEST_BROWSER"

// chromium returns the path of a Chromium-based browser, or skips the
// test when there is none (fails it when PROBITY_TEST_BROWSER=1).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(browserEnv) == "1" {
		t.Fatalf("%s=1 but no chromium, chromium-browser or google-chrome is on PATH", browserEnv)
	}
	t.Skipf("no Chromium on PATH: install it (apt-get install chromium) to run the browser tests; %s=1 makes a missing browser a failure", browserEnv)
	return ""
}

// A ledgerTab is a browser tab signed in as the auditor, on the pages
// served over HTTPS (WebCrypto and the __Host- cookie need a secure
// origin).
type ledgerTab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newLedgerTab(t *testing.T, browser context.Context, srv *httptest.Server, secret string, script bool) *ledgerTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &ledgerTab{t: t, ctx: ctx, base: srv.URL}
	yes := true
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: authn.SessionCookie, Value: secret, URL: srv.URL + "/", Path: "/", Secure: &yes, HTTPOnly: &yes}); err != nil {
		t.Fatal(err)
	}
	if !script {
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// open loads a page and returns its status.
func (b *ledgerTab) open(path string) int {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(b.base+path))
	if err != nil {
		b.t.Fatal(err)
	}
	return int(resp.Status)
}

func (b *ledgerTab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// waitText waits until the text of the element sel matches ok, and
// returns it. The page may reload meanwhile.
func (b *ledgerTab) waitText(sel string, ok func(string) bool) string {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
		cancel()
		if err == nil {
			last = strings.TrimSpace(s)
			if ok(last) {
				return last
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("%s shows %q after 30s", sel, last)
	return ""
}

// attr returns an attribute of the element sel, or "".
func (b *ledgerTab) attr(sel, name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		return ""
	}
	return v.Value
}

func (b *ledgerTab) eval(js string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](js)); err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
}

// settled reports whether a check in the browser has an outcome.
func settled(s string) bool {
	return strings.HasPrefix(s, "verified") || strings.HasPrefix(s, "mismatch") || strings.HasPrefix(s, "could not")
}

// TestWeb_LedgerBrowser drives Chromium through the ledger explorer: an
// entry's proof checked by the page's script, a tampered one refused, a
// pasted receipt, and verifications of the whole ledger followed with
// and without script.
func TestWeb_LedgerBrowser(t *testing.T) {
	path := chromium(t)
	e := mustLedgerEnv(t, store.SQLite)
	e.recordKnown(t)
	for i := range 40 {
		e.record(t, "", ledger.Event{Type: "pagetest.item", Actor: ledger.Actor{Kind: ledger.ActorSystem, ID: "pager"}, Subject: fmt.Sprintf("item/%d", i)})
	}
	e.signIn()
	var jobLoads atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ledger/verify" && r.Method == "GET" && r.URL.Query().Get("job") != "" {
			jobLoads.Add(1)
		}
		e.w.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.IgnoreCertErrors)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	b := newLedgerTab(t, browser, srv, e.cookies["auditor"], true)

	t.Run("OKEntryVerifies", func(t *testing.T) {
		b.t = t
		if status := b.open(fmt.Sprintf("/ledger/%d", e.at["evil"])); status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
		b.do(chromedp.WaitVisible(chromedp.CSS("#verify-inclusion")), chromedp.Click(chromedp.CSS("#verify-inclusion")))
		got := b.waitText("#verify-result", settled)
		if !strings.HasPrefix(got, fmt.Sprintf("verified: entry %d is in the tree of ", e.at["evil"])) || b.attr("#verify-result", "data-state") != "verified" {
			t.Fatalf("the browser says %q", got)
		}
		// Chromium's WebCrypto has Ed25519: the signature is checked too.
		if !strings.Contains(got, "signature by probity.test/ledger+") || !strings.Contains(got, " verifies.") {
			t.Errorf("the browser did not check the signature: %q", got)
		}
	})

	t.Run("ErrTamperedEntry", func(t *testing.T) {
		b.t = t
		b.eval(`(() => { const e = document.getElementById('entry-json'); e.textContent = e.textContent.replace('@evil', '@evik').replace('"+1"', '"+2"'); })()`)
		b.do(chromedp.Click(chromedp.CSS("#verify-inclusion")))
		got := b.waitText("#verify-result", func(s string) bool { return settled(s) && !strings.HasPrefix(s, "verified") })
		if !strings.HasPrefix(got, "mismatch: the entry and the proof give the root ") {
			t.Errorf("after changing the entry the browser says %q", got)
		}
	})

	t.Run("ErrTamperedProof", func(t *testing.T) {
		b.t = t
		b.open(fmt.Sprintf("/ledger/%d", e.at["alpha"]))
		b.eval(`(() => { const c = document.querySelector('#proof li code'); c.textContent = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='; })()`)
		b.do(chromedp.WaitVisible(chromedp.CSS("#verify-inclusion")), chromedp.Click(chromedp.CSS("#verify-inclusion")))
		if got := b.waitText("#verify-result", settled); !strings.HasPrefix(got, "mismatch") || b.attr("#verify-result", "data-state") != "mismatch" {
			t.Errorf("with a changed proof the browser says %q", got)
		}
	})

	t.Run("OKReceipt", func(t *testing.T) {
		b.t = t
		rc := e.get(t, "auditor", fmt.Sprintf("/ledger/receipts/%d", e.at["gamma"])).Body.String()
		b.open("/ledger/verify")
		b.do(chromedp.WaitVisible(chromedp.CSS("#receipt")), chromedp.SetValue(chromedp.CSS("#receipt"), rc), chromedp.Click(chromedp.CSS("#verify-receipt")))
		if got := b.waitText("#receipt-result", settled); !strings.HasPrefix(got, fmt.Sprintf("verified: entry %d is in the tree", e.at["gamma"])) {
			t.Errorf("the browser says %q of the receipt", got)
		}
		forged := strings.Replace(rc, fmt.Sprintf(`"index": %d`, e.at["gamma"]), fmt.Sprintf(`"index": %d`, e.at["gamma"]-1), 1)
		b.do(chromedp.SetValue(chromedp.CSS("#receipt"), forged), chromedp.Click(chromedp.CSS("#verify-receipt")))
		if got := b.waitText("#receipt-result", func(s string) bool { return settled(s) && !strings.HasPrefix(s, "verified") }); !strings.HasPrefix(got, "mismatch") {
			t.Errorf("the browser says %q of a receipt with another index", got)
		}
		b.do(chromedp.SetValue(chromedp.CSS("#receipt"), "{not json"), chromedp.Click(chromedp.CSS("#verify-receipt")))
		if got := b.waitText("#receipt-result", func(s string) bool { return strings.HasPrefix(s, "could not") }); !strings.Contains(got, "this is not JSON") {
			t.Errorf("the browser says %q of a broken receipt", got)
		}
	})

	t.Run("OKServerVerification", func(t *testing.T) {
		b.t = t
		b.open("/ledger/verify")
		if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(`form[action="/ledger/verify"] button[type=submit]`))); err != nil {
			t.Fatal(err)
		}
		got := b.waitText("#verify-outcome", func(s string) bool { return s != "" })
		if b.attr("#verify-outcome", "data-outcome") != "ok" || !strings.HasPrefix(got, "The ledger verifies: all ") {
			t.Errorf("the verification's page says %q", got)
		}
	})

	t.Run("OKProgressWithScript", func(t *testing.T) {
		b.t = t
		j := e.w.fakeJob(1000)
		j.read.Store(100)
		b.open("/ledger/verify?job=" + j.id)
		loads := jobLoads.Load()
		j.read.Store(600)
		// The script updates the text in place; the server's ends
		// differently.
		b.waitText("#verify-progress-text", func(s string) bool { return s == "Read 600 of 1000 entries (60%)." })
		if jobLoads.Load() != loads {
			t.Error("the page reloaded to show progress, with script")
		}
		j.finish(&ledger.Report{Entries: 1000, Latest: ledger.Checkpoint{Size: 1000}})
		b.waitText("#verify-outcome", func(s string) bool { return strings.HasPrefix(s, "The ledger verifies") })
	})

	t.Run("OKProgressWithoutScript", func(t *testing.T) {
		nb := newLedgerTab(t, browser, srv, e.cookies["auditor"], false)
		j := e.w.fakeJob(1000)
		j.read.Store(100)
		nb.open("/ledger/verify?job=" + j.id)
		j.read.Store(700)
		nb.waitText("#verify-progress-text", func(s string) bool { return strings.HasPrefix(s, "Read 700 of 1000 entries (70%).") })
		j.finish(&ledger.Report{Entries: 1000, Latest: ledger.Checkpoint{Size: 1000}})
		nb.waitText("#verify-outcome", func(s string) bool { return strings.HasPrefix(s, "The ledger verifies") })
		// Without script, an entry's page offers no button that cannot
		// work.
		nb.open(fmt.Sprintf("/ledger/%d", e.at["alpha"]))
		ctx, cancel := context.WithTimeout(nb.ctx, 5*time.Second)
		defer cancel()
		hidden, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#verify-inclusion"), "hidden"))
		if err != nil || !hidden.Exists {
			t.Errorf("without script the verify button shows (%v)", err)
		}
	})
}
