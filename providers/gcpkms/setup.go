package gcpkms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/checkrun"
)

// Setup does through Cloud KMS's API what the Google Cloud setup script
// does with gcloud, as the customer (Config.Customer): find the key, or
// create it (and its key ring when missing); add the domain's label,
// keeping the key's other labels; and add the vendor's binding to the
// key's IAM policy, keeping every other binding.
type Setup struct {
	Config Config
	// Now is the clock a new key's first rotation is counted from (nil:
	// time.Now).
	Now func() time.Time
	// Sleep is the pause before a policy write that conflicted is tried
	// again (nil: checkrun.Sleep).
	Sleep func(context.Context, time.Duration) error
}

// NewSetup returns the set-up, as cfg's customer.
func NewSetup(cfg Config) *Setup { return &Setup{Config: cfg} }

// RotationPeriod is a new key's automatic rotation period.
const RotationPeriod = flows.GCPRotationDays * 24 * time.Hour

// policyTries is how many times a policy write that conflicted with
// another change (ABORTED) is made again from a fresh read.
const policyTries = 5

// SetupPlan is what Run would change, found with reads only.
type SetupPlan struct {
	Caller    string
	Key       flows.KeyResource
	KeyExists bool
	// RingExists: the key ring is there (a new key's ring is created
	// when it is not).
	RingExists bool
	// Protection is a new key's protection level (HSM or SOFTWARE).
	Protection string
	// AddBinding: the key's IAM policy lacks the vendor's binding.
	AddBinding bool
	Member     string
	// LabelsBefore and LabelsAfter are the key's labels.
	LabelsBefore, LabelsAfter map[string]string
	// Missing are the permissions the signed-in customer lacks for the
	// changes (Cloud KMS's testIamPermissions says): set-up stops before
	// any change while there are some.
	Missing []string
}

// ErrMissingRights is returned when the signed-in customer may not make
// the changes; the error names the permissions and the role that has them.
var ErrMissingRights = errors.New("your Google Cloud sign-in lacks permissions the set-up needs")

// needs are the permissions the set-up uses, on the key (or on its key
// ring, for a new key).
var needs = map[bool][]string{
	true:  {"cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.update", "cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy"},
	false: {"cloudkms.cryptoKeys.create", "cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.update", "cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy"},
}

// Plan is what Run would change, in the form the wizard shows before it
// asks.
func (s *Setup) Plan(ctx context.Context, spec flows.SetupSpec) (flows.SetupPlan, error) {
	p, _, err := s.plan(ctx, spec)
	if err != nil {
		return flows.SetupPlan{}, err
	}
	return p.Flow(), nil
}

// Flow is the plan as changes and things kept, for the wizard.
func (p SetupPlan) Flow() flows.SetupPlan {
	out := flows.SetupPlan{Home: "project", Account: p.Key.Project, Caller: p.Caller}
	if p.KeyExists {
		out.Kept = append(out.Kept, "the key "+p.Key.String())
	} else {
		if !p.RingExists {
			out.Changes = append(out.Changes, "create the key ring "+p.Key.KeyRingName())
		} else {
			out.Kept = append(out.Kept, "the key ring "+p.Key.KeyRingName())
		}
		out.Changes = append(out.Changes, fmt.Sprintf("create the key %s: ENCRYPT_DECRYPT, %s, rotated every %d days", p.Key.String(), p.Protection, flows.GCPRotationDays))
	}
	if p.AddBinding {
		out.Changes = append(out.Changes, fmt.Sprintf("add %s to the key's IAM policy with the role %s, keeping every other binding", p.Member, flows.GCPVendorRole))
	} else {
		out.Kept = append(out.Kept, fmt.Sprintf("the binding of %s to %s on the key", p.Member, flows.GCPVendorRole))
	}
	if labelList(p.LabelsBefore) != labelList(p.LabelsAfter) {
		out.Changes = append(out.Changes, "set the key's labels from "+labelList(p.LabelsBefore)+" to "+labelList(p.LabelsAfter))
	} else {
		out.Kept = append(out.Kept, "the key's labels: "+labelList(p.LabelsAfter))
	}
	if len(p.Missing) > 0 {
		out.Changes = append(out.Changes, "cannot go ahead: you lack "+strings.Join(p.Missing, ", ")+"; "+grantAdmin(p))
	}
	return out
}

