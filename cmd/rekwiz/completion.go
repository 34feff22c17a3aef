package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rekwiz/rekwiz/flows"
)

// registerCompletions tells the shell completions (rekwiz completion
// bash|zsh|fish|powershell, cobra's) what each flag's value can be: the
// fixed lists come from flows (flows.Choices), the vendor profile is a
// JSON file, and other values are typed, so no file names are offered.
func registerCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		// LocalFlags are the command's own, persistent ones included,
		// so each flag is registered once, where it is defined.
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if fn := flagCompletion(f); fn != nil {
				// The only error is a flag already registered or
				// unknown; flagCompletionsCover tests both cannot be.
				_ = c.RegisterFlagCompletionFunc(f.Name, fn)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// flagCompletion is the completion of flag f's value; nil for a flag
// that takes none (a bool).
func flagCompletion(f *pflag.Flag) cobra.CompletionFunc {
	if f.Value.Type() == "bool" {
		return nil
	}
	if f.Name == "vendor-profile" {
		return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return []cobra.Completion{"json"}, cobra.ShellCompDirectiveFilterFileExt
		}
	}
	values := choiceCompletions(flows.Field(f.Name))
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, v := range values {
			if strings.HasPrefix(v, toComplete) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// choiceCompletions are a field's fixed values, each with what it means
// where there is more to say than the value.
func choiceCompletions(f flows.Field) []cobra.Completion {
	var out []cobra.Completion
	for _, v := range flows.Choices(f) {
		desc := ""
		switch f {
		case flows.FieldProvider:
			if p, err := flows.ParseProvider(v); err == nil {
				desc = p.Title()
			}
		case flows.FieldKey:
			if k, err := flows.ParseKeyChoice(v); err == nil {
				desc = k.Title()
			}
		}
		if desc != "" {
			v = cobra.CompletionWithDesc(v, desc)
		}
		out = append(out, v)
	}
	return out
}

// completionFiles are the shell completion scripts make dist ships, by
// shell, under the names each shell looks for.
var completionFiles = map[string]string{
	"bash":       "rekwiz.bash",
	"zsh":        "_rekwiz",
	"fish":       "rekwiz.fish",
	"powershell": "rekwiz.ps1",
}
