// Package scripts renders the setup scripts a customer runs in their
// cloud shell, from templates embedded in the binary.
//
// Every value is checked again here, whoever built the spec, and goes
// into the script through a real bash quoter; templates get sprig's
// hermetic functions only (nothing that reads the environment or the
// clock), so the same spec always renders the same script.
package scripts

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"mvdan.cc/sh/v3/syntax"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

//go:embed templates/*.sh.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("scripts").
	Funcs(sprig.HermeticTxtFuncMap()).
	Funcs(template.FuncMap{"shq": Quote, "comment": comment}).
	ParseFS(templateFS, "templates/*.sh.tmpl"))

// ErrNotBuilt is returned for a provider whose scripts do not exist yet.
var ErrNotBuilt = errors.New("scripts for this provider are not built yet")

// Options change how a script is rendered.
type Options struct {
	// Demo is set when the script is shown in `rekwiz demo`, where the
	// sandbox vendor is expected and needs no warning.
	Demo bool
}

// data is what the templates see.
type data struct {
	Spec        flows.SetupSpec
	Title       string
	Warn        bool
	AliasName   string
	Sid         string
	Principal   string
	Statement   string
	ActionList  string
	Description string
}

// Render returns the setup script for a spec.
func Render(spec flows.SetupSpec, opts Options) (string, error) {
	name, err := templateName(spec)
	if err != nil {
		return "", err
	}
	if err := spec.Validate(); err != nil {
		return "", err
	}
	partition := flows.PartitionOf(spec.Region)
	principal := spec.Vendor.AWSPrincipal(partition)
	sid := awspolicy.VendorSid(spec.Vendor.Slug)
	stmt, err := json.Marshal(awspolicy.VendorStatement(sid, principal))
	if err != nil {
		return "", err
	}
	d := data{
		Spec:        spec,
		Title:       fmt.Sprintf("%s: %s.", spec.Provider.Title(), keyPhrase(spec.Key)),
		Warn:        spec.Vendor.Placeholder && !opts.Demo,
		AliasName:   spec.AliasName(),
		Sid:         sid,
		Principal:   principal,
		Statement:   string(stmt),
		ActionList:  strings.Join(awspolicy.VendorActions, ", "),
		Description: fmt.Sprintf("Root Encryption Key of %s, delegated to %s", spec.Domain, spec.Vendor.Name),
	}
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, d); err != nil {
		return "", fmt.Errorf("rendering %s: %w", name, err)
	}
	return b.String(), nil
}

func keyPhrase(k flows.KeyChoice) string {
	if k == flows.KeyNew {
		return "creates a new key and delegates it"
	}
	return "delegates a key you already have"
}

func templateName(spec flows.SetupSpec) (string, error) {
	switch spec.Provider {
	case flows.AWSDelegated:
		return "aws-delegated-" + string(spec.Key) + ".sh.tmpl", nil
	}
	return "", fmt.Errorf("%s: %w", spec.Provider, ErrNotBuilt)
}

// FileName is a name to save a spec's script under.
func FileName(spec flows.SetupSpec) string {
	return fmt.Sprintf("rekwiz-%s-%s-%s.sh", spec.Domain, spec.Provider, spec.Key)
}

// Quote quotes s as one bash word that expands to exactly s. Even a
// value that needs no quoting is quoted, so every value reads the same.
func Quote(s string) (string, error) {
	q, err := syntax.Quote(s, syntax.LangBash)
	if err != nil {
		return "", err
	}
	if q == s {
		q = "'" + s + "'"
	}
	return q, nil
}

// comment makes s safe inside a # comment: one line, no control bytes.
func comment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
