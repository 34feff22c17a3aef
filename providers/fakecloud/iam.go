package fakecloud

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

const iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"

// iamUser is an IAM user the customer made (a service account). Its
// access keys sign requests like any other identity, and its inline
// policies decide what KMS lets it do wherever a key policy leaves the
// decision to the account.
type iamUser struct {
	name, arn, id string
	created       time.Time
	policies      map[string]string // inline policies by name, as put
	keys          []*Identity       // access keys, in creation order
	tags          []iamTag          // as given to CreateUser
}

type iamState struct {
	users map[string]*iamUser // by user name (IAM user names are case-insensitive; the sandbox keeps them as given)
	extra *iamExtra           // groups and managed policies, made on first use
}

func newIAMState() iamState { return iamState{users: map[string]*iamUser{}} }

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

var (
	iamNameRE       = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	iamPolicyNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
)

// serveIAM answers the IAM query protocol for the calls a service-account
// setup and its teardown make. Only the customer's admin may call it.
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

func noSuchUser(name string) *apiError {
	return iamErr(http.StatusNotFound, "NoSuchEntity", "The user with name %s cannot be found.", name)
}

var iamOps = map[string]func(s *Sandbox, form url.Values) (any, *apiError){
	"CreateUser":       (*Sandbox).iamCreateUser,
	"GetUser":          (*Sandbox).iamGetUser,
	"DeleteUser":       (*Sandbox).iamDeleteUser,
	"PutUserPolicy":    (*Sandbox).iamPutUserPolicy,
	"GetUserPolicy":    (*Sandbox).iamGetUserPolicy,
	"ListUserPolicies": (*Sandbox).iamListUserPolicies,
	"DeleteUserPolicy": (*Sandbox).iamDeleteUserPolicy,
	"CreateAccessKey":  (*Sandbox).iamCreateAccessKey,
	"ListAccessKeys":   (*Sandbox).iamListAccessKeys,
	"DeleteAccessKey":  (*Sandbox).iamDeleteAccessKey,
}

type xmlUser struct {
	Path       string `xml:"Path"`
	UserName   string `xml:"UserName"`
	UserID     string `xml:"UserId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

func (u *iamUser) xml() xmlUser {
	return xmlUser{Path: "/", UserName: u.name, UserID: u.id, Arn: u.arn, CreateDate: u.created.UTC().Format(time.RFC3339)}
}

func (s *Sandbox) user(form url.Values) (*iamUser, *apiError) {
	name := form.Get("UserName")
	if !iamNameRE.MatchString(name) {
		return nil, iamErr(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
	}
	u := s.iam.users[strings.ToLower(name)]
	if u == nil {
		return nil, noSuchUser(name)
	}
	return u, nil
}

func (s *Sandbox) iamCreateUser(form url.Values) (any, *apiError) {
	name := form.Get("UserName")
	if !iamNameRE.MatchString(name) {
		return nil, iamErr(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
	}
	if s.iam.users[strings.ToLower(name)] != nil {
		return nil, iamErr(http.StatusConflict, "EntityAlreadyExists", "User with name %s already exists.", name)
	}
	u := &iamUser{
		name: name, arn: "arn:aws:iam::" + CustomerAccount + ":user/" + name,
		id: "AIDA" + s.randString(17, upperDigits), created: s.now(), policies: map[string]string{},
	}
	u.tags = formTags(form)
	s.iam.users[strings.ToLower(name)] = u
	return struct {
		User xmlUser `xml:"User"`
	}{u.xml()}, nil
}

func (s *Sandbox) iamGetUser(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	return struct {
		User xmlUser `xml:"User"`
	}{u.xml()}, nil
}

func (s *Sandbox) iamDeleteUser(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	if len(u.policies) > 0 || len(u.keys) > 0 || s.userBlocked(u) {
		return nil, iamErr(http.StatusConflict, "DeleteConflict", "Cannot delete entity, must delete policies and access keys first.")
	}
	delete(s.iam.users, strings.ToLower(u.name))
	return struct{}{}, nil
}

func (s *Sandbox) iamPutUserPolicy(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	name, doc := form.Get("PolicyName"), form.Get("PolicyDocument")
	if !iamPolicyNameRE.MatchString(name) {
		return nil, iamErr(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
	}
	if _, perr := awspolicy.Parse(doc); perr != nil {
		return nil, iamErr(http.StatusBadRequest, "MalformedPolicyDocument", "%s", perr.Error())
	}
	u.policies[name] = doc
	return struct{}{}, nil
}

func (s *Sandbox) iamGetUserPolicy(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	name := form.Get("PolicyName")
	doc, ok := u.policies[name]
	if !ok {
		return nil, iamErr(http.StatusNotFound, "NoSuchEntity", "The user policy with name %s cannot be found.", name)
	}
	// IAM returns policy documents URL-encoded (RFC 3986).
	return struct {
		UserName       string `xml:"UserName"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	}{u.name, name, url.PathEscape(doc)}, nil
}