// grantAdmin says how a project owner gives the customer what it lacks.
func grantAdmin(p SetupPlan) string {
	if p.RingExists {
		return fmt.Sprintf("a project owner can grant them: gcloud kms keyrings add-iam-policy-binding %s --location %s --project %s --member YOUR_MEMBER --role roles/cloudkms.admin", p.Key.KeyRing, p.Key.Location, p.Key.Project)
	}
	return fmt.Sprintf("a project owner can grant them: gcloud projects add-iam-policy-binding %s --member YOUR_MEMBER --role roles/cloudkms.admin", p.Key.Project)
}

func labelList(l map[string]string) string {
	if len(l) == 0 {
		return "(none)"
	}
	keys := slices.Sorted(maps.Keys(l))
	for i, k := range keys {
		keys[i] = k + "=" + l[k]
	}
	return strings.Join(keys, ", ")
}

// plan reads what the set-up would change, and returns the customer's
// client and the key when it exists.
func (s *Setup) plan(ctx context.Context, spec flows.SetupSpec) (SetupPlan, *client, error) {
	if !(Kit{}).Serves(spec.Provider) {
		return SetupPlan{}, nil, fmt.Errorf("%s is not a Google Cloud provider", spec.Provider)
	}
	if spec.Vendor.GCPServiceAccount == "" {
		return SetupPlan{}, nil, errors.New("vendor profile: gcpServiceAccount is empty; the vendor's service account is needed")
	}
	k := spec.KeyResource()
	p := SetupPlan{Key: k, Member: spec.Vendor.GCPMember(), Protection: strings.ToUpper(spec.ProtectionLevel)}
	if p.Protection == "" {
		p.Protection = "HSM"
	}
	if s.Config.Customer == nil {
		return p, nil, errors.New("no Google Cloud credentials: " + signIn)
	}
	id, err := signedIn(ctx, s.Config.Customer)
	if err != nil {
		return p, nil, errors.New(explain(err, "your credentials").detail)
	}
	p.Caller = id.Name
	c := s.Config.clientFor(id)
	key, err := c.getKey(ctx, k.String())
	switch {
	case err == nil:
		if key.Purpose != "ENCRYPT_DECRYPT" {
			return p, nil, fmt.Errorf("gcloud kms keys describe: the key %s is for %s, not ENCRYPT_DECRYPT (encryption); nothing was changed", k.String(), orNone(key.Purpose))
		}
		p.KeyExists, p.RingExists = true, true
		p.LabelsBefore = maps.Clone(key.Labels)
	case status(err) == "NOT_FOUND" && spec.Key == flows.KeyNew:
		switch err := c.getKeyRing(ctx, k.KeyRingName()); {
		case err == nil:
			p.RingExists = true
		case status(err) != "NOT_FOUND":
			return p, nil, fmt.Errorf("gcloud kms keyrings describe: %w", err)
		}
	case status(err) == "NOT_FOUND":
		return p, nil, fmt.Errorf("gcloud kms keys describe: no key %s in the key ring %s (project %s, location %s)", k.Key, k.KeyRing, k.Project, k.Location)
	default:
		return p, nil, fmt.Errorf("gcloud kms keys describe: %w", err)
	}
	p.LabelsAfter = maps.Clone(p.LabelsBefore)
	if p.LabelsAfter == nil {
		p.LabelsAfter = map[string]string{}
	}
	p.LabelsAfter[flows.GCPDomainLabel(spec.Domain)] = flows.GCPLabelValue
	p.AddBinding = true
	// What the customer may do, asked of Cloud KMS (testIamPermissions
	// needs no permission): on the key, or on the ring a new key goes
	// in. A ring still to be made is the project's: not asked here.
	if p.RingExists {
		on := k.String()
		if !p.KeyExists {
			on = k.KeyRingName()
		}
		held, err := c.testPermissions(ctx, on, needs[p.KeyExists])
		if err != nil {
			return p, nil, fmt.Errorf("gcloud kms keys describe: %w", err)
		}
		for _, n := range needs[p.KeyExists] {
			if !slices.Contains(held, n) {
				p.Missing = append(p.Missing, n)
			}
		}
	}
	if p.KeyExists && len(p.Missing) == 0 {
		pol, err := c.getPolicy(ctx, k.String())
		if err != nil {
			return p, nil, fmt.Errorf("gcloud kms keys get-iam-policy: %w", err)
		}
		p.AddBinding = !hasBinding(pol, p.Member)
	}
	return p, c, nil
}

