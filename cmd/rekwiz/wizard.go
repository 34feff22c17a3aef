package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/azurehsm"
	"github.com/rekwiz/rekwiz/providers/checkrun"
	"github.com/rekwiz/rekwiz/providers/domainapi"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fsutil"
	"github.com/rekwiz/rekwiz/providers/gcpkms"
	"github.com/rekwiz/rekwiz/providers/store/registry"
	"github.com/rekwiz/rekwiz/providers/store/session"
	"github.com/rekwiz/rekwiz/scripts"
	"github.com/rekwiz/rekwiz/ui"
	"github.com/rekwiz/rekwiz/ui/termtext"
)

// Demo defaults: answers filled in (not fixed) so a demo is quick.
const (
	demoDomain = "dm-LCAJVnUE94B"
	demoRegion = "us-east-1"
	demoSeed   = 1
)

type wizardOptions struct {
	IO     *IOStreams
	Global *globalOptions
	// Deps reach the clouds and the disk; nil is realDeps().
	Deps    *deps
	Demo    bool
	Seed    uint64
	Presets map[flows.Field]string
	// Accessible runs the wizard line by line (accessible.go).
	Accessible bool
	// deferKits builds the clouds' kits after the first frame (the
	// terminal wizard: later.go); otherwise newWizard builds them.
	deferKits bool
}

