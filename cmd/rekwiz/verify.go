package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/checkrun"
)

type verifyOptions struct {
	IO     *IOStreams
	Global *globalOptions
	// Deps reach AWS and Azure as the customer, whose credentials
	// verify checks with; nil is realDeps().
	Deps    *deps
	Presets map[flows.Field]string
	JSON    bool
	Wait    time.Duration
}

func newVerifyCmd(ios *IOStreams, g *globalOptions, d *deps) *cobra.Command {
	o := &verifyOptions{IO: ios, Global: g, Deps: d}
	var presets presetFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that the vendor can use a key, without a screen",
		Long: `Runs the pairing check for a key and prints one line per check, then the
remedies; --json prints the same as one JSON document. The output carries
no secret, session token, signature or data key, so it can be pasted into
a support ticket.

aws-delegated runs with your own AWS credentials: AWS_PROFILE, AWS_REGION,
AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_KMS work as in the AWS CLI.
aws-service-account runs with the service account's access key, as the
vendor would: --access-key-id (or AWS_ACCESS_KEY_ID) and the secret from
AWS_SECRET_ACCESS_KEY or, at a terminal, a masked prompt; never a flag,
which would land in your shell history. Your own profile, if it may,
also reads the user's IAM policy.

azure-delegated runs with your own Azure sign-in (az login, Azure Cloud
Shell, or the AZURE_* variables azidentity reads): it wraps and unwraps
with the key, and reads the HSM's role assignments for the vendor's
application's role.

gcp-delegated runs with your Application Default Credentials (gcloud auth
application-default login, Cloud Shell, or GOOGLE_APPLICATION_CREDENTIALS):
it reads the key, its labels and its IAM policy, and encrypts and decrypts
with it.

When access is denied, a policy change or role assignment may still be
on its way: the check retries for up to --wait (default 90s; 0 does not
wait).

Every check passed (warnings allowed) is exit code 0, a failed check 1.
` + exitCodesHelp,
		Example: `  rekwiz verify --provider aws-delegated --domain dm-LCAJVnUE94B \
    --key-arn arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/acme
  AWS_SECRET_ACCESS_KEY=... rekwiz verify --provider aws-service-account --domain dm-LCAJVnUE94B \
    --key-arn arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/acme/Example \
    --access-key-id AKIAIOSFODNN7EXAMPLE --json
  rekwiz verify --provider azure-delegated --domain dm-LCAJVnUE94B \
    --key-url https://contoso-hsm.managedhsm.azure.net/keys/rek-dm-LCAJVnUE94B \
    --tenant-id 72f988bf-86f1-41af-91ab-2d7cd011db47
  rekwiz verify --provider gcp-delegated --domain dm-LCAJVnUE94B \
    --key-resource projects/my-project-123/locations/us-east1/keyRings/rekwiz/cryptoKeys/rek`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Presets = presets.values(cmd.Flags())
			return runVerify(cmd.Context(), o)
		},
	}
	presets = addPresetFlags(cmd.Flags(), flows.TargetFields()...)
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print one JSON document (schema in the README)")
	cmd.Flags().DurationVar(&o.Wait, "wait", checkrun.DefaultWait, "how long to keep retrying while a policy change or role assignment takes effect (0: no retries)")
	for _, f := range []string{"provider", "domain"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func runVerify(ctx context.Context, o *verifyOptions) error {
	if o.Wait < 0 {
		return &exitError{code: exitUsage, msg: "--wait: expected a duration of 0 or more, e.g. 90s or 2m"}
	}
	v, err := loadVendor(o.Global, o.IO.Err, false)
	if err != nil {
		return err
	}
	p, err := flows.ParseProvider(o.Presets[flows.FieldProvider])
	if err != nil {
		return usageError(&flows.FieldError{Field: flows.FieldProvider, Err: err})
	}
	if err := o.flagsFor(p); err != nil {
		return err
	}
	if err := o.credentials(ctx, p); err != nil {
		return err
	}
	flow, err := flows.New(v, o.Presets)
	if err != nil {
		return usageError(err)
	}
	t, err := flow.Target()
	if err != nil {
		return usageError(err)
	}
	k, _ := realKits(ctx, o.Deps.orReal(), asVerify, o.Wait)
	pairing, err := k.pairer(p)
	if err != nil {
		return err
	}
	if err := signedIn(ctx, pairing, t); err != nil {
		return err // exit 4 (signin.go)
	}
	checks := pairing.Run(ctx, t, progress(o.IO.Err))
	if err := ctx.Err(); err != nil {
		return err
	}
	if o.JSON {
		err = writeJSON(o.IO.Out, t, checks)
	} else {
		writeReport(o.IO, t, checks)
	}
	if err != nil {
		return err
	}
	if !flows.Passed(checks) {
		return &exitError{code: exitCheckFailed}
	}
	return nil
}

// fieldEnv names the environment variable a paste field may come from
// instead of a flag (a secret comes from there or a prompt, never a flag).
var fieldEnv = map[flows.Field]string{
	flows.FieldAccessKeyID:     "AWS_ACCESS_KEY_ID",
	flows.FieldSecretAccessKey: "AWS_SECRET_ACCESS_KEY",
}

// flagsFor checks the key flags before anything is asked or read: the
// provider's paste fields are required, unless an environment variable
// or a prompt may give them, and what it does not use is refused, as
// flows would refuse it (but before a secret is prompted for).
func (o *verifyOptions) flagsFor(p flows.Provider) error {
	for _, f := range flows.PasteFields(p) {
		if _, ok := o.Presets[f]; !ok && fieldEnv[f] == "" && flows.Spec(f).Kind != flows.SecretField {
			return &exitError{code: exitUsage, msg: fmt.Sprintf("--%s: required for %s (%s)", f, p, flagUsage(f))}
		}
	}
	for _, f := range slices.Sorted(maps.Keys(o.Presets)) {
		if !flows.UsedBy(f, p) {
			return &exitError{code: exitUsage, msg: fmt.Sprintf("--%s: not used by %s", f, p)}
		}
	}
	return nil
}

// credentials fills in the paste fields that are not flags (a service
// account's access key): a value from its flag or its environment
// variable, a secret from its environment variable or a masked prompt,
// never from the command line.
func (o *verifyOptions) credentials(ctx context.Context, p flows.Provider) error {
	given := map[flows.Field]bool{}
	for f := range o.Presets {
		given[f] = true
	}
	var secretFromEnv []flows.Field
	for _, f := range flows.PasteFields(p) {
		env, spec := fieldEnv[f], flows.Spec(f)
		if _, ok := o.Presets[f]; ok || (env == "" && spec.Kind != flows.SecretField) {
			continue
		}
		if spec.Kind != flows.SecretField {
			v := o.IO.Getenv(env)
			if v == "" {
				return &exitError{code: exitUsage, msg: fmt.Sprintf("--%s: required for %s (or set %s)", f, p, env)}
			}
			o.Presets[f] = v
			continue
		}
		name := strings.ToLower(spec.Label)
		secret := o.IO.Getenv(env)
		if secret != "" {
			secretFromEnv = append(secretFromEnv, f)
		}
		if secret == "" && o.IO.ReadSecret != nil {
			b, err := o.IO.ReadSecret(ctx, spec.Label+" (hidden): ")
			if err != nil {
				return secretPromptError(name, err)
			}
			secret = string(b)
			clear(b)
		}
		if secret == "" {
			return &exitError{code: exitUsage, msg: name + ": set " + env + " (it is never taken as a flag, which would land in your shell history)"}
		}
		o.Presets[f] = secret
	}
	return otherAccessKey(o, given, secretFromEnv) // signin.go
}

// progress says on stderr when the check starts waiting for a policy
// change or role assignment, once per pause, so a long wait is never
// silent.
func progress(w io.Writer) func(flows.Check) {
	var mu sync.Mutex
	last := map[string]time.Duration{}
	return func(c flows.Check) {
		if c.Wait == nil {
			return
		}
		c = safeCheck(c)
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := last[c.ID]; !ok || c.Wait.In > prev {
			fmt.Fprintf(w, "rekwiz: %s: access denied; %s. Retrying in %ds (%ds left)...\n",
				c.ID, c.Wait.Why, int(c.Wait.In/time.Second), int(c.Wait.Left/time.Second))
		}
		last[c.ID] = c.Wait.In
	}
}
