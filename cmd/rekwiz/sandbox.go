package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/vendorprofile"
	"github.com/rekwiz/rekwiz/ui/termtext"
)

type sandboxOptions struct {
	IO     *IOStreams
	Listen string
	Seed   uint64
}

func newSandboxCmd(ios *IOStreams) *cobra.Command {
	o := &sandboxOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the sandbox cloud in the foreground, for the AWS CLI and the AWS and Azure SDKs",
		Long: `Runs rekwiz's sandbox on 127.0.0.1 until interrupted: AWS KMS, STS and IAM,
and, for Azure, Managed HSM keys and role assignments, Entra ID's token
endpoint and Graph on their real host names. It prints the environment
that points the AWS CLI and SDKs at it, as the customer and as the vendor.
AWS_ENDPOINT_URL reaches it directly; for AWS CLIs older than 2.13, which
ignore that variable, HTTPS_PROXY and AWS_CA_BUNDLE route *.amazonaws.com
to it. The same proxy serves Azure's key, token and Graph hosts (with the
printed CA) to an Azure SDK client that goes through it. State is in
memory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSandbox(cmd, o) },
	}
	cmd.Flags().StringVar(&o.Listen, "listen", "127.0.0.1:0", "loopback `address` to listen on (port 0 picks a free one)")
	cmd.Flags().Uint64Var(&o.Seed, "seed", demoSeed, "the seed: the same seed gives the same IDs and credentials")
	return cmd
}

func runSandbox(cmd *cobra.Command, o *sandboxOptions) error {
	v := vendorprofile.Default()
	// The request log shows what clients sent (paths, headers): escaped.
	sb := fakecloud.New(fakecloud.Options{Seed: o.Seed, Vendor: v, Log: escapingWriter{o.IO.Err}})
	srv, err := sb.Start(o.Listen)
	if err != nil {
		return &exitError{code: exitUsage, msg: "--listen: " + err.Error()}
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "rekwiz-sandbox-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, srv.CACert, 0o600); err != nil {
		return err
	}
	out := o.IO.Out
	fmt.Fprintf(out, "# rekwiz sandbox on %s (seed %d). Ctrl-C stops it.\n", srv.URL, o.Seed)
	for _, who := range []struct {
		title string
		id    fakecloud.Identity
	}{
		{"the customer, admin of account " + fakecloud.CustomerAccount + ": run setup scripts as this", sb.Customer()},
		{"the vendor (" + v.Name + ", account " + v.AWSAccountID + "): what the pairing check runs as", sb.Vendor()},
	} {
		fmt.Fprintf(out, "\n# As %s:\n", who.title)
		fmt.Fprintf(out, "export %s\n", strings.Join(srv.Env(who.id, demoRegion, ca), " \\\n  "))
	}
	fmt.Fprintln(out, "\n# Requests are logged on stderr.")
	// Until ctrl+c, SIGINT, SIGTERM or SIGHUP (a closed terminal): then
	// the deferred calls stop the server and remove the CA bundle, and
	// rekwiz exits 130 like every other command.
	<-cmd.Context().Done()
	return cmd.Context().Err()
}

// escapingWriter escapes for the terminal what is written through it,
// one write (a log line) at a time.
type escapingWriter struct{ w io.Writer }

func (e escapingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(e.w, termtext.Text(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
