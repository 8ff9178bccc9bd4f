package notify_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// A mailServer is a minimal SMTP server on 127.0.0.1 that records the
// messages it is given: EHLO/HELO, STARTTLS (when it has a certificate),
// MAIL, RCPT, DATA, RSET, NOOP and QUIT.
type mailServer struct {
	t    testing.TB
	addr string
	// tls, when set, is offered through STARTTLS.
	tls *tls.Config
	// rcptReply, when set, answers RCPT TO (e.g. "550 no such user").
	rcptReply string
	// stall, when set, stops answering after the greeting.
	stall bool

	mu     sync.Mutex
	ln     net.Listener
	msgs   []mailMessage
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
	closed bool
}

// A mailMessage is one message the server accepted.
type mailMessage struct {
	From string
	To   []string
	Data string
	TLS  bool
}

// startMailServer starts a server on a free port of 127.0.0.1 (or addr
// when given) and stops it when t ends.
func startMailServer(t testing.TB, addr string, configure func(*mailServer)) *mailServer {
	t.Helper()
	s := &mailServer{t: t, conns: map[net.Conn]bool{}}
	if configure != nil {
		configure(s)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	// A port just closed may take a moment to be free again.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ln, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	s.ln, s.addr = ln, ln.Addr().String()
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server: it no longer accepts connections.
func (s *mailServer) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Messages returns the messages accepted so far.
func (s *mailServer) Messages() []mailMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mailMessage(nil), s.msgs...)
}

func (s *mailServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
			s.session(c)
		}()
	}
}

func (s *mailServer) session(c net.Conn) {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func(lines ...string) {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		w.Flush()
	}
	reply("220 test.mail ESMTP ready")
	if s.stall {
		io.Copy(io.Discard, r) // until the client gives up
		return
	}
	var cur mailMessage
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			lines := []string{"250-test.mail", "250-8BITMIME"}
			if s.tls != nil && !secure {
				lines = append(lines, "250-STARTTLS")
			}
			reply(append(lines, "250 HELP")...)
		case "HELO":
			reply("250 test.mail")
		case "STARTTLS":
			if s.tls == nil || secure {
				reply("502 not offered")
				continue
			}
			reply("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, secure = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
			cur = mailMessage{}
		case "MAIL":
			cur = mailMessage{From: addrOf(arg), TLS: secure}
			reply("250 ok")
		case "RCPT":
			if s.rcptReply != "" {
				reply(s.rcptReply)
				continue
			}
			cur.To = append(cur.To, addrOf(arg))
			reply("250 ok")
		case "DATA":
			if len(cur.To) == 0 {
				reply("503 need RCPT")
				continue
			}
			reply("354 end with .")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, ".")) // undo dot-stuffing
			}
			cur.Data = b.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			reply("250 queued")
		case "RSET":
			cur = mailMessage{TLS: secure}
			reply("250 ok")
		case "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 unknown command")
		}
	}
}

func addrOf(arg string) string {
	_, v, _ := strings.Cut(arg, ":")
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ' '); i >= 0 {
		v = v[:i]
	}
	return strings.Trim(v, "<>")
}

// testCertificate returns a self-signed certificate for 127.0.0.1 and a
// pool that trusts it.
func testCertificate(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test.mail"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// freeAddr returns an address of 127.0.0.1 where nothing listens.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func headerOf(data, name string) string {
	head, _, _ := strings.Cut(data, "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n") {
		if k, v, ok := strings.Cut(l, ": "); ok && strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func bodyOf(data string) string {
	_, body, _ := strings.Cut(data, "\r\n\r\n")
	return body
}
