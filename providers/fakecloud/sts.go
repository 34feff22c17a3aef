package fakecloud

import (
	"encoding/xml"
	"net/http"
	"net/url"
)

const stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"

// serveSTS answers the STS query protocol: a form-encoded POST (or GET
// query) in, XML out. GetCallerIdentity is the one operation rekwiz uses.
func (s *Sandbox) serveSTS(w http.ResponseWriter, r *http.Request, body []byte) {
	form, _ := url.ParseQuery(string(body))
	if r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		for k, v := range q {
			form[k] = v
		}
	}
	action := form.Get("Action")
	w.Header().Set("Content-Type", "text/xml")
	reqID := s.requestID()
	w.Header().Set("X-Amzn-Requestid", reqID)

	fail := func(status int, code, msg string) {
		s.logf("sts %s -> %s", action, code)
		w.WriteHeader(status)
		_ = xml.NewEncoder(w).Encode(stsErrorResponse{XMLNS: stsNS, Error: stsError{Type: "Sender", Code: code, Message: msg}, RequestID: reqID})
	}
	sig, authErr := s.verify(r, body, s.now())
	if authErr != nil {
		code := map[authKind]string{
			authMissing: "MissingAuthenticationToken", authUnknown: "InvalidClientTokenId",
			authMismatch: "SignatureDoesNotMatch", authExpired: "SignatureDoesNotMatch", authMalformed: "IncompleteSignature",
			authTokenExpired: "ExpiredToken",
		}[authErr.kind]
		fail(http.StatusForbidden, code, authErr.message)
		return
	}
	if err := s.applyFaults("sts", action, sig.id.Name); err != nil {
		fail(err.Status, err.Code, err.Message)
		return
	}
	if action != "GetCallerIdentity" {
		fail(http.StatusBadRequest, "InvalidAction", "The rekwiz sandbox does not implement STS "+action+".")
		return
	}
	s.logf("sts %s %s -> ok", action, sig.id.Name)
	_ = xml.NewEncoder(w).Encode(getCallerIdentityResponse{
		XMLNS: stsNS,
		Result: callerIdentity{
			Arn: sig.id.ARN, UserID: sig.id.UserID, Account: sig.id.Account,
		},
		RequestID: reqID,
	})
}

type getCallerIdentityResponse struct {
	XMLName   xml.Name       `xml:"GetCallerIdentityResponse"`
	XMLNS     string         `xml:"xmlns,attr"`
	Result    callerIdentity `xml:"GetCallerIdentityResult"`
	RequestID string         `xml:"ResponseMetadata>RequestId"`
}

type callerIdentity struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

type stsErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	XMLNS     string   `xml:"xmlns,attr"`
	Error     stsError `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

type stsError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}
