package flows

import (
	"errors"
	"fmt"
	"strings"
)

// ARN is an AWS KMS resource name: arn:PARTITION:kms:REGION:ACCOUNT:RESOURCE.
type ARN struct {
	Partition string
	Region    string
	Account   string
	Resource  string // "alias/NAME" or "key/ID"
}

func (a ARN) String() string {
	return "arn:" + a.Partition + ":kms:" + a.Region + ":" + a.Account + ":" + a.Resource
}

// AliasName is the alias's name ("alias/..."), or "" when the ARN names a key.
func (a ARN) AliasName() string {
	if strings.HasPrefix(a.Resource, "alias/") {
		return a.Resource
	}
	return ""
}

// KeyID is the key's ID, or "" when the ARN names an alias.
func (a ARN) KeyID() string {
	id, ok := strings.CutPrefix(a.Resource, "key/")
	if !ok {
		return ""
	}
	return id
}

var (
	accountRE   = lazyRE(`^[0-9]{12}$`)
	regionRE    = lazyRE(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$`)
	aliasNameRE = lazyRE(`^alias/[A-Za-z0-9/_-]+$`) // and at most 250 after alias/
	keyIDRE     = lazyRE(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)
	plainRE     = lazyRE(`^[A-Za-z0-9:/_.-]+$`) // and at most 300
)

// PartitionOf is the AWS partition a region belongs to.
func PartitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

const aliasARNExample = "arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/vendor"

// parseKMSARN splits and checks the parts every KMS ARN shares.
func parseKMSARN(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ARN{}, errors.New("not an ARN")
	}
	a := ARN{Partition: parts[1], Region: parts[3], Account: parts[4], Resource: parts[5]}
	switch a.Partition {
	case "aws", "aws-cn", "aws-us-gov":
	default:
		return ARN{}, fmt.Errorf("unknown partition %q (expected aws, aws-cn or aws-us-gov)", a.Partition)
	}
	if parts[2] != "kms" {
		return ARN{}, fmt.Errorf("this is an ARN for %q, not for KMS", parts[2])
	}
	if !regionRE().MatchString(a.Region) {
		return ARN{}, fmt.Errorf("%q is not an AWS region", a.Region)
	}
	if p := PartitionOf(a.Region); p != a.Partition {
		return ARN{}, fmt.Errorf("region %s is in partition %s, not %s", a.Region, p, a.Partition)
	}
	if !accountRE().MatchString(a.Account) {
		return ARN{}, fmt.Errorf("%q is not a 12-digit AWS account ID", a.Account)
	}
	return a, nil
}

// ParseAliasARN parses a KMS alias ARN. The vendor's own setup
// instructions print alias ARNs in a form AWS never produces
// (…:key/alias/NAME); such input is accepted, rewritten to the real form,
// and a note saying so is returned.
func ParseAliasARN(s string) (a ARN, note string, err error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return ARN{}, "", err
	}
	a, err = parseKMSARN(s)
	if err != nil {
		return ARN{}, "", fmt.Errorf("%w; expected an alias ARN like %s", err, aliasARNExample)
	}
	if rest, ok := strings.CutPrefix(a.Resource, "key/alias/"); ok {
		a.Resource = "alias/" + rest
		note = "rewrote …:key/alias/… to the alias ARN AWS uses (…:alias/…)"
	}
	switch {
	case strings.HasPrefix(a.Resource, "key/"):
		return ARN{}, "", fmt.Errorf("this is a key ARN; paste the alias ARN the script printed, like %s", aliasARNExample)
	case !boundedMatch(aliasNameRE, a.Resource, len("alias/")+250):
		return ARN{}, "", fmt.Errorf("%q is not an alias name (alias/ followed by letters, digits, /, _ or -)", a.Resource)
	case strings.HasPrefix(a.Resource, "alias/aws/"):
		return ARN{}, "", errors.New("alias/aws/… names are reserved for AWS managed keys")
	}
	return a, note, nil
}

// KeyRef is an existing key named by its ID (in the chosen region) or ARN.
type KeyRef struct {
	ID  string
	ARN *ARN // nil when only the ID was given
}

// String is the reference as the AWS CLI takes it in --key-id.
func (k KeyRef) String() string {
	if k.ARN != nil {
		return k.ARN.String()
	}
	return k.ID
}

// ParseKeyRef parses a key ID (UUID or multi-Region mrk-…) or key ARN.
func ParseKeyRef(s string) (KeyRef, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return KeyRef{}, err
	}
	const want = "expected a key ID (1234abcd-12ab-34cd-56ef-1234567890ab) or key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)"
	if keyIDRE().MatchString(s) {
		return KeyRef{ID: s}, nil
	}
	if strings.HasPrefix(s, "alias/") || strings.Contains(s, ":alias/") {
		return KeyRef{}, fmt.Errorf("aliases are not accepted here; find the key ID with: aws kms describe-key --key-id %s --query KeyMetadata.KeyId", shellSafeOr(s, "alias/NAME"))
	}
	if !strings.HasPrefix(s, "arn:") {
		return KeyRef{}, errors.New(want)
	}
	a, err := parseKMSARN(s)
	if err != nil {
		return KeyRef{}, fmt.Errorf("%w; %s", err, want)
	}
	id := a.KeyID()
	if !keyIDRE().MatchString(id) {
		return KeyRef{}, errors.New(want)
	}
	return KeyRef{ID: id, ARN: &a}, nil
}

// shellSafeOr returns s when it is plain enough to show inside a suggested
// command, and fallback otherwise, so a hint never echoes hostile input.
func shellSafeOr(s, fallback string) string {
	if boundedMatch(plainRE, s, 300) {
		return s
	}
	return fallback
}
