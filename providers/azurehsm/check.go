// Package azurehsm is rekwiz's Azure Managed HSM provider, on azidentity
// and azkeys: the pairing check that proves the vendor's application can
// wrap and unwrap with the customer's oct-HSM key, and the setup the
// script does, made through the SDK ("set it up for me").
package azurehsm

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/checkrun"
)

// The checks' stable IDs, for tickets and --json.
const (
	CheckCredential = "azure.credential"
	CheckKey        = "azure.key"
	CheckKeyState   = "azure.key-state"
	CheckKeyType    = "azure.key-type"
	CheckTag        = "azure.tag"
	CheckRoundTrip  = "azure.round-trip"
	CheckRole       = "azure.role"
)

// Role is the role the vendor's application is given on the key unless
// its profile asks for flows.AzureRoleCryptoUser: read, wrap and unwrap,
// nothing else.
const Role = flows.AzureRoleEncryptionUser

// hsmScope is the token scope of Managed HSM's data plane in the public
// cloud (cloudOf has the others).
const hsmScope = "https://managedhsm.azure.net/.default"

// Config is how the checks reach Azure.
type Config struct {
	// Credential returns a credential for a tenant: the vendor's
	// application in the demo, the customer's own sign-in (az login,
	// Cloud Shell's managed identity) otherwise.
	Credential func(tenantID string) (azcore.TokenCredential, error)
	// Options are the SDK clients' options: a transport in sandbox mode,
	// the zero value against Azure.
	Options azcore.ClientOptions
	// AsCustomer says the credential is the customer's, not the vendor's
	// application's. The round trip then proves the key works, and the
	// vendor's access is read from the HSM's role assignments (and
	// Microsoft Graph, for its service principal).
	AsCustomer bool
}

// DefaultCredential is the customer's own credential for a tenant:
// azidentity's default chain, which picks up az login and Cloud Shell.
func DefaultCredential(opts azcore.ClientOptions) func(string) (azcore.TokenCredential, error) {
	return func(tenant string) (azcore.TokenCredential, error) {
		return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts, TenantID: tenant})
	}
}

// Pairing is the Azure pairing check.
type Pairing struct {
	cfg   Config
	wait  time.Duration
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// Option changes a Pairing.
type Option func(*Pairing)

// WithWait sets how long to keep retrying after an access denial.
func WithWait(d time.Duration) Option { return func(p *Pairing) { p.wait = max(d, 0) } }

// WithClock replaces the clock the retries count and wait on (tests).
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(p *Pairing) { p.now, p.sleep = now, sleep }
}

