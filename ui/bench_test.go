package ui

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// BenchmarkKeystroke is one keystroke's Update and View at 120x40 on each
// step: the work between a key and its frame. Each step alternates two
// keys that undo each other (a letter and backspace where the step takes
// typing, down and up elsewhere), so every iteration does the same work.
// The target is under 1 ms on every step.
func BenchmarkKeystroke(b *testing.B) {
	stops := map[string]stop{}
	for _, s := range tour() {
		stops[s.name] = s
	}
	for _, bench := range []struct {
		step, stop string
		keys       [2]string
	}{
		{"domain", "domain-typed", [2]string{"a", "backspace"}},
		{"provider", "provider", [2]string{"down", "up"}},
		{"key", "key", [2]string{"down", "up"}},
		{"key-details", "key-details", [2]string{"a", "backspace"}},
		{"script", "script", [2]string{"down", "up"}},
		{"paste", "paste", [2]string{"a", "backspace"}},
		{"setup", "script-set-up", [2]string{"down", "up"}},
		{"apply", "apply", [2]string{"down", "up"}},
		{"check", "check-failed", [2]string{"down", "up"}},
		{"done", "done", [2]string{"down", "up"}},
	} {
		b.Run(bench.step, func(b *testing.B) {
			s, ok := stops[bench.stop]
			if !ok {
				b.Fatalf("no stop %q in the tour", bench.stop)
			}
			d := s.reach(b)
			d.send(tea.WindowSizeMsg{Width: 120, Height: 40})
			step := d.m.Flow().Step()
			keys := [2]tea.KeyPressMsg{keyPress(bench.keys[0]), keyPress(bench.keys[1])}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				d.m.Update(keys[i%2])
				_ = d.m.View()
			}
			b.StopTimer()
			if got := d.m.Flow().Step(); got != step {
				b.Fatalf("the keys moved the wizard from %s to %s", step, got)
			}
		})
	}
}

// BenchmarkFirstScreen is the wizard's work before its first frame: New
// and the first View at 80x24, on the domain step (the demo's first
// screen) and on the provider step (`rekwiz --domain …`).
func BenchmarkFirstScreen(b *testing.B) {
	for _, bench := range []struct {
		name    string
		presets map[flows.Field]string
	}{
		{"domain", nil},
		{"provider", map[flows.Field]string{flows.FieldDomain: domain}},
	} {
		b.Run(bench.name, func(b *testing.B) {
			deps, _ := testDeps(b, &fakePairer{results: passing})
			b.ReportAllocs()
			for b.Loop() {
				flow := newFlow(b, bench.presets)
				_ = New(flow, deps).View()
			}
		})
	}
}
