package fakecloud

import (
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

// Managed policies and groups: what else, beside a user's inline
// policies, can grant an IAM user access. The XML shapes are those the
// IAM API reference gives and the AWS SDK's query deserializers read
// (lists as <member> elements, IsTruncated and Marker for pages).

// iamGroup is an IAM group of the customer's account.
type iamGroup struct {
	name, arn, id string
	created       time.Time
	policies      map[string]string // inline policies by name
	attached      []string          // managed policy ARNs, in attachment order
}

// iamPolicy is a customer managed policy with its versions.
type iamPolicy struct {
	name, arn, id, path string
	created, updated    time.Time
	versions            []iamPolicyVersion
	defaultVersion      string
}

type iamPolicyVersion struct {
	id      string // v1, v2, …
	doc     string
	created time.Time
}

func init() {
	maps.Copy(iamOps, map[string]func(s *Sandbox, form url.Values) (any, *apiError){
		"CreatePolicy":              (*Sandbox).iamCreatePolicy,
		"CreatePolicyVersion":       (*Sandbox).iamCreatePolicyVersion,
		"GetPolicy":                 (*Sandbox).iamGetPolicy,
		"GetPolicyVersion":          (*Sandbox).iamGetPolicyVersion,
		"AttachUserPolicy":          (*Sandbox).iamAttachUserPolicy,
		"DetachUserPolicy":          (*Sandbox).iamDetachUserPolicy,
		"ListAttachedUserPolicies":  (*Sandbox).iamListAttachedUserPolicies,
		"CreateGroup":               (*Sandbox).iamCreateGroup,
		"AddUserToGroup":            (*Sandbox).iamAddUserToGroup,
		"RemoveUserFromGroup":       (*Sandbox).iamRemoveUserFromGroup,
		"ListGroupsForUser":         (*Sandbox).iamListGroupsForUser,
		"PutGroupPolicy":            (*Sandbox).iamPutGroupPolicy,
		"GetGroupPolicy":            (*Sandbox).iamGetGroupPolicy,
		"ListGroupPolicies":         (*Sandbox).iamListGroupPolicies,
		"AttachGroupPolicy":         (*Sandbox).iamAttachGroupPolicy,
		"ListAttachedGroupPolicies": (*Sandbox).iamListAttachedGroupPolicies,
	})
}

// iamExtra is the IAM state beyond users and their inline policies.
type iamExtra struct {
	groups   map[string]*iamGroup  // by lower-case name
	managed  map[string]*iamPolicy // by ARN
	attached map[string][]string   // user (lower-case name) -> managed policy ARNs
	member   map[string][]string   // user (lower-case name) -> group names (lower-case)
}

func (s *Sandbox) iamX() *iamExtra {
	if s.iam.extra == nil {
		s.iam.extra = &iamExtra{groups: map[string]*iamGroup{}, managed: map[string]*iamPolicy{},
			attached: map[string][]string{}, member: map[string][]string{}}
	}
	return s.iam.extra
}

// iamPage cuts a list into the page a request asks for (Marker, MaxItems:
// 1 to 1000, default 100), as IAM's list calls do. The marker is opaque
// to callers: here, the index of the page's first item.
func iamPage[T any](form url.Values, list []T) (items []T, truncated bool, marker string, aerr *apiError) {
	limit := 100
	if v := form.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, false, "", iamErr(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", v)
		}
		limit = n
	}
	start := 0
	if m := form.Get("Marker"); m != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(m, "m"))
		if err != nil || n < 0 || n > len(list) {
			return nil, false, "", iamErr(http.StatusBadRequest, "ValidationError", "Invalid Marker.")
		}
		start = n
	}
	end := min(start+limit, len(list))
	items = list[start:end]
	if items == nil {
		items = []T{}
	}
	if end < len(list) {
		return items, true, "m" + strconv.Itoa(end), nil
	}
	return items, false, "", nil
}

type xmlPolicy struct {
	PolicyName                    string `xml:"PolicyName"`
	PolicyID                      string `xml:"PolicyId"`
	Arn                           string `xml:"Arn"`
	Path                          string `xml:"Path"`
	DefaultVersionID              string `xml:"DefaultVersionId"`
	AttachmentCount               int    `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int    `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool   `xml:"IsAttachable"`
	CreateDate                    string `xml:"CreateDate"`
	UpdateDate                    string `xml:"UpdateDate"`
}