// NewPairing returns the check.
func NewPairing(cfg Config, opts ...Option) *Pairing {
	p := &Pairing{cfg: cfg, wait: checkrun.DefaultWait, now: time.Now, sleep: checkrun.Sleep}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Plan lists the checks in display order.
func (p *Pairing) Plan(flows.Target) []flows.Check {
	checks := []flows.Check{
		{ID: CheckCredential, Name: "Azure credential for the tenant"},
		{ID: CheckKey, Name: "Key exists in the Managed HSM"},
		{ID: CheckKeyState, Name: "Key is enabled and within its dates"},
		{ID: CheckKeyType, Name: "Key is oct-HSM, for wrapKey and unwrapKey"},
		{ID: CheckTag, Name: "Key is tagged for this domain"},
	}
	if p.cfg.AsCustomer {
		checks = append(checks, flows.Check{ID: CheckRole, Name: "Vendor's application may read, wrap and unwrap with the key, and no more"})
	}
	return append(checks, flows.Check{ID: CheckRoundTrip, Name: "Wrap and unwrap 32 random bytes"})
}

// Run makes the checks, retrying while a role assignment takes effect
// (the countdown is in the denied checks' detail), and returns the last
// attempt's results.
func (p *Pairing) Run(ctx context.Context, t flows.Target, report func(flows.Check)) []flows.Check {
	retry := checkrun.Retry{Wait: p.wait, Now: p.now, Sleep: p.sleep,
		Why: "a new role assignment can take minutes to apply", Until: "for the role assignment to take effect"}
	return retry.Run(ctx, report, func() *checkrun.Attempt { return p.once(ctx, t, report).Attempt })
}

func (p *Pairing) once(ctx context.Context, t flows.Target, report func(flows.Check)) *run {
	r := &run{Attempt: checkrun.NewAttempt(p.Plan(t), report), asCustomer: p.cfg.AsCustomer}
	u := t.KeyURL
	r.Set(CheckCredential, flows.StatusRunning, "", "", 0)
	cred, err := p.cfg.Credential(t.TenantID)
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = cred.GetToken(cctx, policy.TokenRequestOptions{Scopes: []string{cloudOf(u.Suffix).hsmScope}, TenantID: t.TenantID})
		cancel()
	}
	if err != nil {
		pr := r.explain(err, t)
		r.Set(CheckCredential, flows.StatusFail, pr.detail, pr.remedy, pr.fix)
		r.SkipRest("needs a credential")
		return r
	}
	r.Set(CheckCredential, flows.StatusPass, "signed in to tenant "+t.TenantID, "", 0)

	client, err := azkeys.NewClient("https://"+u.HSM+"."+u.Suffix, cred, &azkeys.ClientOptions{ClientOptions: p.cfg.Options})
	if err != nil {
		r.Set(CheckKey, flows.StatusFail, err.Error(), "", flows.StepPaste)
		r.SkipRest("needs the key")
		return r
	}
	var (
		wg  sync.WaitGroup
		key *azkeys.GetKeyResponse
		rt  error
	)
	// The key's properties and the round trip need nothing from each
	// other; the round trip counts only if the key is usable.
	wg.Go(func() {
		r.Set(CheckKey, flows.StatusRunning, "", "", 0)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		res, err := client.GetKey(cctx, u.Name, u.Version, nil)
		if err != nil {
			pr := r.explain(err, t)
			if pr.denied {
				r.Denied(CheckKey)
			}
			r.Set(CheckKey, flows.StatusFail, pr.detail, pr.remedy, pr.fix)
			return
		}
		if res.Key == nil || res.Key.KID == nil {
			r.Set(CheckKey, flows.StatusFail, "Managed HSM's reply to GetKey has no \"key.kid\"", "report this to the vendor's support with this output", 0)
			return
		}
		key = &res
		r.Set(CheckKey, flows.StatusPass, string(*res.Key.KID), "", 0)
	})
	wg.Go(func() {
		r.Set(CheckRoundTrip, flows.StatusRunning, "", "", 0)
		rt = roundTrip(ctx, client, u)
	})
	if p.cfg.AsCustomer {
		wg.Go(func() { r.vendorRole(ctx, rest{cred, p.cfg.Options, cloudOf(u.Suffix)}, t) })
	}
	wg.Wait()
	if key == nil {
		r.SkipRest("needs the key")
		return r
	}
	usable := r.keyState(key, p.now(), t) && r.keyType(key, t)
	r.tag(key, t)
	switch {
	case !usable:
		r.Set(CheckRoundTrip, flows.StatusSkipped, "the key cannot be used as it is", "", 0)
	case rt != nil:
		pr := r.explain(rt, t)
		if pr.denied {
			r.Denied(CheckRoundTrip)
		}
		r.Set(CheckRoundTrip, flows.StatusFail, pr.detail, pr.remedy, pr.fix)
	default:
		r.Set(CheckRoundTrip, flows.StatusPass, "WrapKey (A256KW) then UnwrapKey: the same 32 bytes", "", 0)
	}
	return r
}

var errChanged = errors.New("the unwrapped bytes differ from the wrapped ones")

// roundTrip wraps 32 random bytes with the key and unwraps them.
func roundTrip(ctx context.Context, c *azkeys.Client, u flows.KeyURL) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	alg := azkeys.EncryptionAlgorithmA256KW
	w, err := c.WrapKey(ctx, u.Name, u.Version, azkeys.KeyOperationParameters{Algorithm: &alg, Value: secret}, nil)
	if err != nil {
		return fmt.Errorf("WrapKey: %w", err)
	}
	if len(w.Result) == 0 {
		return errors.New("the reply to WrapKey has no \"value\"")
	}
	un, err := c.UnwrapKey(ctx, u.Name, u.Version, azkeys.KeyOperationParameters{Algorithm: &alg, Value: w.Result}, nil)
	if err != nil {
		return fmt.Errorf("UnwrapKey: %w", err)
	}
	if un.Result == nil {
		return errors.New("the reply to UnwrapKey has no \"value\"")
	}
	if !bytes.Equal(un.Result, secret) {
		return errChanged
	}
	return nil
}

