package fakecloud

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

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

// user is the user the request names.
func (s *Sandbox) user(form url.Values) (*iamUser, *apiError) {
	name := form.Get("UserName")
	if err := validName("userName", name); err != nil {
		return nil, err
	}
	u := s.iam.users[strings.ToLower(name)]
	if u == nil {
		return nil, iamErr(http.StatusNotFound, "NoSuchEntity", "The user with name %s cannot be found.", name)
	}
	return u, nil
}

func (s *Sandbox) iamCreateUser(form url.Values) (any, *apiError) {
	name := form.Get("UserName")
	if err := validName("userName", name); err != nil {
		return nil, err
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

// Tags: CreateUser keeps the tags it is given and ListUserTags returns
// them, which is how a service-account setup knows a user is its own.

type iamTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

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
	return iamList(form, "Tags", u.tags)
}

func (s *Sandbox) iamPutUserPolicy(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	name, doc := form.Get("PolicyName"), form.Get("PolicyDocument")
	if err := validPolicy(name, doc); err != nil {
		return nil, err
	}
	u.policies[name] = doc
	return struct{}{}, nil
}

func (s *Sandbox) iamGetUserPolicy(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	name, doc, err := inlinePolicy(form, "user", u.policies)
	if err != nil {
		return nil, err
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
	return iamList(form, "PolicyNames", policyNames(u.policies))
}

// policyNames are the names of a user's or group's inline policies, in
// order.
func policyNames(policies map[string]string) []string {
	names := slices.Collect(maps.Keys(policies))
	sort.Strings(names)
	return names
}

func (s *Sandbox) iamDeleteUserPolicy(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	name, _, err := inlinePolicy(form, "user", u.policies)
	if err != nil {
		return nil, err
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
	var list []xmlAccessKey
	for _, k := range u.keys {
		list = append(list, xmlAccessKey{UserName: u.name, AccessKeyID: k.AccessKeyID, Status: "Active", CreateDate: k.created.UTC().Format(time.RFC3339)})
	}
	return iamList(form, "AccessKeyMetadata", list)
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
	out := IAMUser{Name: u.name, ARN: u.arn, Policies: maps.Clone(u.policies)}
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
