package awskms_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

const domain = "dm-LCAJVnUE94B"

type env struct {
	*fakecloudtest.Env
	customer aws.Config
	vendor   aws.Config
	kms      *kms.Client // as the customer
}

func start(t *testing.T) *env {
	t.Helper()
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: fakecloudtest.Vendor})
	c := e.Server.AWSConfig(e.Customer(), fakecloudtest.Region)
	return &env{Env: e, customer: c, vendor: e.Server.AWSConfig(e.Vendor(), fakecloudtest.Region), kms: kms.NewFromConfig(c)}
}

func spec(k flows.KeyChoice, keyID string) flows.SetupSpec {
	return flows.SetupSpec{Provider: flows.AWSDelegated, Key: k, Domain: domain, Vendor: fakecloudtest.Vendor, Region: fakecloudtest.Region, KeyID: keyID}
}

func (e *env) setup(t *testing.T, sp flows.SetupSpec) (string, []flows.SetupEvent) {
	t.Helper()
	var events []flows.SetupEvent
	res, err := awskms.NewSetup(e.customer).Run(context.Background(), sp, func(ev flows.SetupEvent) { events = append(events, ev) })
	if err != nil {
		t.Fatalf("setup: %v (events %v)", err, events)
	}
	return res.Paste[flows.FieldAliasARN], events
}

func target(t *testing.T, aliasARN string) flows.Target {
	t.Helper()
	a, _, err := flows.ParseAliasARN(aliasARN)
	if err != nil {
		t.Fatal(err)
	}
	return flows.Target{Provider: flows.AWSDelegated, Domain: domain, Vendor: fakecloudtest.Vendor, AliasARN: a}
}

// check runs the pairing check and returns its results by ID, asserting
// that every report was of a planned check and that the last report of
// each check matches its result.
func check(t *testing.T, cfg aws.Config, tg flows.Target, opts ...awskms.Option) map[string]flows.Check {
	t.Helper()
	p := awskms.NewPairing(cfg, append([]awskms.Option{awskms.WithWait(0)}, opts...)...)
	planned := map[string]bool{}
	for _, c := range p.Plan(tg) {
		planned[c.ID] = true
	}
	var mu sync.Mutex
	last := map[string]flows.Check{}
	results := p.Run(context.Background(), tg, func(c flows.Check) {
		mu.Lock()
		defer mu.Unlock()
		if !planned[c.ID] {
			t.Errorf("report of unplanned check %q", c.ID)
		}
		last[c.ID] = c
	})
	out := map[string]flows.Check{}
	for _, c := range results {
		if !c.Status.Done() {
			t.Errorf("check %s ended %s", c.ID, c.Status)
		}
		if last[c.ID] != c {
			t.Errorf("last report of %s = %+v, result %+v", c.ID, last[c.ID], c)
		}
		out[c.ID] = c
	}
	if len(out) != len(planned) {
		t.Errorf("%d results for %d planned checks", len(out), len(planned))
	}
	return out
}

func statuses(m map[string]flows.Check) map[string]flows.Status {
	s := map[string]flows.Status{}
	for id, c := range m {
		s[id] = c.Status
	}
	return s
}

func TestNewKeySetupPairsAndIsIdempotent(t *testing.T) {
	t.Parallel()
	e := start(t)
	alias, events := e.setup(t, spec(flows.KeyNew, ""))
	if alias != "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme" {
		t.Fatalf("alias ARN %q", alias)
	}
	var calls []string
	for _, ev := range events {
		calls = append(calls, ev.Call)
	}
	if got := strings.Join(calls, ", "); got != "sts get-caller-identity, kms create-key, kms enable-key-rotation, kms create-alias, kms put-key-policy" {
		t.Fatalf("calls: %s", got)
	}

	res := check(t, e.vendor, target(t, alias))
	want := map[string]flows.Status{
		awskms.CheckAliasName: flows.StatusPass, awskms.CheckCredentials: flows.StatusPass, awskms.CheckAlias: flows.StatusPass,
		awskms.CheckKeyState: flows.StatusPass, awskms.CheckKeySpec: flows.StatusPass,
		awskms.CheckKeyPolicy: flows.StatusSkipped, awskms.CheckRoundTrip: flows.StatusPass,
	}
	for id, st := range want {
		if res[id].Status != st {
			t.Errorf("%s = %s (%s), want %s", id, res[id].Status, res[id].Detail, st)
		}
	}
	if !strings.Contains(res[awskms.CheckCredentials].Detail, e.Vendor().ARN) {
		t.Errorf("the check did not run as the vendor: %s", res[awskms.CheckCredentials].Detail)
	}

	// A second run finds everything in place and changes nothing.
	before, _ := e.kms.ListKeys(context.Background(), &kms.ListKeysInput{})
	again, events := e.setup(t, spec(flows.KeyNew, ""))
	after, _ := e.kms.ListKeys(context.Background(), &kms.ListKeysInput{})
	if again != alias || len(after.Keys) != len(before.Keys) {
		t.Fatalf("second run: alias %s, keys %d -> %d", again, len(before.Keys), len(after.Keys))
	}
	for _, ev := range events {
		if ev.Call == "kms create-key" || ev.Call == "kms put-key-policy" || ev.Call == "kms create-alias" || ev.Call == "kms enable-key-rotation" {
			t.Fatalf("second run changed something: %+v", ev)
		}
	}
}

