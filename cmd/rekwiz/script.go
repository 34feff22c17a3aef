package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/scripts"
)

type scriptOptions struct {
	IO       *IOStreams
	Global   *globalOptions
	Presets  map[flows.Field]string
	Teardown bool
}

func newScriptCmd(ios *IOStreams, g *globalOptions) *cobra.Command {
	o := &scriptOptions{IO: ios, Global: g}
	var presets presetFlags
	cmd := &cobra.Command{
		Use:   "script",
		Short: "Print the setup (or teardown) script, for running in your cloud shell",
		Long: `Prints the setup script for a provider and key choice on stdout, and
nothing else: redirect it to a file, or pipe it to bash where the cloud's
CLI is signed in. With --teardown it prints the script that removes what
the setup added and leaves the key itself alone. Errors go to stderr, with
exit code 2.

Each provider reads its own inputs:
` + providerInputs(),
		Example: `  rekwiz script --provider aws-delegated --key new --domain dm-LCAJVnUE94B --region us-east-1 > setup.sh
  rekwiz script --provider aws-delegated --key existing --domain dm-LCAJVnUE94B --region eu-west-2 \
    --key-id 1234abcd-12ab-34cd-56ef-1234567890ab
  rekwiz script --provider aws-service-account --key new --domain dm-LCAJVnUE94B --region us-east-1 \
    --company Example
  rekwiz script --provider azure-delegated --key existing --domain dm-LCAJVnUE94B \
    --hsm-name contoso-hsm --key-name customer-rek
  rekwiz script --provider gcp-delegated --key new --domain dm-LCAJVnUE94B \
    --project my-project-123 --location us-east1 --keyring rekwiz --key-name rek
  rekwiz script --provider aws-delegated --key new --domain dm-LCAJVnUE94B --region us-east-1 --teardown`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Presets = presets.values(cmd.Flags())
			return runScript(cmd.Context(), o)
		},
	}
	presets = addPresetFlags(cmd.Flags(), flows.SetupFields()...)
	cmd.Flags().BoolVar(&o.Teardown, "teardown", false, "print the script that removes the vendor's access instead")
	for _, f := range []string{"provider", "key", "domain"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// providerInputs lists, a line per provider, the flags its script reads
// for an existing key and what a new key reads instead.
func providerInputs() string {
	flags := func(fs []flows.Field) string {
		var out []string
		for _, f := range fs {
			out = append(out, "--"+string(f))
		}
		return strings.Join(out, " ")
	}
	var b strings.Builder
	for _, p := range flows.Providers() {
		existing, fresh := flows.KeyDetails(p, flows.KeyExisting), flows.KeyDetails(p, flows.KeyNew)
		fmt.Fprintf(&b, "  %-20s existing key: %s\n  %-20s new key:      %s\n", p, flags(existing), "", flags(fresh))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func runScript(ctx context.Context, o *scriptOptions) error {
	v, err := loadVendor(o.Global, o.IO.Err, false)
	if err != nil {
		return err
	}
	api, err := apiClient(ctx, o.Global, o.IO, v)
	if err != nil {
		return err
	}
	if api != nil {
		d, err := flows.ParseDomainID(o.Presets[flows.FieldDomain])
		if err != nil {
			return usageError(&flows.FieldError{Field: flows.FieldDomain, Err: err})
		}
		if v, err = vendorFromAPI(ctx, api, v, d); err != nil {
			return err
		}
	}
	flow, err := flows.New(v, o.Presets)
	if err != nil {
		return usageError(err)
	}
	spec, err := flow.SetupSpec()
	if err != nil {
		return usageError(err)
	}
	s, err := scripts.Render(spec, scripts.Options{Teardown: o.Teardown})
	if err != nil {
		return usageError(err)
	}
	_, err = fmt.Fprint(o.IO.Out, s)
	return err
}
