package flows

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestChoicesAreWhatTheParsersAccept(t *testing.T) {
	t.Parallel()
	parse := map[Field]func(string) error{
		FieldProvider: func(s string) error { _, err := ParseProvider(s); return err },
		FieldKey:      func(s string) error { _, err := ParseKeyChoice(s); return err },
		FieldRegion:   func(s string) error { _, err := ParseRegion(s); return err },
		FieldProtection: func(s string) error {
			if v, err := ParseProtectionLevel(s); err != nil || v != s {
				return fmt.Errorf("parsed as %q: %v", v, err)
			}
			return nil
		},
	}
	for f, p := range parse {
		cs := Choices(f)
		if len(cs) == 0 {
			t.Errorf("%s: no choices", f)
		}
		for _, c := range cs {
			if err := p(c); err != nil {
				t.Errorf("%s: the choice %q is refused: %v", f, c, err)
			}
		}
	}
	if got := Choices(FieldProvider); len(got) != len(Providers()) {
		t.Errorf("providers: %v", got)
	}
	if Choices(FieldDomain) != nil {
		t.Error("the domain is free text, not a choice")
	}
	if !slices.IsSorted(awsRegions) || len(slices.Compact(slices.Clone(awsRegions))) != len(awsRegions) {
		t.Error("awsRegions is not sorted, or repeats a region")
	}
}

// TestAWSRegionsMatchTheSDK compares the list with the regions of the
// aws and aws-us-gov partitions in the AWS SDK's endpoint table (in the
// module cache): a newer SDK with a new region makes this fail.
func TestAWSRegionsMatchTheSDK(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2").Output()
	if err != nil {
		t.Skipf("go list: %v (no Go toolchain to find the SDK with)", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "internal", "endpoints", "awsrulesfn", "partitions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Partitions []struct {
			ID      string
			Regions map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range doc.Partitions {
		if p.ID != "aws" && p.ID != "aws-us-gov" {
			continue
		}
		for r := range p.Regions {
			if !strings.HasSuffix(r, "-global") {
				want = append(want, r)
			}
		}
	}
	slices.Sort(want)
	if !slices.Equal(awsRegions, want) {
		t.Errorf("awsRegions = %v\nthe SDK's = %v", awsRegions, want)
	}
}
