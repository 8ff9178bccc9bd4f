// Package ledgerclient reads a Probity ledger over HTTP, as an outside
// auditor does: the signed checkpoint and the tiles in the C2SP tlog-tiles
// layout, and the JSON API for entries and proofs.
package ledgerclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/probity-dev/probity/internal/ledger"
)

// A Client reads one Probity server's ledger.
type Client struct {
	base  *url.URL
	hc    *http.Client
	token string
}

var _ ledger.TileSource = (*Client)(nil)

// New returns a client for the server at base (e.g. https://probity.example/).
// token, when set, is sent as a bearer credential.
func New(base, token string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q must be http:// or https:// with a host", base)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return &Client{base: u, hc: &http.Client{Timeout: 60 * time.Second}, token: token}, nil
}

// An HTTPError is a response with an unexpected status.
type HTTPError struct {
	Status  int
	Message string
}

func (e *HTTPError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("server answered %d: %s", e.Status, e.Message)
}

func (c *Client) do(ctx context.Context, method, path string, body any, limit int64) ([]byte, error) {
	ref, err := url.Parse(path)
	if err != nil {
		return nil, err
	}
	u := c.base.ResolveReference(ref)
	var rd io.Reader
	if raw, ok := body.(rawJSON); ok {
		rd = bytes.NewReader(raw)
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: response larger than %d bytes", path, limit)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &HTTPError{Status: resp.StatusCode, Message: errorMessage(b)}
	}
	return b, nil
}

func errorMessage(b []byte) string {
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// ReadCheckpoint returns the latest signed checkpoint.
func (c *Client) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	return c.do(ctx, http.MethodGet, "ledger/checkpoint", nil, 1<<16)
}

// ReadTile returns a hash tile.
func (c *Client) ReadTile(ctx context.Context, level int, index int64, width int) ([]byte, error) {
	p := ledger.TilePath{Level: level, Index: index, Width: width}
	return c.do(ctx, http.MethodGet, "ledger/"+p.String(), nil, ledger.TileWidth*32)
}

// ReadEntryBundle returns an entry bundle; without an auditor's credential
// it returns an error wrapping [ledger.ErrUnauthorized].
func (c *Client) ReadEntryBundle(ctx context.Context, index int64, width int) ([]byte, error) {
	p := ledger.TilePath{Entries: true, Index: index, Width: width}
	b, err := c.do(ctx, http.MethodGet, "ledger/"+p.String(), nil, ledger.TileWidth*(ledger.MaxEntrySize+2))
	if he, ok := errors.AsType[*HTTPError](err); ok && (he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden) {
		return nil, fmt.Errorf("%w: %v", ledger.ErrUnauthorized, err)
	}
	return b, err
}

// GetJSON decodes the JSON response to a GET of path into v.
func (c *Client) GetJSON(ctx context.Context, path string, v any) error {
	b, err := c.do(ctx, http.MethodGet, path, nil, 16<<20)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// DeleteJSON sends a DELETE and decodes the JSON response into out.
func (c *Client) DeleteJSON(ctx context.Context, path string, out any) error {
	b, err := c.do(ctx, http.MethodDelete, path, nil, 16<<20)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// PostJSON posts in (may be nil) and decodes the JSON response into out.
func (c *Client) PostJSON(ctx context.Context, path string, in, out any) error {
	if in == nil {
		in = struct{}{}
	}
	b, err := c.do(ctx, http.MethodPost, path, in, 16<<20)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// rawJSON is a request body sent as it is.
type rawJSON []byte

// PostFile posts a JSON document byte for byte — so that the line numbers
// of any problem the server reports are the document's own — and decodes
// the JSON response into out.
func (c *Client) PostFile(ctx context.Context, path string, doc []byte, out any) error {
	b, err := c.do(ctx, http.MethodPost, path, rawJSON(doc), 16<<20)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// Send sends a request with in as its JSON body (none when in is nil) and
// decodes the JSON answer into out, unless out is nil or the answer has
// no body (204 No Content).
func (c *Client) Send(ctx context.Context, method, path string, in, out any) error {
	b, err := c.do(ctx, method, path, in, 16<<20)
	if err != nil || out == nil || len(b) == 0 {
		return err
	}
	return json.Unmarshal(b, out)
}
