package fakecloud

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
)

// Cloud KMS ciphertexts in the sandbox are
//
//	'G' | version ID (4, big-endian) | key tag (8) | nonce (12) | AES-256-GCM sealed data
//
// where the key tag is a hash of the seed and the key's resource name and
// the GCM additional data is the key's name and the request's additional
// authenticated data: a ciphertext opens only under its own key and AAD,
// and Decrypt finds the version without being told, as Cloud KMS does.
// Each version has its own AES key, derived from the seed and its name.

const gcpBlobMagic = 'G'

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// maxGCPData is Cloud KMS's limit on plaintext and AAD: 64 KiB.
const maxGCPData = 64 * 1024

func (s *Sandbox) keyTag(keyName string) []byte {
	sum := sha256.Sum256(append(s.seed[:], "gcp key tag "+keyName...))
	return sum[:8]
}

func (s *Sandbox) versionGCM(k *gcpKey, v *gcpVersion) cipher.AEAD {
	block, err := aes.NewCipher(s.keyMaterial(fmt.Sprintf("gcp:%s/cryptoKeyVersions/%d", k.name, v.id)))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return g
}

func gcmAAD(k *gcpKey, aad []byte) []byte {
	return append([]byte(k.name+"\x00"), aad...)
}

// notEnabled is Cloud KMS's answer for a version that cannot be used:
// FAILED_PRECONDITION naming the version and its state (as gcloud prints
// it: "… is not enabled, current state is: DISABLED.").
func notEnabled(k *gcpKey, v *gcpVersion) *gcpError {
	name := fmt.Sprintf("%s/cryptoKeyVersions/%d", k.name, v.id)
	e := gcpErr("FAILED_PRECONDITION", "%s is not enabled, current state is: %s.", name, v.state)
	if v.state == "DISABLED" {
		e.details = []any{map[string]any{
			"@type":      "type.googleapis.com/google.rpc.PreconditionFailure",
			"violations": []map[string]string{{"type": "KEY_DISABLED", "subject": name}},
		}}
	}
	return e
}

// gcpBytes is a bytes field: base64 in either alphabet, padded or not, as
// Google's JSON parser takes it (gcloud's apitools sends URL-safe).
type gcpBytes []byte

func (b *gcpBytes) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	s = strings.TrimRight(s, "=")
	d, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		if d, err = base64.RawURLEncoding.DecodeString(s); err != nil {
			return fmt.Errorf("invalid base64 data")
		}
	}
	*b = d
	return nil
}

func checkCRC(field string, data []byte, c crc32c) *gcpError {
	if c.set && crc(data) != c.v {
		return gcpErr("INVALID_ARGUMENT", "The checksum in field %s_crc32c did not match the data in field %s.", field, field)
	}
	return nil
}

func (s *Sandbox) gcpEncrypt(_ *GCPIdentity, p gcpPath, _ *http.Request, body []byte) (any, *gcpError) {
	k, err := s.keyAt(p)
	if err != nil {
		return nil, err
	}
	var in struct {
		Plaintext                         gcpBytes `json:"plaintext"`
		AdditionalAuthenticatedData       gcpBytes `json:"additionalAuthenticatedData"`
		PlaintextCrc32c                   crc32c   `json:"plaintextCrc32c"`
		AdditionalAuthenticatedDataCrc32c crc32c   `json:"additionalAuthenticatedDataCrc32c"`
	}
	if err := decodeGCP(body, &in); err != nil {
		return nil, err
	}
	if k.purpose != "ENCRYPT_DECRYPT" {
		return nil, gcpErr("FAILED_PRECONDITION", "%s has purpose %s; Encrypt needs a key of purpose ENCRYPT_DECRYPT.", k.name, k.purpose)
	}
	var v *gcpVersion
	if p.version != "" {
		if _, v, err = s.versionAt(p); err != nil {
			return nil, err
		}
	} else if v = k.version(k.primary); v == nil {
		return nil, gcpErr("FAILED_PRECONDITION", "%s has no primary version.", k.name)
	}
	switch {
	case len(in.Plaintext) == 0:
		return nil, gcpErr("INVALID_ARGUMENT", "The plaintext must not be empty.")
	case len(in.Plaintext) > maxGCPData:
		return nil, gcpErr("INVALID_ARGUMENT", "The plaintext is %d bytes; at most %d are allowed.", len(in.Plaintext), maxGCPData)
	case len(in.AdditionalAuthenticatedData) > maxGCPData:
		return nil, gcpErr("INVALID_ARGUMENT", "The additional authenticated data is %d bytes; at most %d are allowed.", len(in.AdditionalAuthenticatedData), maxGCPData)
	}
	if err := checkCRC("plaintext", in.Plaintext, in.PlaintextCrc32c); err != nil {
		return nil, err
	}
	if err := checkCRC("additional_authenticated_data", in.AdditionalAuthenticatedData, in.AdditionalAuthenticatedDataCrc32c); err != nil {
		return nil, err
	}
	if v.state != "ENABLED" {
		return nil, notEnabled(k, v)
	}
	g := s.versionGCM(k, v)
	out := []byte{gcpBlobMagic, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(v.id))
	out = append(out, s.keyTag(k.name)...)
	nonce := randomBytes(g.NonceSize())
	out = append(out, nonce...)
	out = g.Seal(out, nonce, in.Plaintext, gcmAAD(k, in.AdditionalAuthenticatedData))
	return map[string]any{
		"name":                    verJSON(k, v).Name,
		"ciphertext":              out,
		"ciphertextCrc32c":        strconv.FormatUint(uint64(crc(out)), 10),
		"verifiedPlaintextCrc32c": in.PlaintextCrc32c.set,
		"verifiedAdditionalAuthenticatedDataCrc32c": in.AdditionalAuthenticatedDataCrc32c.set,
		"protectionLevel": v.protection,
	}, nil
}

