package ui

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/rekwiz/rekwiz/flows"
)

// A tour of the wizard's screens: every step, in each of its modes,
// reached from the start as a customer reaches it. The tests below hold
// for every stop.
type stop struct {
	name string
	// typing: the screen takes typed text, so letters go into it rather
	// than being keys.
	typing bool
	reach  func(t testing.TB) *driver
}

// blockingSetup is a set-up that runs until it is stopped.
type blockingSetup struct{}

func (b *blockingSetup) Run(ctx context.Context, _ flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	report(flows.SetupEvent{Call: "kms create-key", Detail: "created key 1234"})
	<-ctx.Done()
	return flows.SetupResult{}, ctx.Err()
}

func tour() []stop {
	at := func(presets map[flows.Field]string, deps func(testing.TB) Deps, w, h int, keys ...string) func(testing.TB) *driver {
		return func(t testing.TB) *driver {
			d := newDriver(t, newFlow(t, presets), deps(t), w, h)
			d.blocked = 100 * time.Millisecond // for work kept running on purpose
			d.key(keys...)
			return d
		}
	}
	plain := func(t testing.TB) Deps { deps, _ := testDeps(t, &fakePairer{results: passing}); return deps }
	demo := func(setup Setuper) func(testing.TB) Deps {
		return func(t testing.TB) Deps {
			deps := plain(t)
			deps.Demo = true
			deps.Pairing[flows.AWSServiceAccount] = deps.Pairing[flows.AWSDelegated]
			deps.Setup[flows.AWSDelegated] = setup
			return deps
		}
	}
	longScript := func(t testing.TB) Deps {
		deps := plain(t)
		deps.RenderScript = func(flows.SetupSpec) (string, error) {
			return strings.Repeat("echo a line of the script\n", 60), nil
		}
		return deps
	}
	withPairer := func(p func() Pairer) func(testing.TB) Deps {
		return func(t testing.TB) Deps { deps := plain(t); deps.Pairing[flows.AWSDelegated] = p(); return deps }
	}
	withRegistry := func(r func() Registrar) func(testing.TB) Deps {
		return func(t testing.TB) Deps { deps := plain(t); deps.Registry = r(); return deps }
	}
	saved := func(t testing.TB) Deps { deps, _ := resumeDeps(t, savedDomains()); return deps }

	script := map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1"}
	apply := map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN}
	sa := map[flows.Field]string{"domain": domain, "provider": "aws-service-account", "key": "new"}
	done := &fakeSetup{
		events: []flows.SetupEvent{{Call: "kms create-key", Detail: "created key 1234"}},
		res:    flows.SetupResult{Paste: map[flows.Field]string{flows.FieldAliasARN: aliasARN}},
	}
	failed := &fakeSetup{err: errors.New("kms create-key: AccessDeniedException")}
	failing := func() Pairer {
		return &fakePairer{results: []flows.Check{
			{ID: "aws.alias", Name: "Alias resolves to a key", Status: flows.StatusFail, Detail: "no alias",
				Remedy: "run: aws kms create-alias --alias-name alias/x --target-key-id 1234", Fix: flows.StepScript},
		}}
	}
	blocking := func() Pairer {
		return &manyChecks{blockingPairer{started: make(chan struct{}), stopped: make(chan struct{})}}
	}
	replacing := func() Registrar {
		return &replacingRegistry{old: Registration{RekID: "rek-00000000000000aa", Provider: "aws_am", Key: "arn:aws:kms:eu-west-1:111122223333:alias/x"}}
	}
	refusing := func() Registrar { return &fakeRegistry{err: errors.New("registry file is not readable")} }
	dup := func() Registrar { return &dupRegistry{} }

	return []stop{
		{name: "domain", typing: true, reach: at(nil, plain, 80, 24)},
		{name: "domain-typed", typing: true, reach: at(nil, plain, 80, 24, "d", "m", "-")},
		{name: "domain-small", typing: true, reach: at(nil, plain, 50, 16)},
		{name: "provider", reach: at(nil, plain, 80, 24, "d", "m", "-", "L", "C", "A", "J", "V", "n", "U", "E", "9", "4", "B", "enter")},
		{name: "provider-last", reach: at(map[flows.Field]string{"domain": domain}, plain, 80, 24, "down", "down")},
		{name: "provider-paged", reach: at(map[flows.Field]string{"domain": domain}, plain, 50, 16)},
		{name: "key", reach: at(map[flows.Field]string{"domain": domain, "provider": "aws-delegated"}, plain, 80, 24)},
		{name: "key-details", typing: true, reach: at(sa, plain, 80, 24)},
		{name: "script", reach: at(script, plain, 80, 24)},
		{name: "script-long", reach: at(script, longScript, 80, 24)},
		{name: "script-long-small", reach: at(script, longScript, 50, 16)},
		{name: "script-demo", reach: at(script, demo(done), 80, 24)},
		{name: "script-naming", typing: true, reach: at(script, plain, 80, 24, "s")},
		{name: "script-consent", reach: at(script, demo(done), 80, 24, "r")},
		{name: "script-setting-up", reach: at(script, demo(&blockingSetup{}), 80, 24, "r", "y")},
		{name: "script-set-up", reach: at(script, demo(done), 80, 24, "r", "y")},
		{name: "script-set-up-failed", reach: at(script, demo(failed), 80, 24, "r", "y")},
		{name: "paste", typing: true, reach: at(script, plain, 80, 24, "enter")},
		{name: "apply", reach: at(apply, plain, 80, 24, "enter")},
		{name: "apply-replacing", reach: at(apply, withRegistry(replacing), 50, 16, "enter")},
		{name: "apply-failed", reach: at(apply, withRegistry(refusing), 80, 24, "enter")},
		{name: "apply-registered-already", reach: at(apply, withRegistry(dup), 80, 24, "enter")},
		{name: "check-running", reach: at(apply, withPairer(blocking), 50, 16, "enter", "enter")},
		{name: "check-failed", reach: at(apply, withPairer(failing), 80, 24, "enter", "enter")},
		{name: "check-passed", reach: at(apply, plain, 80, 24, "enter", "enter")},
		{name: "done", reach: at(apply, plain, 80, 24, "enter", "enter", "enter")},
		{name: "done-small", reach: at(apply, plain, 50, 16, "enter", "enter", "enter")},
		{name: "resume", reach: at(nil, saved, 80, 24)},
		{name: "resume-small", reach: at(nil, saved, 50, 16)},
		{name: "resume-start-over", reach: at(map[flows.Field]string{"domain": "dm-AAAAAAAAAAA"}, saved, 80, 24, "down", "down", "enter")},
	}
}

