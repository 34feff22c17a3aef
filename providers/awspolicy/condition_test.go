package awspolicy

import "testing"

func TestWildcard(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true},
		{"*", "arn:aws:kms:us-east-1:111122223333:key/abc", true},
		{"arn:aws:kms:us-east-1:111122223333:key/*", "arn:aws:kms:us-east-1:111122223333:key/abc", true},
		{"arn:aws:kms:us-east-1:111122223333:key/*", "arn:aws:kms:eu-west-1:111122223333:key/abc", false},
		{"alias/dm-*/acme", "alias/dm-LCAJVnUE94B/acme", true},
		{"alias/dm-*/acme", "alias/dm-LCAJVnUE94B/acme/co", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a*b*c", "aXbYbZc", true},
		{"", "x", false},
	} {
		if got := Wildcard(tt.p, tt.s); got != tt.want {
			t.Errorf("Wildcard(%q, %q) = %v", tt.p, tt.s, got)
		}
	}
}

// A service account's policy, limited by ForAnyValue:StringEquals on
// kms:ResourceAliases (on the account's keys, as rekwiz writes it).
const userPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
 "Action":["kms:DescribeKey","kms:GenerateDataKeyWithoutPlaintext","kms:Decrypt","kms:ReEncryptFrom","kms:ReEncryptTo","kms:Encrypt"],
 "Resource":"arn:aws:kms:us-east-1:111122223333:key/*",
 "Condition":{"ForAnyValue:StringEquals":{"kms:ResourceAliases":"alias/dm-LCAJVnUE94B/acme/Example"}}}]}`

func TestDecideIdentity(t *testing.T) {
	t.Parallel()
	doc, err := Parse(userPolicy)
	if err != nil {
		t.Fatal(err)
	}
	key := "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	ours := Context{"kms:ResourceAliases": {"alias/other", "alias/dm-LCAJVnUE94B/acme/Example"}}
	for _, tt := range []struct {
		name     string
		action   string
		resource string
		ctx      Context
		want     Decision
	}{
		{"the alias's key", "kms:Decrypt", key, ours, Allow},
		{"condition keys in any case", "kms:Decrypt", key, Context{"KMS:resourcealiases": {"alias/dm-LCAJVnUE94B/acme/Example"}}, Allow},
		{"a key without the alias", "kms:Decrypt", key, Context{"kms:ResourceAliases": {"alias/other"}}, ImplicitDeny},
		{"a key without aliases", "kms:Decrypt", key, Context{}, ImplicitDeny},
		{"no context: not counted", "kms:Decrypt", key, nil, ImplicitDeny},
		{"an action not granted", "kms:ScheduleKeyDeletion", key, ours, ImplicitDeny},
		{"another region", "kms:Decrypt", "arn:aws:kms:eu-west-1:111122223333:key/x", ours, ImplicitDeny},
	} {
		if got := doc.DecideIdentity(tt.action, tt.resource, tt.ctx); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestConditionOperators(t *testing.T) {
	t.Parallel()
	ctx := Context{"kms:ResourceAliases": {"alias/a", "alias/b"}, "aws:username": {"Alice"}}
	for _, tt := range []struct {
		cond string
		want conditionResult
	}{
		{`{"StringEquals":{"aws:username":"Alice"}}`, condTrue},
		{`{"StringEquals":{"aws:username":"alice"}}`, condFalse},
		{`{"StringEqualsIgnoreCase":{"aws:username":"alice"}}`, condTrue},
		{`{"StringNotEquals":{"aws:username":"Bob"}}`, condTrue},
		{`{"StringLike":{"aws:username":"A*"}}`, condTrue},
		{`{"StringNotLike":{"aws:username":"A*"}}`, condFalse},
		{`{"ForAnyValue:StringEquals":{"kms:ResourceAliases":["alias/x","alias/b"]}}`, condTrue},
		{`{"ForAllValues:StringEquals":{"kms:ResourceAliases":["alias/a"]}}`, condFalse},
		{`{"ForAllValues:StringLike":{"kms:ResourceAliases":"alias/*"}}`, condTrue},
		{`{"ForAllValues:StringEquals":{"kms:Missing":"x"}}`, condTrue},
		{`{"StringEquals":{"kms:Missing":"x"}}`, condFalse},
		{`{"StringEqualsIfExists":{"kms:Missing":"x"}}`, condTrue},
		{`{"NumericLessThan":{"aws:username":"3"}}`, condUnknown},
		{`{"StringEquals":{"aws:username":"Alice"},"StringLike":{"kms:ResourceAliases":"alias/z*"}}`, condFalse},
	} {
		if got := evalCondition([]byte(tt.cond), ctx); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.cond, got, tt.want)
		}
	}
}

func TestDecideInWithConditions(t *testing.T) {
	t.Parallel()
	doc, err := Parse(`{"Statement":[
	 {"Effect":"Allow","Principal":{"AWS":"999988887777"},"Action":"kms:Decrypt","Resource":"*",
	  "Condition":{"StringEquals":{"kms:EncryptionContext:domain":"dm-LCAJVnUE94B"}}},
	 {"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
	  "Condition":{"StringEquals":{"kms:EncryptionContext:domain":"dm-evil0000000"}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	vendor := Caller{ARN: "arn:aws:iam::999988887777:user/x", Account: "999988887777"}
	for _, tt := range []struct {
		ctx  Context
		want Decision
	}{
		{Context{"kms:EncryptionContext:domain": {"dm-LCAJVnUE94B"}}, Allow},
		{Context{"kms:EncryptionContext:domain": {"dm-other000000"}}, ImplicitDeny},
		{Context{"kms:EncryptionContext:domain": {"dm-evil0000000"}}, ExplicitDeny},
		{nil, ExplicitDeny}, // unevaluated: the Deny counts, the Allow does not
	} {
		if got := doc.DecideIn(vendor, "kms:Decrypt", tt.ctx); got != tt.want {
			t.Errorf("%v: %v, want %v", tt.ctx, got, tt.want)
		}
	}
}

func TestScopedToAliasAndGrantsAccount(t *testing.T) {
	t.Parallel()
	scoped, _ := Parse(userPolicy)
	broad, _ := Parse(`{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`)
	alias := "alias/dm-LCAJVnUE94B/acme/Example"
	if !scoped.ScopedToAlias([]string{"kms:Decrypt"}, alias) {
		t.Error("the service account's policy is scoped to the alias")
	}
	if broad.ScopedToAlias([]string{"kms:Decrypt"}, alias) {
		t.Error("Resource * without a condition is not scoped")
	}
	keyPolicy, _ := Parse(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`)
	if !keyPolicy.GrantsAccount("111122223333", "kms:Decrypt") || keyPolicy.GrantsAccount("999988887777", "kms:Decrypt") {
		t.Error("GrantsAccount")
	}
}
