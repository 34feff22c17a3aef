package jsonstrict_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/providers/jsonstrict"
)

type inner struct {
	AWSAccountID string `json:"awsAccountID"`
}

type doc struct {
	Name   string           `json:"name"`
	Inner  inner            `json:"inner"`
	List   []inner          `json:"list"`
	Map    map[string]inner `json:"map"`
	Plain  string
	Opaque json.RawMessage `json:"opaque"`
	inner
}

func TestDuplicateAndWrongCaseKeysAreRefused(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"awsAccountID":"111122223333","AWSAccountID":"444455556666"}`:        `"AWSAccountID": given twice, as "awsAccountID" and "AWSAccountID"`,
		`{"AWSAccountID":"444455556666"}`:                                      `field "AWSAccountID": unknown; the field is spelled "awsAccountID"`,
		`{"name":"a","name":"b"}`:                                              `field "name": given twice`,
		`{"inner":{"awsAccountID":"1","AwsAccountId":"2"}}`:                    `field "inner"."AwsAccountId": given twice`,
		`{"list":[{"awsAccountID":"1"},{"awsaccountid":"2"}]}`:                 `field "list"[1]."awsaccountid": unknown; the field is spelled "awsAccountID"`,
		`{"map":{"a":{"awsAccountID":"1"},"A":{}}}`:                            `field "map"."A": given twice`,
		`{"opaque":{"x":1,"X":2}}`:                                             `field "opaque"."X": given twice`,
		`{"plain":"x"}`:                                                        `field "plain": unknown; the field is spelled "Plain"`,
		"{\"name\":\"a\",\"NAME\":\"b\"}":                                      `given twice, as "name" and "NAME"`,
		"{\"inner\":{\"awsAccountID\":\"1\",\"awsAccountID\":\"2\"}, \"x\":1}": `field "inner"."awsAccountID": given twice`,
		"{\"\u212a\":1,\"k\":2}":                                               `given twice`,
	} {
		var d doc
		err := jsonstrict.Unmarshal([]byte(in), &d)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

func TestExactKeysDecode(t *testing.T) {
	t.Parallel()
	var d doc
	in := `{"name":"n","inner":{"awsAccountID":"1"},"list":[{"awsAccountID":"2"}],"map":{"a":{"awsAccountID":"3"},"b":{}},"Plain":"p","opaque":{"x":1},"awsAccountID":"4","unknown":{"a":1}}`
	if err := jsonstrict.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "n" || d.Inner.AWSAccountID != "1" || d.List[0].AWSAccountID != "2" || d.Map["a"].AWSAccountID != "3" || d.Plain != "p" || d.AWSAccountID != "4" {
		t.Fatalf("%+v", d)
	}
	if err := jsonstrict.Unmarshal([]byte(`{"unknown":1}`), &d, jsonstrict.Options{DisallowUnknownFields: true}); err == nil {
		t.Fatal("unknown field accepted")
	}
	if err := jsonstrict.Unmarshal([]byte(`{} {}`), &d); err == nil {
		t.Fatal("two documents accepted")
	}
	if err := jsonstrict.Unmarshal([]byte(`{"name":`), &d); err == nil {
		t.Fatal("truncated accepted")
	}
}
