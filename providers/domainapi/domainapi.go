// Package domainapi registers a key with the vendor's domain API (the
// shape of the vendor's published API, antimatter_api 2.0.13): it adds
// the key, asks the vendor to test it, and reads the vendor's account
// details for delegated providers.
//
// Requests carry the API token as a bearer token and never log it; the
// token, like a service account's secret, never appears in an error.
// 429 and 5xx answers are retried with backoff, honouring Retry-After.
package domainapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/checkrun"
	"github.com/rekwiz/rekwiz/providers/jsonstrict"
	"github.com/rekwiz/rekwiz/ui/termtext"
)

// Client talks to one domain API.
type Client struct {
	base  *url.URL
	token flows.Secret
	http  *http.Client
	// attempts is how many times a request is made when the API answers
	// 429 or 5xx; sleep waits between them.
	attempts int
	sleep    func(context.Context, time.Duration) error
	timeout  time.Duration
}

// Option changes a Client.
type Option func(*Client)

// WithTimeout bounds each request: an API that accepts the connection
// and never answers is given up on after d (30 s by default).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithRetries sets how many times a request is tried in all, and the
// clock retries wait on (tests).
func WithRetries(attempts int, sleep func(context.Context, time.Duration) error) Option {
	return func(c *Client) { c.attempts, c.sleep = max(attempts, 1), sleep }
}

// New returns a client for the API at baseURL, authenticated by token.
func New(baseURL string, token flows.Secret, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--api-url %q: expected an https:// URL such as https://api.example.com/v2", baseURL)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, fmt.Errorf("--api-url %q: expected an https:// URL; plain http is allowed only to this machine (localhost, 127.0.0.0/8, ::1), and %s is not: the API token would travel unencrypted", baseURL, u.Hostname())
	default:
		return nil, fmt.Errorf("--api-url %q: expected an https:// URL such as https://api.example.com/v2", baseURL)
	}
	if token == "" {
		return nil, errors.New("API token: set REKWIZ_API_TOKEN (it is never taken as a flag, which would land in your shell history)")
	}
	c := &Client{base: u, token: token, http: &http.Client{}, attempts: 4, sleep: checkrun.Sleep, timeout: 30 * time.Second}
	for _, o := range opts {
		o(c)
	}
	// The token and any secret go to the configured origin only: a
	// redirect is never followed (it would re-send the request, body
	// and all, to wherever the server says) but answered with an error.
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http.Timeout = 0 // the per-request context bounds it, and names the endpoint
	return c, nil
}

// isLoopback reports an address of this machine: localhost,
// 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// KeyInformation is the key as the API takes it, tagged by providerName.
type KeyInformation struct {
	ProviderName    string `json:"providerName"`
	KeyARN          string `json:"keyARN,omitempty"`
	AccessKeyID     string `json:"accessKeyID,omitempty"`
	SecretAccessKey string `json:"secretAccessKey,omitempty"`
	TenantID        string `json:"tenantID,omitempty"`
	KeyURL          string `json:"keyURL,omitempty"`
	// A Google Cloud key (gcp_am) is named by its parts.
	ProjectID string `json:"projectID,omitempty"`
	Location  string `json:"location,omitempty"`
	KeyringID string `json:"keyringID,omitempty"`
	KeyID     string `json:"keyID,omitempty"`
}

// KeyInfos is the body of the add-key call.
type KeyInfos struct {
	Description    string         `json:"description,omitempty"`
	KeyInformation KeyInformation `json:"keyInformation"`
}

// keyInfos is the add-key body for a target. It holds the secret access
// key of a service account: it is built right before the request and
// goes nowhere else.
func keyInfos(t flows.Target) KeyInfos {
	ki := KeyInformation{
		ProviderName:    t.Provider.APIName(),
		KeyARN:          t.Value(flows.FieldAliasARN),
		AccessKeyID:     t.Value(flows.FieldAccessKeyID),
		SecretAccessKey: t.SecretAccessKey.Reveal(),
		TenantID:        t.Value(flows.FieldTenantID),
		KeyURL:          t.Value(flows.FieldKeyURL),
		ProjectID:       t.KeyResource.Project,
		Location:        t.KeyResource.Location,
		KeyringID:       t.KeyResource.KeyRing,
		KeyID:           t.KeyResource.Key,
	}
	return KeyInfos{Description: "Root Encryption Key, registered by rekwiz", KeyInformation: ki}
}

// TestResult is the vendor's own health check of a key.
type TestResult struct {
	ID            string  `json:"id"`
	Source        string  `json:"source"`
	ResourcePath  string  `json:"resourcePath"`
	Description   string  `json:"description"`
	Status        string  `json:"status"`
	StatusMessage string  `json:"statusMessage"`
	LatencyMS     float64 `json:"latencyMS"`
}

// Healthy reports whether the vendor could use the key.
func (r TestResult) Healthy() bool {
	return strings.EqualFold(r.Status, "ok") || strings.EqualFold(r.Status, "healthy")
}

