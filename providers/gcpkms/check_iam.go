package gcpkms

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rekwiz/rekwiz/flows"
)

// The vendor's narrow roles: each lets it encrypt, decrypt or both with
// the key, and nothing else.
const (
	roleEncrypter = "roles/cloudkms.cryptoKeyEncrypter"
	roleDecrypter = "roles/cloudkms.cryptoKeyDecrypter"
)

// The permissions the round trip needs.
const (
	permEncrypt = "cloudkms.cryptoKeyVersions.useToEncrypt"
	permDecrypt = "cloudkms.cryptoKeyVersions.useToDecrypt"
)

// probed are the permissions the vendor asks whether it holds on the key
// (testIamPermissions, which needs none): the two it needs, and those
// that would let it read or change the key or its policy.
var probed = []string{
	permEncrypt, permDecrypt,
	"cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.update",
	"cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy",
	"cloudkms.cryptoKeyVersions.create", "cloudkms.cryptoKeyVersions.update", "cloudkms.cryptoKeyVersions.destroy",
}

// grant is a role a policy gives the vendor.
type grant struct {
	role, where string
	conditional bool
}

// vendorGrants lists the roles p gives member.
func vendorGrants(p *policy, member, where string) []grant {
	if p == nil {
		return nil
	}
	var out []grant
	for _, b := range p.bindings() {
		if slices.Contains(b.Members, member) {
			out = append(out, grant{b.Role, where, len(b.Condition) > 0 && string(b.Condition) != "null"})
		}
	}
	return out
}

// allows reports whether grants (unconditional ones) let the vendor
// encrypt and decrypt. Custom roles are not read: they count for nothing.
func allows(gs []grant) (enc, dec bool) {
	for _, g := range gs {
		if g.conditional {
			continue
		}
		switch g.role {
		case flows.GCPVendorRole, "roles/cloudkms.cryptoOperator", "roles/owner", "roles/editor":
			enc, dec = true, true
		case roleEncrypter:
			enc = true
		case roleDecrypter:
			dec = true
		}
	}
	return enc, dec
}

func (g grant) String() string {
	s := g.role + " on " + g.where
	if g.conditional {
		s += " (with a condition)"
	}
	return s
}

// bindCommand is the gcloud command that gives the vendor its role on
// the key.
func bindCommand(k flows.KeyResource, v flows.Vendor) string {
	return fmt.Sprintf("gcloud kms keys add-iam-policy-binding %s %s --member %s --role %s", k.Key, keyFlags(k), v.GCPMember(), flows.GCPVendorRole)
}

// binding judges the vendor's bindings on the key, its key ring and the
// project. It returns true when the key's policy was read and lacks the
// vendor's access: a denial is then no IAM change on its way.
func (r *run) binding(rd reads) (missing bool) {
	k, v := r.t.KeyResource, r.t.Vendor
	member := v.GCPMember()
	if rd.keyPolErr != nil {
		pr := explain(rd.keyPolErr, "your credentials")
		r.Set(CheckBinding, flows.StatusWarn, "your credentials may not read the key's IAM policy ("+pr.detail+"), so the vendor's binding was not checked",
			fmt.Sprintf("someone with roles/cloudkms.admin can check it: gcloud kms keys get-iam-policy %s %s", k.Key, keyFlags(k)), 0)
		return false
	}
	onKey := vendorGrants(rd.keyPol, member, "the key")
	above := vendorGrants(rd.ringPol, member, "the key ring "+k.KeyRing)
	above = append(above, vendorGrants(rd.projPol, member, "the project "+k.Project)...)
	var unread []string
	if rd.ringPolErr != nil {
		unread = append(unread, "the key ring's")
	}
	if rd.projRead && rd.projErr != nil {
		unread = append(unread, "the project's")
	}
	note := ""
	if len(unread) > 0 {
		note = " (" + strings.Join(unread, " and ") + " IAM policy was not readable)"
	}

	bind := bindCommand(k, v)
	if enc, dec := allows(onKey); !enc || !dec {
		if e, d := allows(above); e && d {
			var where []string
			for _, g := range above {
				where = append(where, g.String())
			}
			r.Set(CheckBinding, flows.StatusFail,
				"the vendor's binding is not on the key but above it ("+strings.Join(where, ", ")+"): it covers every key there, not this one only",
				"bind on the key ("+bind+"), then remove the wider binding", flows.StepScript)
			r.Final()
			return true
		}
		detail := fmt.Sprintf("the key's IAM policy does not give %s the role %s", member, flows.GCPVendorRole)
		if len(onKey) > 0 {
			var held []string
			for _, g := range onKey {
				held = append(held, g.String())
			}
			detail += " (it holds " + strings.Join(held, ", ") + ", which does not let it both encrypt and decrypt)"
		}
		r.Set(CheckBinding, flows.StatusFail, detail+note, bind, flows.StepScript)
		r.Final()
		return true
	}

	var wider []string
	for _, g := range append(slices.Clone(onKey), above...) {
		narrow := g.where == "the key" && (g.role == flows.GCPVendorRole || g.role == roleEncrypter || g.role == roleDecrypter)
		if !narrow {
			wider = append(wider, g.String())
		}
	}
	var extra []string
	if rd.heldErr == nil {
		for _, p := range rd.held {
			if p != permEncrypt && p != permDecrypt {
				extra = append(extra, p)
			}
		}
	}
	switch {
	case len(wider) > 0:
		r.Set(CheckBinding, flows.StatusWarn, "the vendor holds more than it needs: "+strings.Join(wider, ", ")+note,
			fmt.Sprintf("if the vendor did not ask for it, remove it and keep %s on the key only (gcloud kms keys remove-iam-policy-binding, or keyrings remove-iam-policy-binding, with --member %s --role ROLE)", flows.GCPVendorRole, member), 0)
	case len(extra) > 0:
		r.Set(CheckBinding, flows.StatusWarn, "the vendor's service account also holds "+strings.Join(extra, ", ")+" on the key, from a binding outside the policies read (the project, folder or organization)"+note,
			"if the vendor did not ask for it, find and remove that binding (gcloud projects get-iam-policy "+k.Project+")", 0)
	default:
		var held []string
		for _, g := range onKey {
			held = append(held, g.role)
		}
		r.Set(CheckBinding, flows.StatusPass, member+" holds "+strings.Join(held, ", ")+" on the key"+note, "", 0)
	}
	return false
}
