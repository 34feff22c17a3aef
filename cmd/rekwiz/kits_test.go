package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/vendorprofile"
)

// TestKitsCoverEveryProvider: the sandbox's kits give every provider a
// set-up and a pairing check, and the real clouds' every provider a
// check and AWS's a set-up (Azure's is its script), each cloud saying
// which providers are its own.
func TestKitsCoverEveryProvider(t *testing.T) {
	t.Parallel()
	sb := fakecloud.New(fakecloud.Options{Seed: demoSeed, Vendor: vendorprofile.Default()})
	srv, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	demo, err := sandboxKits(sb, srv, demoRegion)
	if err != nil {
		t.Fatal(err)
	}
	d := realDeps()
	d.LoadAWS = func(context.Context) (aws.Config, error) { return aws.Config{Region: "eu-west-2"}, nil }
	real, region := realKits(context.Background(), d, asWizard, time.Second)
	if region != "eu-west-2" || real.err() != nil {
		t.Fatalf("region %q, err %v", region, real.err())
	}
	for _, p := range flows.Providers() {
		if demo.setup[p] == nil || demo.pairing[p] == nil {
			t.Errorf("%s: the sandbox kit has set-up %v, check %v", p, demo.setup[p], demo.pairing[p])
		}
		if real.pairing[p] == nil {
			t.Errorf("%s: no real check", p)
		}
		if _, err := real.pairer(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	// Azure's set-up is its script.
	if len(real.setup) != 3 || real.setup[flows.AzureDelegated] != nil {
		t.Errorf("real set-ups for %d providers, want AWS's two and Google Cloud's", len(real.setup))
	}
}

// TestAWSConfigErrorStopsOnlyAWS: an AWS configuration that does not
// load ends the wizard and an AWS verify with its error, and leaves an
// Azure or Google Cloud verify alone.
func TestAWSConfigErrorStopsOnlyAWS(t *testing.T) {
	t.Parallel()
	d := realDeps()
	d.LoadAWS = func(context.Context) (aws.Config, error) { return aws.Config{}, errors.New("profile nope not found") }
	k, _ := realKits(context.Background(), d, asVerify, 0)
	if err := k.err(); err == nil || !strings.Contains(err.Error(), "reading your AWS configuration: profile nope not found") {
		t.Errorf("wizard: %v", err)
	}
	var failed, fine int
	for _, p := range flows.Providers() {
		c, err := k.pairer(p)
		var ee *exitError
		switch {
		case errors.As(err, &ee) && ee.code == exitUsage && strings.Contains(ee.msg, "profile nope not found"):
			failed++
		case err == nil && c != nil:
			fine++
		default:
			t.Errorf("%s: %v %v", p, c, err)
		}
	}
	if failed != 2 || fine != 2 {
		t.Errorf("%d providers stopped, %d fine; want AWS's two stopped, Azure and Google Cloud fine", failed, fine)
	}
	code, _, errOut := execWith(t, d, false, "verify", "--provider", "aws-delegated", "--domain", "dm-LCAJVnUE94B",
		"--key-arn", "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox")
	if code != exitUsage || !strings.Contains(errOut, "rekwiz: reading your AWS configuration: profile nope not found") {
		t.Errorf("verify: exit %d, %q", code, errOut)
	}
}
