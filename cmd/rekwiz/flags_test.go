package main

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rekwiz/rekwiz/flows"
)

var flagRE = regexp.MustCompile(`(^|[^-\w])--([a-z][a-z0-9-]*)`)

// definedFlags are every flag of every rekwiz command, and help/version.
func definedFlags() map[string]bool {
	out := map[string]bool{"help": true, "version": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags(), c.InheritedFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { out[f.Name] = true })
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(&IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }}, realDeps()))
	return out
}

// otherTool reports whether the text before a flag on its line runs
// another program (the AWS or Azure CLI, a script), whose flags these are.
var otherTool = regexp.MustCompile(`(^|[^\w-])(aws|az|gcloud|jq|bash|sh|curl|shellcheck|go|make)\s`)

// TestMessagesNameOnlyRealFlags reads every string literal in rekwiz's
// sources and checks that each --flag it names for rekwiz is one that
// some rekwiz command defines.
func TestMessagesNameOnlyRealFlags(t *testing.T) {
	t.Parallel()
	defined := definedFlags()
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && p != root) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || strings.Contains(p, "fakecloudtest") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			// A concatenation is read whole ("aws iam … --user-name " +
			// name + " --policy-name "), what is not a literal as X.
			var s string
			var pos token.Pos
			switch e := n.(type) {
			case *ast.BinaryExpr:
				if e.Op != token.ADD {
					return true
				}
				s, pos = concat(e), e.Pos()
			case *ast.BasicLit:
				if e.Kind != token.STRING {
					return true
				}
				s, pos = concat(e), e.Pos()
			default:
				return true
			}
			lit := struct{ pos token.Pos }{pos}
			for _, line := range strings.Split(s, "\n") {
				for _, m := range flagRE.FindAllStringSubmatchIndex(line, -1) {
					name := line[m[4]:m[5]]
					if otherTool.MatchString(line[:m[4]]) {
						continue
					}
					checked++
					if !defined[name] {
						t.Errorf("%s: names --%s, which no rekwiz command defines: %q", fset.Position(lit.pos), name, line)
					}
				}
			}
			return false
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("only %d flag mentions found: the scan is broken", checked)
	}
}

// TestFieldErrorsNameRealFlags: an error about any field names the flag
// that takes it, or, for a field no flag takes, where it comes from.
func TestFieldErrorsNameRealFlags(t *testing.T) {
	defined := definedFlags()
	for _, f := range []flows.Field{flows.FieldDomain, flows.FieldProvider, flows.FieldKey, flows.FieldRegion, flows.FieldKeyID, flows.FieldCompany,
		flows.FieldHSMName, flows.FieldKeyName, flows.FieldAliasARN, flows.FieldAccessKeyID, flows.FieldSecretAccessKey, flows.FieldKeyURL, flows.FieldTenantID} {
		err := usageError(flows.FieldErrors{&flows.FieldError{Field: f, Err: errors.New("expected something")}})
		for _, m := range flagRE.FindAllStringSubmatch(err.Error(), -1) {
			if !defined[m[2]] {
				t.Errorf("%s: %q names --%s, which no command defines", f, err, m[2])
			}
		}
	}
	// The case the issue found: a malformed secret from the environment.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "short")
	code, _, errOut := exec(t, false, "verify", "--provider", "aws-service-account", "--domain", "dm-LCAJVnUE94B",
		"--key-arn", "arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/sandbox/Example", "--access-key-id", "AKIAIOSFODNN7EXAMPLE")
	if code != exitUsage || strings.Contains(errOut, "--secret-access-key") || !strings.Contains(errOut, "AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// concat is the text of a string expression, with X for what is not a
// literal.
func concat(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			if s, err := strconv.Unquote(e.Value); err == nil {
				return s
			}
		}
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return concat(e.X) + concat(e.Y)
		}
	case *ast.ParenExpr:
		return concat(e.X)
	}
	return "X"
}