// hasBinding reports whether the policy gives member the vendor's role
// without a condition.
func hasBinding(p *policy, member string) bool {
	return slices.ContainsFunc(vendorGrants(p, member, ""), func(g grant) bool {
		return g.role == flows.GCPVendorRole && !g.conditional
	})
}

// Run sets the key up, reporting each call. It is safe to run again.
func (s *Setup) Run(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	if report == nil {
		report = func(flows.SetupEvent) {}
	}
	fail := func(call string, err error) (flows.SetupResult, error) {
		report(flows.SetupEvent{Call: call, Err: err})
		return flows.SetupResult{}, fmt.Errorf("%s: %w", call, err)
	}
	plan, c, err := s.plan(ctx, spec)
	if err != nil {
		report(flows.SetupEvent{Call: "gcloud kms keys describe", Err: err})
		return flows.SetupResult{}, err
	}
	k := plan.Key
	if len(plan.Missing) > 0 {
		return fail("gcloud kms keys describe", fmt.Errorf("%w (%s); nothing was changed; %s", ErrMissingRights, strings.Join(plan.Missing, ", "), grantAdmin(plan)))
	}
	report(flows.SetupEvent{Call: "gcloud auth application-default print-access-token", Detail: "signed in as " + plan.Caller})
	label := flows.GCPDomainLabel(spec.Domain)

	if plan.KeyExists {
		report(flows.SetupEvent{Call: "gcloud kms keys describe", Detail: "key " + k.Key + " exists, for ENCRYPT_DECRYPT"})
	} else {
		if !plan.RingExists {
			err := c.createKeyRing(ctx, "projects/"+k.Project+"/locations/"+k.Location, k.KeyRing)
			switch {
			case err == nil:
				report(flows.SetupEvent{Call: "gcloud kms keyrings create", Detail: "created the key ring " + k.KeyRing + " in " + k.Location})
			case status(err) == "ALREADY_EXISTS":
				report(flows.SetupEvent{Call: "gcloud kms keyrings create", Detail: "the key ring " + k.KeyRing + " exists"})
			default:
				return fail("gcloud kms keyrings create", err)
			}
		} else {
			report(flows.SetupEvent{Call: "gcloud kms keyrings describe", Detail: "the key ring " + k.KeyRing + " exists"})
		}
		now := time.Now
		if s.Now != nil {
			now = s.Now
		}
		created, err := c.createKey(ctx, k.KeyRingName(), k.Key, &cryptoKey{
			Purpose:          "ENCRYPT_DECRYPT",
			VersionTemplate:  &versionTemplate{ProtectionLevel: plan.Protection, Algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION"},
			RotationPeriod:   fmt.Sprintf("%ds", int64(RotationPeriod/time.Second)),
			NextRotationTime: now().Add(RotationPeriod).UTC().Format(time.RFC3339),
			Labels:           map[string]string{label: flows.GCPLabelValue},
		})
		switch {
		case err == nil:
			if created.Purpose != "" && created.Purpose != "ENCRYPT_DECRYPT" {
				return fail("gcloud kms keys create", fmt.Errorf("the key made is for %s, not ENCRYPT_DECRYPT", created.Purpose))
			}
			report(flows.SetupEvent{Call: "gcloud kms keys create", Detail: fmt.Sprintf("created the %s key %s, rotated every %d days, labelled %s=%s", plan.Protection, k.Key, flows.GCPRotationDays, label, flows.GCPLabelValue)})
		case status(err) == "ALREADY_EXISTS":
			// An earlier run made it: it is set up as an existing key.
			key, err := c.getKey(ctx, k.String())
			if err != nil {
				return fail("gcloud kms keys describe", err)
			}
			if key.Purpose != "ENCRYPT_DECRYPT" {
				return fail("gcloud kms keys describe", fmt.Errorf("the key %s exists and is for %s, not ENCRYPT_DECRYPT", k.String(), orNone(key.Purpose)))
			}
			report(flows.SetupEvent{Call: "gcloud kms keys create", Detail: "the key " + k.Key + " exists (made by an earlier run), for ENCRYPT_DECRYPT"})
		default:
			return fail("gcloud kms keys create", err)
		}
	}

	if err := s.addLabel(ctx, c, k, label, report); err != nil {
		return fail("gcloud kms keys update", err)
	}
	if err := s.addBinding(ctx, c, k, plan.Member, report); err != nil {
		return fail("gcloud kms keys add-iam-policy-binding", err)
	}
	return flows.SetupResult{Paste: map[flows.Field]string{flows.FieldKeyResource: k.String()}}, nil
}

// addLabel adds the domain's label to the key's labels as they are now.
func (s *Setup) addLabel(ctx context.Context, c *client, k flows.KeyResource, label string, report func(flows.SetupEvent)) error {
	key, err := c.getKey(ctx, k.String())
	if err != nil {
		return err
	}
	if key.Labels[label] == flows.GCPLabelValue {
		report(flows.SetupEvent{Call: "gcloud kms keys describe", Detail: "the key has the label " + label + "=" + flows.GCPLabelValue})
		return nil
	}
	labels := maps.Clone(key.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[label] = flows.GCPLabelValue
	if _, err := c.patchLabels(ctx, k.String(), labels); err != nil {
		return err
	}
	detail := "labelled the key " + label + "=" + flows.GCPLabelValue
	if len(labels) > 1 {
		detail += "; its other labels kept"
	}
	report(flows.SetupEvent{Call: "gcloud kms keys update", Detail: detail})
	return nil
}

// addBinding adds member to the vendor's role on the key's IAM policy:
// read, merge, write with the etag read. A write that conflicts with
// another change (ABORTED) is made again from a fresh read.
func (s *Setup) addBinding(ctx context.Context, c *client, k flows.KeyResource, member string, report func(flows.SetupEvent)) error {
	sleep := checkrun.Sleep
	if s.Sleep != nil {
		sleep = s.Sleep
	}
	for try := 1; ; try++ {
		pol, err := c.getPolicy(ctx, k.String())
		if err != nil {
			return fmt.Errorf("reading the key's IAM policy: %w", err)
		}
		if hasBinding(pol, member) {
			report(flows.SetupEvent{Call: "gcloud kms keys get-iam-policy", Detail: member + " has " + flows.GCPVendorRole + " on the key"})
			return nil
		}
		next, err := withMember(pol, member)
		if err != nil {
			return err
		}
		_, err = c.setPolicy(ctx, k.String(), next)
		switch {
		case err == nil:
			detail := "gave " + member + " the role " + flows.GCPVendorRole + " on the key"
			if n := len(pol.Bindings); n > 0 {
				detail += fmt.Sprintf("; the policy's %d other %s kept", n, map[bool]string{true: "binding", false: "bindings"}[n == 1])
			}
			report(flows.SetupEvent{Call: "gcloud kms keys add-iam-policy-binding", Detail: detail})
			return nil
		case status(err) == "ABORTED" && try < policyTries:
			report(flows.SetupEvent{Call: "gcloud kms keys set-iam-policy", Detail: "the policy changed since it was read; reading it again"})
			if err := sleep(ctx, time.Duration(try)*500*time.Millisecond); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// withMember is p with member added to the vendor's role: to the role's
// binding without a condition, when there is one, else in a binding of
// its own. Every other binding is kept as it came, byte for byte.
func withMember(p *policy, member string) (*policy, error) {
	next := *p
	next.Bindings = slices.Clone(p.Bindings)
	if next.Version == 0 {
		next.Version = 1
	}
	for i, raw := range next.Bindings {
		var b binding
		if json.Unmarshal(raw, &b) != nil || b.Role != flows.GCPVendorRole || (len(b.Condition) > 0 && string(b.Condition) != "null") {
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, err
		}
		members, err := json.Marshal(append(b.Members, member))
		if err != nil {
			return nil, err
		}
		fields["members"] = members
		if next.Bindings[i], err = json.Marshal(fields); err != nil {
			return nil, err
		}
		return &next, nil
	}
	b, err := json.Marshal(binding{Role: flows.GCPVendorRole, Members: []string{member}})
	if err != nil {
		return nil, err
	}
	next.Bindings = append(next.Bindings, b)
	return &next, nil
}
