// Package jsonstrict decodes the JSON rekwiz reads from files and
// servers (vendor profiles, the registry, session files, domain API
// answers) with exact-case field names and no duplicate keys.
//
// encoding/json matches field names without regard to case and lets the
// last of two equal keys win, so {"awsAccountID": A, "AWSAccountID": B}
// silently means B while a reviewer reads A. Here a key that differs
// from a field's name only in letter case, and a key given twice in any
// letter case, are refused with an error naming the field.
package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Options change how Unmarshal decodes.
type Options struct {
	// DisallowUnknownFields refuses a key that names no field.
	DisallowUnknownFields bool
}

// Unmarshal decodes data, one JSON document, into v after checking its
// keys: exact case and no duplicates, at every depth.
func Unmarshal(data []byte, v any, opts ...Options) error {
	var o Options
	for _, x := range opts {
		o.DisallowUnknownFields = o.DisallowUnknownFields || x.DisallowUnknownFields
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := check(dec, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more than one JSON document")
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	if o.DisallowUnknownFields {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// check reads one value from dec, whose Go type is t (nil when unknown
// or opaque), and refuses wrong-case and duplicate keys in it.
func check(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	for t != nil && t.Kind() == reflect.Pointer {
		if t.Implements(unmarshaler) {
			t = nil
			break
		}
		t = t.Elem()
	}
	if t != nil && (t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler)) {
		t = nil
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := check(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				fields = map[string]reflect.Type{}
				structFields(t, fields)
			case reflect.Map:
				elem = t.Elem()
			}
		}
		seen := map[string]string{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			name := join(path, key)
			if prev, dup := seen[fold(key)]; dup {
				if prev == key {
					return fmt.Errorf("field %s: given twice", name)
				}
				return fmt.Errorf("field %s: given twice, as %q and %q (names are case-sensitive; give it once)", name, prev, key)
			}
			seen[fold(key)] = key
			child := elem
			if fields != nil {
				ft, exact := fields[key]
				if !exact {
					for fname := range fields {
						if fold(fname) == fold(key) {
							return fmt.Errorf("field %s: unknown; the field is spelled %q (names are case-sensitive)", name, fname)
						}
					}
				}
				child = ft
			}
			if err := check(dec, child, name); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

func join(path, key string) string {
	if path == "" {
		return fmt.Sprintf("%q", key)
	}
	return fmt.Sprintf("%s.%q", path, key)
}

// structFields lists the JSON names of t's fields as encoding/json sees
// them, with embedded structs' fields promoted.
func structFields(t reflect.Type, out map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				structFields(ft, out)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, ok := out[name]; !ok {
			out[name] = f.Type
		}
	}
}

// fold is key with every letter in one case, folding as encoding/json
// matches names (so the Kelvin sign K matches k).
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError {
			b.WriteRune(r)
			continue
		}
		// The smallest rune of r's case-folding orbit stands for it.
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}
