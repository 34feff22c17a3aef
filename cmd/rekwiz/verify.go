package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
)

type verifyOptions struct {
	IO      *IOStreams
	Global  *globalOptions
	Presets map[flows.Field]string
}

func newVerifyCmd(ios *IOStreams, g *globalOptions) *cobra.Command {
	o := &verifyOptions{IO: ios, Global: g}
	var presets presetFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that the vendor can use a key, without a screen",
		Long: `Runs the pairing check for a key and prints one line per check, then the
remedies. It calls AWS with your own credentials (AWS_PROFILE, AWS_REGION
and AWS_ENDPOINT_URL work as in the AWS CLI); the output carries no secret
and can be pasted into a support ticket.

Exit codes: 0 every check passed (warnings allowed), 1 a check failed,
2 bad input.`,
		Example: `  rekwiz verify --provider aws-delegated --domain dm-LCAJVnUE94B \
    --key-arn arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/acme`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Presets = presets.values(cmd.Flags())
			return runVerify(cmd, o)
		},
	}
	presets = addPresetFlags(cmd.Flags(), flows.FieldProvider, flows.FieldDomain, flows.FieldAliasARN)
	for _, f := range []string{"provider", "domain", "key-arn"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func runVerify(cmd *cobra.Command, o *verifyOptions) error {
	v, err := loadVendor(o.Global, o.IO.Err, false)
	if err != nil {
		return err
	}
	flow, err := flows.New(v, o.Presets)
	if err != nil {
		return usageError(err)
	}
	if flow.Provider() != flows.AWSDelegated {
		return &exitError{code: exitUsage, msg: "--provider: verify supports aws-delegated in this version of rekwiz"}
	}
	t, err := flow.Target()
	if err != nil {
		return usageError(err)
	}
	cfg, err := config.LoadDefaultConfig(cmd.Context())
	if err != nil {
		return &exitError{code: exitUsage, msg: "reading your AWS configuration: " + err.Error()}
	}
	checks := awskms.NewPairing(cfg).Run(cmd.Context(), t, nil)
	if err := cmd.Context().Err(); err != nil {
		return err
	}
	writeReport(o.IO, t, checks)
	if !flows.Passed(checks) {
		return &exitError{code: exitCheckFailed}
	}
	return nil
}

// writeReport prints the checks as a ticket can carry them: symbol, status
// word, name and detail on one line each, then the remedies.
func writeReport(ios *IOStreams, t flows.Target, checks []flows.Check) {
	out := ios.Out
	fmt.Fprintf(out, "rekwiz verify: %s, %s\n", t.Domain, t.Provider.Title())
	fmt.Fprintf(out, "key: %s\n\n", t.AliasARN)
	failed := 0
	var remedies []string
	for _, c := range checks {
		word := strings.ToUpper(c.Status.String())
		fmt.Fprintf(out, "%s %-7s %s", c.Status.Symbol(), word, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(out, ": %s", c.Detail)
		}
		fmt.Fprintln(out)
		if c.Status == flows.StatusFail {
			failed++
		}
		if c.Remedy != "" && c.Status != flows.StatusPass {
			remedies = append(remedies, fmt.Sprintf("  %s: %s", c.ID, c.Remedy))
		}
	}
	if len(remedies) > 0 {
		fmt.Fprintf(out, "\nTo fix:\n%s\n", strings.Join(remedies, "\n"))
	}
	if failed > 0 {
		fmt.Fprintf(out, "\nResult: %d check(s) failed.\n", failed)
		return
	}
	fmt.Fprintln(out, "\nResult: paired.")
}
