package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/vendorprofile"
)

// globalOptions are the flags every command takes.
type globalOptions struct {
	VendorProfile string
	NoColor       bool
	APIURL        string
}

// newRootCmd is rekwiz's command tree; d reaches the clouds and the disk.
func newRootCmd(ios *IOStreams, d *deps) *cobra.Command {
	g := &globalOptions{}
	w := &wizardOptions{IO: ios, Global: g, Deps: d}
	var presets presetFlags
	cmd := &cobra.Command{
		Use:   "rekwiz",
		Short: "Bring your own Root Encryption Key to your vendor",
		Long: `rekwiz walks you through hosting your domain's Root Encryption Key in your
own AWS KMS, Azure Managed HSM or Google Cloud KMS and delegating it to
your vendor: choose
the provider and the key, run the generated script, paste what it printed,
and rekwiz registers the key and checks that the vendor can use it.

Run it where your cloud CLI is signed in (AWS CloudShell, Azure Cloud
Shell and Google Cloud Shell work). Try it first with no cloud account at
all: rekwiz demo.

` + exitCodesHelp,
		Example: `  rekwiz demo
  rekwiz --domain dm-LCAJVnUE94B
  rekwiz script --provider aws-delegated --key new --domain dm-LCAJVnUE94B --region us-east-1`,
		Version:       currentVersion().String(),
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w.Presets = presets.values(cmd.Flags())
			return runWizard(cmd.Context(), w)
		},
	}
	cmd.SetVersionTemplate("{{.Version}}\n") // version.go
	pf := cmd.PersistentFlags()
	pf.StringVar(&g.VendorProfile, "vendor-profile", "", "your vendor's profile `file` (JSON); without it, rekwiz uses its sandbox vendor")
	pf.BoolVar(&g.NoColor, "no-color", false, "draw without colour (NO_COLOR, or CLICOLOR=0, works too)")
	pf.StringVar(&g.APIURL, "api-url", "", "register keys with the vendor's domain API at `URL` (or REKWIZ_API_URL; the token comes from REKWIZ_API_TOKEN)")
	presets = addPresetFlags(cmd.Flags(), flows.PresetFields()...)
	addAccessibleFlag(cmd.Flags(), &w.Accessible) // the line-by-line wizard (accessible.go)
	cmd.AddCommand(newDemoCmd(ios, g, d), newScriptCmd(ios, g), newVerifyCmd(ios, g, d), newSandboxCmd(ios))
	registerCompletions(cmd) // completion.go
	return cmd
}

// presetFlags are flags that answer the flow's fields.
type presetFlags map[flows.Field]*string

func addPresetFlags(fs *pflag.FlagSet, fields ...flows.Field) presetFlags {
	p := presetFlags{}
	for _, f := range fields {
		p[f] = fs.String(string(f), "", flagUsage(f))
	}
	return p
}

func flagUsage(f flows.Field) string {
	spec := flows.Spec(f)
	switch f {
	case flows.FieldProvider:
		return "the provider: " + strings.Join(providerNames(), ", ")
	case flows.FieldKey:
		return "existing or new"
	case flows.FieldAliasARN:
		return "the key alias ARN the script printed, e.g. arn:aws:kms:us-east-1:123456789012:alias/DOMAIN/VENDOR"
	}
	usage := spec.Label
	if len(usage) > 1 && !unicode.IsUpper(rune(usage[1])) {
		// "Key name" reads "key name"; "AWS region" keeps its capitals.
		usage = strings.ToLower(usage[:1]) + usage[1:]
	}
	if spec.Example != "" {
		usage += ", e.g. " + spec.Example
	}
	return usage
}

func providerNames() []string {
	var out []string
	for _, p := range flows.Providers() {
		out = append(out, string(p))
	}
	return out
}

// values returns the answers given on the command line.
func (p presetFlags) values(fs *pflag.FlagSet) map[flows.Field]string {
	out := map[flows.Field]string{}
	for f, v := range p {
		if fs.Changed(string(f)) {
			out[f] = *v
		}
	}
	return out
}

// loadVendor reads --vendor-profile, or falls back to the embedded
// sandbox profile with a warning (none in the demo, where it is right).
func loadVendor(g *globalOptions, errOut io.Writer, demo bool) (flows.Vendor, error) {
	if g.VendorProfile != "" {
		v, err := vendorprofile.Load(g.VendorProfile)
		if err != nil {
			return flows.Vendor{}, &exitError{code: exitUsage, msg: err.Error()}
		}
		return v, nil
	}
	if !demo {
		fmt.Fprintln(errOut, "rekwiz: warning: no --vendor-profile given; using the built-in sandbox vendor, which names no real vendor. Ask your vendor for their profile file.")
	}
	return vendorprofile.Default(), nil
}

// usageError turns the flow's field errors into one message naming each
// flag and what it expects.
func usageError(err error) error {
	var fe flows.FieldErrors
	if !errors.As(err, &fe) {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	var lines []string
	for _, e := range fe {
		lines = append(lines, fieldName(e.Field)+": "+e.Err.Error())
	}
	sort.Strings(lines)
	return &exitError{code: exitUsage, msg: strings.Join(lines, "\nrekwiz: ")}
}

// fieldName names a field in a message as the user gives it: its flag,
// or, for a field no flag takes (the secret access key), where it comes
// from.
func fieldName(f flows.Field) string {
	if f == flows.FieldSecretAccessKey {
		return "the secret access key (AWS_SECRET_ACCESS_KEY, or the masked prompt)"
	}
	if slices.Contains(flows.PresetFields(), f) {
		return "--" + string(f)
	}
	return strings.ToLower(flows.Spec(f).Label)
}
