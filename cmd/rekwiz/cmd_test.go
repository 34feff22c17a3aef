package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/domainapi/domainapitest"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
	"github.com/rekwiz/rekwiz/providers/vendorprofile"
	"github.com/rekwiz/rekwiz/scripts"
	"github.com/rekwiz/rekwiz/ui"
)

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// exec runs a command line as main does and returns its exit code and
// what it wrote.
func exec(t *testing.T, terminal bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return execWith(t, realDeps(), terminal, args...)
}

// execWith is exec with the clouds and the disk reached through d.
func execWith(t *testing.T, d *deps, terminal bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e strings.Builder
	ios := &IOStreams{In: strings.NewReader(""), Out: &o, Err: &e, Terminal: terminal, Getenv: os.Getenv}
	code = run(context.Background(), ios, d, args)
	return code, o.String(), e.String()
}

func TestWithoutATerminal(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"demo"}, {"--domain", "dm-LCAJVnUE94B"}} {
		code, out, errOut := exec(t, false, args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, "the wizard needs a terminal") ||
			!strings.Contains(errOut, "rekwiz script --provider") || !strings.Contains(errOut, "rekwiz verify --provider") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	if code, out, _ := exec(t, false, "--version"); code != 0 || !strings.HasPrefix(out, "rekwiz dev (commit ") { // version_test.go has the rest
		t.Errorf("--version: %d %q", code, out)
	}
	code, out, _ := exec(t, false, "--help")
	for _, want := range []string{"rekwiz demo", "script", "verify", "sandbox", "--vendor-profile", "--no-color"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("--help lacks %q (exit %d)", want, code)
		}
	}
	// Every help that says where the key lives names Azure too, and the
	// region is the AWS region, capitals kept.
	for _, args := range [][]string{{"--help"}, {"demo", "--help"}, {"sandbox", "--help"}} {
		code, out, _ := exec(t, false, args...)
		if code != 0 || !strings.Contains(out, "Azure") {
			t.Errorf("%v does not mention Azure:\n%s", args, out)
		}
	}
	for _, args := range [][]string{{"--help"}, {"demo", "--help"}, {"script", "--help"}} {
		if _, out, _ := exec(t, false, args...); !regexp.MustCompile(`--region string +AWS region, e\.g\. us-east-1`).MatchString(out) {
			t.Errorf("%v: --region's help is not \"AWS region\":\n%s", args, out)
		}
	}
	if code, _, errOut := exec(t, false, "frobnicate"); code != exitUsage || !strings.Contains(errOut, "Run 'rekwiz --help' for usage.") {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
}

func TestWizardRefusesBadFlagsBeforeDrawing(t *testing.T) {
	t.Parallel()
	code, out, errOut := exec(t, true, "demo", "--domain", "dm-nope", "--provider", "gcp")
	if code != exitUsage || out != "" {
		t.Fatalf("exit %d stdout %q", code, out)
	}
	for _, want := range []string{"--domain: expected dm- followed by 11", "--provider: expected one of aws-delegated"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q: %s", want, errOut)
		}
	}
}

