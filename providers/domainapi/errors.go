package domainapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/rekwiz/rekwiz/providers/jsonstrict"
	"github.com/rekwiz/rekwiz/ui/termtext"
)

// APIError is an answer the API refused a request with.
type APIError struct {
	Status  int
	Field   string // for 400, the field the API names, if it does
	Message string
	Domain  string
}

func (e *APIError) Error() string {
	switch e.Status {
	case http.StatusBadRequest:
		if e.Field != "" {
			return fmt.Sprintf("the domain API refused %s: %s", e.Field, e.Message)
		}
		return "the domain API refused the request: " + e.Message
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Sprintf("the domain API refused the API token (%d %s); check REKWIZ_API_TOKEN and that it may manage %s", e.Status, http.StatusText(e.Status), e.Domain)
	case http.StatusNotFound:
		return fmt.Sprintf("the domain API has no domain %s (404); check the domain ID and --api-url", e.Domain)
	case http.StatusTooManyRequests:
		return "the domain API is rate-limiting requests; try again in a minute"
	}
	if e.Status >= 500 {
		return fmt.Sprintf("the domain API failed (%d %s): %s; try again later", e.Status, http.StatusText(e.Status), e.Message)
	}
	return fmt.Sprintf("the domain API answered %d: %s", e.Status, e.Message)
}

// AlreadyRegisteredError is a 409: the domain has this key already.
// RekID names it when the API says which.
type AlreadyRegisteredError struct{ RekID string }

func (e *AlreadyRegisteredError) Error() string {
	if e.RekID == "" {
		return "the domain has this key registered already"
	}
	return "the domain has this key registered already, as " + e.RekID + "; press t to test it instead"
}

// ExistingRekID lets the wizard offer to test the registered key.
func (e *AlreadyRegisteredError) ExistingRekID() string { return e.RekID }

// UnhealthyError is a registration whose vendor-side test failed.
type UnhealthyError struct {
	RekID  string
	Result TestResult
}

func (e *UnhealthyError) Error() string {
	return fmt.Sprintf("registered as %s, but the vendor's test says %s: %s", e.RekID, e.Result.Status, e.Result.StatusMessage)
}

// do makes a request, retrying 429 and 5xx, and decodes a 2xx answer
// into out.
func apiError(status int, data []byte, domain string) error {
	var body struct {
		Message string `json:"message"`
		Error   string `json:"error"`
		Field   string `json:"field"`
		RekID   string `json:"rekID"`
	}
	_ = jsonstrict.Unmarshal(data, &body)
	if status == http.StatusConflict {
		return &AlreadyRegisteredError{RekID: termtext.Line(body.RekID)}
	}
	msg := body.Message
	if msg == "" {
		msg = body.Error
	}
	if msg == "" {
		msg = strings.TrimSpace(string(data))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	return &APIError{Status: status, Field: termtext.Line(body.Field), Message: termtext.Line(msg), Domain: domain}
}
