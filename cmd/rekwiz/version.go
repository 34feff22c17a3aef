package main

import (
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/mod/module"
)

// commit and date are set at build time, with version (main.go), by
// make build and make dist: -ldflags "-X main.commit=… -X main.date=…".
var commit, date string

// buildVersion is what rekwiz --version prints.
type buildVersion struct {
	Version  string // v1.2.0, a pseudo-version, or "dev"
	Commit   string // the full commit hash, or ""
	Date     string // the commit's time, RFC 3339 in UTC, or ""
	Modified bool   // built from a work tree with uncommitted changes
}

// currentVersion is this binary's version: the values make stamped in,
// or else what the Go toolchain recorded (go install, go build).
func currentVersion() buildVersion {
	bi, _ := debug.ReadBuildInfo() // nil when the binary has none
	return resolveVersion(version, commit, date, bi)
}

// resolveVersion prefers the stamped values (ldVersion "dev" or "" is
// unstamped) and fills what they lack from bi, which may be nil: the
// module's version (go install …@v1.2.0 records it), and the VCS
// settings go build records in a checkout (vcs.revision, vcs.time,
// vcs.modified). A pseudo-version (go install …@main) carries the
// commit's time and hash prefix when no VCS settings are there.
func resolveVersion(ldVersion, ldCommit, ldDate string, bi *debug.BuildInfo) buildVersion {
	v := buildVersion{Version: ldVersion, Commit: ldCommit, Date: ldDate}
	if v.Version == "dev" {
		v.Version = ""
	}
	if bi != nil {
		if mv := bi.Main.Version; v.Version == "" && mv != "" && mv != "(devel)" {
			v.Version = mv
		}
		stamped := ldCommit != ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				if v.Date == "" {
					v.Date = s.Value
				}
			case "vcs.modified":
				if !stamped {
					v.Modified = s.Value == "true"
				}
			}
		}
	}
	if strings.HasSuffix(v.Version, "+dirty") || strings.HasSuffix(v.Version, "-dirty") { // go build's, git describe's
		v.Modified = true
	}
	if base := strings.TrimSuffix(v.Version, "+dirty"); module.IsPseudoVersion(base) {
		if v.Commit == "" {
			v.Commit, _ = module.PseudoVersionRev(base)
		}
		if t, err := module.PseudoVersionTime(base); err == nil && v.Date == "" {
			v.Date = t.UTC().Format(time.RFC3339)
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	return v
}

// String is the --version line: rekwiz v1.2.0 (commit 0123456789ab, 2026-12-02T16:00:00Z).
func (v buildVersion) String() string {
	c := v.Commit
	if c == "" {
		c = "unknown"
	}
	if len(c) > 12 {
		c = c[:12]
	}
	if v.Modified {
		c += ", modified"
	}
	d := v.Date
	if d == "" {
		d = "date unknown"
	}
	return fmt.Sprintf("rekwiz %s (commit %s, %s)", v.Version, c, d)
}