// TestWizardTakesEveryAnswerAsAFlag: the Azure answers too; a step
// whose answers are all given is skipped, and a flag another provider
// uses is refused by name.
func TestWizardTakesEveryAnswerAsAFlag(t *testing.T) {
	t.Parallel()
	ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Terminal: true, Getenv: func(string) string { return "" }}
	w, err := newWizard(context.Background(), &wizardOptions{IO: ios, Global: &globalOptions{}, Deps: isolatedDeps(t), Demo: true, Seed: demoSeed, Presets: map[flows.Field]string{
		flows.FieldDomain: "dm-LCAJVnUE94B", flows.FieldProvider: "azure-delegated", flows.FieldKey: "new",
		flows.FieldHSMName: "sandbox-hsm", flows.FieldKeyName: "rek-1",
		flows.FieldKeyURL: "https://sandbox-hsm.managedhsm.azure.net/keys/rek-1", flows.FieldTenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if w.flow.Step() != flows.StepScript || !w.flow.Locked(flows.FieldKeyURL) {
		t.Fatalf("at %s", w.flow.Step())
	}
	code, _, errOut := exec(t, true, "demo", "--provider", "azure-delegated", "--company", "Example")
	if code != exitUsage || !strings.Contains(errOut, "--company: not used by azure-delegated") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestScriptCommand(t *testing.T) {
	t.Parallel()
	code, out, errOut := exec(t, false, "script", "--provider", "aws-delegated", "--key", "new", "--domain", "dm-LCAJVnUE94B", "--region", "eu-west-2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want, err := scripts.Render(flows.SetupSpec{Provider: flows.AWSDelegated, Key: flows.KeyNew, Domain: "dm-LCAJVnUE94B", Region: "eu-west-2", Vendor: vendorprofile.Default()}, scripts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out != want {
		t.Fatal("stdout is not exactly the script")
	}
	if !strings.Contains(out, "WARNING: this script uses rekwiz's built-in sandbox vendor profile") || !strings.Contains(errOut, "warning: no --vendor-profile given") {
		t.Error("no placeholder warning without --vendor-profile")
	}

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--provider", "aws-delegated", "--key", "new", "--domain", "dm-$(id)aaaaa", "--region", "us-east-1"}, "--domain: expected dm- followed by 11"},
		{[]string{"--provider", "aws-delegated", "--key", "new", "--domain", "dm-LCAJVnUE94B"}, "--region: required"},
		{[]string{"--provider", "aws-delegated", "--key", "existing", "--domain", "dm-LCAJVnUE94B", "--region", "us-east-1"}, "--key-id: required"},
		{[]string{"--provider", "aws-delegated", "--key", "old", "--domain", "dm-LCAJVnUE94B"}, "--key: expected existing or new"},
		{[]string{"--key", "new", "--domain", "dm-LCAJVnUE94B"}, `required flag(s) "provider" not set`},
		{[]string{"--provider", "azure-delegated", "--key", "new", "--domain", "dm-LCAJVnUE94B", "--hsm-name", "x", "--key-name", "k"}, "--hsm-name: "},
		{[]string{"--provider", "azure-delegated", "--key", "new", "--domain", "dm-LCAJVnUE94B", "--hsm-name", "contoso-hsm"}, "--key-name: required"},
		{[]string{"--provider", "aws-service-account", "--key", "new", "--domain", "dm-LCAJVnUE94B", "--region", "us-east-1", "--company", "a b"}, "--company: "},
		{[]string{"--provider", "aws-delegated", "--key", "new", "--domain", "dm-LCAJVnUE94B", "--region", "us-east-1", "--hsm-name", "contoso-hsm"}, "--hsm-name: not used by aws-delegated"},
	}
	for _, tt := range tests {
		code, out, errOut := exec(t, false, append([]string{"script"}, tt.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
	// Every provider, and --teardown, print exactly what the scripts
	// package renders.
	for _, tt := range []struct {
		args []string
		spec flows.SetupSpec
		opts scripts.Options
	}{
		{[]string{"--provider", "aws-service-account", "--key", "existing", "--region", "us-east-1", "--company", "Example", "--key-id", "1234abcd-12ab-34cd-56ef-1234567890ab"},
			flows.SetupSpec{Provider: flows.AWSServiceAccount, Key: flows.KeyExisting, Region: "us-east-1", Company: "Example", KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab"}, scripts.Options{}},
		{[]string{"--provider", "azure-delegated", "--key", "new", "--hsm-name", "contoso-hsm", "--key-name", "rek-1"},
			flows.SetupSpec{Provider: flows.AzureDelegated, Key: flows.KeyNew, HSMName: "contoso-hsm", KeyName: "rek-1"}, scripts.Options{}},
		{[]string{"--provider", "aws-delegated", "--key", "new", "--region", "us-east-1", "--teardown"},
			flows.SetupSpec{Provider: flows.AWSDelegated, Key: flows.KeyNew, Region: "us-east-1"}, scripts.Options{Teardown: true}},
	} {
		code, out, errOut := exec(t, false, append([]string{"script", "--domain", "dm-LCAJVnUE94B"}, tt.args...)...)
		tt.spec.Domain, tt.spec.Vendor = "dm-LCAJVnUE94B", vendorprofile.Default()
		want, err := scripts.Render(tt.spec, tt.opts)
		if err != nil || code != 0 || out != want {
			t.Errorf("%v: exit %d, err %v, stderr %q; stdout is not the script", tt.args, code, err, errOut)
		}
	}

	dir := t.TempDir()
	profile := filepath.Join(dir, "acme.json")
	if err := os.WriteFile(profile, []byte(`{"name":"Acme Security","slug":"acme","awsAccountID":"123456789012","azureAppID":"11111111-2222-3333-4444-555555555555"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = exec(t, false, "script", "--vendor-profile", profile, "--provider", "aws-delegated", "--key", "new", "--domain", "dm-LCAJVnUE94B", "--region", "us-east-1")
	if code != 0 || strings.Contains(out, "WARNING") || errOut != "" || !strings.Contains(out, "arn:aws:iam::123456789012:root") {
		t.Errorf("with a profile: exit %d stderr %q", code, errOut)
	}
}

// TestSandboxCommand runs `rekwiz sandbox`, reads the environment it
// prints, and uses it with the SDK while the sandbox runs.
func TestSandboxCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, done := runSandboxCommand(ctx)

	for _, who := range []string{"customer", "vendor"} {
		e := env[who]
		if !strings.HasPrefix(e["AWS_ENDPOINT_URL"], "http://127.0.0.1:") || e["AWS_ACCESS_KEY_ID"] == "" || !fileExists(e["AWS_CA_BUNDLE"]) {
			t.Fatalf("%s environment: %v", who, e)
		}
		cfg := aws.Config{
			Region:       e["AWS_REGION"],
			Credentials:  credentials.NewStaticCredentialsProvider(e["AWS_ACCESS_KEY_ID"], e["AWS_SECRET_ACCESS_KEY"], ""),
			BaseEndpoint: aws.String(e["AWS_ENDPOINT_URL"]),
		}
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("%s: the printed environment does not work: %v", who, err)
		}
		if want := map[string]string{"customer": fakecloud.CustomerAccount, "vendor": vendorprofile.Default().AWSAccountID}[who]; *out.Account != want {
			t.Fatalf("%s is account %s, want %s", who, *out.Account, want)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitInterrupted {
			t.Fatalf("sandbox exit %d, want %d", code, exitInterrupted)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sandbox did not stop when interrupted")
	}
}

// TestWizardAppliesThroughTheDomainAPI: with REKWIZ_API_URL and
// REKWIZ_API_TOKEN, the vendor's accounts come from the API (and go into
// the script), and apply registers with the API, whose test runs the
// real check against the sandbox.
func TestWizardAppliesThroughTheDomainAPI(t *testing.T) {
	demoHome(t)
	apiVendor := vendorprofile.Default()
	apiVendor.AWSPrincipalARN = "arn:aws:iam::999988887777:role/rek-access"
	// The sandbox's vendor checks as a session of that role.
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: apiVendor})
	awsEnv(t, e, e.Customer())
	api := domainapitest.New("rkw_test_token_0123456789", apiVendor, e.Server.AWSConfig(e.Vendor(), fakecloudtest.Region), "dm-LCAJVnUE94B")
	defer api.Close()
	t.Setenv("REKWIZ_API_URL", api.URL)
	t.Setenv("REKWIZ_API_TOKEN", "rkw_test_token_0123456789")
	ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Terminal: true, Getenv: os.Getenv}

	if _, err := newWizard(context.Background(), &wizardOptions{IO: ios, Global: &globalOptions{}, Deps: realDeps()}); err == nil || !strings.Contains(err.Error(), "--domain: required with --api-url") {
		t.Fatalf("without --domain: %v", err)
	}
	w, err := newWizard(context.Background(), &wizardOptions{IO: ios, Global: &globalOptions{}, Deps: realDeps(), Presets: map[flows.Field]string{"domain": "dm-LCAJVnUE94B"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if got := w.flow.Vendor().AWSPrincipalARN; got != apiVendor.AWSPrincipalARN {
		t.Fatalf("vendor principal %q, want the API's", got)
	}
	ctx := context.Background()
	spec := flows.SetupSpec{Provider: flows.AWSDelegated, Key: flows.KeyNew, Domain: "dm-LCAJVnUE94B", Vendor: w.flow.Vendor(), Region: fakecloudtest.Region}
	res, err := w.deps.Setup[flows.AWSDelegated].Run(ctx, spec, func(flows.SetupEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := flows.ParseAliasARN(res.Paste[flows.FieldAliasARN])
	tg := flows.Target{Provider: flows.AWSDelegated, Domain: "dm-LCAJVnUE94B", Vendor: w.flow.Vendor(), AliasARN: a}
	r, err := w.deps.Registry.Register(ctx, tg)
	if err != nil || !strings.HasPrefix(r.Test, "ok:") || !strings.HasPrefix(r.Where, "domain API http://127.0.0.1:") {
		t.Fatalf("register: %+v %v", r, err)
	}
	if _, ok := w.deps.Registry.(ui.Retester); !ok {
		t.Fatal("the API registry cannot re-test a registered key")
	}

	code, out, _ := exec(t, false, "script", "--provider", "aws-delegated", "--key", "new", "--domain", "dm-LCAJVnUE94B", "--region", "us-east-1")
	if code != 0 || !strings.Contains(out, "arn:aws:iam::999988887777:role/rek-access") {
		t.Fatalf("script with the API: exit %d", code)
	}
	outputs := [][]byte{[]byte(out), []byte(r.Where), []byte(r.Test)}
	t.Setenv("REKWIZ_API_TOKEN", "rkw_test_token_WRONG_0123456789")
	code, out, errOut := exec(t, false, "script", "--provider", "aws-delegated", "--key", "new", "--domain", "dm-LCAJVnUE94B", "--region", "us-east-1")
	if code != exitUsage || !strings.Contains(errOut, "refused the API token (401 Unauthorized)") {
		t.Fatalf("a wrong token: %d %s", code, errOut)
	}
	outputs = append(outputs, []byte(out), []byte(errOut))
	t.Setenv("REKWIZ_API_TOKEN", "")
	if code, _, errOut := exec(t, false, "script", "--provider", "aws-delegated", "--key", "new", "--domain", "dm-LCAJVnUE94B", "--region", "us-east-1"); code != exitUsage || !strings.Contains(errOut, "set REKWIZ_API_TOKEN") {
		t.Fatalf("without a token: %d %s", code, errOut)
	}
	// Apply through the API writes no file (the registry is the API's),
	// so what is searched is everything rekwiz said.
	assertNowhere(t, "rkw_test_token_0123456789", nil, outputs...)
	assertNowhere(t, "rkw_test_token_WRONG_0123456789", nil, outputs...)
}

// runSandboxCommand runs `rekwiz sandbox` until ctx ends and returns the
// environment it prints for each identity ("customer", "vendor"), and
// the command's exit code once it has ended.
func runSandboxCommand(ctx context.Context) (env map[string]map[string]string, done <-chan int) {
	pr, pw := io.Pipe()
	exit := make(chan int, 1)
	go func() {
		ios := &IOStreams{In: strings.NewReader(""), Out: pw, Err: io.Discard, Getenv: os.Getenv}
		exit <- run(ctx, ios, realDeps(), []string{"sandbox", "--seed", "1"})
		pw.Close()
	}()
	env = map[string]map[string]string{}
	who := ""
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := strings.TrimSuffix(strings.TrimSpace(sc.Text()), " \\")
		if strings.HasPrefix(line, "# Requests are logged") {
			break
		}
		switch {
		case strings.HasPrefix(line, "# As the customer"):
			who = "customer"
		case strings.HasPrefix(line, "# As the vendor"):
			who = "vendor"
		case who != "" && !strings.HasPrefix(line, "#"):
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
				if env[who] == nil {
					env[who] = map[string]string{}
				}
				env[who][k] = v
			}
		}
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain until the command ends
	return env, exit
}
