package gcpkms

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rekwiz/rekwiz/flows"
)

// keyFlags are the flags that name the key to gcloud kms.
func keyFlags(k flows.KeyResource) string {
	return fmt.Sprintf("--keyring %s --location %s --project %s", k.KeyRing, k.Location, k.Project)
}

// keyFound reports whether the key was read, and says why not.
func (r *run) keyFound(err error) bool {
	k := r.t.KeyResource
	if err == nil {
		r.Set(CheckKey, flows.StatusPass, k.String(), "", 0)
		return true
	}
	pr := explain(err, "your credentials ("+r.customer.Name+")")
	switch {
	case pr.notFound:
		pr.detail = fmt.Sprintf("no key %s in the key ring %s (project %s, location %s)", k.Key, k.KeyRing, k.Project, k.Location)
		pr.remedy = fmt.Sprintf("check the key resource name (gcloud kms keys list --keyring %s --location %s --project %s lists the ring's keys), then paste the name the script printed", k.KeyRing, k.Location, k.Project)
		pr.fix = flows.StepPaste
	case pr.denied:
		pr.detail = fmt.Sprintf("your credentials (%s) may not read the key %s; Google answers the same way for a key that does not exist", r.customer.Name, k.Key)
		pr.remedy = "check the project, location and key ring in the key resource name; if they are right, sign in as someone who may read the key (roles/cloudkms.viewer on it): gcloud auth application-default login"
		pr.fix = flows.StepPaste
	}
	r.Set(CheckKey, flows.StatusFail, pr.detail, pr.remedy, pr.fix)
	return false
}

func (r *run) purpose(key *cryptoKey) bool {
	if key.Purpose != "ENCRYPT_DECRYPT" {
		r.Set(CheckPurpose, flows.StatusFail, "wrong purpose: the key's purpose is "+orNone(key.Purpose)+"; the vendor encrypts and decrypts with a symmetric ENCRYPT_DECRYPT key",
			"choose a key made for encryption (gcloud kms keys create --purpose encryption), or let the script create one", flows.StepKey)
		return false
	}
	r.Set(CheckPurpose, flows.StatusPass, "ENCRYPT_DECRYPT", "", 0)
	return true
}

// keyState checks the primary version, the one Encrypt uses.
func (r *run) keyState(key *cryptoKey) bool {
	k := r.t.KeyResource
	v := key.Primary
	newPrimary := fmt.Sprintf("gcloud kms keys versions create --key %s %s --primary", k.Key, keyFlags(k))
	if v == nil {
		if key.Purpose != "ENCRYPT_DECRYPT" {
			r.Set(CheckKeyState, flows.StatusSkipped, "only an ENCRYPT_DECRYPT key has a primary version", "", 0)
			return false
		}
		r.Set(CheckKeyState, flows.StatusFail, "the key has no primary version", newPrimary, 0)
		return false
	}
	n := v.Name[strings.LastIndex(v.Name, "/")+1:]
	version := func(verb string) string {
		return fmt.Sprintf("gcloud kms keys versions %s %s --key %s %s", verb, n, k.Key, keyFlags(k))
	}
	switch v.State {
	case "ENABLED":
		r.Set(CheckKeyState, flows.StatusPass, "version "+n+" is enabled", "", 0)
		return true
	case "DISABLED":
		r.Set(CheckKeyState, flows.StatusFail, "the primary version "+n+" is disabled", "enable it: "+version("enable"), 0)
	case "DESTROY_SCHEDULED":
		when := ""
		if t, err := time.Parse(time.RFC3339Nano, v.DestroyTime); err == nil {
			when = " on " + t.UTC().Format("2006-01-02")
		}
		r.Set(CheckKeyState, flows.StatusFail, "the primary version "+n+" is scheduled to be destroyed"+when,
			"if that was not meant, restore it, then enable it (a restored version comes back disabled): "+version("restore")+" && "+version("enable"), 0)
	case "DESTROYED":
		r.Set(CheckKeyState, flows.StatusFail, "the primary version "+n+" was destroyed: its key material is gone",
			"make a new primary version: "+newPrimary+" (what version "+n+" encrypted cannot be decrypted again)", 0)
	case "PENDING_GENERATION":
		r.Set(CheckKeyState, flows.StatusFail, "the primary version "+n+" is still being generated",
			"wait a minute and run the check again: a new version is usable once it is ENABLED", 0)
	default:
		r.Set(CheckKeyState, flows.StatusFail, "the primary version "+n+" is "+orNone(v.State)+", not ENABLED",
			"make a new primary version: "+newPrimary, 0)
	}
	return false
}

// label checks the domain's label, and names another domain's.
func (r *run) label(key *cryptoKey) {
	k := r.t.KeyResource
	ours := flows.GCPDomainLabel(r.t.Domain)
	var others []string
	for l, v := range key.Labels {
		if l != ours && v == flows.GCPLabelValue {
			if _, err := flows.ParseDomainID(l); err == nil {
				others = append(others, l)
			}
		}
	}
	sort.Strings(others)
	want := ours + "=" + flows.GCPLabelValue
	fix := fmt.Sprintf("run the setup script again: it adds the label %s and keeps the key's other labels (gcloud kms keys update %s %s --update-labels %s)", want, k.Key, keyFlags(k), want)
	v, ok := key.Labels[ours]
	switch {
	case !ok && len(others) > 0:
		r.Set(CheckLabel, flows.StatusFail, "the key is labelled for "+strings.Join(others, ", ")+", not for "+r.t.Domain+" ("+ours+")", fix, flows.StepScript)
	case !ok:
		r.Set(CheckLabel, flows.StatusFail, "the key has no label "+want, fix, flows.StepScript)
	case v != flows.GCPLabelValue:
		r.Set(CheckLabel, flows.StatusFail, "the key's label "+ours+" is "+orNone(v)+", not "+flows.GCPLabelValue, fix, flows.StepScript)
	case len(others) > 0:
		r.Set(CheckLabel, flows.StatusWarn, want+", and also labelled for "+strings.Join(others, ", "),
			fmt.Sprintf("if those domains should not use this key, remove their labels: gcloud kms keys update %s %s --remove-labels %s", k.Key, keyFlags(k), strings.Join(others, ",")), 0)
	default:
		r.Set(CheckLabel, flows.StatusPass, want, "", 0)
	}
}

// keyInfo says how the key is protected and rotated.
func (r *run) keyInfo(key *cryptoKey) {
	level := ""
	if key.Primary != nil {
		level = key.Primary.ProtectionLevel
	} else if key.VersionTemplate != nil {
		level = key.VersionTemplate.ProtectionLevel
	}
	parts := []string{"protection level " + orNone(level)}
	if d, err := time.ParseDuration(key.RotationPeriod); err == nil && d > 0 {
		rot := fmt.Sprintf("rotates every %d days", int(d.Hours()/24))
		if t, err := time.Parse(time.RFC3339Nano, key.NextRotationTime); err == nil {
			rot += ", next on " + t.UTC().Format("2006-01-02")
		}
		parts = append(parts, rot)
	} else {
		parts = append(parts, "no automatic rotation")
	}
	r.Set(CheckKeyInfo, flows.StatusPass, strings.Join(parts, "; "), "", 0)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