func (r *run) keyState(k *azkeys.GetKeyResponse, now time.Time, t flows.Target) bool {
	a := k.Attributes
	u := t.KeyURL
	switch {
	case a == nil || a.Enabled == nil || !*a.Enabled:
		r.Set(CheckKeyState, flows.StatusFail, "the key is disabled",
			fmt.Sprintf("az keyvault key set-attributes --hsm-name %s --name %s --enabled true", u.HSM, u.Name), 0)
		return false
	case a.Expires != nil && now.After(*a.Expires):
		r.Set(CheckKeyState, flows.StatusFail, "the key expired on "+a.Expires.UTC().Format("2006-01-02"),
			fmt.Sprintf("az keyvault key set-attributes --hsm-name %s --name %s --expires YYYY-MM-DDT00:00:00Z (a date to come), or use another key", u.HSM, u.Name), flows.StepKey)
		return false
	case a.NotBefore != nil && now.Before(*a.NotBefore):
		r.Set(CheckKeyState, flows.StatusFail, "the key is not valid before "+a.NotBefore.UTC().Format(time.RFC3339),
			fmt.Sprintf("wait until then, or az keyvault key set-attributes --hsm-name %s --name %s --not-before with an earlier time", u.HSM, u.Name), 0)
		return false
	}
	detail := "enabled"
	if a.Expires != nil {
		detail += ", expires " + a.Expires.UTC().Format("2006-01-02")
	}
	r.Set(CheckKeyState, flows.StatusPass, detail, "", 0)
	return true
}

func (r *run) keyType(k *azkeys.GetKeyResponse, t flows.Target) bool {
	kty := ""
	if k.Key != nil && k.Key.Kty != nil {
		kty = string(*k.Key.Kty)
	}
	var ops []string
	if k.Key != nil {
		for _, o := range k.Key.KeyOps {
			if o != nil {
				ops = append(ops, string(*o))
			}
		}
	}
	if kty != string(azkeys.KeyTypeOctHSM) {
		r.Set(CheckKeyType, flows.StatusFail, "the key is "+kty+"; the vendor wraps with symmetric oct-HSM keys",
			"choose an oct-HSM key, or let the script create one", flows.StepKey)
		return false
	}
	var missing []string
	for _, want := range []string{"wrapKey", "unwrapKey"} {
		if !slices.Contains(ops, want) {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		r.Set(CheckKeyType, flows.StatusFail, "the key does not allow "+strings.Join(missing, " or "),
			fmt.Sprintf("az keyvault key set-attributes --hsm-name %s --name %s --ops %s wrapKey unwrapKey", t.KeyURL.HSM, t.KeyURL.Name, strings.Join(withoutWrap(ops), " ")), 0)
		return false
	}
	r.Set(CheckKeyType, flows.StatusPass, "oct-HSM, operations "+strings.Join(ops, ", "), "", 0)
	return true
}

func withoutWrap(ops []string) []string {
	var out []string
	for _, o := range ops {
		if o != "wrapKey" && o != "unwrapKey" {
			out = append(out, o)
		}
	}
	return out
}

// vendorRole finds the vendor's service principal and its role
// assignments that cover the key, and judges them by what their roles
// grant (the HSM's own role definitions): read, wrap and unwrap at the
// key pass; more rights, or a scope wider than the key, are a warning
// naming the assignment; a role without them (Crypto Officer and
// Administrator have no key data actions) fails. What the customer may
// not read is a warning: the role is then unchecked, not missing.
func (r *run) vendorRole(ctx context.Context, api rest, t flows.Target) {
	r.Set(CheckRole, flows.StatusRunning, "", "", 0)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	u, app := t.KeyURL, t.Vendor.AzureAppID
	want := t.Vendor.AzureRoleName()
	unread := func(what string, err error) {
		r.Set(CheckRole, flows.StatusWarn, fmt.Sprintf("your sign-in may not read %s (%s), so the vendor's role was not checked", what, firstLine(codeOf(err))),
			fmt.Sprintf("an HSM administrator can check it: az keyvault role assignment list --hsm-name %s --assignee %s", u.HSM, app), 0)
	}
	grant := fmt.Sprintf("az keyvault role assignment create --hsm-name %s --role %q --assignee %s --scope /keys/%s", u.HSM, want, app, u.Name)
	sp, err := api.servicePrincipal(ctx, app)
	switch {
	case err != nil:
		unread("service principals in Microsoft Graph", err)
		return
	case sp == "":
		r.Set(CheckRole, flows.StatusFail, "the vendor's application "+app+" has no service principal in tenant "+t.TenantID,
			"az ad sp create --id "+app+" (the setup script does it)", flows.StepScript)
		return
	}
	vault := "https://" + u.HSM + "." + u.Suffix
	// Listing at "/" returns every assignment in the HSM (az filters by
	// scope itself).
	all, err := api.roleAssignments(ctx, vault, "/")
	if err != nil {
		unread("the HSM's role assignments", err)
		return
	}
	defs := api.definitions(ctx, vault)
	target := "/keys/" + u.Name
	type held struct {
		name, scope string
		def         roleDefinition
	}
	var (
		at        []held
		elsewhere []string
	)
	for _, a := range all {
		if a.Properties.PrincipalID != sp {
			continue
		}
		d, ok := defs[a.role()]
		if !ok {
			d = roleDefinition{Name: "role " + a.role()}
		}
		scope := "/" + strings.Trim(a.Properties.Scope, "/")
		if !covers(scope, target) {
			elsewhere = append(elsewhere, d.Name+" at "+scope)
			continue
		}
		at = append(at, held{a.Name, scope, d})
	}
	sort.Strings(elsewhere)
	sort.Slice(at, func(i, j int) bool { return at[i].scope+at[i].def.Name < at[j].scope+at[j].def.Name })
	var missing []string
	for _, need := range vendorNeeds {
		if !slices.ContainsFunc(at, func(h held) bool { return h.def.allows(need) }) {
			missing = append(missing, strings.TrimSuffix(strings.TrimPrefix(need, "keys/"), "/action"))
		}
	}
	if len(missing) > 0 {
		detail := fmt.Sprintf("the vendor's application %s may not %s with key %s", app, strings.Join(missing, ", "), u.Name)
		var holds []string
		for _, h := range at {
			holds = append(holds, h.def.Name+" at "+h.scope)
		}
		if len(holds) > 0 {
			detail += " (it holds " + strings.Join(holds, ", ") + ", which grants no " + strings.Join(missing, ", ") + " of keys)"
		}
		if len(elsewhere) > 0 {
			detail += " (it has " + strings.Join(elsewhere, ", ") + ", which does not cover the key)"
		}
		r.Set(CheckRole, flows.StatusFail, detail, grant, flows.StepScript)
		return
	}
	var warns, ok []string
	for _, h := range at {
		desc := fmt.Sprintf("%s at %s (assignment %s)", h.def.Name, h.scope, h.name)
		var why []string
		if extra := h.def.keyExtras(); len(extra) > 0 {
			why = append(why, "it also grants "+strings.Join(extra, ", "))
		}
		if h.scope != target {
			why = append(why, "it covers "+map[bool]string{true: "every key and role in the HSM", false: "every key in the HSM"}[h.scope == "/"]+", not only "+target)
		}
		if len(why) > 0 {
			warns = append(warns, desc+": "+strings.Join(why, "; "))
		} else {
			ok = append(ok, desc)
		}
	}
	if len(warns) > 0 {
		r.Set(CheckRole, flows.StatusWarn, "the vendor holds more than it needs: "+strings.Join(warns, " | "),
			fmt.Sprintf("if the vendor did not ask for it, give it %s at %s only (%s) and remove the other assignment (az keyvault role assignment delete --hsm-name %s --ids ...)",
				flows.AzureRoleEncryptionUser, target, strings.Replace(grant, strconv.Quote(want), strconv.Quote(flows.AzureRoleEncryptionUser), 1), u.HSM), 0)
		return
	}
	r.Set(CheckRole, flows.StatusPass, strings.Join(ok, ", ")+" (service principal "+sp+")", "", 0)
}

// codeOf is an Azure error's code, or its message.
func codeOf(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return re.ErrorCode
	}
	return err.Error()
}

