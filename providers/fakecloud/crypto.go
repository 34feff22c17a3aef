package fakecloud

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
)

// blobVersion starts every sandbox ciphertext. The blob is
//
//	version(1) | len(key ARN)(2) | key ARN | nonce(12) | AES-256-GCM sealed data
//
// and the key ARN and encryption context are the GCM additional data, so a
// blob opens only under its own key and the context it was made with, and
// Decrypt can find the key without being told, as KMS does.
const blobVersion = 1

// keyMaterial derives a key's AES-256 material from the seed and its ARN:
// a sandbox started with the same seed can open its earlier ciphertexts.
func (s *Sandbox) keyMaterial(arn string) []byte {
	k, err := hkdf.Key(sha256.New, s.seed[:], nil, "rekwiz sandbox key "+arn, 32)
	if err != nil {
		panic(err) // only for lengths HKDF-SHA256 cannot give; 32 it can
	}
	return k
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}

func aad(arn string, ctx map[string]string) []byte {
	if ctx == nil {
		ctx = map[string]string{}
	}
	c, _ := json.Marshal(ctx) // map keys are sorted: one encoding per context
	return append([]byte(arn+"\x00"), c...)
}

func gcm(k *kmsKey) (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.material)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func seal(k *kmsKey, plaintext []byte, ctx map[string]string) ([]byte, error) {
	g, err := gcm(k)
	if err != nil {
		return nil, err
	}
	out := []byte{blobVersion, 0, 0}
	binary.BigEndian.PutUint16(out[1:], uint16(len(k.arn)))
	out = append(out, k.arn...)
	nonce := randomBytes(g.NonceSize())
	out = append(out, nonce...)
	return g.Seal(out, nonce, plaintext, aad(k.arn, ctx)), nil
}

// blobKey reads the key ARN a ciphertext was made under.
func blobKey(blob []byte) (string, bool) {
	if len(blob) < 3 || blob[0] != blobVersion {
		return "", false
	}
	n := int(binary.BigEndian.Uint16(blob[1:]))
	if len(blob) < 3+n {
		return "", false
	}
	return string(blob[3 : 3+n]), true
}

func open(k *kmsKey, blob []byte, ctx map[string]string) ([]byte, error) {
	g, err := gcm(k)
	if err != nil {
		return nil, err
	}
	rest := blob[3+len(k.arn):]
	if len(rest) < g.NonceSize()+g.Overhead() {
		return nil, errors.New("ciphertext too short")
	}
	return g.Open(nil, rest[:g.NonceSize()], rest[g.NonceSize():], aad(k.arn, ctx))
}
