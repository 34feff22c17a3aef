package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
)

func TestSaveLoadLatestDelete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rekwiz", "sessions")
	s := Open(dir)
	if _, ok, err := s.Latest(); ok || err != nil {
		t.Fatalf("empty store: %v %v", ok, err)
	}
	a := flows.Snapshot{Domain: "dm-AAAAAAAAAAA", Step: flows.StepPaste, Values: map[flows.Field]string{"provider": "aws-delegated"}, Saved: time.Unix(100, 0).UTC()}
	b := flows.Snapshot{Domain: "dm-BBBBBBBBBBB", Step: flows.StepScript, Values: map[flows.Field]string{"provider": "aws-delegated"}, Saved: time.Unix(200, 0).UTC()}
	for _, snap := range []flows.Snapshot{a, b} {
		if err := s.Save(snap); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "dm-AAAAAAAAAAA.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v %v", fi.Mode(), err)
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", di.Mode())
	}
	got, ok, err := s.Load("dm-AAAAAAAAAAA")
	if !ok || err != nil || got.Step != flows.StepPaste || got.Values["provider"] != "aws-delegated" {
		t.Fatalf("load: %+v %v %v", got, ok, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "dm-AAAAAAAAAAA.json"))
	if !strings.Contains(string(raw), `"step": "paste"`) || !strings.Contains(string(raw), `"version": 1`) {
		t.Fatalf("file:\n%s", raw)
	}
	if latest, _, _ := s.Latest(); latest.Domain != b.Domain {
		t.Fatalf("latest %s", latest.Domain)
	}
	// A damaged file is reported, left alone, and the others still load.
	bad := filepath.Join(dir, "dm-CCCCCCCCCCC.json")
	os.WriteFile(bad, []byte("{not json"), 0o600)
	latest, ok, err := s.Latest()
	if !ok || latest.Domain != b.Domain || err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("with a bad file: %v %v %v", latest.Domain, ok, err)
	}
	if b, _ := os.ReadFile(bad); string(b) != "{not json" {
		t.Fatal("the bad file was changed")
	}
	if err := s.Delete(b.Domain); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Load(b.Domain); ok {
		t.Fatal("deleted progress still loads")
	}
	if err := s.Save(flows.Snapshot{Domain: "../../etc/passwd"}); err == nil {
		t.Fatal("a path in the domain was accepted")
	}
}

func TestDuplicateKeysAreRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dm-AAAAAAAAAAA.json")
	if err := os.WriteFile(p, []byte(`{"version":1,"domain":"dm-AAAAAAAAAAA","step":3,"values":{"region":"us-east-1","Region":"eu-west-1"},"saved":"2026-01-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, ok, err := Open(dir).Load("dm-AAAAAAAAAAA")
	if ok || err == nil || !strings.Contains(err.Error(), `"values"."Region": given twice`) || !strings.Contains(err.Error(), p) {
		t.Fatalf("%v %v", ok, err)
	}
}

func TestControlCharactersAreRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dm-AAAAAAAAAAA.json")
	if err := os.WriteFile(p, []byte(`{"version":1,"domain":"dm-AAAAAAAAAAA","step":"paste","values":{"company":"x\u001b]52;c;AAAA\u0007"},"saved":"2026-01-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, ok, err := Open(dir).Load("dm-AAAAAAAAAAA")
	if ok || err == nil || !strings.Contains(err.Error(), "control characters") || strings.ContainsRune(err.Error(), 0x1b) {
		t.Fatalf("%v %v", ok, err)
	}
}

func TestAllListsEveryDomainNewestFirst(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "sessions"))
	if all, err := s.All(); len(all) != 0 || err != nil {
		t.Fatalf("empty store: %v %v", all, err)
	}
	for i, d := range []string{"dm-AAAAAAAAAAA", "dm-CCCCCCCCCCC", "dm-BBBBBBBBBBB"} {
		if err := s.Save(flows.Snapshot{Domain: d, Step: flows.StepScript, Saved: time.Unix(int64(100*(i+1)), 0).UTC()}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.All()
	if err != nil || len(all) != 3 || all[0].Domain != "dm-BBBBBBBBBBB" || all[1].Domain != "dm-CCCCCCCCCCC" || all[2].Domain != "dm-AAAAAAAAAAA" {
		t.Fatalf("all: %+v %v", all, err)
	}
}
