package fakecloud

import (
	"net/http"
	"slices"
	"time"
)

// Fault makes matching requests slow or failing, to produce latency and
// errors such as throttling on demand.
type Fault struct {
	Service   string // "kms" or "sts"; "" matches any
	Operation string // "Decrypt"; "" matches any
	Caller    string // "customer" or "vendor"; "" matches any
	Delay     time.Duration
	Code      string // the error to answer with; "" answers normally after Delay
	Message   string
	Status    int // HTTP status of the error; 0 is 400
	Times     int // how many requests it applies to; 0 is every one
}

// Inject adds a fault. Faults apply in the order they were added; the
// first that matches a request applies.
func (s *Sandbox) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

func (s *Sandbox) applyFaults(service, op, caller string) *apiError {
	s.mu.Lock()
	i := slices.IndexFunc(s.faults, func(f Fault) bool {
		return (f.Service == "" || f.Service == service) && (f.Operation == "" || f.Operation == op) && (f.Caller == "" || f.Caller == caller)
	})
	if i < 0 {
		s.mu.Unlock()
		return nil
	}
	f := s.faults[i]
	if f.Times > 0 {
		if s.faults[i].Times--; s.faults[i].Times == 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
	}
	s.mu.Unlock()
	time.Sleep(f.Delay)
	if f.Code == "" {
		return nil
	}
	status := f.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	return &apiError{Status: status, Code: f.Code, Message: f.Message}
}
