// Package registry is the local key registry, the default target of the
// wizard's apply step: which key each domain uses, kept in one JSON file
// under the user's config directory.
//
// Writes are atomic (temp file, fsync, rename) with mode 0600 in a 0700
// directory, under a file lock so two wizards never interleave, and a file that cannot be read is reported and left as it
// is, never overwritten. Secrets are never written here.
package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fsutil"
	"github.com/rekwiz/rekwiz/providers/jsonstrict"
)

// SchemaVersion is the version of the file format this package writes.
const SchemaVersion = 1

// FileName is the registry's name inside the config directory.
const FileName = "registry.json"

// DefaultPath is where the registry lives: $XDG_CONFIG_HOME/rekwiz (or
// the platform's equivalent).
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding your config directory: %w (set XDG_CONFIG_HOME)", err)
	}
	return filepath.Join(dir, "rekwiz", FileName), nil
}

// Entry is one domain's registered key. It holds no secret: a service
// account's secret access key goes to the vendor, never into this file.
type Entry struct {
	RekID        string    `json:"rekID"`
	Provider     string    `json:"providerName"`
	KeyARN       string    `json:"keyARN,omitempty"`
	AccessKeyID  string    `json:"accessKeyID,omitempty"`
	KeyURL       string    `json:"keyURL,omitempty"`
	TenantID     string    `json:"tenantID,omitempty"`
	KeyResource  string    `json:"keyResource,omitempty"`
	RegisteredAt time.Time `json:"registeredAt"`
}

type file struct {
	Version int              `json:"version"`
	Domains map[string]Entry `json:"domains"`
}

// Registry is the registry file at one path.
type Registry struct {
	path string
	now  func() time.Time
}

// Open returns the registry at path; nothing is read until it is used.
func Open(path string) *Registry { return &Registry{path: path, now: time.Now} }

// Path is the registry file's location.
func (r *Registry) Path() string { return r.path }

// Register records the target's key for its domain, replacing what the
// domain had, and returns the receipt the wizard shows.
//
// The read-modify-write holds the registry's lock, so two wizards
// registering at once both land.
func (r *Registry) Register(ctx context.Context, t flows.Target) (flows.Receipt, error) {
	unlock, err := fsutil.Lock(ctx, r.path, lockWait)
	if err != nil {
		return flows.Receipt{}, err
	}
	defer unlock()
	f, err := r.read()
	if err != nil {
		return flows.Receipt{}, err
	}
	e := r.entry(t)
	f.Domains[t.Domain] = e
	if err := r.write(f); err != nil {
		return flows.Receipt{}, err
	}
	return flows.Receipt{RekID: e.RekID, Where: "local registry " + displayPath(r.path)}, nil
}

// entry is what registering t records.
func (r *Registry) entry(t flows.Target) Entry {
	e := Entry{
		Provider:     t.Provider.APIName(),
		KeyARN:       t.Value(flows.FieldAliasARN),
		AccessKeyID:  t.Value(flows.FieldAccessKeyID),
		KeyURL:       t.Value(flows.FieldKeyURL),
		TenantID:     t.Value(flows.FieldTenantID),
		KeyResource:  t.Value(flows.FieldKeyResource),
		RegisteredAt: r.now().UTC(),
	}
	e.RekID = rekID(t.Domain, e)
	return e
}

// Replaces returns the entry that registering t would replace: the
// domain's entry when it registers a different key (another provider,
// key, tenant or access key). Registering the same key again replaces
// nothing.
func (r *Registry) Replaces(t flows.Target) (Entry, bool, error) {
	old, ok, err := r.Lookup(t.Domain)
	if err != nil || !ok || old.RekID == r.entry(t).RekID {
		return Entry{}, false, err
	}
	return old, true, nil
}

// Key is the key an entry registers: its alias ARN, key URL or key
// resource name.
func (e Entry) Key() string {
	for _, k := range []string{e.KeyARN, e.KeyURL, e.KeyResource} {
		if k != "" {
			return k
		}
	}
	return ""
}

// Lookup returns a domain's entry.
func (r *Registry) Lookup(domain string) (Entry, bool, error) {
	f, err := r.read()
	if err != nil {
		return Entry{}, false, err
	}
	e, ok := f.Domains[domain]
	return e, ok, nil
}

// rekID names a registration by what it registers, so registering the
// same key again gives the same ID.
func rekID(domain string, e Entry) string {
	parts := []string{domain, e.Provider, e.KeyARN, e.KeyURL, e.TenantID, e.AccessKeyID}
	if e.KeyResource != "" {
		// Only where there is one, so an earlier entry keeps its ID.
		parts = append(parts, e.KeyResource)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "rek-" + hex.EncodeToString(sum[:8])
}

// ErrCorrupt marks a registry file that exists but cannot be read.
var ErrCorrupt = errors.New("registry file is not readable")

func (r *Registry) read() (file, error) {
	b, err := fsutil.ReadFile(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return file{Version: SchemaVersion, Domains: map[string]Entry{}}, nil
	}
	if err != nil {
		return file{}, fmt.Errorf("reading the registry: %w", err)
	}
	var f file
	if err := jsonstrict.Unmarshal(b, &f); err != nil {
		return file{}, fmt.Errorf("%w: %s: %v; it was left as it is: move it away to start a new one", ErrCorrupt, r.path, err)
	}
	if f.Version != SchemaVersion {
		return file{}, fmt.Errorf("%w: %s has schema version %d, this rekwiz reads version %d", ErrCorrupt, r.path, f.Version, SchemaVersion)
	}
	if f.Domains == nil {
		f.Domains = map[string]Entry{}
	}
	return f, nil
}

// lockWait is how long a registration waits for another to finish.
const lockWait = 10 * time.Second

// write replaces the file atomically: a reader sees the old file or the
// new one, never a half-written one.
func (r *Registry) write(f file) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteAtomic(r.path, append(b, '\n')); err != nil {
		return fmt.Errorf("writing the registry: %w", err)
	}
	return nil
}

// displayPath shortens a path under the home directory to ~/….
func displayPath(p string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return p
	}
	if rel, err := filepath.Rel(home, p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.Join("~", rel)
	}
	return p
}
