package fakecloud

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

// IAM speaks the query protocol: a form in, XML out. The XML shapes are
// those the IAM API reference gives and the AWS SDK's query
// deserializers read (lists as <member> elements, IsTruncated and Marker
// for pages). Users, their inline policies, access keys and tags are in
// iam_users.go; managed policies in iam_managed.go; groups in
// iam_groups.go.

const iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"

type iamState struct {
	users map[string]*iamUser // by user name (IAM user names are case-insensitive; the sandbox keeps them as given)
	extra *iamExtra           // groups and managed policies, made on first use
}

func newIAMState() iamState { return iamState{users: map[string]*iamUser{}} }

// iamOps are the IAM calls the sandbox answers: what a service-account
// setup and its teardown make, and what else can grant a user access.
var iamOps = map[string]func(s *Sandbox, form url.Values) (any, *apiError){
	"CreateUser":       (*Sandbox).iamCreateUser,
	"GetUser":          (*Sandbox).iamGetUser,
	"DeleteUser":       (*Sandbox).iamDeleteUser,
	"ListUserTags":     (*Sandbox).iamListUserTags,
	"PutUserPolicy":    (*Sandbox).iamPutUserPolicy,
	"GetUserPolicy":    (*Sandbox).iamGetUserPolicy,
	"ListUserPolicies": (*Sandbox).iamListUserPolicies,
	"DeleteUserPolicy": (*Sandbox).iamDeleteUserPolicy,
	"CreateAccessKey":  (*Sandbox).iamCreateAccessKey,
	"ListAccessKeys":   (*Sandbox).iamListAccessKeys,
	"DeleteAccessKey":  (*Sandbox).iamDeleteAccessKey,

	"CreatePolicy":             (*Sandbox).iamCreatePolicy,
	"CreatePolicyVersion":      (*Sandbox).iamCreatePolicyVersion,
	"GetPolicy":                (*Sandbox).iamGetPolicy,
	"GetPolicyVersion":         (*Sandbox).iamGetPolicyVersion,
	"AttachUserPolicy":         (*Sandbox).iamAttachUserPolicy,
	"DetachUserPolicy":         (*Sandbox).iamDetachUserPolicy,
	"ListAttachedUserPolicies": (*Sandbox).iamListAttachedUserPolicies,

	"CreateGroup":               (*Sandbox).iamCreateGroup,
	"AddUserToGroup":            (*Sandbox).iamAddUserToGroup,
	"RemoveUserFromGroup":       (*Sandbox).iamRemoveUserFromGroup,
	"ListGroupsForUser":         (*Sandbox).iamListGroupsForUser,
	"PutGroupPolicy":            (*Sandbox).iamPutGroupPolicy,
	"GetGroupPolicy":            (*Sandbox).iamGetGroupPolicy,
	"ListGroupPolicies":         (*Sandbox).iamListGroupPolicies,
	"AttachGroupPolicy":         (*Sandbox).iamAttachGroupPolicy,
	"ListAttachedGroupPolicies": (*Sandbox).iamListAttachedGroupPolicies,
}

// queryForm reads a query-protocol request: form body and URL query.
func queryForm(r *http.Request, body []byte) url.Values {
	form, _ := url.ParseQuery(string(body))
	if r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		for k, v := range q {
			form[k] = v
		}
	}
	return form
}