func (s *Sandbox) iamListUserPolicies(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	return policyNames(form, u.policies)
}

func (s *Sandbox) iamDeleteUserPolicy(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	name := form.Get("PolicyName")
	if _, ok := u.policies[name]; !ok {
		return nil, iamErr(http.StatusNotFound, "NoSuchEntity", "The user policy with name %s cannot be found.", name)
	}
	delete(u.policies, name)
	return struct{}{}, nil
}

type xmlAccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey,omitempty"`
	CreateDate      string `xml:"CreateDate"`
}

// iamKeyLimit is IAM's quota of access keys per user.
const iamKeyLimit = 2

func (s *Sandbox) iamCreateAccessKey(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	if len(u.keys) >= iamKeyLimit {
		return nil, iamErr(http.StatusConflict, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: %d", iamKeyLimit)
	}
	id := s.newIdentity("user/"+u.name, u.arn, CustomerAccount)
	id.UserID = u.id
	id.created = s.now()
	u.keys = append(u.keys, id)
	return struct {
		AccessKey xmlAccessKey `xml:"AccessKey"`
	}{xmlAccessKey{u.name, id.AccessKeyID, "Active", id.SecretAccessKey, id.created.UTC().Format(time.RFC3339)}}, nil
}

func (s *Sandbox) iamListAccessKeys(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	list := []xmlAccessKey{}
	for _, k := range u.keys {
		list = append(list, xmlAccessKey{UserName: u.name, AccessKeyID: k.AccessKeyID, Status: "Active", CreateDate: k.created.UTC().Format(time.RFC3339)})
	}
	return struct {
		Keys        []xmlAccessKey `xml:"AccessKeyMetadata>member"`
		IsTruncated bool           `xml:"IsTruncated"`
	}{list, false}, nil
}

func (s *Sandbox) iamDeleteAccessKey(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	id := form.Get("AccessKeyId")
	for i, k := range u.keys {
		if k.AccessKeyID == id {
			u.keys = append(u.keys[:i], u.keys[i+1:]...)
			return struct{}{}, nil
		}
	}
	return nil, iamErr(http.StatusNotFound, "NoSuchEntity", "The Access Key with id %s cannot be found.", id)
}

// userOf is the IAM user an identity is an access key of, or nil for the
// sandbox's built-in identities.
func (s *Sandbox) userOf(id *Identity) *iamUser {
	for _, u := range s.iam.users {
		for _, k := range u.keys {
			if k == id {
				return u
			}
		}
	}
	return nil
}

// IAMUser is an IAM user as the sandbox holds it, for tests.
type IAMUser struct {
	Name       string
	ARN        string
	Policies   map[string]string
	AccessKeys []string // access key IDs
}

// User returns the customer's IAM user with this name.
func (s *Sandbox) User(name string) (IAMUser, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.iam.users[strings.ToLower(name)]
	if u == nil {
		return IAMUser{}, false
	}
	out := IAMUser{Name: u.name, ARN: u.arn, Policies: map[string]string{}}
	for k, v := range u.policies {
		out.Policies[k] = v
	}
	for _, k := range u.keys {
		out.AccessKeys = append(out.AccessKeys, k.AccessKeyID)
	}
	return out, true
}

// AccessKey returns the identity of one of a user's access keys.
func (s *Sandbox) AccessKey(accessKeyID string) (Identity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.iam.users {
		for _, k := range u.keys {
			if k.AccessKeyID == accessKeyID {
				return *k, true
			}
		}
	}
	return Identity{}, false
}

// Tags: CreateUser keeps the tags it is given and ListUserTags returns
// them, which is how a service-account setup knows a user is its own.

type iamTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func init() { iamOps["ListUserTags"] = (*Sandbox).iamListUserTags }

// formTags reads Tags.member.N.Key and .Value, in order.
func formTags(form url.Values) []iamTag {
	var tags []iamTag
	for i := 1; form.Has(fmt.Sprintf("Tags.member.%d.Key", i)); i++ {
		tags = append(tags, iamTag{Key: form.Get(fmt.Sprintf("Tags.member.%d.Key", i)), Value: form.Get(fmt.Sprintf("Tags.member.%d.Value", i))})
	}
	return tags
}

func (s *Sandbox) iamListUserTags(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	return struct {
		Tags        []iamTag `xml:"Tags>member"`
		IsTruncated bool     `xml:"IsTruncated"`
	}{u.tags, false}, nil
}
