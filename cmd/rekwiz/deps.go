package main

import (
	"context"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/rekwiz/rekwiz/providers/azurehsm"
	"github.com/rekwiz/rekwiz/providers/gcpkms"
	"github.com/rekwiz/rekwiz/providers/store/registry"
)

// deps are what the commands reach the clouds and the disk with, beyond
// their flags and streams: main passes the real ones (realDeps), a test
// its own. rekwiz keeps no package variable for any of them.
type deps struct {
	// LoadAWS reads the customer's AWS configuration as the AWS CLI
	// does: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, the shared files.
	LoadAWS func(ctx context.Context) (aws.Config, error)
	// AzureCredential is the customer's own Azure sign-in for a tenant
	// (az login, Cloud Shell, the AZURE_* variables), and AzureOptions
	// the Azure SDK clients' options.
	AzureCredential func(tenantID string) (azcore.TokenCredential, error)
	AzureOptions    azcore.ClientOptions
	// GCP is how rekwiz reaches Cloud KMS as the customer: Application
	// Default Credentials, found when first needed, and Cloud KMS at
	// REKWIZ_GCP_KMS_ENDPOINT when that is set.
	GCP func() gcpkms.Config
	// RegistryPath is the local registry's file; the saved progress is
	// kept beside it. Its directory is rekwiz's config directory.
	RegistryPath func() (string, error)
	// WorkDir is where the wizard saves scripts: the working directory.
	WorkDir func() (string, error)
}

// realDeps are the customer's own: the AWS SDK's default configuration,
// azidentity's default credential chain, and the user's config directory.
func realDeps() *deps {
	var opts azcore.ClientOptions
	return &deps{
		LoadAWS:         func(ctx context.Context) (aws.Config, error) { return config.LoadDefaultConfig(ctx) },
		AzureCredential: azurehsm.DefaultCredential(opts),
		AzureOptions:    opts,
		GCP:             func() gcpkms.Config { return gcpkms.DefaultConfig(os.Getenv) },
		RegistryPath:    registry.DefaultPath,
		WorkDir:         os.Getwd,
	}
}

// orReal is d, or the customer's own deps when d is nil (options built
// without them).
func (d *deps) orReal() *deps {
	if d == nil {
		return realDeps()
	}
	return d
}

// azureCustomer is how the pairing check reaches Azure as the signed-in
// customer.
func (d *deps) azureCustomer() azurehsm.Config {
	return azurehsm.Config{Credential: d.AzureCredential, Options: d.AzureOptions, AsCustomer: true}
}
