package fakecloud

import (
	"sort"
	"strings"
)

// Aliases: made, moved, deleted and listed as KMS does.

// aliasNameRE is alias/ and 1-250 characters (the bound checked apart).
var aliasNameRE = lazyRE(`^alias/[a-zA-Z0-9/_-]+$`)

func (c *kmsCall) checkAliasName(name string) *apiError {
	if len(name) > len("alias/")+250 || !aliasNameRE().MatchString(name) {
		return kmsErr("ValidationException", "1 validation error detected: Value '%s' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$", name)
	}
	if strings.HasPrefix(name, "alias/aws/") {
		return kmsErr("NotAuthorizedException", "Alias names that begin with alias/aws/ are reserved.")
	}
	return nil
}

type aliasInput struct {
	AliasName   string
	TargetKeyId string
}

func (c *kmsCall) aliasTarget(in aliasInput, action string) (*kmsKey, *apiError) {
	if err := c.checkAliasName(in.AliasName); err != nil {
		return nil, err
	}
	if strings.HasPrefix(in.TargetKeyId, "alias/") || strings.Contains(in.TargetKeyId, ":alias/") {
		return nil, kmsErr("ValidationException", "TargetKeyId must be a key ID or key ARN, not an alias.")
	}
	return c.keyFor(in.TargetKeyId, action, false)
}

func (c *kmsCall) createAlias(raw []byte) (any, *apiError) {
	var in aliasInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, err := c.aliasTarget(in, "kms:CreateAlias")
	if err != nil {
		return nil, err
	}
	arn := c.arn(in.AliasName)
	if c.s.kms.aliases[arn] != nil {
		return nil, kmsErr("AlreadyExistsException", "An alias with the name %s already exists", arn)
	}
	now := c.s.now()
	c.s.kms.aliases[arn] = &kmsAlias{name: in.AliasName, arn: arn, account: c.id.Account, region: c.region, target: k.id, created: now, updated: now}
	return nil, nil
}

func (c *kmsCall) updateAlias(raw []byte) (any, *apiError) {
	var in aliasInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	k, err := c.aliasTarget(in, "kms:UpdateAlias")
	if err != nil {
		return nil, err
	}
	a := c.s.kms.aliases[c.arn(in.AliasName)]
	if a == nil {
		return nil, kmsErr("NotFoundException", "Alias %s is not found.", c.arn(in.AliasName))
	}
	a.target, a.updated = k.id, c.s.now()
	return nil, nil
}

func (c *kmsCall) deleteAlias(raw []byte) (any, *apiError) {
	var in aliasInput
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if err := c.checkAliasName(in.AliasName); err != nil {
		return nil, err
	}
	arn := c.arn(in.AliasName)
	a := c.s.kms.aliases[arn]
	if a == nil {
		return nil, kmsErr("NotFoundException", "Alias %s is not found.", arn)
	}
	if _, err := c.keyFor(a.target, "kms:DeleteAlias", false); err != nil {
		return nil, err
	}
	delete(c.s.kms.aliases, arn)
	return nil, nil
}

func (c *kmsCall) listAliases(raw []byte) (any, *apiError) {
	var in struct {
		KeyId  string
		Limit  int
		Marker string
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	var filter *kmsKey
	if in.KeyId != "" {
		k, err := c.resolve(in.KeyId, false)
		if err != nil {
			return nil, err
		}
		filter = k
	}
	var all []*kmsAlias
	for _, a := range c.s.kms.aliases {
		if a.account == c.id.Account && a.region == c.region && (filter == nil || a.target == filter.id) {
			all = append(all, a)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	items, truncated, next, err := page(all, in.Limit, in.Marker)
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for _, a := range items {
		list = append(list, map[string]any{
			"AliasName": a.name, "AliasArn": a.arn, "TargetKeyId": a.target,
			"CreationDate": epoch(a.created), "LastUpdatedDate": epoch(a.updated),
		})
	}
	out := map[string]any{"Aliases": list, "Truncated": truncated}
	if truncated {
		out["NextMarker"] = next
	}
	return out, nil
}
