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
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"mvdan.cc/sh/v3/syntax"

	"github.com/rekwiz/rekwiz/flows"
)

//go:embed templates/*.sh.tmpl
var templateFS embed.FS

// templates are parsed on the first render, not at start-up: the wizard's
// first screen needs none of them.
var templates = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("scripts").
		Funcs(sprig.HermeticTxtFuncMap()).
		Funcs(template.FuncMap{"shq": Quote, "comment": comment, "pasteLine": pasteLine}).
		ParseFS(templateFS, "templates/*.sh.tmpl"))
})

// ErrNotBuilt is returned for a provider rekwiz has no scripts for.
var ErrNotBuilt = errors.New("no scripts for this provider")

// Options change how a script is rendered.
type Options struct {
	// Demo is set when the script is shown in `rekwiz demo`, where the
	// sandbox vendor is expected and needs no warning.
	Demo bool
	// Teardown renders the script that removes what the setup added.
	Teardown bool
}

// AzureRole is the Managed HSM role the vendor's application is given on
// the one key, unless its profile asks for flows.AzureRoleCryptoUser:
// read, wrap and unwrap, nothing else.
const AzureRole = flows.AzureRoleEncryptionUser

// data is what the templates see.
type data struct {
	Spec   flows.SetupSpec
	Title  string
	Phrase string
	Warn   bool
	// Shell, CLI and Home name where the script runs, for the header.
	Shell, CLI, Home string

	// AWS
	AliasName   string
	Sid         string
	Principal   string
	Statement   string
	ActionList  string
	Description string
	Partition   string

	// AWS service account
	UserName       string
	PolicyName     string
	UserPolicy     string
	UserActionList string

	// Azure
	Role       string
	Scope      string
	CryptoUser bool   // the vendor's profile asks for Crypto User
	Needs      string // the data actions the customer needs, for the rights check

	// Google Cloud (Role above is the vendor's role on the key)
	Member       string // the vendor's service account as a binding names it
	Label        string // the label that marks the key for the domain
	LabelValue   string
	KeyResource  string // projects/P/locations/L/keyRings/R/cryptoKeys/K
	KeyRingName  string // projects/P/locations/L/keyRings/R
	RotationDays int    // a new key's automatic rotation period
}

// Render returns the setup script for a spec, or with opts.Teardown the
// script that removes what the setup added.
func Render(spec flows.SetupSpec, opts Options) (string, error) {
	name, err := templateName(spec, opts)
	if err != nil {
		return "", err
	}
	spec, err = spec.Normalize()
	if err != nil {
		return "", err
	}
	cloud := spec.Provider.Cloud()
	d := data{
		Spec:   spec,
		Title:  spec.Provider.Title() + ".",
		Phrase: keyPhrase(spec.Key, opts.Teardown),
		Warn:   spec.Vendor.Placeholder && !opts.Demo,
		Shell:  cloud.Shell(), CLI: "the " + cloud.CLI(), Home: cloud.Home(),
	}
	if fill := cloudData[cloud]; fill != nil {
		if err := fill(&d, opts); err != nil {
			return "", err
		}
	}
	if templates().Lookup(name) == nil {
		return "", fmt.Errorf("provider %q: %s: %w", spec.Provider, name, ErrNotBuilt)
	}
	var b bytes.Buffer
	if err := templates().ExecuteTemplate(&b, name, d); err != nil {
		return "", fmt.Errorf("rendering %s: %w", name, err)
	}
	return b.String(), nil
}

func keyPhrase(k flows.KeyChoice, teardown bool) string {
	switch {
	case teardown:
		return "removes the vendor's access, keeps the key"
	case k == flows.KeyNew:
		return "creates a new key and gives the vendor access"
	}
	return "gives the vendor access to a key you already have"
}

func templateName(spec flows.SetupSpec, opts Options) (string, error) {
	if !slices.Contains(flows.Providers(), spec.Provider) {
		return "", fmt.Errorf("provider %q: %w", spec.Provider, ErrNotBuilt)
	}
	if opts.Teardown {
		return string(spec.Provider) + "-teardown.sh.tmpl", nil
	}
	return string(spec.Provider) + "-" + string(spec.Key) + ".sh.tmpl", nil
}

// FileName is a name to save a spec's script under.
func FileName(spec flows.SetupSpec, opts Options) string {
	kind := string(spec.Key)
	if opts.Teardown {
		kind = "teardown"
	}
	return fmt.Sprintf("rekwiz-%s-%s-%s.sh", spec.Domain, spec.Provider, kind)
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

// pasteLine is the label a script prints before a value the paste step
// takes ("Key alias (save this for next step): "), from the one
// definition the paste step also reads, so the two never drift apart. It
// goes inside a double-quoted echo, so it may hold nothing bash expands.
func pasteLine(field string) (string, error) {
	l := flows.PasteLine(flows.Field(field))
	if l == "" {
		return "", fmt.Errorf("field %q has no paste label", field)
	}
	if strings.ContainsAny(l, "\"$`\\!") {
		return "", fmt.Errorf("paste label %q holds a character bash expands in double quotes", l)
	}
	return l, nil
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
