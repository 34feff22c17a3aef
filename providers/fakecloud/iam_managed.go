package fakecloud

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Managed policies: what else, beside a user's inline policies and its
// groups', can grant an IAM user access.

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

var iamPathRE = lazyRE(`^/([\x21-\x7e]*/)?$`)

func (s *Sandbox) iamCreatePolicy(form url.Values) (any, *apiError) {
	name, doc, p := form.Get("PolicyName"), form.Get("PolicyDocument"), form.Get("Path")
	if p == "" {
		p = "/"
	}
	if err := validPolicy(name, doc); err != nil {
		return nil, err
	}
	if !iamPathRE().MatchString(p) {
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

// managedPolicy is the managed policy the request names.
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

// attachedList answers a list of the managed policies attached to a user
// or a group.
func (s *Sandbox) attachedList(form url.Values, arns []string) (any, *apiError) {
	var list []xmlAttached
	for _, a := range arns {
		if p := s.iamX().managed[a]; p != nil {
			list = append(list, xmlAttached{p.name, p.arn})
		}
	}
	return iamList(form, "AttachedPolicies", list)
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
