package awskms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/rekwiz/rekwiz/flows"
)

// roundTrip is how the round trip went: the call that failed, if any.
type roundTrip struct {
	call string
	err  error
}

// doRoundTrip does what the vendor does with the key: a data key made
// without plaintext, decrypted, and re-encrypted to the same key and
// decrypted again; both plaintexts must be equal. The first Decrypt and
// the ReEncrypt need only the data key, so they run at the same time.
// The encryption context binds the domain.
func doRoundTrip(ctx context.Context, k *kms.Client, t flows.Target) roundTrip {
	ctx, cancel := context.WithTimeout(ctx, 4*callTimeout)
	defer cancel()
	alias := aws.String(t.AliasARN.String())
	ec := map[string]string{"domain": t.Domain}
	g, err := k.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: alias, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	if err == nil && len(g.CiphertextBlob) == 0 {
		err = errMissing{"GenerateDataKeyWithoutPlaintext", "CiphertextBlob"}
	}
	if err != nil {
		return roundTrip{"GenerateDataKeyWithoutPlaintext", err}
	}
	var (
		wg     sync.WaitGroup
		d1, d2 *kms.DecryptOutput
		e1     roundTrip
	)
	wg.Go(func() {
		var err error
		if d1, err = k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: g.CiphertextBlob, KeyId: alias, EncryptionContext: ec}); err == nil && len(d1.Plaintext) == 0 {
			err = errMissing{"Decrypt", "Plaintext"}
		}
		if err != nil {
			e1 = roundTrip{"Decrypt", err}
		}
	})
	re, err := k.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: g.CiphertextBlob, SourceKeyId: alias, SourceEncryptionContext: ec, DestinationKeyId: alias, DestinationEncryptionContext: ec})
	if err == nil && len(re.CiphertextBlob) == 0 {
		err = errMissing{"ReEncrypt", "CiphertextBlob"}
	}
	var e2 roundTrip
	if err != nil {
		e2 = roundTrip{"ReEncrypt", err}
	} else if d2, err = k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, KeyId: alias, EncryptionContext: ec}); err == nil && len(d2.Plaintext) == 0 {
		e2 = roundTrip{"Decrypt (after ReEncrypt)", errMissing{"Decrypt", "Plaintext"}}
	} else if err != nil {
		e2 = roundTrip{"Decrypt (after ReEncrypt)", err}
	}
	wg.Wait()
	switch {
	case e1.err != nil:
		return e1
	case e2.err != nil:
		return e2
	case !bytes.Equal(d1.Plaintext, d2.Plaintext):
		return roundTrip{"Decrypt (after ReEncrypt)", errDataKeyChanged}
	}
	return roundTrip{}
}

var errDataKeyChanged = errors.New("the data key changed across re-encryption")

func (r *run) roundTripFailed(t flows.Target, rt roundTrip) {
	if errors.Is(rt.err, errDataKeyChanged) {
		r.Set(CheckRoundTrip, flows.StatusFail, rt.err.Error(), "report this to the vendor's support with this output", 0)
		return
	}
	pr := explain(rt.err, "the key")
	if pr.action != "" {
		r.Denied(CheckRoundTrip)
		r.Set(CheckRoundTrip, flows.StatusFail, fmt.Sprintf("%s refused: %s (%s)", rt.call, pr.detail, r.v.who(t)), r.v.scriptRemedy(t), flows.StepScript)
		return
	}
	r.Set(CheckRoundTrip, flows.StatusFail, rt.call+": "+pr.detail, pr.remedy, 0)
}
