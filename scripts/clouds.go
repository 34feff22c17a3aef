package scripts

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

// cloudData fills in, per cloud, what that cloud's templates need beyond
// the data every script shares. The spec is in d.Spec, checked already.
// It is one of the two places outside the provider table that name a
// cloud (flows' TestNoProviderBranchesOutsideTheTable allows it): the
// data sits beside the templates it feeds, and AWS's needs awspolicy.
var cloudData = map[flows.Cloud]func(d *data, opts Options) error{
	flows.CloudAWS:   awsData,
	flows.CloudAzure: azureData,
	flows.CloudGCP:   gcpData,
}

// awsData is the key policy statement, alias and, for a service account,
// the IAM user and its policy.
func awsData(d *data, _ Options) error {
	spec := d.Spec
	d.Partition = flows.PartitionOf(spec.Region)
	d.Principal = spec.Vendor.AWSPrincipal(d.Partition)
	d.Sid = awspolicy.VendorSid(spec.Vendor.Slug)
	d.AliasName = spec.AliasName()
	d.ActionList = strings.Join(awspolicy.VendorActions, ", ")
	d.Description = fmt.Sprintf("Root Encryption Key of %s, delegated to %s", spec.Domain, spec.Vendor.Name)
	stmt, err := json.Marshal(awspolicy.VendorStatement(d.Sid, d.Principal))
	if err != nil {
		return err
	}
	d.Statement = string(stmt)
	if spec.Provider.Access() != flows.AccessServiceAccount {
		return nil
	}
	d.UserName = spec.ServiceAccountUser()
	d.PolicyName = d.UserName
	pol, err := json.Marshal(awspolicy.ServiceAccountPolicy(d.AliasName, "*"))
	if err != nil {
		return err
	}
	d.UserPolicy = string(pol)
	d.UserActionList = strings.Join(awspolicy.ServiceAccountActions, ", ")
	d.Description = fmt.Sprintf("Root Encryption Key of %s, for %s's service account", spec.Domain, spec.Vendor.Name)
	return nil
}

// azureData is the role the vendor's application is given and its scope,
// and the rights the customer needs.
func azureData(d *data, opts Options) error {
	spec := d.Spec
	d.Role = spec.Vendor.AzureRoleName()
	d.CryptoUser = d.Role == flows.AzureRoleCryptoUser
	d.Scope = "/keys/" + spec.KeyName
	if !opts.Teardown { // the data actions the rights check wants
		d.Needs = "keys/read/action keys/write/action roleAssignments/write/action"
		if spec.Key == flows.KeyNew {
			d.Needs += " keys/create"
		}
	}
	return nil
}

// gcpRotationDays is how often a new Cloud KMS key is rotated: yearly, as
// AWS KMS rotates a key with automatic rotation on.
const gcpRotationDays = 365

// gcpData is the vendor's IAM member and role on the key, the label that
// marks the key for the domain, and the key's and key ring's names.
func gcpData(d *data, _ Options) error {
	spec := d.Spec
	d.Role = flows.GCPVendorRole
	d.Member = spec.Vendor.GCPMember()
	d.Label = flows.GCPDomainLabel(spec.Domain)
	d.LabelValue = flows.GCPLabelValue
	k := spec.KeyResource()
	d.KeyResource = k.String()
	d.KeyRingName = k.KeyRingName()
	d.RotationDays = gcpRotationDays
	return nil
}