func (r *run) tag(k *azkeys.GetKeyResponse, t flows.Target) {
	var others []string
	for name, v := range k.Tags {
		if name != t.Domain && v != nil && *v == "allow" {
			if _, err := flows.ParseDomainID(name); err == nil {
				others = append(others, name)
			}
		}
	}
	sort.Strings(others)
	v := k.Tags[t.Domain]
	fix := "run the setup script again: it adds the tag " + t.Domain + "=allow and keeps the key's other tags"
	switch {
	case v == nil && len(others) > 0:
		r.Set(CheckTag, flows.StatusFail, "the key is tagged for "+strings.Join(others, ", ")+", not "+t.Domain, fix, flows.StepScript)
	case v == nil || *v != "allow":
		r.Set(CheckTag, flows.StatusFail, "the key has no tag "+t.Domain+"=allow", fix, flows.StepScript)
	case len(others) > 0:
		r.Set(CheckTag, flows.StatusWarn, t.Domain+"=allow, and also tagged for "+strings.Join(others, ", "),
			"if those domains should not use this key, remove their tags (az keyvault key set-attributes --tags with the tags to keep)", 0)
	default:
		r.Set(CheckTag, flows.StatusPass, t.Domain+"=allow", "", 0)
	}
}

// problem is an Azure error said for a person.
type problem struct {
	detail, remedy string
	fix            flows.Step
	denied         bool // 403: the role assignment is missing or not applied yet
}