// serveIAM answers the IAM query protocol. Only the customer's admin may
// call it.
func (s *Sandbox) serveIAM(w http.ResponseWriter, r *http.Request, body []byte) {
	form := queryForm(r, body)
	action := form.Get("Action")
	reqID := s.requestID()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", reqID)
	fail := func(e *apiError) {
		s.logf("iam %s -> %s", action, e.Code)
		w.WriteHeader(e.Status)
		_ = xml.NewEncoder(w).Encode(stsErrorResponse{XMLNS: iamNS, Error: stsError{Type: "Sender", Code: e.Code, Message: e.Message}, RequestID: reqID})
	}
	sig, authErr := s.verify(r, body, s.now())
	if authErr != nil {
		code := map[authKind]string{
			authMissing: "MissingAuthenticationToken", authUnknown: "InvalidClientTokenId",
			authMismatch: "SignatureDoesNotMatch", authExpired: "SignatureDoesNotMatch", authMalformed: "IncompleteSignature",
			authTokenExpired: "ExpiredToken",
		}[authErr.kind]
		fail(&apiError{Status: http.StatusForbidden, Code: code, Message: authErr.message})
		return
	}
	if err := s.applyFaults("iam", action, sig.id.Name); err != nil {
		fail(err)
		return
	}
	op, ok := iamOps[action]
	if !ok {
		fail(&apiError{Status: http.StatusBadRequest, Code: "InvalidAction", Message: "The rekwiz sandbox does not implement IAM " + action + "."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sig.id != s.customer {
		fail(&apiError{Status: http.StatusForbidden, Code: "AccessDenied", Message: "User: " + sig.id.ARN + " is not authorized to perform: iam:" + action + " because no identity-based policy allows the iam:" + action + " action"})
		return
	}
	result, aerr := op(s, form)
	if aerr != nil {
		fail(aerr)
		return
	}
	s.logf("iam %s %s -> ok", action, sig.id.Name)
	enc := xml.NewEncoder(w)
	resp := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: iamNS}}}
	_ = enc.EncodeToken(resp)
	_ = enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
	_ = enc.EncodeElement(struct {
		RequestID string `xml:"RequestId"`
	}{reqID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	_ = enc.EncodeToken(resp.End())
	_ = enc.Flush()
}

func iamErr(status int, code, format string, args ...any) *apiError {
	e := kmsErr(code, format, args...)
	e.Status = status
	return e
}

var (
	// iamNameRE is a user, group or policy name; users and groups have at
	// most 64 characters, policies 128 (checked apart: a counted repeat
	// is costly to compile).
	iamNameRE = lazyRE(`^[\w+=,.@-]+$`)
)

// validName checks a user or group name; field is how IAM's error names
// the parameter ("userName", "groupName").
func validName(field, name string) *apiError {
	if len(name) > 64 || !iamNameRE().MatchString(name) {
		return iamErr(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name, field)
	}
	return nil
}

// validPolicy checks an inline or managed policy's name and document.
func validPolicy(name, doc string) *apiError {
	if len(name) > 128 || !iamNameRE().MatchString(name) {
		return iamErr(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
	}
	if _, err := awspolicy.Parse(doc); err != nil {
		return iamErr(http.StatusBadRequest, "MalformedPolicyDocument", "%s", err.Error())
	}
	return nil
}

// inlinePolicy is the document of a user's or group's inline policy
// named in the request; kind ("user", "group") names the owner in the
// error.
func inlinePolicy(form url.Values, kind string, policies map[string]string) (name, doc string, aerr *apiError) {
	name = form.Get("PolicyName")
	doc, ok := policies[name]
	if !ok {
		return "", "", iamErr(http.StatusNotFound, "NoSuchEntity", "The %s policy with name %s cannot be found.", kind, name)
	}
	return name, doc, nil
}

// iamList answers every IAM list call: the page of list the request asks
// for (Marker, MaxItems: 1 to 1000, default 100), its items as <member>
// elements of field, then IsTruncated and, when there is more, Marker.
func iamList[T any](form url.Values, field string, list []T) (any, *apiError) {
	limit := 100
	if v := form.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, iamErr(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", v)
		}
		limit = n
	}
	// The marker is opaque to callers: here, the index of the page's
	// first item.
	start := 0
	if m := form.Get("Marker"); m != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(m, "m"))
		if err != nil || n < 0 || n > len(list) {
			return nil, iamErr(http.StatusBadRequest, "ValidationError", "Invalid Marker.")
		}
		start = n
	}
	end := min(start+limit, len(list))
	out := xmlList[T]{field: field, items: list[start:end]}
	if end < len(list) {
		out.truncated, out.marker = true, "m"+strconv.Itoa(end)
	}
	return out, nil
}

// xmlList is one page of an IAM list result.
type xmlList[T any] struct {
	field     string
	items     []T
	truncated bool
	marker    string
}

func (l xmlList[T]) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	el := func(name string) xml.StartElement { return xml.StartElement{Name: xml.Name{Local: name}} }
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if err := e.EncodeElement(struct {
		Member []T `xml:"member"`
	}{l.items}, el(l.field)); err != nil {
		return err
	}
	if err := e.EncodeElement(l.truncated, el("IsTruncated")); err != nil {
		return err
	}
	if l.marker != "" {
		if err := e.EncodeElement(l.marker, el("Marker")); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}
