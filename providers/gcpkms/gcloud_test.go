package gcpkms_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
	"github.com/rekwiz/rekwiz/providers/gcpkms"
)

var (
	gcloudRE = regexp.MustCompile(`gcloud [^(),;&|]*`)
	flagRE   = regexp.MustCompile(`(^|\s)(--[a-z][a-z-]*)`)
)

// TestGcloudCommandsExist: every gcloud command the checks' details and
// remedies and the set-up's events name is one the installed gcloud
// knows, with every flag it is given (its own --help says so).
func TestGcloudCommandsExist(t *testing.T) {
	// Skipped (with -short or no gcloud) before the sandbox work.
	fakecloudtest.Gcloud(t)
	var texts []string
	for _, f := range faults() {
		e := newEnv(t)
		for _, c := range e.run(t, f.setup(e)) {
			texts = append(texts, c.Detail, c.Remedy)
		}
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	t.Setenv("GCE_METADATA_HOST", "")
	for _, c := range gcpkms.NewPairing(gcpkms.DefaultConfig(func(string) string { return "http://127.0.0.1:1/" }), gcpkms.WithWait(0)).Run(context.Background(), target("k"), nil) {
		texts = append(texts, c.Detail, c.Remedy)
	}
	e := newEnv(t)
	for _, sp := range []flows.SetupSpec{spec(flows.KeyNew, "k", "hsm"), spec(flows.KeyNew, "k", "hsm")} {
		if _, err := e.setup().Run(context.Background(), sp, func(ev flows.SetupEvent) { texts = append(texts, ev.Call) }); err != nil {
			t.Fatal(err)
		}
	}
	// A sign-in that may only read the key is told how to get the rest.
	tg := e.key("ro", fakecloud.GCPKeyOptions{})
	e.GrantGCPRole(tg.KeyResource.String(), fakecloud.RoleKMSViewer, vendor.GCPMember())
	e.cfg.Customer = gcpkms.Fixed(gcpkms.StaticToken("a reader", e.GCPVendor().Email, e.GCPVendor().AccessToken))
	plan, err := e.setup().Plan(context.Background(), spec(flows.KeyExisting, "ro", ""))
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, plan.Changes...)
	cmds := map[string]bool{}
	for _, s := range texts {
		for _, m := range gcloudRE.FindAllString(s, -1) {
			cmds[strings.TrimSpace(m)] = true
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("found only %d gcloud commands: %q", len(cmds), slices.Sorted(func(yield func(string) bool) {
			for c := range cmds {
				if !yield(c) {
					return
				}
			}
		}))
	}
	// One help per command path: the words before the first flag (a
	// positional argument among them is taken as one by gcloud), all read
	// in one Python start.
	helps := map[string][]string{} // path -> flags used with it
	for c := range cmds {
		words := strings.Fields(c)
		i := slices.IndexFunc(words, func(w string) bool { return strings.HasPrefix(w, "-") })
		if i < 0 {
			i = len(words)
		}
		path := strings.Join(words[:i], " ")
		for _, m := range flagRE.FindAllStringSubmatch(c, -1) {
			helps[path] = append(helps[path], m[2])
		}
		if _, ok := helps[path]; !ok {
			helps[path] = nil
		}
	}
	var commands []string
	for path := range helps {
		commands = append(commands, strings.TrimPrefix(path, "gcloud "))
	}
	helpOf := fakecloudtest.GcloudHelps(t, commands)
	for path, flags := range helps {
		help := helpOf[strings.TrimPrefix(path, "gcloud ")]
		if !strings.Contains(help, "NAME") {
			t.Errorf("%s --help: gcloud knows no such command\n%s", path, help)
			continue
		}
		for _, f := range flags {
			if !regexp.MustCompile(regexp.QuoteMeta(f) + `([=\s,\]]|$)`).MatchString(help) {
				t.Errorf("%s: gcloud knows no flag %s", path, f)
			}
		}
	}
}
