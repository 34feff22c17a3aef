package awskms_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// cannedAWS answers, through the real SDK clients, the calls a service
// account's pairing check makes (KMS JSON 1.1, STS and IAM query XML),
// well formed and all passing, except that the field named by drop
// ("DescribeKey.KeyMetadata.Arn") is left out of its answer.
func cannedAWS(t *testing.T, drop string) aws.Config {
	t.Helper()
	const (
		account = "111122223333"
		keyARN  = "arn:aws:kms:us-east-1:" + account + ":key/1234abcd-12ab-34cd-56ef-1234567890ab"
		alias   = "alias/" + domain + "/acme/Example"
		saDoc   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:DescribeKey","kms:GenerateDataKeyWithoutPlaintext","kms:Decrypt","kms:ReEncryptFrom","kms:ReEncryptTo","kms:Encrypt"],"Resource":"*","Condition":{"ForAnyValue:StringEquals":{"kms:ResourceAliases":"` + alias + `"}}}]}`
		keyDoc  = `{"Version":"2012-10-17","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"kms:*","Resource":"*"}]}`
		s3Doc   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`
	)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	kmsAnswers := map[string]map[string]any{
		"DescribeKey": {"KeyMetadata": map[string]any{"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "Arn": keyARN, "AWSAccountId": account,
			"KeyState": "Enabled", "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS", "Enabled": true}},
		"GetKeyPolicy":                    {"Policy": keyDoc, "PolicyName": "default"},
		"GenerateDataKeyWithoutPlaintext": {"CiphertextBlob": b64("ciphertext-1"), "KeyId": keyARN},
		"Decrypt":                         {"Plaintext": b64(strings.Repeat("k", 32)), "KeyId": keyARN},
		"ReEncrypt":                       {"CiphertextBlob": b64("ciphertext-2"), "KeyId": keyARN, "SourceKeyId": keyARN},
		"GetKeyRotationStatus":            {"KeyRotationEnabled": true},
	}
	// el writes an XML element unless drop names it (OP.NAME).
	el := func(op, name, inner string) string {
		if drop == op+"."+name {
			return ""
		}
		return "<" + name + ">" + inner + "</" + name + ">"
	}
	queryAnswers := map[string]func() string{
		"GetCallerIdentity": func() string {
			return el("GetCallerIdentity", "Arn", "arn:aws:iam::"+account+":user/svc") + "<UserId>AIDAEXAMPLE</UserId>" + el("GetCallerIdentity", "Account", account)
		},
		"ListUserPolicies": func() string {
			return "<PolicyNames><member>svc</member></PolicyNames><IsTruncated>false</IsTruncated>"
		},
		"GetUserPolicy": func() string {
			return "<UserName>svc</UserName><PolicyName>svc</PolicyName>" + el("GetUserPolicy", "PolicyDocument", url.PathEscape(saDoc))
		},
		"ListAttachedUserPolicies": func() string {
			return "<AttachedPolicies><member><PolicyName>m</PolicyName>" + el("ListAttachedUserPolicies", "PolicyArn", "arn:aws:iam::"+account+":policy/m") +
				"</member></AttachedPolicies><IsTruncated>false</IsTruncated>"
		},
		"GetPolicy": func() string {
			return el("GetPolicy", "Policy", "<PolicyName>m</PolicyName><Arn>arn:aws:iam::"+account+":policy/m</Arn>"+el("GetPolicy", "DefaultVersionId", "v1"))
		},
		"GetPolicyVersion": func() string {
			return el("GetPolicyVersion", "PolicyVersion", el("GetPolicyVersion", "Document", url.PathEscape(s3Doc))+"<VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion>")
		},
		"ListGroupsForUser": func() string {
			return "<Groups><member><Path>/</Path>" + el("ListGroupsForUser", "GroupName", "ops") + "<GroupId>AGPAEXAMPLE</GroupId><Arn>arn:aws:iam::" + account + ":group/ops</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></member></Groups><IsTruncated>false</IsTruncated>"
		},
		"ListGroupPolicies":         func() string { return "<PolicyNames></PolicyNames><IsTruncated>false</IsTruncated>" },
		"ListAttachedGroupPolicies": func() string { return "<AttachedPolicies></AttachedPolicies><IsTruncated>false</IsTruncated>" },
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			// A call the check cancelled (its read group failed) may
			// arrive cut short.
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "TrentService."); ok {
			ans, ok := kmsAnswers[op]
			if !ok {
				t.Errorf("unexpected KMS call %s", op)
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			out := map[string]any{}
			for k, v := range ans {
				if m, ok := v.(map[string]any); ok {
					inner := map[string]any{}
					for ik, iv := range m {
						if drop != op+"."+k+"."+ik {
							inner[ik] = iv
						}
					}
					v = inner
				}
				if drop != op+"."+k {
					out[k] = v
				}
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			_ = json.NewEncoder(w).Encode(out)
			return
		}
		form, _ := url.ParseQuery(string(body))
		op := form.Get("Action")
		ans, ok := queryAnswers[op]
		if !ok && r.Context().Err() == nil && len(body) > 0 {
			t.Errorf("unexpected query call %s", op)
		}
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<%sResponse xmlns="https://example.com/doc/"><%sResult>%s</%sResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></%sResponse>`,
			op, op, ans(), op, op)
	}))
	t.Cleanup(srv.Close)
	return aws.Config{Region: fakecloudtest.Region, BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAEXAMPLEEXAMPLE00", "secretsecretsecretsecretsecretsecret0000", "")}
}

