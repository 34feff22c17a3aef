// Package checkruntest measures a pairing check against its critical
// path, for benchmarks and tests only: a transport that adds latency to
// every HTTP request and records when each one ran, and the critical
// path of what it recorded, the longest chain of requests that depend
// on each other.
//
// The dependencies are declared by the benchmark (Needs: a GetKeyPolicy
// needs the key's ARN, which DescribeKey returns), not read off the
// recording: requests that ran one after another only because the code
// made them wait would otherwise count as a chain, and a check that
// serialises everything would look perfect. Each request on the path
// counts for the time it really took, its added latency included; the
// client's own work between requests is not on the path, so the wall
// time over the critical path is what the code loses to waiting in
// series and to its own work.
//
// It must not be used outside tests: it holds every request's kind in
// memory and delays every request.
package checkruntest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Call is one recorded request.
type Call struct {
	// Kind is what Transport.Kind named the request ("kms Decrypt").
	Kind string
	// Name is Kind, with "#2", "#3"... for the second and later
	// requests of a kind to start.
	Name string
	// Start is when the request reached the transport; End when its
	// response body was read to the end or closed (or the request
	// failed).
	Start, End time.Time
	// Status is the response's status code, 0 when it failed.
	Status int
}

// Took is how long the call took, its added latency included.
func (c Call) Took() time.Duration { return c.End.Sub(c.Start) }

// Transport is an http.RoundTripper that waits Delay before sending each
// request on to Next (a round trip's worth of network on a loopback
// server) and records the request. It is safe for concurrent use.
type Transport struct {
	// Next sends the requests; nil is http.DefaultTransport.
	Next http.RoundTripper
	// Delay is added to every request, before it is sent.
	Delay time.Duration
	// Kind names a request, from the request and its body, for the
	// dependency rules; nil names it by method, host and path.
	Kind func(r *http.Request, body []byte) string

	mu    sync.Mutex
	calls []Call
	seen  map[string]int
}

// RoundTrip delays the request, sends it and records it. The request's
// context ends the delay.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	kind := r.Method + " " + r.URL.Host + r.URL.Path
	if t.Kind != nil {
		kind = t.Kind(r, body)
	}
	i := t.begin(kind, start)
	timer := time.NewTimer(t.Delay)
	select {
	case <-timer.C:
	case <-r.Context().Done():
		timer.Stop()
		t.end(i, 0)
		return nil, r.Context().Err()
	}
	next := t.Next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	if err != nil {
		t.end(i, 0)
		return nil, err
	}
	resp.Body = &endOnClose{ReadCloser: resp.Body, end: func() { t.end(i, resp.StatusCode) }}
	return resp, nil
}

func (t *Transport) begin(kind string, start time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen == nil {
		t.seen = map[string]int{}
	}
	t.seen[kind]++
	name := kind
	if n := t.seen[kind]; n > 1 {
		name = fmt.Sprintf("%s#%d", kind, n)
	}
	t.calls = append(t.calls, Call{Kind: kind, Name: name, Start: start})
	return len(t.calls) - 1
}

// end records a call's end once: the first EOF or Close.
func (t *Transport) end(i, status int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := &t.calls[i]; c.End.IsZero() {
		c.End, c.Status = time.Now(), status
	}
}

type endOnClose struct {
	io.ReadCloser
	end func()
}

func (b *endOnClose) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.end()
	}
	return n, err
}

func (b *endOnClose) Close() error {
	b.end()
	return b.ReadCloser.Close()
}

// Reset forgets the recorded calls, for the next run.
func (t *Transport) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls, t.seen = nil, nil
}

// Calls are the requests recorded since the last Reset, in the order
// they started. A call whose body was never read nor closed has no End.
func (t *Transport) Calls() []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Call(nil), t.calls...)
}

// Needs are the dependencies between requests: for a kind or a name,
// the kinds (or names) of the requests it cannot be sent without, one
// request of each. A name ("kms Decrypt#2") rules over its kind. When
// several requests of a needed kind were made, the one that could have
// finished first counts, as a check that made it only once would have
// had it; a needed kind that was never requested is no need.
type Needs map[string][]string

// Path is a critical path: its length and its calls, first to last.
type Path struct {
	Length time.Duration
	Calls  []Call
}

