package flows

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// branchFree are the places that may name a provider: the table itself,
// and the provider's own packages (and the fake cloud that plays them).
var branchFree = []string{
	"flows/provider.go",
	"providers/awskms/",
	"providers/azurehsm/",
	"providers/gcpkms/",
	"providers/fakecloud/",
}

// branchAllowed are the exceptions, each with its reason. Every file here
// says why in a comment where it names a provider, and must still name
// one (a stale entry fails too).
var branchAllowed = map[string]string{
	// The fake vendor API plays the vendor's side: it checks what rekwiz
	// sends against the API's own provider names, written out on
	// purpose, not read from the table it is testing.
	"providers/domainapi/domainapitest/server.go": "the fake vendor API checks rekwiz against the API's own names",
	// The providers call gives each delegated provider's account as one
	// string whose form is the cloud's (an AWS account or principal ARN,
	// an Azure application ID): reading it is the vendor API client's
	// job, one case per cloud.
	"providers/domainapi/accounts.go": "the vendor API's account details are read per cloud",
	// The scripts package holds each cloud's templates and the data they
	// render from (the AWS data needs awspolicy, which flows may not
	// import): one data builder per cloud, keyed by the table's cloud.
	"scripts/clouds.go": "each cloud's template data lives beside its templates",
}

// providerRefs lists where the Go files under root (tests, testdata and
// the places in skip aside) name a provider: its constant, its
// command-line or API name as a string, or the IsAWS helper this table
// replaced. Each is a branch on which provider it is.
func providerRefs(t *testing.T, root string, skip []string) map[string][]string {
	t.Helper()
	consts := providerConstNames(t, filepath.Join(root, "flows", "provider.go"))
	names := map[string]bool{}
	for _, p := range Providers() {
		names[string(p)], names[p.APIName()] = true, true
	}
	idents := map[string]bool{"IsAWS": true}
	for _, c := range consts {
		idents[c] = true
	}
	refs := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if slices.ContainsFunc(skip, func(s string) bool { return rel == s || strings.HasSuffix(s, "/") && strings.HasPrefix(rel, s) }) {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var what string
			switch n := n.(type) {
			case *ast.Ident:
				if idents[n.Name] {
					what = n.Name
				}
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING && names[s] {
					what = n.Value
				}
			}
			if what != "" {
				refs[rel] = append(refs[rel], fmt.Sprintf("%s: %s", fset.Position(n.Pos()), what))
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

// branchTypes are the types whose constants name a provider or a family
// of them: a branch on a provider's cloud or its access is a branch on
// which provider it is, as much as one on the provider itself.
var branchTypes = map[string]bool{"Provider": true, "Cloud": true, "Access": true}

// providerConstNames are the constants of the branchTypes the table file
// declares, so a new provider's (or cloud's) constant is counted as soon
// as it exists.
func providerConstNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); ok && branchTypes[id.Name] {
				for _, n := range vs.Names {
					out = append(out, n.Name)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s declares no Provider constants: the count below would count nothing", path)
	}
	return out
}

// TestNoProviderBranchesOutsideTheTable counts the places outside the
// provider table and the providers' own packages that name a provider,
// and fails above zero: everything else asks the table.
func TestNoProviderBranchesOutsideTheTable(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod above flows: %v", err)
	}
	refs := providerRefs(t, root, branchFree)
	for file, reason := range branchAllowed {
		if len(refs[file]) == 0 {
			t.Errorf("%s is allowed to name a provider (%s) but names none: remove it from branchAllowed", file, reason)
		}
		delete(refs, file)
	}
	var all []string
	for _, rs := range refs {
		all = append(all, rs...)
	}
	slices.Sort(all)
	if len(all) > 0 {
		t.Errorf("%d references to a provider outside the provider table (flows/provider.go); ask the table instead (Provider.Cloud, PasteFields, Target.Key, …):\n%s",
			len(all), strings.Join(all, "\n"))
	}
}

// TestBranchCountSeesABranch makes sure the count can fail: each kind of
// reference it looks for, in a file of its own, is counted.
func TestBranchCountSeesABranch(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	table, err := os.ReadFile("provider.go")
	if err != nil {
		t.Fatal(err)
	}
	write("flows/provider.go", string(table))
	write("ui/a.go", "package ui\nimport \"x/flows\"\nvar _ = flows.AzureDelegated\n")
	write("ui/b.go", "package ui\nfunc f(p interface{ IsAWS() bool }) bool { return p.IsAWS() }\n")
	write("ui/c.go", "package ui\nfunc g(s string) bool { return s == \"aws_sa\" }\n")
	write("flows/d.go", "package flows\nvar _ = AWSServiceAccount\n")
	write("ui/f.go", "package ui\nfunc h(p flows.Provider) bool { return p.Cloud() == flows.CloudAzure }\n")
	write("ui/g.go", "package ui\nfunc i(p flows.Provider) bool { return p.Access() == flows.AccessServiceAccount }\n")
	write("ui/a_test.go", "package ui\nvar _ = flows.AzureDelegated\n")
	write("providers/awskms/e.go", "package awskms\nvar _ = flows.AWSServiceAccount\n")
	refs := providerRefs(t, root, branchFree)
	var files []string
	for f := range refs {
		files = append(files, f)
	}
	slices.Sort(files)
	if want := []string{"flows/d.go", "ui/a.go", "ui/b.go", "ui/c.go", "ui/f.go", "ui/g.go"}; !slices.Equal(files, want) {
		t.Fatalf("files with references = %v, want %v (%v)", files, want, refs)
	}
}
