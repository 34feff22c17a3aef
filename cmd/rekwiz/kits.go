package main

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/azurehsm"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/gcpkms"
	"github.com/rekwiz/rekwiz/ui"
)

// kits are the clouds' set-ups ("set it up for me") and pairing checks,
// by provider. They are built here, once per command, for the real
// clouds (realKits: `rekwiz`, `verify`) or for the sandbox (sandboxKits:
// `demo`). Each cloud package says which providers are its own; nothing
// here names a provider.
type kits struct {
	setup   map[flows.Provider]ui.Setuper
	pairing map[flows.Provider]ui.Pairer
	// broken says, by provider, why its cloud's kit could not be built
	// (the AWS configuration did not load): a command that needs that
	// provider ends with it, others go on.
	broken map[flows.Provider]error
}

// cloud is one cloud package's kit as the commands use it.
type cloud interface {
	setupFor(flows.Provider) (ui.Setuper, bool)
	pairingFor(flows.Provider) (ui.Pairer, bool)
}

// kitOf adapts a cloud package's kit (its SetupFor and PairingFor) to a
// cloud.
func kitOf[S ui.Setuper, P ui.Pairer](setup func(flows.Provider) (S, bool), pairing func(flows.Provider) (P, bool)) cloud {
	return kitAdapter[S, P]{setup, pairing}
}

type kitAdapter[S ui.Setuper, P ui.Pairer] struct {
	setup   func(flows.Provider) (S, bool)
	pairing func(flows.Provider) (P, bool)
}

func (k kitAdapter[S, P]) setupFor(p flows.Provider) (ui.Setuper, bool) {
	s, ok := k.setup(p)
	if !ok {
		return nil, false
	}
	return s, true
}

func (k kitAdapter[S, P]) pairingFor(p flows.Provider) (ui.Pairer, bool) {
	c, ok := k.pairing(p)
	if !ok {
		return nil, false
	}
	return c, true
}

// brokenKit is a cloud whose kit could not be built: serves says which
// providers are its own (its package's Kit.Serves).
type brokenKit struct {
	serves func(flows.Provider) bool
	err    error
}

// newKits asks every cloud, for every provider, for its set-up and its
// pairing check.
func newKits(clouds []cloud, broken ...brokenKit) kits {
	k := kits{setup: map[flows.Provider]ui.Setuper{}, pairing: map[flows.Provider]ui.Pairer{}, broken: map[flows.Provider]error{}}
	for _, p := range flows.Providers() {
		for _, c := range clouds {
			if s, ok := c.setupFor(p); ok {
				k.setup[p] = s
			}
			if pr, ok := c.pairingFor(p); ok {
				k.pairing[p] = pr
			}
		}
		for _, b := range broken {
			if b.serves(p) {
				k.broken[p] = b.err
			}
		}
	}
	return k
}

// err is the first reason a cloud's kit could not be built, for a
// command that needs every cloud (the wizard).
func (k kits) err() error {
	for _, p := range flows.Providers() {
		if err := k.broken[p]; err != nil {
			return err
		}
	}
	return nil
}

// pairer is p's pairing check, or why there is none.
func (k kits) pairer(p flows.Provider) (ui.Pairer, error) {
	if err := k.broken[p]; err != nil {
		return nil, err
	}
	if c := k.pairing[p]; c != nil {
		return c, nil
	}
	return nil, &exitError{code: exitUsage, msg: "--provider: " + p.Title() + " has no pairing check in this version of rekwiz"}
}

// checkMode is who the real clouds' checks run as.
type checkMode int

const (
	// asWizard: the customer's own credentials run the set-up and the
	// checks, and read the key policy and a service account's policies.
	asWizard checkMode = iota
	// asVerify: whoever runs `rekwiz verify`; each cloud decides what
	// its own credentials may read (AWS: a service account's policies,
	// unless they are its own access key).
	asVerify
)

