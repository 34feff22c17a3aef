// Package vendorprofile loads vendor profiles: who a customer's key is delegated
// to (display name, alias slug, AWS account, Azure application).
//
// The embedded default profile names the sandbox's vendor and no real
// one; callers outside the demo must warn when they use it.
package vendorprofile

import (
	_ "embed"
	"fmt"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fsutil"
	"github.com/rekwiz/rekwiz/providers/jsonstrict"
	"github.com/rekwiz/rekwiz/ui/termtext"
)

//go:embed default.json
var defaultProfile []byte

// Default is the embedded profile: the sandbox's vendor. It is marked
// Placeholder, because granting it anything in a real account is a mistake.
func Default() flows.Vendor {
	v, err := parse(defaultProfile)
	if err != nil {
		panic("embedded vendor profile: " + err.Error()) // a build defect; TestDefault catches it
	}
	v.Placeholder = true
	return v
}

// Load reads a vendor profile file (JSON; the fields of flows.Vendor).
func Load(path string) (flows.Vendor, error) {
	b, err := fsutil.ReadFile(path)
	if err != nil {
		return flows.Vendor{}, fmt.Errorf("vendor profile: %w", err)
	}
	v, err := parse(b)
	if err != nil {
		return flows.Vendor{}, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

func parse(b []byte) (flows.Vendor, error) {
	var v flows.Vendor
	if err := jsonstrict.Unmarshal(b, &v, jsonstrict.Options{DisallowUnknownFields: true}); err != nil {
		return flows.Vendor{}, fmt.Errorf("vendor profile: %w", err)
	}
	if err := v.Validate(); err != nil {
		return flows.Vendor{}, err
	}
	// The name is shown on screen and in scripts: no control character,
	// escape sequence or bidirectional override.
	if !termtext.Safe(v.Name) {
		return flows.Vendor{}, fmt.Errorf("vendor profile: name: expected a display name of printable characters, not %s", termtext.Line(v.Name))
	}
	return v, nil
}