// TestViewChangesNothing: drawing a screen twice draws the same, and
// leaves the model as it was, on every stop of the tour, with the short
// help and with the full help.
func TestViewChangesNothing(t *testing.T) {
	t.Parallel()
	for _, s := range tour() {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			d := s.reach(t)
			for _, full := range []bool{false, true} {
				if full {
					d.key("?")
				}
				before := dump(d.m)
				first := d.m.View().Content
				after := dump(d.m)
				second := d.m.View().Content
				if first != second {
					t.Fatalf("full help %v: the second View differs:\n%s\n---\n%s", full, ansi.Strip(first), ansi.Strip(second))
				}
				if before != after || after != dump(d.m) {
					t.Fatalf("full help %v: View changed the model:\n%s", full, firstDiff(before, after))
				}
			}
		})
	}
}

// TestFullHelpShowsEveryKey: on every stop, each key the screen reacts
// to (it changes what is shown, moves the flow, or asks for something)
// is in the full help ? shows, and all of the full help is on screen.
func TestFullHelpShowsEveryKey(t *testing.T) {
	t.Parallel()
	nav := []string{"enter", "esc", "tab", "shift+tab", "up", "down", "pgup", "pgdown", "left", "right", "home", "end", "backspace", "ctrl+u"}
	var letters []string
	for _, r := range "abcdefghijklmnopqrstuvwxyzG" {
		letters = append(letters, string(r))
	}
	others := []string{"space"}
	for _, s := range tour() {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			keys := nav
			if !s.typing {
				keys = append(append(append([]string{}, nav...), others...), letters...)
			}
			h := s.reach(t)
			short := h.screen()
			h.key("?")
			screen := h.screen()
			screenFits(t, h, h.m.width, h.m.height)
			if !strings.Contains(strings.Join(strings.Fields(screen), " "), "? fewer keys") {
				t.Fatalf("? did not open the full help:\n%s", screen)
			}
			footer := screen[strings.LastIndex(screen, "─")+len("─"):]
			shown := map[string]bool{}
			for _, tok := range strings.Fields(footer) {
				shown[tok] = true
			}
			bound := map[string]bool{}
			for _, b := range h.m.fullKeys() {
				if !shown[b.Help().Key] {
					t.Errorf("the full help lacks %q (%s):\n%s", b.Help().Key, b.Help().Desc, screen)
				}
				for _, k := range strings.Split(b.Help().Key, "/") {
					bound[k] = true
				}
			}
			h.key("?")
			if got := h.screen(); got != short {
				t.Errorf("? again did not close the full help:\n%s\nwant:\n%s", got, short)
			}
			names := map[string]string{"up": "↑", "down": "↓", "pgdown": "pgdn", "left": "←", "right": "→"}
			d := s.reach(t)
			for _, k := range keys {
				// A key that did something is tried on a fresh screen;
				// one that did nothing leaves the screen as it was.
				before, step, sent := drawn(d), d.m.Flow().Step(), effects(d)
				d.key(k)
				if !d.quit && drawn(d) == before && d.m.Flow().Step() == step && effects(d) == sent {
					continue
				}
				d = s.reach(t)
				name := k
				if n, ok := names[k]; ok {
					name = n
				}
				if !bound[name] {
					t.Errorf("%s does something here, and the full help does not say so:\n%s", k, screen)
				}
			}
		})
	}
}

