package awskms

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
	"golang.org/x/sync/errgroup"
)

// userPolicy checks that a service account may use the alias's key and
// no other, and nothing in IAM: every policy that applies to the user
// (inline, attached managed policies at their default version, and its
// groups' inline and attached policies) is read with IAM credentials (an
// admin's; the service account itself should not be able to). keyARN
// waits for the key the alias names, "" when it is not known.
func (r *run) userPolicy(ctx context.Context, cfg aws.Config, t flows.Target, caller *sts.GetCallerIdentityOutput, keyARN func() string) {
	if caller == nil {
		r.Set(CheckUserPolicy, flows.StatusSkipped, "needs working credentials", "", 0)
		return
	}
	arn := aws.ToString(caller.Arn)
	name, ok := strings.CutPrefix(arn[strings.LastIndex(arn, ":")+1:], "user/")
	if !ok {
		r.Set(CheckUserPolicy, flows.StatusFail, arn+" is not an IAM user", "paste the access key of the IAM user the script made", flows.StepPaste)
		return
	}
	name = name[strings.LastIndex(name, "/")+1:]
	r.Set(CheckUserPolicy, flows.StatusRunning, "", "", 0)
	cctx, cancel := context.WithTimeout(ctx, 3*callTimeout)
	defer cancel()
	policies, err := readUserPolicies(cctx, iam.NewFromConfig(cfg), name)
	if err != nil {
		if pr := explain(err, ""); pr.denied {
			r.Set(CheckUserPolicy, flows.StatusSkipped, "these credentials may not read IAM (as a service account should not)",
				"to check it, run rekwiz verify with an account admin's AWS_PROFILE: aws iam get-user-policy --user-name "+name+" --policy-name "+name, 0)
			return
		}
		var re *readError
		what := "the user's policies"
		if errors.As(err, &re) {
			what = re.what
		}
		r.Set(CheckUserPolicy, flows.StatusFail, "reading "+what+": "+explain(err, "").detail, "", 0)
		return
	}
	alias := t.AliasARN.AliasName()
	ctxKeys := awspolicy.Context{"kms:ResourceAliases": {alias}}
	keys := []string{t.AliasARN.String()}
	probe := "arn:" + t.AliasARN.Partition + ":kms:" + t.AliasARN.Region + ":" + t.AliasARN.Account + ":key/x"
	if k := keyARN(); k != "" {
		keys, probe = append(keys, k), k
	}
	var all awspolicy.Document
	var fails, warns []string
	var fixes []string
	for _, p := range policies {
		doc, err := awspolicy.Parse(p.doc)
		if err != nil {
			r.Set(CheckUserPolicy, flows.StatusFail, p.name+": "+err.Error(), "fix or remove it: "+p.remove(name), 0)
			return
		}
		all.Statement = append(all.Statement, doc.Statement...)
		var pf, pw []string
		for _, f := range doc.BeyondAlias(alias, keys, awspolicy.ServiceAccountActions) {
			if f.Fail {
				pf = append(pf, f.String())
			} else {
				pw = append(pw, f.String())
			}
		}
		if len(pf) > 0 {
			fails = append(fails, p.name+": "+strings.Join(pf, "; "))
			fixes = append(fixes, p.remove(name))
		}
		if len(pw) > 0 {
			warns = append(warns, p.name+": "+strings.Join(pw, "; "))
		}
	}
	var missing []string
	for _, a := range awspolicy.ServiceAccountActions {
		if all.DecideIdentity(a, probe, ctxKeys) != awspolicy.Allow {
			missing = append(missing, a)
		}
	}
	switch {
	case len(fails) > 0:
		r.Set(CheckUserPolicy, flows.StatusFail, "user "+name+" may do more than use "+alias+": "+strings.Join(fails, "; "),
			"limit each to the alias, or remove it: "+strings.Join(fixes, "; "), 0)
	case len(missing) > 0:
		r.Set(CheckUserPolicy, flows.StatusFail, "user "+name+" lacks "+strings.Join(missing, ", ")+" on "+alias,
			"run the setup script again: it puts policy "+name+" on the user", flows.StepScript)
		// The user's own policies, as read, do not grant it: a denial is
		// no change on its way.
		r.policyWrong()
	case len(warns) > 0:
		r.Set(CheckUserPolicy, flows.StatusWarn, "user "+name+" has more KMS actions than the vendor needs: "+strings.Join(warns, "; "),
			"remove the extra actions from the policy; the vendor needs "+strings.Join(awspolicy.ServiceAccountActions, ", "), 0)
	default:
		r.Set(CheckUserPolicy, flows.StatusPass, "user "+name+": "+fmt.Sprint(len(awspolicy.ServiceAccountActions))+" actions, only on "+alias+
			" ("+fmt.Sprint(len(policies))+" "+plural(len(policies), "policy", "policies")+" read)", "", 0)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// userPolicyDoc is one policy that applies to an IAM user, and where it
// comes from.
type userPolicyDoc struct {
	name  string // "inline policy X", "managed policy X (ARN)", "group G's inline policy X", …
	group string // the group it comes through, if any
	arn   string // a managed policy's ARN
	short string // an inline policy's name
	doc   string
}

// remove is the command that takes the policy away from the user.
func (p userPolicyDoc) remove(user string) string {
	switch {
	case p.group != "":
		return "aws iam remove-user-from-group --user-name " + user + " --group-name " + p.group
	case p.arn != "":
		return "aws iam detach-user-policy --user-name " + user + " --policy-arn " + p.arn
	}
	return "aws iam delete-user-policy --user-name " + user + " --policy-name " + p.short
}

// readError says which read failed.
type readError struct {
	what string
	err  error
}

func (e *readError) Error() string { return e.what + ": " + e.err.Error() }

func (e *readError) Unwrap() error { return e.err }

// readUserPolicies reads every policy that applies to an IAM user. The
// reads that do not depend on each other run at the same time: the
// three lists, each group's two, and each policy's reads; lists are
// followed page by page (IsTruncated, Marker). A managed policy attached
// twice (to the user and a group) is read once.
func readUserPolicies(ctx context.Context, c *iam.Client, user string) ([]userPolicyDoc, error) {
	g, ctx := errgroup.WithContext(ctx)
	var (
		mu   sync.Mutex
		docs []userPolicyDoc
		seen = map[string]bool{}
	)
	add := func(p userPolicyDoc) {
		mu.Lock()
		defer mu.Unlock()
		docs = append(docs, p)
	}
	fail := func(what string, err error) error { return &readError{what, err} }
	inline := func(names []string, group string) {
		for _, pn := range names {
			g.Go(func() error {
				var doc *string
				var call string
				if group == "" {
					call = "GetUserPolicy"
					out, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: &user, PolicyName: aws.String(pn)})
					if err != nil {
						return fail("inline policy "+pn, err)
					}
					doc = out.PolicyDocument
				} else {
					call = "GetGroupPolicy"
					out, err := c.GetGroupPolicy(ctx, &iam.GetGroupPolicyInput{GroupName: &group, PolicyName: aws.String(pn)})
					if err != nil {
						return fail("group "+group+"'s inline policy "+pn, err)
					}
					doc = out.PolicyDocument
				}
				if doc == nil {
					return errMissing{call, "PolicyDocument"}
				}
				name := "inline policy " + pn
				if group != "" {
					name = "group " + group + "'s inline policy " + pn
				}
				add(userPolicyDoc{name: name, group: group, short: pn, doc: decodePolicy(*doc)})
				return nil
			})
		}
	}
	managed := func(list []iamtypes.AttachedPolicy, group string) error {
		for _, ap := range list {
			if ap.PolicyArn == nil {
				return errMissing{"a list of attached policies", "PolicyArn"}
			}
			arn := *ap.PolicyArn
			mu.Lock()
			dup := seen[arn]
			seen[arn] = true
			mu.Unlock()
			if dup {
				continue
			}
			g.Go(func() error {
				what := "managed policy " + arn
				pol, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &arn})
				if err != nil {
					return fail(what, err)
				}
				if pol.Policy == nil {
					return errMissing{"GetPolicy", "Policy"}
				}
				if pol.Policy.DefaultVersionId == nil {
					return errMissing{"GetPolicy", "Policy.DefaultVersionId"}
				}
				v, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &arn, VersionId: pol.Policy.DefaultVersionId})
				if err != nil {
					return fail(what+" version "+*pol.Policy.DefaultVersionId, err)
				}
				if v.PolicyVersion == nil {
					return errMissing{"GetPolicyVersion", "PolicyVersion"}
				}
				if v.PolicyVersion.Document == nil {
					return errMissing{"GetPolicyVersion", "PolicyVersion.Document"}
				}
				name := "managed policy " + aws.ToString(ap.PolicyName) + " (" + arn + ")"
				if group != "" {
					name += " of group " + group
				}
				add(userPolicyDoc{name: name, group: group, arn: arn, doc: decodePolicy(*v.PolicyVersion.Document)})
				return nil
			})
		}
		return nil
	}
	g.Go(func() error {
		pg := iam.NewListUserPoliciesPaginator(c, &iam.ListUserPoliciesInput{UserName: &user})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return fail("the user's inline policies", err)
			}
			inline(out.PolicyNames, "")
		}
		return nil
	})
	g.Go(func() error {
		pg := iam.NewListAttachedUserPoliciesPaginator(c, &iam.ListAttachedUserPoliciesInput{UserName: &user})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return fail("the user's attached policies", err)
			}
			if err := managed(out.AttachedPolicies, ""); err != nil {
				return err
			}
		}
		return nil
	})
	g.Go(func() error {
		pg := iam.NewListGroupsForUserPaginator(c, &iam.ListGroupsForUserInput{UserName: &user})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return fail("the user's groups", err)
			}
			for _, gr := range out.Groups {
				if gr.GroupName == nil {
					return errMissing{"ListGroupsForUser", "Groups.GroupName"}
				}
				group := *gr.GroupName
				g.Go(func() error {
					pg := iam.NewListGroupPoliciesPaginator(c, &iam.ListGroupPoliciesInput{GroupName: &group})
					for pg.HasMorePages() {
						out, err := pg.NextPage(ctx)
						if err != nil {
							return fail("group "+group+"'s inline policies", err)
						}
						inline(out.PolicyNames, group)
					}
					return nil
				})
				g.Go(func() error {
					pg := iam.NewListAttachedGroupPoliciesPaginator(c, &iam.ListAttachedGroupPoliciesInput{GroupName: &group})
					for pg.HasMorePages() {
						out, err := pg.NextPage(ctx)
						if err != nil {
							return fail("group "+group+"'s attached policies", err)
						}
						if err := managed(out.AttachedPolicies, group); err != nil {
							return err
						}
					}
					return nil
				})
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].name < docs[j].name })
	return docs, nil
}

// decodePolicy undoes the URL encoding IAM gives policy documents.
func decodePolicy(s string) string {
	if text, err := url.QueryUnescape(s); err == nil {
		return text
	}
	return s
}
