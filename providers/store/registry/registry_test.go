package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fsutil"
)

func target(t *testing.T) flows.Target {
	t.Helper()
	a, _, err := flows.ParseAliasARN("arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme")
	if err != nil {
		t.Fatal(err)
	}
	return flows.Target{
		Provider: flows.AWSServiceAccount, Domain: "dm-LCAJVnUE94B", AliasARN: a,
		AccessKeyID: "AKIA3ZMK73YH4FBPMAID", SecretAccessKey: "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",
	}
}

func TestRegisterWritesAtomicallyWithTightModes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "conf", "rekwiz", FileName)
	r := Open(path)
	rc, err := r.Register(context.Background(), target(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rc.RekID, "rek-") || !strings.Contains(rc.Where, FileName) {
		t.Fatalf("receipt %+v", rc)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", st.Mode().Perm())
	}
	dst, _ := os.Stat(filepath.Dir(path))
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", dst.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "gYFUPA1b") {
		t.Fatal("secret access key written to the registry")
	}
	for _, want := range []string{`"version": 1`, `"providerName": "aws_sa"`, `"keyARN": "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("registry lacks %s:\n%s", want, b)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".registry-*"))
	if len(leftovers) != 0 {
		t.Errorf("temp files left: %v", leftovers)
	}
	// Same key again: same ID, one entry.
	rc2, err := r.Register(context.Background(), target(t))
	if err != nil || rc2.RekID != rc.RekID {
		t.Fatalf("re-register: %v %v", rc2, err)
	}
	e, ok, err := r.Lookup("dm-LCAJVnUE94B")
	if err != nil || !ok || e.RekID != rc.RekID {
		t.Fatalf("lookup: %+v %v %v", e, ok, err)
	}
}

func TestCorruptFileIsReportedAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	for _, body := range []string{"{not json", `{"version": 99, "domains": {}}`} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path).Register(context.Background(), target(t))
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v, want ErrCorrupt naming the path", err)
		}
		if b, _ := os.ReadFile(path); string(b) != body {
			t.Fatal("corrupt file was overwritten")
		}
	}
}

func TestWriteFailureLeavesNoHalfFile(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "config")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil { // a file where the directory should be
		t.Fatal(err)
	}
	_, err := Open(filepath.Join(blocker, "rekwiz", FileName)).Register(context.Background(), target(t))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(blocker, "rekwiz")) {
		t.Fatalf("err = %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files left behind: %v", entries)
	}
}

// TestConcurrentRegistrationsAllLand registers 24 domains at once, each
// from its own Registry (as separate wizards would): under the lock no
// read-modify-write is lost.
func TestConcurrentRegistrationsAllLand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rekwiz", "registry.json")
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := range 24 {
		wg.Go(func() {
			tg := target(t)
			tg.Domain = fmt.Sprintf("dm-CONCURREN%02d", i)
			if _, err := Open(path).Register(context.Background(), tg); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range 24 {
		if _, ok, err := Open(path).Lookup(fmt.Sprintf("dm-CONCURREN%02d", i)); !ok || err != nil {
			t.Fatalf("domain %d was lost (%v)", i, err)
		}
	}
}

// TestLockHeldElsewhereIsReported: while another holder keeps the lock,
// a registration gives up after its wait, saying why, and writes nothing.
func TestLockHeldElsewhereIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rekwiz", "registry.json")
	unlock, err := fsutil.Lock(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Open(path).Register(ctx, target(t)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("the registry was written without the lock")
	}
}

// TestDuplicateKeysAreRefusedNotResolved: with encoding/json the second
// keyARN, differing only in case, silently won.
func TestDuplicateKeysAreRefusedNotResolved(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	body := `{"version":1,"domains":{"dm-LCAJVnUE94B":{"rekID":"rek-1","providerName":"aws_am","keyARN":"arn:aws:kms:us-east-1:111122223333:alias/a","KeyARN":"arn:aws:kms:us-east-1:666666666666:alias/b"}}}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := Open(path).Lookup("dm-LCAJVnUE94B")
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), `"KeyARN": given twice`) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, path)
	done := make(chan error, 1)
	go func() { _, err := Open(path).Register(context.Background(), target(t)); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("FIFO: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a FIFO registry hangs")
	}
}

func TestReplacesSaysWhatADifferentKeyReplaces(t *testing.T) {
	r := Open(filepath.Join(t.TempDir(), "registry.json"))
	first := replaceTarget(t, "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme")
	if _, ok, err := r.Replaces(first); ok || err != nil {
		t.Fatalf("an empty registry replaces something: %v %v", ok, err)
	}
	rec, err := r.Register(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.Replaces(first); ok || err != nil {
		t.Fatalf("the same key again replaces: %v %v", ok, err)
	}
	other := replaceTarget(t, "arn:aws:kms:eu-west-1:111122223333:alias/dm-LCAJVnUE94B/acme")
	old, ok, err := r.Replaces(other)
	if err != nil || !ok || old.RekID != rec.RekID || old.Key() != first.AliasARN.String() {
		t.Fatalf("replaces %+v %v %v", old, ok, err)
	}
}

func replaceTarget(t *testing.T, alias string) flows.Target {
	t.Helper()
	a, _, err := flows.ParseAliasARN(alias)
	if err != nil {
		t.Fatal(err)
	}
	return flows.Target{Domain: "dm-LCAJVnUE94B", Provider: flows.AWSDelegated, AliasARN: a}
}