func (s *Sandbox) policyXML(p *iamPolicy) xmlPolicy {
	n := 0
	for _, arns := range s.iamX().attached {
		if slices.Contains(arns, p.arn) {
			n++
		}
	}
	for _, g := range s.iamX().groups {
		if slices.Contains(g.attached, p.arn) {
			n++
		}
	}
	return xmlPolicy{PolicyName: p.name, PolicyID: p.id, Arn: p.arn, Path: p.path, DefaultVersionID: p.defaultVersion,
		AttachmentCount: n, IsAttachable: true, CreateDate: p.created.UTC().Format(time.RFC3339), UpdateDate: p.updated.UTC().Format(time.RFC3339)}
}

var iamPathRE = regexp.MustCompile(`^/([\x21-\x7e]*/)?$`)

func validPolicy(name, doc string) *apiError {
	if !iamPolicyNameRE.MatchString(name) {
		return iamErr(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
	}
	if _, err := awspolicy.Parse(doc); err != nil {
		return iamErr(http.StatusBadRequest, "MalformedPolicyDocument", "%s", err.Error())
	}
	return nil
}

func (s *Sandbox) iamCreatePolicy(form url.Values) (any, *apiError) {
	name, doc, p := form.Get("PolicyName"), form.Get("PolicyDocument"), form.Get("Path")
	if p == "" {
		p = "/"
	}
	if err := validPolicy(name, doc); err != nil {
		return nil, err
	}
	if !iamPathRE.MatchString(p) {
		return nil, iamErr(http.StatusBadRequest, "ValidationError", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	arn := "arn:aws:iam::" + CustomerAccount + ":policy" + p + name
	if s.iamX().managed[arn] != nil {
		return nil, iamErr(http.StatusConflict, "EntityAlreadyExists", "A policy called %s already exists. Duplicate names are not allowed.", name)
	}
	now := s.now()
	pol := &iamPolicy{name: name, arn: arn, id: "ANPA" + s.randString(17, upperDigits), path: p, created: now, updated: now,
		versions: []iamPolicyVersion{{id: "v1", doc: doc, created: now}}, defaultVersion: "v1"}
	s.iamX().managed[arn] = pol
	return struct {
		Policy xmlPolicy `xml:"Policy"`
	}{s.policyXML(pol)}, nil
}

func (s *Sandbox) managedPolicy(form url.Values) (*iamPolicy, *apiError) {
	arn := form.Get("PolicyArn")
	p := s.iamX().managed[arn]
	if p == nil {
		return nil, iamErr(http.StatusNotFound, "NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
	}
	return p, nil
}

func (s *Sandbox) iamCreatePolicyVersion(form url.Values) (any, *apiError) {
	p, err := s.managedPolicy(form)
	if err != nil {
		return nil, err
	}
	doc := form.Get("PolicyDocument")
	if err := validPolicy(p.name, doc); err != nil {
		return nil, err
	}
	if len(p.versions) >= 5 {
		return nil, iamErr(http.StatusConflict, "LimitExceeded", "A managed policy can have up to 5 versions.")
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(p.versions[len(p.versions)-1].id, "v"))
	v := iamPolicyVersion{id: "v" + strconv.Itoa(n+1), doc: doc, created: s.now()}
	p.versions = append(p.versions, v)
	if form.Get("SetAsDefault") == "true" {
		p.defaultVersion = v.id
		p.updated = v.created
	}
	return struct {
		PolicyVersion xmlPolicyVersion `xml:"PolicyVersion"`
	}{xmlPolicyVersion{VersionID: v.id, IsDefaultVersion: v.id == p.defaultVersion, CreateDate: v.created.UTC().Format(time.RFC3339)}}, nil
}

func (s *Sandbox) iamGetPolicy(form url.Values) (any, *apiError) {
	p, err := s.managedPolicy(form)
	if err != nil {
		return nil, err
	}
	return struct {
		Policy xmlPolicy `xml:"Policy"`
	}{s.policyXML(p)}, nil
}

type xmlPolicyVersion struct {
	Document         string `xml:"Document,omitempty"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

func (s *Sandbox) iamGetPolicyVersion(form url.Values) (any, *apiError) {
	p, err := s.managedPolicy(form)
	if err != nil {
		return nil, err
	}
	id := form.Get("VersionId")
	for _, v := range p.versions {
		if v.id == id {
			// IAM returns policy documents URL-encoded (RFC 3986).
			return struct {
				PolicyVersion xmlPolicyVersion `xml:"PolicyVersion"`
			}{xmlPolicyVersion{Document: url.PathEscape(v.doc), VersionID: v.id, IsDefaultVersion: v.id == p.defaultVersion, CreateDate: v.created.UTC().Format(time.RFC3339)}}, nil
		}
	}
	return nil, iamErr(http.StatusNotFound, "NoSuchEntity", "Policy %s version %s does not exist or is not attachable.", p.arn, id)
}

type xmlAttached struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

func (s *Sandbox) attachedList(form url.Values, arns []string) (any, *apiError) {
	list := []xmlAttached{}
	for _, a := range arns {
		if p := s.iamX().managed[a]; p != nil {
			list = append(list, xmlAttached{p.name, p.arn})
		}
	}
	items, truncated, marker, err := iamPage(form, list)
	if err != nil {
		return nil, err
	}
	return struct {
		AttachedPolicies []xmlAttached `xml:"AttachedPolicies>member"`
		IsTruncated      bool          `xml:"IsTruncated"`
		Marker           string        `xml:"Marker,omitempty"`
	}{items, truncated, marker}, nil
}

func (s *Sandbox) iamAttachUserPolicy(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	p, err := s.managedPolicy(form)
	if err != nil {
		return nil, err
	}
	k := strings.ToLower(u.name)
	if !slices.Contains(s.iamX().attached[k], p.arn) {
		s.iamX().attached[k] = append(s.iamX().attached[k], p.arn)
	}
	return struct{}{}, nil
}

func (s *Sandbox) iamDetachUserPolicy(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	k, arn := strings.ToLower(u.name), form.Get("PolicyArn")
	i := slices.Index(s.iamX().attached[k], arn)
	if i < 0 {
		return nil, iamErr(http.StatusNotFound, "NoSuchEntity", "Policy %s was not found.", arn)
	}
	s.iamX().attached[k] = slices.Delete(s.iamX().attached[k], i, i+1)
	return struct{}{}, nil
}

func (s *Sandbox) iamListAttachedUserPolicies(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	return s.attachedList(form, s.iamX().attached[strings.ToLower(u.name)])
}

type xmlGroup struct {
	Path       string `xml:"Path"`
	GroupName  string `xml:"GroupName"`
	GroupID    string `xml:"GroupId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

func (g *iamGroup) xml() xmlGroup {
	return xmlGroup{Path: "/", GroupName: g.name, GroupID: g.id, Arn: g.arn, CreateDate: g.created.UTC().Format(time.RFC3339)}
}

func (s *Sandbox) group(form url.Values) (*iamGroup, *apiError) {
	name := form.Get("GroupName")
	if !iamNameRE.MatchString(name) {
		return nil, iamErr(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'groupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
	}
	g := s.iamX().groups[strings.ToLower(name)]
	if g == nil {
		return nil, iamErr(http.StatusNotFound, "NoSuchEntity", "The group with name %s cannot be found.", name)
	}
	return g, nil
}

func (s *Sandbox) iamCreateGroup(form url.Values) (any, *apiError) {
	name := form.Get("GroupName")
	if !iamNameRE.MatchString(name) {
		return nil, iamErr(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '%s' at 'groupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
	}
	if s.iamX().groups[strings.ToLower(name)] != nil {
		return nil, iamErr(http.StatusConflict, "EntityAlreadyExists", "Group with name %s already exists.", name)
	}
	g := &iamGroup{name: name, arn: "arn:aws:iam::" + CustomerAccount + ":group/" + name, id: "AGPA" + s.randString(17, upperDigits),
		created: s.now(), policies: map[string]string{}}
	s.iamX().groups[strings.ToLower(name)] = g
	return struct {
		Group xmlGroup `xml:"Group"`
	}{g.xml()}, nil
}

func (s *Sandbox) iamAddUserToGroup(form url.Values) (any, *apiError) {
	g, err := s.group(form)
	if err != nil {
		return nil, err
	}
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	k := strings.ToLower(u.name)
	if !slices.Contains(s.iamX().member[k], strings.ToLower(g.name)) {
		s.iamX().member[k] = append(s.iamX().member[k], strings.ToLower(g.name))
	}
	return struct{}{}, nil
}

func (s *Sandbox) iamRemoveUserFromGroup(form url.Values) (any, *apiError) {
	g, err := s.group(form)
	if err != nil {
		return nil, err
	}
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	k := strings.ToLower(u.name)
	i := slices.Index(s.iamX().member[k], strings.ToLower(g.name))
	if i < 0 {
		return nil, iamErr(http.StatusNotFound, "NoSuchEntity", "User %s is not in group %s.", u.name, g.name)
	}
	s.iamX().member[k] = slices.Delete(s.iamX().member[k], i, i+1)
	return struct{}{}, nil
}

func (s *Sandbox) iamListGroupsForUser(form url.Values) (any, *apiError) {
	u, err := s.user(form)
	if err != nil {
		return nil, err
	}
	list := []xmlGroup{}
	for _, n := range s.iamX().member[strings.ToLower(u.name)] {
		if g := s.iamX().groups[n]; g != nil {
			list = append(list, g.xml())
		}
	}
	items, truncated, marker, aerr := iamPage(form, list)
	if aerr != nil {
		return nil, aerr
	}
	return struct {
		Groups      []xmlGroup `xml:"Groups>member"`
		IsTruncated bool       `xml:"IsTruncated"`
		Marker      string     `xml:"Marker,omitempty"`
	}{items, truncated, marker}, nil
}

func (s *Sandbox) iamPutGroupPolicy(form url.Values) (any, *apiError) {
	g, err := s.group(form)
	if err != nil {
		return nil, err
	}
	name, doc := form.Get("PolicyName"), form.Get("PolicyDocument")
	if err := validPolicy(name, doc); err != nil {
		return nil, err
	}
	g.policies[name] = doc
	return struct{}{}, nil
}

func (s *Sandbox) iamGetGroupPolicy(form url.Values) (any, *apiError) {
	g, err := s.group(form)
	if err != nil {
		return nil, err
	}
	name := form.Get("PolicyName")
	doc, ok := g.policies[name]
	if !ok {
		return nil, iamErr(http.StatusNotFound, "NoSuchEntity", "The group policy with name %s cannot be found.", name)
	}
	return struct {
		GroupName      string `xml:"GroupName"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	}{g.name, name, url.PathEscape(doc)}, nil
}

func (s *Sandbox) iamListGroupPolicies(form url.Values) (any, *apiError) {
	g, err := s.group(form)
	if err != nil {
		return nil, err
	}
	return policyNames(form, g.policies)
}

// policyNames answers a list of inline policy names, a page at a time.
func policyNames(form url.Values, policies map[string]string) (any, *apiError) {
	names := slices.Collect(maps.Keys(policies))
	sort.Strings(names)
	items, truncated, marker, err := iamPage(form, names)
	if err != nil {
		return nil, err
	}
	return struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		IsTruncated bool     `xml:"IsTruncated"`
		Marker      string   `xml:"Marker,omitempty"`
	}{items, truncated, marker}, nil
}

func (s *Sandbox) iamAttachGroupPolicy(form url.Values) (any, *apiError) {
	g, err := s.group(form)
	if err != nil {
		return nil, err
	}
	p, err := s.managedPolicy(form)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(g.attached, p.arn) {
		g.attached = append(g.attached, p.arn)
	}
	return struct{}{}, nil
}

func (s *Sandbox) iamListAttachedGroupPolicies(form url.Values) (any, *apiError) {
	g, err := s.group(form)
	if err != nil {
		return nil, err
	}
	return s.attachedList(form, g.attached)
}

// identityPolicies are every policy document that applies to a user:
// its inline policies, the default versions of its managed policies, and
// its groups' inline and managed policies. Called with s.mu held.
func (s *Sandbox) identityPolicies(u *iamUser) []string {
	var docs []string
	managed := func(arns []string) {
		for _, a := range arns {
			if p := s.iamX().managed[a]; p != nil {
				for _, v := range p.versions {
					if v.id == p.defaultVersion {
						docs = append(docs, v.doc)
					}
				}
			}
		}
	}
	docs = append(docs, slices.Collect(maps.Values(u.policies))...)
	k := strings.ToLower(u.name)
	managed(s.iamX().attached[k])
	for _, gn := range s.iamX().member[k] {
		if g := s.iamX().groups[gn]; g != nil {
			docs = append(docs, slices.Collect(maps.Values(g.policies))...)
			managed(g.attached)
		}
	}
	return docs
}

// userBlocked names what keeps a user from being deleted beyond its
// inline policies and keys: attached policies and groups, as IAM's
// DeleteConflict says. Called with s.mu held.
func (s *Sandbox) userBlocked(u *iamUser) bool {
	k := strings.ToLower(u.name)
	return len(s.iamX().attached[k]) > 0 || len(s.iamX().member[k]) > 0
}