// realKits are the real clouds' kits, with the customer's AWS
// configuration, Azure sign-in and Google Cloud credentials. Azure's
// set-up is its script. The region is the AWS configuration's, for the
// wizard's default.
func realKits(ctx context.Context, d *deps, mode checkMode, wait time.Duration) (k kits, region string) {
	az := azurehsm.Kit{Pairing: azurehsm.NewPairing(d.azureCustomer(), azurehsm.WithWait(wait))}
	gcp := gcpkms.Kit{Pairing: gcpkms.NewPairing(d.GCP(), gcpkms.WithWait(wait))}
	if mode == asWizard {
		gcp.Setup = gcpkms.NewSetup(d.GCP())
	}
	clouds := []cloud{kitOf(az.SetupFor, az.PairingFor), kitOf(gcp.SetupFor, gcp.PairingFor)}
	cfg, err := d.LoadAWS(ctx)
	if err != nil {
		return newKits(clouds, brokenKit{
			serves: awskms.Kit{}.Serves,
			err:    &exitError{code: exitUsage, msg: "reading your AWS configuration: " + err.Error()},
		}), ""
	}
	// A failure to get credentials is said as "not signed in", with the
	// command that signs in, never as the credential chain's text.
	cfg = awskms.SignInAware(cfg)
	var aws awskms.Kit
	switch mode {
	case asVerify:
		aws.Pairing = awskms.NewPairing(cfg, awskms.WithWait(wait), awskms.WithAmbientReader(cfg))
	default:
		// The customer's own credentials check a delegated key and read
		// a service account's policies; the service account's checks
		// run with its pasted access key.
		aws.Setup = awskms.NewSetup(cfg)
		aws.Pairing = awskms.NewPairing(cfg, awskms.WithWait(wait), awskms.WithReader(cfg))
	}
	return newKits(append(clouds, kitOf(aws.SetupFor, aws.PairingFor))), cfg.Region
}

// sandboxKits are the demo's kits, every call reaching the sandbox
// server srv through the same SDK code as a real account. The checks
// run as the vendor (a service account, with its own access key); the
// customer reads the policies and sets up, as in real life.
func sandboxKits(sb *fakecloud.Sandbox, srv *fakecloud.Server, region string) (kits, error) {
	customer := srv.AWSConfig(sb.Customer(), region)
	aws := awskms.Kit{
		Setup:   awskms.NewSetup(customer),
		Pairing: awskms.NewPairing(srv.AWSConfig(sb.Vendor(), region), awskms.WithReader(customer)),
	}
	opts := azcore.ClientOptions{Transport: srv.AzureHTTPClient()}
	cred := func(app fakecloud.AzureApp) func(string) (azcore.TokenCredential, error) {
		return func(tenant string) (azcore.TokenCredential, error) {
			return azidentity.NewClientSecretCredential(tenant, app.ClientID, app.ClientSecret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
		}
	}
	admin, err := cred(sb.AzureCustomer())(sb.AzureTenant())
	if err != nil {
		return kits{}, err
	}
	az := azurehsm.Kit{
		Setup:   &azurehsm.Setup{Credential: admin, TenantID: sb.AzureTenant(), Options: opts},
		Pairing: azurehsm.NewPairing(azurehsm.Config{Credential: cred(sb.AzureVendor()), Options: opts}),
	}
	return newKits(sandboxClouds(aws, az, sandboxGCP(sb, srv))), nil
}

// sandboxClouds are the demo's clouds, whose kits serve every provider:
// the wizard's stand-ins have their shape (later.go).
func sandboxClouds(aws awskms.Kit, az azurehsm.Kit, gcp gcpkms.Kit) []cloud {
	return []cloud{kitOf(aws.SetupFor, aws.PairingFor), kitOf(az.SetupFor, az.PairingFor), kitOf(gcp.SetupFor, gcp.PairingFor)}
}

// sandboxGCP is the demo's Google Cloud kit: the customer's admin sets up
// and reads the key, and the vendor's service account makes the round
// trip, each with a service-account key whose token the sandbox issues.
func sandboxGCP(sb *fakecloud.Sandbox, srv *fakecloud.Server) gcpkms.Kit {
	identity := func(id fakecloud.GCPIdentity) func(context.Context) (gcpkms.Identity, error) {
		return func(ctx context.Context) (gcpkms.Identity, error) {
			key, err := sb.GCPServiceAccountJSON(id, srv.GCPTokenURL())
			if err != nil {
				return gcpkms.Identity{}, err
			}
			return gcpkms.FromJSON(ctx, key)
		}
	}
	cfg := gcpkms.Config{Endpoint: srv.GCPKMSEndpoint(), ResourceManager: srv.GCPKMSEndpoint(),
		Customer: identity(sb.GCPCustomer()), Vendor: identity(sb.GCPVendor())}
	return gcpkms.Kit{Setup: gcpkms.NewSetup(cfg), Pairing: gcpkms.NewPairing(cfg)}
}