func (p Path) String() string {
	var s []string
	for _, c := range p.Calls {
		s = append(s, fmt.Sprintf("%s (%s)", c.Name, c.Took().Round(time.Millisecond)))
	}
	return p.Length.Round(time.Millisecond).String() + ": " + strings.Join(s, " -> ")
}

// CriticalPath is the longest chain of the recorded requests that need
// each other by needs, each counted for the time it took. It fails on a
// call that has not ended and on needs that go round in a circle.
func (t *Transport) CriticalPath(needs Needs) (Path, error) {
	calls := t.Calls()
	for _, c := range calls {
		if c.End.IsZero() {
			return Path{}, fmt.Errorf("%s has not ended (a response body not read to the end nor closed)", c.Name)
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(calls))
	finish := make([]time.Duration, len(calls)) // earliest finish in a chain
	prev := make([]int, len(calls))             // the call it waits for; -1 none
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case done:
			return nil
		case visiting:
			return errors.New("the needs go round in a circle at " + calls[i].Name)
		}
		state[i] = visiting
		need, ok := needs[calls[i].Name]
		if !ok {
			need = needs[calls[i].Kind]
		}
		prev[i] = -1
		var wait time.Duration
		for _, n := range need {
			best := -1
			for j, c := range calls {
				if j == i || (c.Name != n && c.Kind != n) {
					continue
				}
				if err := visit(j); err != nil {
					return err
				}
				if best < 0 || finish[j] < finish[best] {
					best = j
				}
			}
			if best >= 0 && finish[best] > wait {
				wait, prev[i] = finish[best], best
			}
		}
		finish[i] = wait + calls[i].Took()
		state[i] = done
		return nil
	}
	last := -1
	for i := range calls {
		if err := visit(i); err != nil {
			return Path{}, err
		}
		if last < 0 || finish[i] > finish[last] {
			last = i
		}
	}
	var p Path
	if last < 0 {
		return p, nil
	}
	p.Length = finish[last]
	for i := last; i >= 0; i = prev[i] {
		p.Calls = append([]Call{calls[i]}, p.Calls...)
	}
	return p, nil
}

// Target is the most a check's wall time may be over its critical path.
const Target = 1.2

// Measure runs check b.N times (b.Loop), each after a Reset, and reports
// the mean wall time ("wall-ms"), the mean critical path by needs
// ("path-ms") and the ratio of their sums ("x-path"), which fails the
// benchmark above Target. With -v the last run's calls and critical path
// are logged.
func (t *Transport) Measure(b *testing.B, needs Needs, check func() error) {
	b.Helper()
	var wall, path time.Duration
	var last Path
	var calls []Call
	var began time.Time
	n := 0
	for b.Loop() {
		t.Reset()
		start := time.Now()
		if err := check(); err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start)
		p, err := t.CriticalPath(needs)
		if err != nil {
			b.Fatal(err)
		}
		path += p.Length
		last, calls, began = p, t.Calls(), start
		n++
	}
	if n == 0 || path == 0 {
		b.Fatal("nothing was measured")
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(n) }
	b.ReportMetric(ms(wall), "wall-ms")
	b.ReportMetric(ms(path), "path-ms")
	ratio := float64(wall) / float64(path)
	b.ReportMetric(ratio, "x-path")
	if ratio > Target {
		b.Errorf("the wall time is %.2fx the critical path, over the target of %.1fx; the last run's path: %s", ratio, Target, last)
	}
	if testing.Verbose() {
		var lines []string
		for _, c := range calls {
			lines = append(lines, fmt.Sprintf("  +%3dms %s (%s)", c.Start.Sub(began).Milliseconds(), c.Name, c.Took().Round(time.Millisecond)))
		}
		b.Logf("the last run's calls:\n%s\ncritical path: %s", strings.Join(lines, "\n"), last)
	}
}

// AWSKind names an AWS request by service and operation: "kms Decrypt"
// (the JSON protocols' X-Amz-Target) or "iam GetUserPolicy" (the query
// protocol's Action).
func AWSKind(r *http.Request, body []byte) string {
	service := "aws"
	if _, scope, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		if parts := strings.Split(scope, "/"); len(parts) >= 4 {
			service = parts[3]
		}
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		return service + " " + target[strings.LastIndex(target, ".")+1:]
	}
	if q, err := url.ParseQuery(string(body)); err == nil && q.Get("Action") != "" {
		return service + " " + q.Get("Action")
	}
	return service + " " + r.Method + " " + r.URL.Path
}
