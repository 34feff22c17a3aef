package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/domainapi/domainapitest"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
	"github.com/rekwiz/rekwiz/providers/store/registry"
	"github.com/rekwiz/rekwiz/providers/store/session"
	"github.com/rekwiz/rekwiz/providers/vendorprofile"
)

// TestNoSecretInAnyFile runs every command entry point, for each
// provider, with a known service-account secret and a known API token:
// script (through the domain API), verify (text and JSON), the wizard's
// apply (local registry and domain API) and its saved progress, with
// bubbletea's trace variables set as a careless shell might. Then it
// searches every file under HOME, the config directory and TMPDIR for
// the secret, the token, and their base64 forms.
func TestNoSecretInAnyFile(t *testing.T) {
	home := demoHome(t)
	tmp, err := os.MkdirTemp("", "rekwiz-tmpdir-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TEA_TRACE", filepath.Join(tmp, "tea-trace.log"))
	t.Setenv("TEA_DEBUG", "1")
	dropDebugEnv(io.Discard) // as main does first

	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 3, Vendor: vendorprofile.Default()})
	awsEnv(t, e, e.Customer())
	t.Setenv("HOME", home)
	t.Setenv("TMPDIR", tmp)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "no-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	const token = "rkw_live_KNOWN_token_0123456789abcdef"
	api := domainapitest.New(token, vendorprofile.Default(), e.Server.AWSConfig(e.Vendor(), fakecloudtest.Region), "dm-LCAJVnUE94B")
	defer api.Close()

	ctx := context.Background()
	spec := flows.SetupSpec{Provider: flows.AWSServiceAccount, Key: flows.KeyNew, Domain: "dm-LCAJVnUE94B", Vendor: vendorprofile.Default(), Region: fakecloudtest.Region, Company: "Example"}
	res, err := awskms.NewSetup(e.Server.AWSConfig(e.Customer(), fakecloudtest.Region)).Run(ctx, spec, func(flows.SetupEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	alias, akid, secret := res.Paste[flows.FieldAliasARN], res.Paste[flows.FieldAccessKeyID], res.Paste[flows.FieldSecretAccessKey]
	var outputs [][]byte

	// script, for each provider, with the vendor's accounts from the API.
	t.Setenv("REKWIZ_API_URL", api.URL)
	t.Setenv("REKWIZ_API_TOKEN", token)
	for _, args := range [][]string{
		{"--provider", "aws-delegated", "--key", "new", "--region", "us-east-1"},
		{"--provider", "aws-service-account", "--key", "new", "--region", "us-east-1", "--company", "Example"},
		{"--provider", "azure-delegated", "--key", "existing", "--hsm-name", "contoso-hsm", "--key-name", "rek"},
	} {
		code, out, errOut := exec(t, false, append([]string{"script", "--domain", "dm-LCAJVnUE94B"}, args...)...)
		if code != 0 {
			t.Fatalf("script %v: %d %s", args, code, errOut)
		}
		outputs = append(outputs, []byte(out), []byte(errOut))
	}

	// The wizard's apply, through the API (the secret's one destination)
	// and the local registry, and its saved progress with the secret in
	// the flow.
	ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Terminal: true, Getenv: os.Getenv}
	w, err := newWizard(ctx, &wizardOptions{IO: ios, Global: &globalOptions{}, Deps: realDeps(), Presets: map[flows.Field]string{"domain": "dm-LCAJVnUE94B"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	a, _, _ := flows.ParseAliasARN(alias)
	tg := flows.Target{Provider: flows.AWSServiceAccount, Domain: "dm-LCAJVnUE94B", Vendor: w.flow.Vendor(), AliasARN: a, AccessKeyID: akid, SecretAccessKey: flows.Secret(secret)}
	if r, err := w.deps.Registry.Register(ctx, tg); err != nil {
		t.Fatalf("API register: %v", err)
	} else {
		outputs = append(outputs, []byte(r.Where+r.Test+r.RekID))
	}
	regPath, _ := registry.DefaultPath()
	if _, err := registry.Open(regPath).Register(ctx, tg); err != nil {
		t.Fatal(err)
	}
	for f, v := range map[flows.Field]string{flows.FieldProvider: "aws-service-account", flows.FieldKey: "new", flows.FieldRegion: "us-east-1", flows.FieldCompany: "Example",
		flows.FieldAliasARN: alias, flows.FieldAccessKeyID: akid, flows.FieldSecretAccessKey: secret} {
		w.flow.Set(f, v)
	}
	// A secret pasted where it does not belong is not kept either.
	w.flow.Set(flows.FieldCompany, "Secret access key (save this for next step): "+secret)
	if snap, ok := w.flow.Snapshot(time.Now()); ok {
		if err := session.Open(filepath.Join(filepath.Dir(regPath), "sessions")).Save(snap); err != nil {
			t.Fatal(err)
		}
	} else {
		snap := flows.Snapshot{Domain: "dm-LCAJVnUE94B", Step: flows.StepPaste, Values: map[flows.Field]string{flows.FieldAccessKeyID: akid}, Saved: time.Now()}
		if err := session.Open(filepath.Join(filepath.Dir(regPath), "sessions")).Save(snap); err != nil {
			t.Fatal(err)
		}
	}

	// verify, text and JSON, as the service account.
	t.Setenv("REKWIZ_API_URL", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	for _, extra := range [][]string{nil, {"--json"}} {
		code, out, errOut := exec(t, false, append([]string{"verify", "--provider", "aws-service-account", "--domain", "dm-LCAJVnUE94B", "--key-arn", alias, "--access-key-id", akid, "--wait", "0"}, extra...)...)
		if code != 0 && code != exitCheckFailed {
			t.Fatalf("verify %v: %d %s", extra, code, errOut)
		}
		outputs = append(outputs, []byte(out), []byte(errOut))
	}

	if _, err := os.Stat(filepath.Join(tmp, "tea-trace.log")); err == nil {
		t.Error("a bubbletea trace was written")
	}
	dirs := []string{home, filepath.Dir(regPath), tmp}
	assertNowhere(t, secret, dirs, outputs...)
	assertNowhere(t, token, dirs, outputs...)
	if b, err := os.ReadFile(regPath); err != nil || !strings.Contains(string(b), akid) {
		t.Fatalf("the local registry was not written: %v", err)
	}
}
