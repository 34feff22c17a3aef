// Package session keeps the wizard's progress per domain, so a customer
// whose cloud shell timed out can resume where they were. A file holds
// only what flows.Snapshot holds: answers that are not secret and the
// step reached. Files are written atomically, mode 0600 in a 0700
// directory.
package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fsutil"
	"github.com/rekwiz/rekwiz/providers/jsonstrict"
	"github.com/rekwiz/rekwiz/ui/termtext"
)

// SchemaVersion is the version of the files this package writes.
const SchemaVersion = 1

// Store is the progress kept in one directory.
type Store struct{ dir string }

// Open returns the store in dir; nothing is read until it is used.
func Open(dir string) *Store { return &Store{dir: dir} }

type file struct {
	Version int `json:"version"`
	flows.Snapshot
}

func (s *Store) path(domain string) (string, error) {
	d, err := flows.ParseDomainID(domain)
	if err != nil {
		return "", fmt.Errorf("session: %w", err)
	}
	return filepath.Join(s.dir, d+".json"), nil
}

// Save keeps a flow's progress, replacing what its domain had.
func (s *Store) Save(snap flows.Snapshot) error {
	p, err := s.path(snap.Domain)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(file{Version: SchemaVersion, Snapshot: snap}, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteAtomic(p, append(b, '\n'))
}

// Load returns a domain's saved progress.
func (s *Store) Load(domain string) (flows.Snapshot, bool, error) {
	p, err := s.path(domain)
	if err != nil {
		return flows.Snapshot{}, false, err
	}
	return read(p)
}

func read(p string) (flows.Snapshot, bool, error) {
	b, err := fsutil.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return flows.Snapshot{}, false, nil
	}
	if err != nil {
		return flows.Snapshot{}, false, fmt.Errorf("saved progress: %w; starting over (the file is left as it is)", err)
	}
	var f file
	if err := jsonstrict.Unmarshal(b, &f); err != nil {
		return flows.Snapshot{}, false, fmt.Errorf("saved progress %s cannot be read: %v; starting over (the file is left as it is)", p, err)
	}
	if f.Version != SchemaVersion {
		return flows.Snapshot{}, false, fmt.Errorf("saved progress %s cannot be read; starting over (the file is left as it is)", p)
	}
	// What the file says is shown when resume is offered: a value with a
	// control character, escape sequence or bidi override is no answer
	// rekwiz saved.
	unsafe := !termtext.Safe(f.Domain)
	for k, v := range f.Values {
		unsafe = unsafe || !termtext.Safe(string(k)) || !termtext.Safe(v)
	}
	if unsafe {
		return flows.Snapshot{}, false, fmt.Errorf("saved progress %s holds control characters rekwiz never saves; starting over (the file is left as it is)", p)
	}
	return f.Snapshot, true, nil
}

// All returns every domain's saved progress, the most recent first. A
// file that cannot be read is reported in err and left as it is; the
// others are returned all the same.
func (s *Store) All() ([]flows.Snapshot, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var all []flows.Snapshot
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		snap, ok, err := read(filepath.Join(s.dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			all = append(all, snap)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Saved.After(all[j].Saved) })
	return all, errors.Join(errs...)
}

// Latest returns the most recently saved progress of any domain.
func (s *Store) Latest() (flows.Snapshot, bool, error) {
	all, err := s.All()
	if len(all) == 0 {
		return flows.Snapshot{}, false, err
	}
	return all[0], true, err
}

// Delete forgets a domain's progress (the wizard finished).
func (s *Store) Delete(domain string) error {
	p, err := s.path(domain)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