func TestExistingKeyKeepsForeignStatements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t)
	k, err := e.kms.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyARN := *k.KeyMetadata.Arn
	pol, _ := e.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: &keyARN})
	foreign := awspolicy.Statement{Sid: "Their app", Effect: "Allow", Principal: &awspolicy.Principal{AWS: awspolicy.StringList{"arn:aws:iam::111122223333:role/app"}},
		Action: awspolicy.StringList{"kms:Encrypt"}, Resource: awspolicy.StringList{"*"}}
	withForeign, _, _ := awspolicy.Upsert(*pol.Policy, foreign)
	if _, err := e.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: &keyARN, Policy: &withForeign}); err != nil {
		t.Fatal(err)
	}

	alias, _ := e.setup(t, spec(flows.KeyExisting, keyARN))
	after, _ := e.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: &keyARN})
	if !strings.Contains(*after.Policy, `{"Sid":"Their app","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:Encrypt","Resource":"*"}`) {
		t.Fatalf("foreign statement lost:\n%s", *after.Policy)
	}
	if res := check(t, e.vendor, target(t, alias)); !flows.Passed(mapValues(res)) {
		t.Fatalf("pairing after existing-key setup: %v", statuses(res))
	}

	// The alias now names this key; setting up another key for the same
	// domain must not silently move it.
	k2, _ := e.kms.CreateKey(ctx, &kms.CreateKeyInput{})
	_, err = awskms.NewSetup(e.customer).Run(ctx, spec(flows.KeyExisting, *k2.KeyMetadata.KeyId), func(flows.SetupEvent) {})
	if !errors.Is(err, awskms.ErrAliasElsewhere) || !strings.Contains(err.Error(), "aws kms update-alias") {
		t.Fatalf("moving the alias: %v", err)
	}
}

func mapValues(m map[string]flows.Check) []flows.Check {
	var out []flows.Check
	for _, c := range m {
		out = append(out, c)
	}
	return out
}

// keyWithPolicy makes a key and the domain's alias with the vendor
// statement granting actions (none: no statement at all).
func (e *env) keyWithPolicy(t *testing.T, actions ...string) (keyARN, alias string) {
	t.Helper()
	ctx := context.Background()
	k, err := e.kms.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyARN = *k.KeyMetadata.Arn
	name := "alias/" + domain + "/acme"
	if _, err := e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: &name, TargetKeyId: k.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	if len(actions) > 0 {
		pol, _ := e.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: &keyARN})
		st := awspolicy.VendorStatement("rekwiz-acme", "arn:aws:iam::999988887777:root")
		st.Action = actions
		p, _, _ := awspolicy.Upsert(*pol.Policy, st)
		if _, err := e.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: &keyARN, Policy: &p}); err != nil {
			t.Fatal(err)
		}
	}
	return keyARN, "arn:aws:kms:us-east-1:111122223333:" + name
}

func TestCancelStopsTheCheck(t *testing.T) {
	t.Parallel()
	e := start(t)
	_, alias := e.keyWithPolicy(t, awspolicy.VendorActions...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := awskms.NewPairing(e.vendor).Run(ctx, target(t, alias), nil)
	for _, c := range res {
		if c.Status == flows.StatusPass && c.ID != awskms.CheckAliasName {
			t.Fatalf("%s passed after cancellation", c.ID)
		}
	}
}
