package fakecloudtest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// TestMotoAccountsAreApart: two accounts on the one moto_server see
// nothing of each other, and the AWS CLI v2 and the SDK each land in
// their test's account.
func TestMotoAccountsAreApart(t *testing.T) {
	t.Parallel()
	cli := AWSCLI(t)
	a, b := NewMotoAccount(t), NewMotoAccount(t)
	if a.Account == b.Account || len(a.Account) != 12 {
		t.Fatalf("accounts %q and %q", a.Account, b.Account)
	}
	ctx := context.Background()
	ka := kms.NewFromConfig(a.AWSConfig())
	k, err := ka.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("a's key")})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:kms:" + Region + ":" + a.Account + ":key/" + *k.KeyMetadata.KeyId; *k.KeyMetadata.Arn != want {
		t.Fatalf("key ARN %s, want %s", *k.KeyMetadata.Arn, want)
	}
	list, err := kms.NewFromConfig(b.AWSConfig()).ListKeys(ctx, &kms.ListKeysInput{})
	if err != nil || len(list.Keys) != 0 {
		t.Fatalf("b sees %d keys (%v)", len(list.Keys), err)
	}

	var who struct{ Account string }
	if err := json.Unmarshal([]byte(MustRun(t, b.CLIEnv(), cli, "sts", "get-caller-identity")), &who); err != nil || who.Account != b.Account {
		t.Fatalf("the CLI is in %q (%v), want %s", who.Account, err, b.Account)
	}
	var keys struct {
		Keys []struct {
			KeyID string `json:"KeyId"`
		}
	}
	if err := json.Unmarshal([]byte(MustRun(t, a.CLIEnv(), cli, "kms", "list-keys")), &keys); err != nil || len(keys.Keys) != 1 || keys.Keys[0].KeyID != *k.KeyMetadata.KeyId {
		t.Fatalf("the CLI in a lists %+v (%v)", keys, err)
	}
}

// TestStartMotoIsAServerOfItsOwn: a pooled server comes back reset to
// the next test, and two tests at once never share one.
func TestStartMotoIsAServerOfItsOwn(t *testing.T) {
	ctx := context.Background()
	var first string
	t.Run("first", func(t *testing.T) {
		m := StartMoto(t)
		first = m.URL
		k, err := kms.NewFromConfig(m.AWSConfig()).CreateKey(ctx, &kms.CreateKeyInput{})
		if err != nil {
			t.Fatal(err)
		}
		if want := "arn:aws:kms:" + Region + ":" + MotoAccount + ":key/"; len(*k.KeyMetadata.Arn) <= len(want) || (*k.KeyMetadata.Arn)[:len(want)] != want {
			t.Fatalf("key ARN %s, not in %s", *k.KeyMetadata.Arn, MotoAccount)
		}
	})
	t.Run("next", func(t *testing.T) {
		m := StartMoto(t)
		if m.URL != first {
			t.Errorf("the idle server at %s was not reused (got %s)", first, m.URL)
		}
		list, err := kms.NewFromConfig(m.AWSConfig()).ListKeys(ctx, &kms.ListKeysInput{})
		if err != nil || len(list.Keys) != 0 {
			t.Fatalf("the next test sees %d keys (%v)", len(list.Keys), err)
		}
		if other := StartMoto(t); other.URL == m.URL {
			t.Fatal("two tests at once share a server")
		}
	})
}
