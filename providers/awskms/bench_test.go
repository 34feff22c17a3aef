package awskms_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/checkrun/checkruntest"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// latency is what every AWS call costs on top of the sandbox's own time
// in the benchmarks: a round trip to a region.
const latency = 50 * time.Millisecond

// awsNeeds are what each call of the checks cannot be made without. The
// round trip's ReEncrypt and first Decrypt need the data key; the second
// Decrypt needs ReEncrypt's ciphertext. The key's policy and rotation
// need its ARN (DescribeKey; neither takes an alias). A service
// account's policies need its user name (GetCallerIdentity), then the
// lists, then each policy.
var awsNeeds = checkruntest.Needs{
	"kms Decrypt":                   {"kms GenerateDataKeyWithoutPlaintext"},
	"kms ReEncrypt":                 {"kms GenerateDataKeyWithoutPlaintext"},
	"kms Decrypt#2":                 {"kms ReEncrypt"},
	"kms GetKeyPolicy":              {"kms DescribeKey"},
	"kms GetKeyRotationStatus":      {"kms DescribeKey"},
	"iam ListUserPolicies":          {"sts GetCallerIdentity"},
	"iam ListAttachedUserPolicies":  {"sts GetCallerIdentity"},
	"iam ListGroupsForUser":         {"sts GetCallerIdentity"},
	"iam GetUserPolicy":             {"iam ListUserPolicies"},
	"iam GetPolicy":                 {"iam ListAttachedUserPolicies", "iam ListAttachedGroupPolicies"},
	"iam GetPolicyVersion":          {"iam GetPolicy"},
	"iam ListGroupPolicies":         {"iam ListGroupsForUser"},
	"iam ListAttachedGroupPolicies": {"iam ListGroupsForUser"},
	"iam GetGroupPolicy":            {"iam ListGroupPolicies"},
}

// slow is cfg with every call through tr, on the SDK's own default
// transport.
func slow(cfg aws.Config, tr *checkruntest.Transport) aws.Config {
	cfg = cfg.Copy()
	tr.Next = awshttp.NewBuildableClient().GetTransport()
	cfg.HTTPClient = &http.Client{Transport: tr}
	return cfg
}

func passed(res []flows.Check) error {
	if !flows.Passed(res) {
		return fmt.Errorf("the check failed: %+v", res)
	}
	return nil
}

// BenchmarkPairingCheck runs a delegated key's whole check as the vendor
// against the sandbox, with 50 ms added to every call, and reports the
// wall time beside the critical path of the calls it made
// (GenerateDataKeyWithoutPlaintext, ReEncrypt, Decrypt).
func BenchmarkPairingCheck(b *testing.B) {
	e := fakecloudtest.Start(b, fakecloud.Options{Seed: 1, Vendor: fakecloudtest.Vendor})
	cfg := e.Server.AWSConfig(e.Customer(), fakecloudtest.Region)
	res, err := awskms.NewSetup(cfg).Run(context.Background(), spec(flows.KeyNew, ""), func(flows.SetupEvent) {})
	if err != nil {
		b.Fatal(err)
	}
	a, _, _ := flows.ParseAliasARN(res.Paste[flows.FieldAliasARN])
	tg := flows.Target{Provider: flows.AWSDelegated, Domain: domain, Vendor: fakecloudtest.Vendor, AliasARN: a}
	tr := &checkruntest.Transport{Delay: latency, Kind: checkruntest.AWSKind}
	p := awskms.NewPairing(slow(e.Server.AWSConfig(e.Vendor(), fakecloudtest.Region), tr), awskms.WithWait(0))
	// Read with the checked credentials, the key policy is asked for
	// only in the key's own account (a denied read across accounts would
	// be logged in the customer's): it needs the caller's account.
	needs := maps.Clone(awsNeeds)
	needs["kms GetKeyPolicy"] = []string{"kms DescribeKey", "sts GetCallerIdentity"}
	tr.Measure(b, needs, func() error { return passed(p.Run(context.Background(), tg, nil)) })
}

// BenchmarkServiceAccountCheck runs a service account's whole check,
// with the customer's admin reading its policies, against the sandbox
// with 50 ms added to every call: with the one inline policy the set-up
// gives it, and with two more. The policies are read side by side, so
// the wall time stays near the critical path (GetCallerIdentity,
// ListUserPolicies, GetUserPolicy; beside it the round trip's three).
func BenchmarkServiceAccountCheck(b *testing.B) {
	for _, policies := range []int{1, 3} {
		b.Run(fmt.Sprintf("policies=%d", policies), func(b *testing.B) {
			e := fakecloudtest.Start(b, fakecloud.Options{Seed: 1, Vendor: fakecloudtest.Vendor})
			cfg := e.Server.AWSConfig(e.Customer(), fakecloudtest.Region)
			sp := flows.SetupSpec{Provider: flows.AWSServiceAccount, Key: flows.KeyNew, Domain: domain, Vendor: fakecloudtest.Vendor, Region: fakecloudtest.Region, Company: "Example"}
			res, err := awskms.NewSetup(cfg).Run(context.Background(), sp, func(flows.SetupEvent) {})
			if err != nil {
				b.Fatal(err)
			}
			harmless := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`
			for i := 1; i < policies; i++ {
				if _, err := iam.NewFromConfig(cfg).PutUserPolicy(context.Background(), &iam.PutUserPolicyInput{UserName: aws.String(sp.ServiceAccountUser()),
					PolicyName: aws.String(fmt.Sprintf("extra-%d", i)), PolicyDocument: &harmless}); err != nil {
					b.Fatal(err)
				}
			}
			a, _, _ := flows.ParseAliasARN(res.Paste[flows.FieldAliasARN])
			tg := flows.Target{Provider: flows.AWSServiceAccount, Domain: domain, Vendor: fakecloudtest.Vendor, AliasARN: a,
				AccessKeyID: res.Paste[flows.FieldAccessKeyID], SecretAccessKey: flows.Secret(res.Paste[flows.FieldSecretAccessKey])}
			tr := &checkruntest.Transport{Delay: latency, Kind: checkruntest.AWSKind}
			reader := slow(cfg, tr)
			p := awskms.NewPairing(reader, awskms.WithReader(reader), awskms.WithWait(0))
			tr.Measure(b, awsNeeds, func() error {
				res := p.Run(context.Background(), tg, nil)
				for _, c := range res {
					if c.ID == awskms.CheckUserPolicy && c.Status != flows.StatusPass {
						return fmt.Errorf("user policy: %+v", c)
					}
				}
				return passed(res)
			})
		})
	}
}
