package fakecloud

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// The vectors of RFC 3394 (section 4) and RFC 5649 (section 6).
func TestKeyWrapVectors(t *testing.T) {
	t.Parallel()
	for _, v := range []struct{ kek, p, c string }{
		{"000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF", "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
		{"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF", "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},
		{"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F", "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
	} {
		c, err := aesKeyWrap(unhex(v.kek), unhex(v.p))
		if err != nil || !bytes.Equal(c, unhex(v.c)) {
			t.Errorf("wrap: %X, %v", c, err)
		}
		p, err := aesKeyUnwrap(unhex(v.kek), unhex(v.c))
		if err != nil || !bytes.Equal(p, unhex(v.p)) {
			t.Errorf("unwrap: %X, %v", p, err)
		}
	}
	kek := unhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
	for _, v := range []struct{ p, c string }{
		{"c37b7e6492584340bed12207808941155068f738", "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"},
		{"466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"},
	} {
		c, err := aesKeyWrapPad(kek, unhex(v.p))
		if err != nil || !bytes.Equal(c, unhex(v.c)) {
			t.Errorf("wrap pad: %x, %v", c, err)
		}
		p, err := aesKeyUnwrapPad(kek, unhex(v.c))
		if err != nil || !bytes.Equal(p, unhex(v.p)) {
			t.Errorf("unwrap pad: %x, %v", p, err)
		}
	}
	bad := unhex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE6")
	if _, err := aesKeyUnwrap(unhex("000102030405060708090A0B0C0D0E0F"), bad); err == nil {
		t.Error("a damaged wrapped key unwrapped")
	}
}
