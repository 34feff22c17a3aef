package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/azurehsm"
	"github.com/rekwiz/rekwiz/providers/domainapi"
	"github.com/rekwiz/rekwiz/providers/registry"
	"github.com/rekwiz/rekwiz/providers/sandbox"
	"github.com/rekwiz/rekwiz/providers/session"
	"github.com/rekwiz/rekwiz/scripts"
	"github.com/rekwiz/rekwiz/ui"
)

// Demo defaults: answers filled in (not fixed) so a demo is quick.
const (
	demoDomain = "dm-LCAJVnUE94B"
	demoRegion = "us-east-1"
	demoSeed   = 1
)

type wizardOptions struct {
	IO      *IOStreams
	Global  *globalOptions
	Demo    bool
	Seed    uint64
	Presets map[flows.Field]string
}

func newDemoCmd(ios *IOStreams, g *globalOptions) *cobra.Command {
	w := &wizardOptions{IO: ios, Global: g, Demo: true}
	var presets presetFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The wizard on a built-in sandbox: no cloud account needed",
		Long: `The whole wizard against rekwiz's sandbox: AWS KMS and STS served in-process
on 127.0.0.1, reached by the same AWS SDK code as a real account. Nothing
leaves this machine, and every run is the same (IDs follow --seed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w.Presets = presets.values(cmd.Flags())
			return runWizard(cmd.Context(), w)
		},
	}
	cmd.Flags().Uint64Var(&w.Seed, "seed", demoSeed, "the sandbox's seed: the same seed gives the same IDs")
	presets = addPresetFlags(cmd.Flags(), wizardFields...)
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
		if api, err = apiClient(o.Global, o.IO, v); err != nil {
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
	regPath, err := registry.DefaultPath()
	if err != nil {
		return nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	saveDir, _ := os.Getwd()
	w := &wizard{flow: flow, close: func() {}}
	w.deps = ui.Deps{
		SaveDir:       saveDir,
		Demo:          o.Demo,
		VerifyCommand: verifyCommand(o.Global.VendorProfile),
	}
	defaults := map[flows.Field]string{}
	if o.Demo {
		sb := sandbox.New(sandbox.Options{Seed: o.Seed, Vendor: v})
		srv, err := sb.Start("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		w.close = func() { srv.Close() }
		customer := srv.AWSConfig(sb.Customer(), demoRegion)
		setup := awskms.NewSetup(customer)
		// The check runs as the vendor (a service account, with its own
		// access key); the customer reads the policies, as in real life.
		pairing := awskms.NewPairing(srv.AWSConfig(sb.Vendor(), demoRegion), awskms.WithReader(customer))
		w.deps.Setup = map[flows.Provider]ui.Setuper{flows.AWSDelegated: setup, flows.AWSServiceAccount: setup}
		w.deps.Pairing = map[flows.Provider]ui.Pairer{flows.AWSDelegated: pairing, flows.AWSServiceAccount: pairing}
		azSetup, azPairing, err := demoAzure(sb, srv)
		if err != nil {
			srv.Close()
			return nil, err
		}
		w.deps.Setup[flows.AzureDelegated], w.deps.Pairing[flows.AzureDelegated] = azSetup, azPairing
		defaults[flows.FieldHSMName] = demoHSM
		flow.Suggest(flows.FieldKeyName, demoAzureKey) // the existing key; a new one is offered rek-DOMAIN
		w.deps.Registry = registry.Open(filepath.Join(filepath.Dir(regPath), "demo-registry.json"))
		w.deps.RenderScript = func(sp flows.SetupSpec) (string, error) { return scripts.Render(sp, scripts.Options{Demo: true}) }
		defaults[flows.FieldDomain], defaults[flows.FieldRegion] = demoDomain, demoRegion
		defaults[flows.FieldKeyID] = sb.CreateKey(demoRegion, "an existing key of the sandbox's customer")
	} else {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, &exitError{code: exitUsage, msg: "reading your AWS configuration: " + err.Error()}
		}
		setup := awskms.NewSetup(cfg)
		// The customer's own credentials check a delegated key and read
		// a service account's policies; the service account's checks run
		// with its pasted access key.
		pairing := awskms.NewPairing(cfg, awskms.WithReader(cfg))
		w.deps.Setup = map[flows.Provider]ui.Setuper{flows.AWSDelegated: setup, flows.AWSServiceAccount: setup}
		// Azure is checked with the customer's own sign-in (az login,
		// Cloud Shell); its setup is the script.
		w.deps.Pairing = map[flows.Provider]ui.Pairer{flows.AWSDelegated: pairing, flows.AWSServiceAccount: pairing,
			flows.AzureDelegated: azurehsm.NewPairing(azurehsm.Config{Credential: azurehsm.DefaultCredential(azcore.ClientOptions{}), AsCustomer: true})}
		w.deps.Registry = registry.Open(regPath)
		if api != nil {
			w.deps.Registry = api
		}
		if err := w.offerResume(o, filepath.Join(filepath.Dir(regPath), "sessions")); err != nil {
			fmt.Fprintln(o.IO.Err, "rekwiz: warning: "+err.Error())
		}
		w.deps.RenderScript = func(sp flows.SetupSpec) (string, error) { return scripts.Render(sp, scripts.Options{}) }
		defaults[flows.FieldRegion] = cfg.Region
	}
	if p := flow.Provider(); p != "" && w.deps.Pairing[p] == nil {
		w.close()
		return nil, &exitError{code: exitUsage, msg: "--provider: " + p.Title() + " is not available in this version of rekwiz yet; use another provider"}
	}
	for f, val := range defaults {
		if val != "" && !flow.Locked(f) && flow.Value(f) == "" {
			flow.Set(f, val)
		}
	}
	return w, nil
}

// The demo's Managed HSM and the existing key in it.
const (
	demoHSM      = "sandbox-hsm"
	demoAzureKey = "customer-rek"
)

// demoAzure makes the sandbox's Managed HSM with an existing key, and the
// Azure setup (as the customer's admin) and check (as the vendor's
// application), both reaching the sandbox through its transport.
func demoAzure(sb *sandbox.Sandbox, srv *sandbox.Server) (ui.Setuper, ui.Pairer, error) {
	sb.CreateHSM(demoHSM)
	// The demo's customer gave itself Crypto User on the keys, as
	// Microsoft's quickstart does: Administrator alone may not touch keys.
	sb.AssignHSMRole(demoHSM, sb.AzureCustomer().ObjectID, flows.AzureRoleCryptoUser, "/keys")
	sb.CreateHSMKey(demoHSM, demoAzureKey, sandbox.HSMKeyOptions{Tags: map[string]string{"owner": "platform team"}})
	opts := azcore.ClientOptions{Transport: srv.AzureHTTPClient()}
	cred := func(app sandbox.AzureApp) func(string) (azcore.TokenCredential, error) {
		return func(tenant string) (azcore.TokenCredential, error) {
			return azidentity.NewClientSecretCredential(tenant, app.ClientID, app.ClientSecret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
		}
	}
	customer, err := cred(sb.AzureCustomer())(sb.AzureTenant())
	if err != nil {
		return nil, nil, err
	}
	return &azurehsm.Setup{Credential: customer, TenantID: sb.AzureTenant(), Options: opts},
		azurehsm.NewPairing(azurehsm.Config{Credential: cred(sb.AzureVendor()), Options: opts}), nil
}

// offerResume keeps the wizard's progress in dir and, when progress for
// the domain given (or, without one, the latest) was saved, offers to
// resume it. The demo never resumes: its sandbox starts empty each run.
func (w *wizard) offerResume(o *wizardOptions, dir string) error {
	store := session.Open(dir)
	w.deps.Progress = store
	var (
		snap flows.Snapshot
		ok   bool
		err  error
	)
	if d, given := o.Presets[flows.FieldDomain]; given {
		snap, ok, err = store.Load(strings.TrimSpace(d))
	} else {
		snap, ok, err = store.Latest()
	}
	if ok && snap.Step > w.flow.Step() {
		w.deps.Resume = &snap
	}
	return err
}

// noColor reports whether to draw without colour: --no-color, or
// NO_COLOR set to anything (https://no-color.org). Styles such as bold
// stay; meaning never rests on colour anyway.
func noColor(flag bool, getenv func(string) string) bool {
	return flag || getenv("NO_COLOR") != ""
}

// verifyCommand is the command the last screen suggests for checking the
// pairing again later.
func verifyCommand(profile string) func(flows.Target) string {
	return func(t flows.Target) string {
		cmd := "rekwiz verify --provider " + string(t.Provider) + " --domain " + t.Domain
		if t.Provider.IsAWS() {
			cmd += " --key-arn " + t.AliasARN.String()
		} else {
			cmd += " --key-url " + t.KeyURL.String() + " --tenant-id " + t.TenantID
		}
		if t.Provider == flows.AWSServiceAccount {
			// The secret comes from AWS_SECRET_ACCESS_KEY or a prompt.
			cmd += " --access-key-id " + t.AccessKeyID
		}
		if profile != "" {
			cmd += " --vendor-profile " + profile
		}
		return cmd
	}
}

func runWizard(ctx context.Context, o *wizardOptions) error {
	if !o.IO.Terminal {
		return &exitError{code: exitUsage, msg: "the wizard needs a terminal. Without one, use:\n" +
			"  rekwiz script --provider aws-delegated --key new --domain DOMAIN --region REGION   (prints the setup script)\n" +
			"  rekwiz verify --provider aws-delegated --domain DOMAIN --key-arn ALIAS_ARN          (checks the pairing)"}
	}
	w, err := newWizard(ctx, o)
	if err != nil {
		return err
	}
	defer w.close()
	model := ui.New(w.flow, w.deps)
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(o.IO.In), tea.WithOutput(o.IO.Out)}
	if noColor(o.Global.NoColor, o.IO.Getenv) {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	final, err := tea.NewProgram(model, opts...).Run()
	if err != nil {
		if errors.Is(err, tea.ErrProgramKilled) {
			return context.Canceled
		}
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	m := final.(*ui.Model)
	if !m.Finished() {
		fmt.Fprintf(o.IO.Err, "rekwiz: quit at the %s step. What is set up stays set up; run rekwiz again to finish.\n", strings.ToLower(m.Flow().Step().Title()))
		return &exitError{code: exitInterrupted}
	}
	s := m.Summary()
	fmt.Fprintf(o.IO.Out, "rekwiz: paired. %s can use your key.\n", s.Vendor)
	for _, l := range s.Lines() {
		fmt.Fprintln(o.IO.Out, "  "+l)
	}
	if s.Verify != "" {
		later := "Check it again later with:"
		if o.Demo {
			later = "In a real account, you would check it again later with:"
		}
		fmt.Fprintln(o.IO.Out, later+"\n  "+s.Verify)
	}
	return nil
}
