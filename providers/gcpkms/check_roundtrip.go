package gcpkms

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/rekwiz/rekwiz/flows"
)

// roundTrip is what an Encrypt then Decrypt came to.
type roundTrip struct {
	version string // the key version Encrypt used
	err     error
}

var errChanged = errors.New("decrypt gave back other bytes than were encrypted")

// doRoundTrip encrypts 32 random bytes with the key, the domain ID as
// additional authenticated data, and decrypts them.
func doRoundTrip(ctx context.Context, c *client, key, domain string) roundTrip {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return roundTrip{err: err}
	}
	aad := []byte(domain)
	ct, version, err := c.encrypt(ctx, key, secret, aad)
	if err != nil {
		return roundTrip{err: fmt.Errorf("encrypt: %w", err)}
	}
	if len(ct) == 0 {
		return roundTrip{err: errors.New("the answer to Encrypt has no \"ciphertext\"")}
	}
	pt, err := c.decrypt(ctx, key, ct, aad)
	if err != nil {
		return roundTrip{version: version, err: fmt.Errorf("decrypt: %w", err)}
	}
	if !bytes.Equal(pt, secret) {
		return roundTrip{version: version, err: errChanged}
	}
	return roundTrip{version: version}
}

// roundTrip records the round trip, which counts only once the key is
// known to be usable. missing says the vendor's binding is not on the
// key: a denial then is no IAM change on its way, and waiting cannot help.
func (r *run) roundTrip(rt roundTrip, usable, missing bool, who string) {
	k := r.t.KeyResource
	switch {
	case !usable:
		r.Set(CheckRoundTrip, flows.StatusSkipped, "the key cannot be used as it is", "", 0)
	case rt.err != nil:
		pr := explain(rt.err, who)
		fix := pr.fix
		if pr.denied {
			pr.detail = who + " may not encrypt and decrypt with the key"
			var ae *APIError
			if errors.As(rt.err, &ae) && ae.Permission != "" {
				pr.detail += " (PERMISSION_DENIED for " + ae.Permission + ")"
			}
			pr.remedy = bindCommand(k, r.t.Vendor)
			fix = flows.StepScript
			if r.vendor == nil && !missing {
				// The customer's own rights: an admin of the key may not
				// use it. The vendor's binding was read from the policy;
				// the key's use is unproven, not wrong.
				r.Set(CheckRoundTrip, flows.StatusWarn, "not made: "+pr.detail+"; the vendor's access was read from the key's IAM policy",
					"to make it too, run the check signed in as someone who may use the key (roles/cloudkms.cryptoKeyEncrypterDecrypter on it)", 0)
				return
			}
			if missing {
				r.Final()
			} else {
				r.Denied(CheckRoundTrip)
			}
		}
		if errors.Is(rt.err, errChanged) {
			pr.remedy = "report this to the vendor's support with this output"
		}
		r.Set(CheckRoundTrip, flows.StatusFail, pr.detail, pr.remedy, fix)
	default:
		v := rt.version[strings.LastIndex(rt.version, "/")+1:]
		r.Set(CheckRoundTrip, flows.StatusPass, fmt.Sprintf("Encrypt (version %s) then Decrypt as %s, the domain ID as additional authenticated data: the same 32 bytes", orNone(v), who), "", 0)
	}
}