// Register adds the target's key to its domain and has the vendor test
// it. A key the domain has already is an *AlreadyRegisteredError.
func (c *Client) Register(ctx context.Context, t flows.Target) (flows.Receipt, error) {
	body, err := json.Marshal(keyInfos(t))
	if err != nil {
		return flows.Receipt{}, err
	}
	var out struct {
		RekID string `json:"rekID"`
	}
	if err := c.do(ctx, http.MethodPost, "/domains/"+url.PathEscape(t.Domain)+"/control/encryption/keys", body, t.Domain, &out, t.SecretAccessKey.Reveal()); err != nil {
		clear(body)
		return flows.Receipt{}, err
	}
	clear(body)
	if out.RekID == "" {
		return flows.Receipt{}, errors.New("the domain API answered without a rekID")
	}
	if !termtext.Safe(out.RekID) || len(out.RekID) > 256 {
		return flows.Receipt{}, fmt.Errorf("the domain API answered with a rekID that is not an ID: %s", termtext.Line(truncate(out.RekID, 80)))
	}
	return c.Retest(ctx, t, out.RekID)
}

// Retest asks the vendor to test a key the domain already has.
func (c *Client) Retest(ctx context.Context, t flows.Target, rekID string) (flows.Receipt, error) {
	res, err := c.Test(ctx, t.Domain, rekID)
	if err != nil {
		return flows.Receipt{}, fmt.Errorf("registered as %s, but the vendor's test failed to run: %w", rekID, err)
	}
	r := flows.Receipt{RekID: rekID, Where: "domain API " + c.base.String(),
		Test: fmt.Sprintf("%s: %s (%.0f ms)", res.Status, res.StatusMessage, res.LatencyMS)}
	if !res.Healthy() {
		return r, &UnhealthyError{RekID: rekID, Result: res}
	}
	return r, nil
}

// Test runs the vendor-side health check of a registered key.
func (c *Client) Test(ctx context.Context, domain, rekID string) (TestResult, error) {
	var out TestResult
	err := c.do(ctx, http.MethodPost, "/domains/"+url.PathEscape(domain)+"/control/encryption/keys/"+url.PathEscape(rekID)+"/test", []byte("{}"), domain, &out)
	// What the vendor says is shown on a terminal: escaped, never raw.
	for _, f := range []*string{&out.ID, &out.Source, &out.ResourcePath, &out.Description, &out.Status, &out.StatusMessage} {
		*f = termtext.Line(*f)
	}
	return out, err
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Whatever the API answers, no error repeats the token or a secret the
// request carried.
func (c *Client) do(ctx context.Context, method, path string, body []byte, domain string, out any, secrets ...string) error {
	err := c.request(ctx, method, path, body, domain, out)
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Message = scrub(ae.Message, append(secrets, c.token.Reveal())...)
	}
	return err
}

// scrub replaces with **** every run of 8 or more characters of s that
// also appears in a secret: the whole secret, or a piece of one in a
// message cut short.
func scrub(s string, secrets ...string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		n := 0
		for _, sec := range secrets {
			if len(sec) < 8 {
				continue
			}
			for j := i + 8; j <= len(s) && strings.Contains(sec, s[i:j]); j++ {
				n = max(n, j-i)
			}
		}
		if n >= 8 {
			b.WriteString("****")
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func (c *Client) request(ctx context.Context, method, path string, body []byte, domain string, out any) error {
	for attempt := 1; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		rctx, cancel := context.WithTimeout(ctx, c.timeout)
		req, err := http.NewRequestWithContext(rctx, method, c.base.String()+path, rd)
		if err != nil {
			cancel()
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("the domain API at %s did not answer within %s; check --api-url and try again", c.base.Host, c.timeout)
			}
			return fmt.Errorf("could not reach the domain API at %s: %w", c.base.Host, unwrapURL(err))
		}
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		cancel()
		if rerr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(rerr, context.DeadlineExceeded) {
				return fmt.Errorf("the domain API at %s did not finish its answer within %s; try again", c.base.Host, c.timeout)
			}
			return fmt.Errorf("reading the domain API's answer from %s: %w", c.base.Host, rerr)
		}
		if resp.StatusCode/100 == 3 {
			where := "nowhere"
			if loc, err := resp.Location(); err == nil {
				where = loc.Host
			}
			return fmt.Errorf("the domain API at %s answered %d %s, redirecting to %s; rekwiz follows no redirect (your token and key would go with it): check --api-url",
				c.base.Host, resp.StatusCode, http.StatusText(resp.StatusCode), termtext.Line(where))
		}
		if resp.StatusCode/100 == 2 {
			if out == nil {
				return nil
			}
			if err := jsonstrict.Unmarshal(data, out); err != nil {
				return fmt.Errorf("the domain API's answer is not the JSON expected: %w", err)
			}
			return nil
		}
		retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		if retryable && attempt < c.attempts {
			if err := c.sleep(ctx, retryAfter(resp.Header.Get("Retry-After"), attempt)); err != nil {
				return err
			}
			continue
		}
		return apiError(resp.StatusCode, data, domain)
	}
}

// unwrapURL drops the *url.Error wrapper, whose text repeats the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter is the pause before attempt+1: the server's Retry-After
// (seconds or an HTTP date) when it gives one, capped at a minute, else
// 1 s, 2 s, 4 s…
func retryAfter(h string, attempt int) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, time.Minute)
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(time.Until(t), 0), time.Minute)
	}
	return time.Duration(1<<(attempt-1)) * time.Second
}
