package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/fault"
)

// Client talks to a running emulator's control API (tests, scripts).
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:2280
	Token   string
	HTTP    *http.Client // nil → 10s timeout client
}

// NewClient returns a client for addr ("127.0.0.1:2280").
func NewClient(addr string) *Client { return &Client{BaseURL: "http://" + addr} }

// AddFault installs a rule and returns its id.
func (c *Client) AddFault(ctx context.Context, r fault.Rule) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/faults", r, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// RemoveFault deletes one rule.
func (c *Client) RemoveFault(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/faults/"+url.PathEscape(id), nil, nil)
}

// ClearFaults deletes every rule.
func (c *Client) ClearFaults(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/faults", nil, nil)
}

// ListFaults returns the rules with their counters.
func (c *Client) ListFaults(ctx context.Context) ([]fault.Status, error) {
	var out []fault.Status
	return out, c.do(ctx, http.MethodGet, "/faults", nil, &out)
}

// SetNodeOnline takes a node offline (false) or back online.
func (c *Client) SetNodeOnline(ctx context.Context, node string, online bool) error {
	return c.do(ctx, http.MethodPut, "/nodes/"+url.PathEscape(node), NodeState{Online: online}, nil)
}

// SetPoolFree forces a pool's free bytes; negative clears the fault.
func (c *Client) SetPoolFree(ctx context.Context, pool string, freeBytes int64) error {
	return c.do(ctx, http.MethodPut, "/pools/"+url.PathEscape(pool), PoolState{FreeBytes: freeBytes}, nil)
}

// Info returns the emulator's addresses and host key fingerprint.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var i Info
	return i, c.do(ctx, http.MethodGet, "/info", nil, &i)
}

// Healthy reports whether /healthz answers 200.
func (c *Client) Healthy(ctx context.Context) bool {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil) == nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