// drawn is what the screen shows, as drawn by the last change: the
// current screen's view and where it is scrolled to.
func drawn(d *driver) string { return fmt.Sprint(d.m.scroll, "\n", d.m.body) }

// effects counts the messages the wizard sent out of itself (a copy to
// the clipboard), not those between its own parts.
func effects(d *driver) int {
	n := 0
	for _, m := range d.received {
		if !strings.HasPrefix(fmt.Sprintf("%T", m), "ui.") {
			n++
		}
	}
	return n
}

// dump writes out everything reachable from v, following pointers once,
// so that two dumps differ when anything in the model changed. The
// command's context and locks are left out: background work uses them
// on its own goroutines.
func dump(v any) string {
	var b strings.Builder
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value, depth int)
	skip := func(t reflect.Type) bool {
		pkg := t.PkgPath()
		return pkg == "sync" || pkg == "sync/atomic" || t == reflect.TypeFor[context.Context]() ||
			t == reflect.TypeFor[Deps]() || t == reflect.TypeFor[*progressLog]()
	}
	walk = func(v reflect.Value, depth int) {
		if !v.IsValid() {
			b.WriteString("invalid")
			return
		}
		if skip(v.Type()) {
			b.WriteString(v.Type().String())
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				b.WriteString("nil")
				return
			}
			if seen[v.Pointer()] {
				fmt.Fprintf(&b, "&%x", v.Pointer())
				return
			}
			seen[v.Pointer()] = true
			b.WriteString("&")
			walk(v.Elem(), depth+1)
		case reflect.Interface:
			if v.IsNil() {
				b.WriteString("nil")
				return
			}
			b.WriteString(v.Elem().Type().String() + ":")
			walk(v.Elem(), depth+1)
		case reflect.Struct:
			b.WriteString("{")
			for i := range v.NumField() {
				b.WriteString(v.Type().Field(i).Name + ":")
				walk(v.Field(i), depth+1)
				b.WriteString(" ")
			}
			b.WriteString("}")
		case reflect.Slice, reflect.Array:
			b.WriteString("[")
			for i := range v.Len() {
				walk(v.Index(i), depth+1)
				b.WriteString(" ")
			}
			b.WriteString("]")
		case reflect.Map:
			var entries []string
			for _, k := range v.MapKeys() {
				var e strings.Builder
				saved := b
				b = strings.Builder{}
				walk(k, depth+1)
				b.WriteString("=")
				walk(v.MapIndex(k), depth+1)
				e.WriteString(b.String())
				b = saved
				entries = append(entries, e.String())
			}
			sort.Strings(entries)
			b.WriteString("map[" + strings.Join(entries, " ") + "]")
		case reflect.Func, reflect.Chan, reflect.UnsafePointer:
			fmt.Fprintf(&b, "%s@%x", v.Kind(), v.Pointer())
		case reflect.String:
			fmt.Fprintf(&b, "%q", v.String())
		case reflect.Bool:
			fmt.Fprint(&b, v.Bool())
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			fmt.Fprint(&b, v.Int())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			fmt.Fprint(&b, v.Uint())
		case reflect.Float32, reflect.Float64:
			fmt.Fprint(&b, v.Float())
		case reflect.Complex64, reflect.Complex128:
			fmt.Fprint(&b, v.Complex())
		default:
			b.WriteString(v.Kind().String())
		}
	}
	walk(reflect.ValueOf(v), 0)
	return b.String()
}

// firstDiff shows where two dumps part.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(i-300, 0)
	return "before: …" + a[from:min(i+200, len(a))] + "\nafter:  …" + b[from:min(i+200, len(b))]
}
