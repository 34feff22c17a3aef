package fakecloud

// The cryptographic operations the vendor and a service account use.

type cryptoInput struct {
	KeyId             string
	Plaintext         []byte
	CiphertextBlob    []byte
	EncryptionContext map[string]string
	NumberOfBytes     int
	KeySpec           string

	SourceKeyId                  string
	SourceEncryptionContext      map[string]string
	DestinationKeyId             string
	DestinationEncryptionContext map[string]string
}

func (c *kmsCall) generateDataKeyWithoutPlaintext(raw []byte) (any, *apiError) {
	var in cryptoInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	n := in.NumberOfBytes
	switch {
	case in.KeySpec == "AES_256" || (in.KeySpec == "" && n == 0):
		n = 32
	case in.KeySpec == "AES_128":
		n = 16
	case in.KeySpec != "":
		return nil, kmsErr("ValidationException", "KeySpec must be AES_256 or AES_128.")
	}
	if n < 1 || n > 1024 {
		return nil, kmsErr("ValidationException", "NumberOfBytes must be between 1 and 1024.")
	}
	k, err := c.keyFor(in.KeyId, "kms:GenerateDataKeyWithoutPlaintext", true)
	if err != nil {
		return nil, err
	}
	if err := k.usable(); err != nil {
		return nil, err
	}
	blob, serr := seal(k, randomBytes(n), in.EncryptionContext)
	if serr != nil {
		return nil, kmsErr("KMSInternalException", "%v", serr)
	}
	return map[string]any{"CiphertextBlob": blob, "KeyId": k.arn}, nil
}

func (c *kmsCall) encrypt(raw []byte) (any, *apiError) {
	var in cryptoInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if len(in.Plaintext) < 1 || len(in.Plaintext) > 4096 {
		return nil, kmsErr("ValidationException", "Plaintext must be 1 to 4096 bytes.")
	}
	k, err := c.keyFor(in.KeyId, "kms:Encrypt", true)
	if err != nil {
		return nil, err
	}
	if err := k.usable(); err != nil {
		return nil, err
	}
	blob, serr := seal(k, in.Plaintext, in.EncryptionContext)
	if serr != nil {
		return nil, kmsErr("KMSInternalException", "%v", serr)
	}
	return map[string]any{"CiphertextBlob": blob, "KeyId": k.arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

// openBlob finds the key a ciphertext names, checks the caller may use it
// for action (and that it is the key the caller expected, if named), and
// decrypts it under the encryption context.
func (c *kmsCall) openBlob(blob []byte, ctx map[string]string, expect, action string) (*kmsKey, []byte, *apiError) {
	keyARN, ok := blobKey(blob)
	if !ok {
		return nil, nil, kmsErr("InvalidCiphertextException", "")
	}
	k := c.s.kms.keys[keyARN]
	if k == nil || k.region != c.region {
		return nil, nil, kmsErr("InvalidCiphertextException", "")
	}
	if expect != "" {
		want, err := c.resolve(expect, true)
		if err != nil {
			return nil, nil, err
		}
		if want != k {
			return nil, nil, kmsErr("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
		}
	}
	if err := c.authorize(k, action); err != nil {
		return nil, nil, err
	}
	if err := k.usable(); err != nil {
		return nil, nil, err
	}
	pt, err := open(k, blob, ctx)
	if err != nil {
		return nil, nil, kmsErr("InvalidCiphertextException", "")
	}
	return k, pt, nil
}

func (c *kmsCall) decrypt(raw []byte) (any, *apiError) {
	var in cryptoInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, pt, err := c.openBlob(in.CiphertextBlob, in.EncryptionContext, in.KeyId, "kms:Decrypt")
	if err != nil {
		return nil, err
	}
	return map[string]any{"KeyId": k.arn, "Plaintext": pt, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

func (c *kmsCall) reEncrypt(raw []byte) (any, *apiError) {
	var in cryptoInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	src, pt, err := c.openBlob(in.CiphertextBlob, in.SourceEncryptionContext, in.SourceKeyId, "kms:ReEncryptFrom")
	if err != nil {
		return nil, err
	}
	dst, err := c.keyFor(in.DestinationKeyId, "kms:ReEncryptTo", true)
	if err != nil {
		return nil, err
	}
	if err := dst.usable(); err != nil {
		return nil, err
	}
	blob, serr := seal(dst, pt, in.DestinationEncryptionContext)
	if serr != nil {
		return nil, kmsErr("KMSInternalException", "%v", serr)
	}
	return map[string]any{
		"CiphertextBlob": blob, "KeyId": dst.arn, "SourceKeyId": src.arn,
		"SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT", "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	}, nil
}
