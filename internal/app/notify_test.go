package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/alerts"
	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/notify"
	"github.com/probity-dev/probity/internal/query"
	"github.com/probity-dev/probity/internal/store"
)

// mailSink is the smallest SMTP server that accepts mail on 127.0.0.1:
// it records each message's recipients and text.
type mailSink struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []sunkMail
	wg   sync.WaitGroup
}

type sunkMail struct {
	to   []string
	data string
}

func startMailSink(t *testing.T) *mailSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &mailSink{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				s.session(bufio.NewReader(c), c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *mailSink) session(r *bufio.Reader, w io.Writer) {
	io.WriteString(w, "220 sink\r\n")
	var m sunkMail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			io.WriteString(w, "250 sink\r\n")
		case strings.HasPrefix(cmd, "RCPT"):
			_, addr, _ := strings.Cut(strings.TrimSpace(line), ":")
			m.to = append(m.to, strings.Trim(addr, "<> "))
			io.WriteString(w, "250 ok\r\n")
		case strings.HasPrefix(cmd, "DATA"):
			io.WriteString(w, "354 go\r\n")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil || l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			m.data = b.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			m = sunkMail{}
			io.WriteString(w, "250 queued\r\n")
		case strings.HasPrefix(cmd, "QUIT"):
			io.WriteString(w, "221 bye\r\n")
			return
		default:
			io.WriteString(w, "250 ok\r\n")
		}
	}
}

func (s *mailSink) messages() []sunkMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// TestServer_Notifications checks the wiring: a server configured with a
// relay and a webhook tells the right people of a high-severity alert,
// by email and webhook, with a link to the alert.
func TestServer_Notifications(t *testing.T) {
	sink := startMailSink(t)
	secret := "webhook-secret-0123456789abcdef"
	var mu sync.Mutex
	var calls []notify.WebhookPayload
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !notify.Verify([]byte(secret), b, r.Header.Get(notify.SignatureHeader)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p notify.WebhookPayload
		json.Unmarshal(b, &p)
		mu.Lock()
		calls = append(calls, p)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)

	cfg := testConfig(t, store.SQLite)
	cfg.SMTPRelay, cfg.SMTPFrom, cfg.SMTPStartTLS = sink.ln.Addr().String(), "probity@agency.example", "false"
	cfg.WebhookURL, cfg.WebhookSecret = hook.URL+"/probity", secret
	ts := startServer(t, cfg)
	ctx := context.Background()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "test-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ts.Identity.CreateComponent(ctx, admin, identity.Component{Code: "CBP", Name: "CBP"}); err != nil {
		t.Fatal(err)
	}
	head, _ := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "n-head", Component: "CBP"}, auth.Supervisor)
	enrolQueryPerson(t, ts, identity.Person{EmployeeID: "n-cpo", Component: "CBP"}, auth.ComponentPrivacyOfficer)
	enrolQueryPerson(t, ts, identity.Person{EmployeeID: "n-opr", Component: "CBP"}, auth.OPRIntake)
	analyst, _ := enrolQueryPerson(t, ts, identity.Person{EmployeeID: "n-analyst", Component: "CBP", SupervisorID: head.PersonID}, auth.Analyst)
	p, err := ts.Identity.PersonByEmployeeID(ctx, analyst.ID)
	if err != nil {
		t.Fatal(err)
	}
	qid := storeQuery(t, ts, p, query.Elevated)
	var aid int64
	if err := ts.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		aid, err = ts.Alerts.Raise(ctx, tx, alerts.Alert{Detector: "employee_device", Severity: alerts.High, Component: "CBP", QueryID: qid, PersonID: p.ID,
			Explanation: "The device's night-time pings fall in a coworker's home cells."})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var to []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		to = to[:0]
		for _, m := range sink.messages() {
			to = append(to, m.to...)
		}
		mu.Lock()
		n := len(calls)
		mu.Unlock()
		if len(to) == 3 && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: mail to %v, %d webhook calls", to, n)
		}
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"n-cpo@example.gov", "n-head@example.gov", "n-opr@example.gov"}) {
		t.Errorf("mailed %v", to)
	}
	link := ts.URL + "api/v1/alerts/" + strconv.FormatInt(aid, 10)
	for _, m := range sink.messages() {
		if !strings.Contains(m.data, link) || strings.Contains(m.data, "coworker") {
			t.Errorf("an email without the link %s, or with the alert's details:\n%s", link, m.data)
		}
	}
	if calls[0].Kind != "alert.raised" || calls[0].Link != link || strings.Contains(calls[0].Body, "coworker") {
		t.Errorf("the webhook's call %+v", calls[0])
	}
	ns, err := ts.Alerts.Notifications().List(ctx, store.NotificationFilter{Subject: "alert/" + strconv.FormatInt(aid, 10)})
	if err != nil || len(ns) != 4 || slices.ContainsFunc(ns, func(n store.NotificationRecord) bool { return n.Status != "sent" }) {
		t.Errorf("recorded %+v, %v", ns, err)
	}
}
