package fakecloud

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Groups: a user's groups' inline and attached policies apply to it.

// iamGroup is an IAM group of the customer's account.
type iamGroup struct {
	name, arn, id string
	created       time.Time
	policies      map[string]string // inline policies by name
	attached      []string          // managed policy ARNs, in attachment order
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

// group is the group the request names.
func (s *Sandbox) group(form url.Values) (*iamGroup, *apiError) {
	name := form.Get("GroupName")
	if err := validName("groupName", name); err != nil {
		return nil, err
	}
	g := s.iamX().groups[strings.ToLower(name)]
	if g == nil {
		return nil, iamErr(http.StatusNotFound, "NoSuchEntity", "The group with name %s cannot be found.", name)
	}
	return g, nil
}

func (s *Sandbox) iamCreateGroup(form url.Values) (any, *apiError) {
	name := form.Get("GroupName")
	if err := validName("groupName", name); err != nil {
		return nil, err
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

// membership is the group and user a request names, and the user's key
// in iamExtra.member.
func (s *Sandbox) membership(form url.Values) (g *iamGroup, u *iamUser, key string, aerr *apiError) {
	if g, aerr = s.group(form); aerr != nil {
		return nil, nil, "", aerr
	}
	if u, aerr = s.user(form); aerr != nil {
		return nil, nil, "", aerr
	}
	return g, u, strings.ToLower(u.name), nil
}

func (s *Sandbox) iamAddUserToGroup(form url.Values) (any, *apiError) {
	g, _, k, err := s.membership(form)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(s.iamX().member[k], strings.ToLower(g.name)) {
		s.iamX().member[k] = append(s.iamX().member[k], strings.ToLower(g.name))
	}
	return struct{}{}, nil
}

func (s *Sandbox) iamRemoveUserFromGroup(form url.Values) (any, *apiError) {
	g, u, k, err := s.membership(form)
	if err != nil {
		return nil, err
	}
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
	var list []xmlGroup
	for _, n := range s.iamX().member[strings.ToLower(u.name)] {
		if g := s.iamX().groups[n]; g != nil {
			list = append(list, g.xml())
		}
	}
	return iamList(form, "Groups", list)
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
	name, doc, err := inlinePolicy(form, "group", g.policies)
	if err != nil {
		return nil, err
	}
	// IAM returns policy documents URL-encoded (RFC 3986).
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
	return iamList(form, "PolicyNames", policyNames(g.policies))
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
