package app_test

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/store"
)

// TestServer_LedgerPages checks the auditor's ledger pages as the server
// wires them: served beside the tlog-tiles layout under /ledger/, an
// entry's receipt that `probity ledger verify -receipt` accepts, and a
// verification of the whole ledger that trusts the key file's key and
// checks MACs.
func TestServer_LedgerPages(t *testing.T) {
	ts := startServer(t, testConfig(t, store.SQLite))
	base := strings.TrimSuffix(ts.URL, "/")
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path, token string, form url.Values) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	t.Run("OKRouting", func(t *testing.T) {
		if resp, body := send("GET", "/ledger/1", auditorToken, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Ledger entry 1</h1>") {
			t.Errorf("an entry's page: status %d:\n%.500s", resp.StatusCode, body)
		}
		// The entry's page published a checkpoint covering it, if none did.
		if resp, _ := send("GET", "/ledger/checkpoint", "", nil); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("the checkpoint: status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if resp, _ := send("GET", "/ledger/1", "", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("an entry's page, anonymously: status %d, location %q; want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("OKReceipt", func(t *testing.T) {
		resp, body := send("GET", "/ledger/receipts/0", auditorToken, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		file := filepath.Join(t.TempDir(), "receipt.json")
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		key, _, code := runCLI(t, nil, "ledger", "pubkey", "-data", ts.Cfg.Data)
		if code != 0 {
			t.Fatalf("ledger pubkey: exit %d", code)
		}
		out, errOut, code := runCLI(t, nil, "ledger", "verify", "-receipt", file, "-key", strings.TrimSpace(key))
		if code != 0 || !strings.HasPrefix(out, "receipt OK: entry 0 (ledger.created") {
			t.Errorf("ledger verify -receipt: exit %d, %q %q", code, out, errOut)
		}
	})

	t.Run("OKVerify", func(t *testing.T) {
		_, page := send("GET", "/ledger/verify", auditorToken, nil)
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no form on the page:\n%.500s", page)
		}
		resp, _ := send("POST", "/ledger/verify", auditorToken, url.Values{"csrf": {m[1]}})
		job := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(job, "/ledger/verify?job=") {
			t.Fatalf("status %d, location %q", resp.StatusCode, job)
		}
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
			_, body := send("GET", strings.Replace(job, "/ledger/verify?", "/ledger/verify/status?", 1), auditorToken, nil)
			if strings.Contains(body, `"running":false`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the verification did not finish: %s", body)
			}
		}
		_, body := send("GET", job, auditorToken, nil)
		for _, want := range []string{`data-outcome="ok"`, "<dt>Record MACs</dt><dd>checked", "the ledger key file&#39;s verifier key"} {
			if !strings.Contains(body, want) {
				t.Errorf("the verification's page does not say %q:\n%s", want, body)
			}
		}
	})
}