func newDemoCmd(ios *IOStreams, g *globalOptions, d *deps) *cobra.Command {
	w := &wizardOptions{IO: ios, Global: g, Deps: d, Demo: true}
	var presets presetFlags
	var autoplay bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The wizard on a built-in sandbox: no cloud account needed",
		Long: `The whole wizard against rekwiz's sandbox, served in-process on 127.0.0.1:
AWS KMS, STS and IAM, and Azure's Managed HSM keys, Entra ID token endpoint
and Graph, reached by the same AWS and Azure SDK code as a real account.
Every provider can be walked to the end. Nothing leaves this machine, and
every run is the same (IDs follow --seed).

For a presenter, --autoplay plays it by itself at a human pace: every
provider in turn (or the one --provider names), typing, running "set it
up for me", pasting what it printed, and the pairing check. Any key
pauses and resumes it; q stops it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w.Presets = presets.values(cmd.Flags())
			if autoplay {
				return runAutoplay(cmd.Context(), w) // autoplay.go
			}
			return runWizard(cmd.Context(), w)
		},
	}
	cmd.Flags().BoolVar(&autoplay, "autoplay", false, autoplayUsage)
	cmd.Flags().Uint64Var(&w.Seed, "seed", demoSeed, "the sandbox's seed: the same seed gives the same IDs")
	presets = addPresetFlags(cmd.Flags(), flows.PresetFields()...)
	addAccessibleFlag(cmd.Flags(), &w.Accessible) // the line-by-line wizard (accessible.go)
	return cmd
}

// wizard is the wizard's flow and dependencies, built once.
type wizard struct {
	flow  *flows.State
	deps  ui.Deps
	close func()
}

func newWizard(ctx context.Context, o *wizardOptions) (*wizard, error) {
	v, err := loadVendor(o.Global, o.IO.Err, o.Demo)
	if err != nil {
		return nil, err
	}
	var api *domainapi.Client
	if !o.Demo {
		if api, err = apiClient(ctx, o.Global, o.IO, v); err != nil {
			return nil, err
		}
	}
	if api != nil {
		// The API gives the vendor's accounts per domain, so the domain
		// must be known before any script is shown.
		domain, ok := o.Presets[flows.FieldDomain]
		if !ok {
			return nil, &exitError{code: exitUsage, msg: "--domain: required with --api-url, so rekwiz can read the vendor's accounts for the domain"}
		}
		d, err := flows.ParseDomainID(domain)
		if err != nil {
			return nil, usageError(&flows.FieldError{Field: flows.FieldDomain, Err: err})
		}
		if v, err = vendorFromAPI(ctx, api, v, d); err != nil {
			return nil, err
		}
	}
	flow, err := flows.New(v, o.Presets)
	if err != nil {
		return nil, usageError(err)
	}
	env := o.Deps.orReal()
	regPath, err := env.RegistryPath()
	if err != nil {
		return nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	saveDir, _ := env.WorkDir()
	w := &wizard{flow: flow, close: func() {}}
	w.deps = ui.Deps{
		Context:       ctx,
		SaveDir:       saveDir,
		Demo:          o.Demo,
		VerifyCommand: verifyCommand(o.Global.VendorProfile),
	}
	defaults := map[flows.Field]string{}
	var (
		build buildKits
		shape kits // the providers build gives a set-up and a check
	)
	if o.Demo {
		build = func(context.Context) (kits, map[flows.Field]string, func(), error) {
			sb := fakecloud.New(fakecloud.Options{Seed: o.Seed, Vendor: v, GCPServiceAccount: v.GCPServiceAccount})
			srv, err := sb.Start("127.0.0.1:0")
			if err != nil {
				return kits{}, nil, nil, err
			}
			seedDemo(sb)
			k, err := sandboxKits(sb, srv, demoRegion)
			if err != nil {
				srv.Close()
				return kits{}, nil, nil, err
			}
			return k, map[flows.Field]string{flows.FieldKeyID: sb.CreateKey(demoRegion, "an existing key of the sandbox's customer")}, func() { srv.Close() }, nil
		}
		shape = newKits(sandboxClouds(
			awskms.Kit{Setup: &awskms.Setup{}, Pairing: &awskms.Pairing{}},
			azurehsm.Kit{Setup: &azurehsm.Setup{}, Pairing: &azurehsm.Pairing{}},
			gcpkms.Kit{Setup: &gcpkms.Setup{}, Pairing: &gcpkms.Pairing{}}))
		defaults[flows.FieldHSMName] = demoHSM
		// The existing key's name, in the HSM and in the key ring alike;
		// a new one is offered rek-DOMAIN.
		flow.Suggest(flows.FieldKeyName, demoAzureKey)
		defaults[flows.FieldProject], defaults[flows.FieldLocation] = fakecloud.GCPProject, fakecloud.GCPLocation
		flow.Suggest(flows.FieldKeyRing, fakecloud.GCPDemoKeyRing)
		w.deps.Registry = localRegistry{registry.Open(filepath.Join(filepath.Dir(regPath), "demo-registry.json"))}
		w.deps.RenderScript = func(sp flows.SetupSpec) (string, error) { return scripts.Render(sp, scripts.Options{Demo: true}) }
		defaults[flows.FieldDomain], defaults[flows.FieldRegion] = demoDomain, demoRegion
	} else {
		// Azure is checked with the customer's own sign-in (az login,
		// Cloud Shell); its setup is the script.
		build = func(ctx context.Context) (kits, map[flows.Field]string, func(), error) {
			k, region := realKits(ctx, env, asWizard, checkrun.DefaultWait)
			if err := k.err(); err != nil {
				return kits{}, nil, nil, err
			}
			return k, map[flows.Field]string{flows.FieldRegion: region}, nil, nil
		}
		// The kits as an AWS configuration that loads gives them.
		loaded := *env
		loaded.LoadAWS = func(context.Context) (aws.Config, error) { return aws.Config{}, nil }
		shape, _ = realKits(ctx, &loaded, asWizard, checkrun.DefaultWait)
		if warn := fsutil.DirWarning(filepath.Dir(regPath)); warn != "" {
			fmt.Fprintln(o.IO.Err, "rekwiz: warning: "+termtext.Line(warn))
		}
		w.deps.Registry = localRegistry{registry.Open(regPath)}
		if api != nil {
			w.deps.Registry = api
		}
		if err := w.offerResume(o, filepath.Join(filepath.Dir(regPath), "sessions")); err != nil {
			fmt.Fprintln(o.IO.Err, "rekwiz: warning: "+termtext.Text(err.Error()))
		}
		w.deps.RenderScript = func(sp flows.SetupSpec) (string, error) { return scripts.Render(sp, scripts.Options{}) }
		defaults[flows.FieldProject] = gcpProject(o.IO.Getenv)
	}
	if p := flow.Provider(); p != "" && shape.pairing[p] == nil {
		return nil, &exitError{code: exitUsage, msg: "--provider: " + p.Title() + " is not available in this version of rekwiz yet; use another provider"}
	}
	late := newLateKits()
	w.close = late.close
	if o.deferKits && flow.Step() < flows.StepKeyDetails {
		// The first screen needs neither the kits nor their answers
		// (the key details are the first to).
		w.deps.Setup, w.deps.Pairing = late.standIns(shape)
		w.deps.Later = func(ctx context.Context) (map[flows.Field]string, error) { return late.build(ctx, build) }
	} else {
		more, err := late.build(ctx, build)
		if err != nil {
			late.close()
			return nil, err
		}
		w.deps.Setup, w.deps.Pairing = late.k.setup, late.k.pairing
		maps.Copy(defaults, more)
	}
	for f, val := range defaults {
		if val != "" && !flow.Locked(f) && flow.Value(f) == "" {
			flow.Set(f, val)
		}
	}
	w.deps = safeDeps(w.deps)
	return w, nil
}

// gcpProject is the Google Cloud project the environment names, as Cloud
// Shell (GOOGLE_CLOUD_PROJECT, DEVSHELL_PROJECT_ID) and gcloud
// (CLOUDSDK_CORE_PROJECT) set it, for the wizard's default; "" when none
// is a project ID.
func gcpProject(getenv func(string) string) string {
	for _, v := range []string{"CLOUDSDK_CORE_PROJECT", "GOOGLE_CLOUD_PROJECT", "DEVSHELL_PROJECT_ID"} {
		if p, err := flows.ParseGCPProject(getenv(v)); err == nil {
			return p
		}
	}
	return ""
}

// localRegistry is the local registry as the wizard uses it: it says
// which entry registering a different key would replace, so the wizard
// asks first.
type localRegistry struct{ *registry.Registry }

func (r localRegistry) Replaces(_ context.Context, t flows.Target) (ui.Registration, bool, error) {
	old, found, err := r.Registry.Replaces(t)
	if err != nil || !found {
		return ui.Registration{}, false, err
	}
	return ui.Registration{RekID: old.RekID, Provider: old.Provider, Key: old.Key(), At: old.RegisteredAt}, true, nil
}

// The demo's Managed HSM and the existing key in it, whose name the
// sandbox's existing Cloud KMS key has too.
const (
	demoHSM      = "sandbox-hsm"
	demoAzureKey = fakecloud.GCPDemoKey
)

// seedDemo makes the sandbox's Managed HSM with an existing key, and the
// existing Cloud KMS key.
func seedDemo(sb *fakecloud.Sandbox) {
	sb.CreateHSM(demoHSM)
	// The demo's customer gave itself Crypto User on the keys, as
	// Microsoft's quickstart does: Administrator alone may not touch keys.
	sb.AssignHSMRole(demoHSM, sb.AzureCustomer().ObjectID, flows.AzureRoleCryptoUser, "/keys")
	sb.CreateHSMKey(demoHSM, demoAzureKey, fakecloud.HSMKeyOptions{Tags: map[string]string{"owner": "platform team"}})
	sb.SeedGCPDemo()
}

// offerResume keeps the wizard's progress in dir and offers to resume
// what was saved: the domain given's progress, or, without one, every
// unfinished domain's. The demo never resumes: its sandbox starts empty
// each run.
func (w *wizard) offerResume(o *wizardOptions, dir string) error {
	store := session.Open(dir)
	w.deps.Progress = store
	var (
		saved []flows.Snapshot
		err   error
	)
	if d, given := o.Presets[flows.FieldDomain]; given {
		snap, ok, lerr := store.Load(strings.TrimSpace(d))
		if ok {
			saved = []flows.Snapshot{snap}
		}
		err = lerr
	} else {
		saved, err = store.All()
	}
	for _, snap := range saved {
		if snap.Step > w.flow.Step() {
			w.deps.Saved = append(w.deps.Saved, snap)
		}
	}
	return err
}

// noColor reports whether to draw without colour: --no-color, NO_COLOR
// set to anything (https://no-color.org), or CLICOLOR=0 without
// CLICOLOR_FORCE (https://bixense.com/clicolors/). Styles such as bold
// stay; meaning never rests on colour anyway.
func noColor(flag bool, getenv func(string) string) bool {
	if flag || getenv("NO_COLOR") != "" {
		return true
	}
	forced := getenv("CLICOLOR_FORCE") != "" && getenv("CLICOLOR_FORCE") != "0"
	return strings.TrimSpace(getenv("CLICOLOR")) == "0" && !forced
}

// verifyCommand is the command the last screen suggests for checking the
// pairing again later.
func verifyCommand(profile string) func(flows.Target) string {
	return func(t flows.Target) string {
		cmd := "rekwiz verify --provider " + string(t.Provider) + " --domain " + t.Domain
		// The key and what else was pasted; a secret is never on the
		// command line (it comes from AWS_SECRET_ACCESS_KEY or a prompt).
		for _, f := range flows.PasteFields(t.Provider) {
			if v := t.Value(f); v != "" {
				cmd += " --" + string(f) + " " + v
			}
		}
		if profile != "" {
			cmd += " --vendor-profile " + profile
		}
		return cmd
	}
}

func runWizard(ctx context.Context, o *wizardOptions) error {
	if accessibleMode(o) { // the line-by-line wizard (accessible.go)
		return runAccessible(ctx, o)
	}
	if !o.IO.Terminal {
		return &exitError{code: exitUsage, msg: "the wizard needs a terminal. Without one, use:\n" +
			"  rekwiz --accessible   (the wizard line by line on plain stdin/stdout; reads a pipe too)\n" +
			"  rekwiz script --provider aws-delegated --key new --domain DOMAIN --region REGION   (prints the setup script)\n" +
			"  rekwiz verify --provider aws-delegated --domain DOMAIN --key-arn ALIAS_ARN          (checks the pairing)"}
	}
	o.deferKits = true
	w, err := newWizard(ctx, o)
	if err != nil {
		return err
	}
	defer w.close()
	model := ui.New(w.flow, w.deps)
	// 120 frames a second, bubbletea's most: a frame (the first, and
	// each key's) waits at most 8 ms for the renderer's tick, not 17; a
	// tick with nothing new to draw only compares two strings.
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(o.IO.In), tea.WithOutput(o.IO.Out), tea.WithFPS(120)}
	if noColor(o.Global.NoColor, o.IO.Getenv) {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	final, err := tea.NewProgram(model, opts...).Run()
	if err != nil {
		return programError(err)
	}
	m := final.(*ui.Model)
	if err := m.Err(); err != nil {
		return err // the kits could not be built
	}
	if !m.Finished() {
		fmt.Fprintf(o.IO.Err, "rekwiz: quit at the %s step. %s\n", strings.ToLower(m.Flow().Step().Title()), m.QuitNote())
		return &exitError{code: exitInterrupted}
	}
	writeSummary(o.IO.Out, m.Summary(), o.Demo)
	return nil
}

// writeSummary prints what was configured after the wizard, every value
// escaped: the vendor's name, the rekID and the test come from outside.
func writeSummary(out io.Writer, s ui.Summary, demo bool) {
	fmt.Fprintf(out, "rekwiz: paired. %s can use your key.\n", termtext.Line(s.Vendor))
	for _, l := range s.Lines() {
		fmt.Fprintln(out, "  "+termtext.Line(l))
	}
	if s.Verify != "" {
		later := "Check it again later with:"
		if demo {
			later = "In a real account, you would check it again later with:"
		}
		fmt.Fprintln(out, later+"\n  "+termtext.Line(s.Verify))
	}
}

// programError maps the end of a bubbletea program that did not finish:
// a panic anywhere (Update, View, a command, background work) is a
// defect, exit 1, after bubbletea has restored the terminal; a kill is
// an interrupt.
func programError(err error) error {
	switch {
	case errors.Is(err, tea.ErrProgramPanic):
		return &exitError{code: exitCheckFailed, msg: "internal error: the wizard stopped on a defect (the terminal was restored); what is set up stays set up. Please report it."}
	case errors.Is(err, tea.ErrProgramKilled):
		return context.Canceled
	}
	return &exitError{code: exitUsage, msg: err.Error()}
}
