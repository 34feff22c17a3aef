package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/rekwiz/rekwiz/flows"
)

// writeReport prints the checks as a ticket can carry them: symbol, status
// word, name and detail on one line each, then the remedies.
//
// What the checks found comes from the cloud: it is escaped here, the
// sink, whoever calls.
func writeReport(ios *IOStreams, t flows.Target, checks []flows.Check) {
	out := ios.Out
	checks = safeChecks(checks)
	fmt.Fprintf(out, "rekwiz verify: %s, %s\n", t.Domain, t.Provider.Title())
	fmt.Fprintf(out, "key: %s\n", t.Key())
	for _, f := range flows.PasteFields(t.Provider) {
		if v := t.Value(f); v != "" && f != t.Provider.KeyField() {
			fmt.Fprintf(out, "%s: %s\n", reportName(f), v)
		}
	}
	fmt.Fprintln(out)
	failed := 0
	var remedies []string
	for _, c := range checks {
		word := strings.ToUpper(c.Status.String())
		fmt.Fprintf(out, "%s %-7s %s", c.Status.Symbol(), word, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(out, ": %s", c.Detail)
		}
		fmt.Fprintln(out)
		if c.Status == flows.StatusFail {
			failed++
		}
		if c.Remedy != "" && c.Status != flows.StatusPass {
			remedies = append(remedies, fmt.Sprintf("  %s: %s", c.ID, c.Remedy))
		}
	}
	if len(remedies) > 0 {
		fmt.Fprintf(out, "\nWhat to do:\n%s\n", strings.Join(remedies, "\n"))
	}
	if failed > 0 {
		noun := "checks"
		if failed == 1 {
			noun = "check"
		}
		fmt.Fprintf(out, "\nResult: %d %s failed.\n", failed, noun)
		return
	}
	fmt.Fprintln(out, "\nResult: paired.")
}

// reportName is how the report names a pasted value beside the key:
// "tenant", "access key".
func reportName(f flows.Field) string {
	switch f {
	case flows.FieldTenantID:
		return "tenant"
	case flows.FieldAccessKeyID:
		return "access key"
	}
	return strings.ToLower(flows.Spec(f).Label)
}

// verifyReport is the --json document; its schema is in the README and
// only grows: fields are added, never renamed or removed.
type verifyReport struct {
	Schema       int           `json:"schemaVersion"`
	Domain       string        `json:"domain"`
	Provider     string        `json:"provider"`
	ProviderName string        `json:"providerName"`
	Key          string        `json:"key"`
	AccessKeyID  string        `json:"accessKeyID,omitempty"`
	TenantID     string        `json:"tenantID,omitempty"`
	Result       string        `json:"result"`
	Failed       int           `json:"failed"`
	Checks       []verifyCheck `json:"checks"`
}

type verifyCheck struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Remedy string `json:"remedy,omitempty"`
}

// writeJSON prints the --json document. Its string values are escaped as
// for a terminal (a support engineer
// pipes this to one), so the document holds no ESC, BEL or C1 control,
// raw or as a JSON escape that a decoder would turn back into one.
func writeJSON(w io.Writer, t flows.Target, checks []flows.Check) error {
	checks = safeChecks(checks)
	r := verifyReport{
		Schema: 1, Domain: t.Domain, Provider: string(t.Provider), ProviderName: t.Provider.APIName(),
		Key: t.Key(), AccessKeyID: t.AccessKeyID, TenantID: t.TenantID, Result: "paired", Checks: []verifyCheck{},
	}
	for _, c := range checks {
		vc := verifyCheck{ID: c.ID, Name: c.Name, Status: c.Status.String(), Detail: c.Detail}
		if c.Status != flows.StatusPass {
			vc.Remedy = c.Remedy
		}
		if c.Status == flows.StatusFail {
			r.Failed++
		}
		r.Checks = append(r.Checks, vc)
	}
	if !flows.Passed(checks) {
		r.Result = "failed"
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
