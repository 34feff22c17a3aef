package flows

import "slices"

// awsRegions are the AWS regions rekwiz offers (the commercial and
// GovCloud partitions, whose ARNs ParseAliasARN reads), as the AWS SDK's
// endpoint table lists them; TestAWSRegionsMatchTheSDK compares the two.
// ParseRegion accepts any well-formed name, so a region newer than this
// list still works: only completion misses it.
var awsRegions = []string{
	"af-south-1",
	"ap-east-1", "ap-east-2",
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
	"ca-central-1", "ca-west-1",
	"eu-central-1", "eu-central-2",
	"eu-north-1",
	"eu-south-1", "eu-south-2",
	"eu-west-1", "eu-west-2", "eu-west-3",
	"il-central-1",
	"me-central-1", "me-south-1",
	"mx-central-1",
	"sa-east-1",
	"us-east-1", "us-east-2",
	"us-gov-east-1", "us-gov-west-1",
	"us-west-1", "us-west-2",
}

// AWSRegions lists the AWS regions, sorted.
func AWSRegions() []string { return slices.Clone(awsRegions) }

// Choices lists the values field f takes when they are a fixed list
// (shell completion offers them), nil when it takes free text.
func Choices(f Field) []string {
	switch f {
	case FieldProvider:
		return providerNames()
	case FieldKey:
		var out []string
		for _, k := range KeyChoices() {
			out = append(out, string(k))
		}
		return out
	case FieldRegion:
		return AWSRegions()
	case FieldProtection:
		return []string{ProtectionHSM, ProtectionSoftware}
	}
	return nil
}