func (s *Sandbox) gcpDecrypt(_ *GCPIdentity, p gcpPath, _ *http.Request, body []byte) (any, *gcpError) {
	k, err := s.keyAt(p)
	if err != nil {
		return nil, err
	}
	var in struct {
		Ciphertext                        gcpBytes `json:"ciphertext"`
		AdditionalAuthenticatedData       gcpBytes `json:"additionalAuthenticatedData"`
		CiphertextCrc32c                  crc32c   `json:"ciphertextCrc32c"`
		AdditionalAuthenticatedDataCrc32c crc32c   `json:"additionalAuthenticatedDataCrc32c"`
	}
	if err := decodeGCP(body, &in); err != nil {
		return nil, err
	}
	if k.purpose != "ENCRYPT_DECRYPT" {
		return nil, gcpErr("FAILED_PRECONDITION", "%s has purpose %s; Decrypt needs a key of purpose ENCRYPT_DECRYPT.", k.name, k.purpose)
	}
	if len(in.Ciphertext) == 0 {
		return nil, gcpErr("INVALID_ARGUMENT", "The ciphertext must not be empty.")
	}
	if err := checkCRC("ciphertext", in.Ciphertext, in.CiphertextCrc32c); err != nil {
		return nil, err
	}
	if err := checkCRC("additional_authenticated_data", in.AdditionalAuthenticatedData, in.AdditionalAuthenticatedDataCrc32c); err != nil {
		return nil, err
	}
	const head = 1 + 4 + 8
	wrongKey := gcpErr("INVALID_ARGUMENT", "Decryption failed: verify that 'name' refers to the correct CryptoKey.")
	if len(in.Ciphertext) < head || in.Ciphertext[0] != gcpBlobMagic || string(in.Ciphertext[5:head]) != string(s.keyTag(k.name)) {
		return nil, wrongKey
	}
	v := k.version(int(binary.BigEndian.Uint32(in.Ciphertext[1:5])))
	if v == nil {
		return nil, wrongKey
	}
	if v.state != "ENABLED" {
		return nil, notEnabled(k, v)
	}
	g := s.versionGCM(k, v)
	rest := in.Ciphertext[head:]
	if len(rest) < g.NonceSize()+g.Overhead() {
		return nil, gcpErr("INVALID_ARGUMENT", "Decryption failed: the ciphertext is invalid.")
	}
	pt, oerr := g.Open(nil, rest[:g.NonceSize()], rest[g.NonceSize():], gcmAAD(k, in.AdditionalAuthenticatedData))
	if oerr != nil {
		return nil, gcpErr("INVALID_ARGUMENT", "Decryption failed: verify that 'ciphertext' and 'additional_authenticated_data' are correct.")
	}
	return map[string]any{
		"plaintext":       pt,
		"plaintextCrc32c": strconv.FormatUint(uint64(crc(pt)), 10),
		"usedPrimary":     v.id == k.primary,
		"protectionLevel": v.protection,
	}, nil
}