// TestAnswersMissingAFieldFailNamingIt: each field of each answer the
// AWS check reads, left out of an otherwise passing answer, is a failure
// or a clear error naming the field, never a panic or a pass.
func TestAnswersMissingAFieldFailNamingIt(t *testing.T) {
	t.Parallel()
	tg := func() flows.Target {
		a, _, err := flows.ParseAliasARN("arn:aws:kms:us-east-1:111122223333:alias/" + domain + "/acme/Example")
		if err != nil {
			t.Fatal(err)
		}
		return flows.Target{Provider: flows.AWSServiceAccount, Domain: domain, Vendor: fakecloudtest.Vendor, AliasARN: a,
			AccessKeyID: "AKIAEXAMPLEEXAMPLE00", SecretAccessKey: flows.Secret("secretsecretsecretsecretsecretsecret0000")}
	}
	cfg := cannedAWS(t, "")
	res := check(t, cfg, tg(), awskms.WithReader(cfg))
	for id, c := range res {
		if c.Status != flows.StatusPass {
			t.Fatalf("with every field, %s: %+v", id, c)
		}
	}
	for drop, want := range map[string]string{
		"DescribeKey.KeyMetadata":                        "DescribeKey without KeyMetadata",
		"DescribeKey.KeyMetadata.Arn":                    "DescribeKey without KeyMetadata.Arn",
		"DescribeKey.KeyMetadata.KeyId":                  "DescribeKey without KeyMetadata.KeyId",
		"DescribeKey.KeyMetadata.KeyState":               "DescribeKey without KeyMetadata.KeyState",
		"GetKeyPolicy.Policy":                            "GetKeyPolicy without Policy",
		"GenerateDataKeyWithoutPlaintext.CiphertextBlob": "GenerateDataKeyWithoutPlaintext without CiphertextBlob",
		"Decrypt.Plaintext":                              "Decrypt without Plaintext",
		"ReEncrypt.CiphertextBlob":                       "ReEncrypt without CiphertextBlob",
		"GetCallerIdentity.Arn":                          "GetCallerIdentity without Arn",
		"GetCallerIdentity.Account":                      "GetCallerIdentity without Account",
		"GetUserPolicy.PolicyDocument":                   "GetUserPolicy without PolicyDocument",
		"GetPolicy.Policy":                               "GetPolicy without Policy",
		"GetPolicy.DefaultVersionId":                     "GetPolicy without Policy.DefaultVersionId",
		"GetPolicyVersion.PolicyVersion":                 "GetPolicyVersion without PolicyVersion",
		"GetPolicyVersion.Document":                      "GetPolicyVersion without PolicyVersion.Document",
		"ListAttachedUserPolicies.PolicyArn":             "without PolicyArn",
		"ListGroupsForUser.GroupName":                    "ListGroupsForUser without Groups.GroupName",
	} {
		t.Run(drop, func(t *testing.T) {
			cfg := cannedAWS(t, drop)
			res := check(t, cfg, tg(), awskms.WithReader(cfg))
			var named bool
			for _, c := range res {
				if c.Status == flows.StatusFail && strings.Contains(c.Detail, want) {
					named = true
				}
			}
			if !named || flows.Passed(mapValues(res)) {
				t.Fatalf("no failure names %q: %+v", want, res)
			}
		})
	}
}
