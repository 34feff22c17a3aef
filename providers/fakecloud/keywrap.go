package fakecloud

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// AES key wrap (RFC 3394) and key wrap with padding (RFC 5649): the
// algorithms Managed HSM offers for oct-HSM keys (A128KW, A192KW, A256KW,
// CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD). Written here because no
// maintained Go library has them; checked against the RFCs' vectors.

var defaultIV = [8]byte{0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6}

var errUnwrap = errors.New("the wrapped key does not unwrap with this key")

func kwWrap(kek []byte, iv [8]byte, p []byte) ([]byte, error) {
	if len(p)%8 != 0 || len(p) < 16 {
		return nil, errors.New("key wrap needs a multiple of 8 bytes, at least 16")
	}
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	n := len(p) / 8
	r := make([]byte, len(p))
	copy(r, p)
	a := iv
	var buf [16]byte
	for j := 0; j < 6; j++ {
		for i := 0; i < n; i++ {
			copy(buf[:8], a[:])
			copy(buf[8:], r[i*8:i*8+8])
			b.Encrypt(buf[:], buf[:])
			t := uint64(n*j + i + 1)
			binary.BigEndian.PutUint64(a[:], binary.BigEndian.Uint64(buf[:8])^t)
			copy(r[i*8:], buf[8:])
		}
	}
	return append(a[:], r...), nil
}

func kwUnwrap(kek, c []byte) (iv [8]byte, p []byte, err error) {
	if len(c)%8 != 0 || len(c) < 24 {
		return iv, nil, errUnwrap
	}
	b, err := aes.NewCipher(kek)
	if err != nil {
		return iv, nil, err
	}
	n := len(c)/8 - 1
	var a [8]byte
	copy(a[:], c[:8])
	r := make([]byte, n*8)
	copy(r, c[8:])
	var buf [16]byte
	for j := 5; j >= 0; j-- {
		for i := n - 1; i >= 0; i-- {
			t := uint64(n*j + i + 1)
			binary.BigEndian.PutUint64(buf[:8], binary.BigEndian.Uint64(a[:])^t)
			copy(buf[8:], r[i*8:i*8+8])
			b.Decrypt(buf[:], buf[:])
			copy(a[:], buf[:8])
			copy(r[i*8:], buf[8:])
		}
	}
	return a, r, nil
}

// aesKeyWrap is RFC 3394.
func aesKeyWrap(kek, p []byte) ([]byte, error) { return kwWrap(kek, defaultIV, p) }

func aesKeyUnwrap(kek, c []byte) ([]byte, error) {
	iv, p, err := kwUnwrap(kek, c)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(iv[:], defaultIV[:]) != 1 {
		return nil, errUnwrap
	}
	return p, nil
}

// aesKeyWrapPad is RFC 5649.
func aesKeyWrapPad(kek, p []byte) ([]byte, error) {
	if len(p) == 0 {
		return nil, errors.New("nothing to wrap")
	}
	var aiv [8]byte
	copy(aiv[:4], []byte{0xA6, 0x59, 0x59, 0xA6})
	binary.BigEndian.PutUint32(aiv[4:], uint32(len(p)))
	padded := make([]byte, (len(p)+7)/8*8)
	copy(padded, p)
	if len(padded) == 8 {
		b, err := aes.NewCipher(kek)
		if err != nil {
			return nil, err
		}
		out := append(aiv[:], padded...)
		b.Encrypt(out, out)
		return out, nil
	}
	return kwWrap(kek, aiv, padded)
}

func aesKeyUnwrapPad(kek, c []byte) ([]byte, error) {
	var aiv [8]byte
	var p []byte
	if len(c) == 16 {
		b, err := aes.NewCipher(kek)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 16)
		b.Decrypt(out, c)
		copy(aiv[:], out[:8])
		p = out[8:]
	} else {
		var err error
		if aiv, p, err = kwUnwrap(kek, c); err != nil {
			return nil, err
		}
	}
	if aiv[0] != 0xA6 || aiv[1] != 0x59 || aiv[2] != 0x59 || aiv[3] != 0xA6 {
		return nil, errUnwrap
	}
	mli := int(binary.BigEndian.Uint32(aiv[4:]))
	if mli > len(p) || mli <= len(p)-8 {
		return nil, errUnwrap
	}
	for _, z := range p[mli:] {
		if z != 0 {
			return nil, errUnwrap
		}
	}
	return p[:mli], nil
}