// explain turns an SDK error into one sentence and a fix.
func (r *run) explain(err error, t flows.Target) problem {
	u := t.KeyURL
	msg := err.Error()
	roleCmd := fmt.Sprintf("az keyvault role assignment create --hsm-name %s --role %q --assignee %s --scope /keys/%s",
		u.HSM, t.Vendor.AzureRoleName(), t.Vendor.AzureAppID, u.Name)
	var (
		re  *azcore.ResponseError
		dns *net.DNSError
	)
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		// Azure has no "no such HSM" reply: the name does not resolve.
		return problem{detail: fmt.Sprintf("no Managed HSM named %s (%s does not resolve)", u.HSM, dns.Name),
			remedy: "check the HSM name in the key URL (az keyvault list --resource-type hsm --query [].name lists yours), then paste the key URL the script printed", fix: flows.StepPaste}
	case errors.Is(err, errChanged):
		return problem{detail: err.Error(), remedy: "report this to the vendor's support with this output"}
	case strings.Contains(msg, "isn't configured to acquire tokens for tenant"):
		other := between(msg, `tenant "`, `"`)
		return problem{detail: fmt.Sprintf("the Managed HSM %s is in tenant %s, not %s", u.HSM, other, t.TenantID),
			remedy: "paste the Tenant ID the script printed (az account show --query tenantId)", fix: flows.StepPaste}
	case strings.Contains(msg, "AADSTS90002"):
		return problem{detail: "tenant " + t.TenantID + " does not exist", remedy: "paste the Tenant ID the script printed (az account show --query tenantId)", fix: flows.StepPaste}
	case strings.Contains(msg, "AADSTS700016"):
		return problem{detail: "the vendor's application " + t.Vendor.AzureAppID + " has no service principal in tenant " + t.TenantID,
			remedy: "az ad sp create --id " + t.Vendor.AzureAppID + " (the setup script does it)", fix: flows.StepScript}
	case strings.Contains(msg, "AADSTS7000215"):
		return problem{detail: "the application's client secret was refused", remedy: "check the client secret, or sign in again"}
	case strings.Contains(msg, "CredentialUnavailable") || strings.Contains(msg, "az login") || strings.Contains(msg, "DefaultAzureCredential"):
		return problem{detail: "no Azure credential is available", remedy: "sign in with az login (Azure Cloud Shell is signed in already), then retry"}
	case errors.As(err, &re):
		switch {
		case re.StatusCode == 404:
			return problem{detail: fmt.Sprintf("no key %s in Managed HSM %s (tried %s)", u.Name, u.HSM, u.String()),
				remedy: "paste the key URL the script printed", fix: flows.StepPaste}
		case strings.Contains(msg, "KeyDisabled"):
			return problem{detail: "the key is disabled", remedy: fmt.Sprintf("az keyvault key set-attributes --hsm-name %s --name %s --enabled true", u.HSM, u.Name)}
		case strings.Contains(msg, "KeyOperationForbidden"):
			return problem{detail: "the key does not allow this operation", remedy: "see the key type check above"}
		case (re.StatusCode == 403 || re.StatusCode == 401) && r.asCustomer:
			return problem{detail: fmt.Sprintf("your sign-in may not use key %s (%s); the check runs as you, not as the vendor", u.Name, re.ErrorCode),
				remedy: fmt.Sprintf("run it signed in as someone who may read and wrap with the key, or give yourself the role: az keyvault role assignment create --hsm-name %s --role %q --assignee \"$(az ad signed-in-user show --query id -o tsv)\" --scope /keys/%s",
					u.HSM, Role, u.Name), denied: true}
		case re.StatusCode == 403 || re.StatusCode == 401:
			return problem{detail: fmt.Sprintf("the vendor's application %s may not use key %s (%s)", t.Vendor.AzureAppID, u.Name, re.ErrorCode),
				remedy: roleCmd, fix: flows.StepScript, denied: true}
		case re.StatusCode == 429:
			return problem{detail: "Managed HSM is throttling requests (429)", remedy: "wait a minute and retry"}
		}
		return problem{detail: fmt.Sprintf("%s (%d)", re.ErrorCode, re.StatusCode)}
	case errors.Is(err, context.DeadlineExceeded):
		return problem{detail: "Azure did not answer in time", remedy: "check the network and retry"}
	}
	return problem{detail: firstLine(msg)}
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return "another tenant"
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// run holds the checks of one attempt.
type run struct {
	*checkrun.Attempt
	// asCustomer: the checks run as the customer, not as the vendor.
	asCustomer bool
}
