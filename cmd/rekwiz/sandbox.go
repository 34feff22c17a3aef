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
		Short: "Run the sandbox cloud in the foreground, for the AWS CLI, gcloud and the AWS, Azure and Google SDKs",
		Long: `Runs rekwiz's sandbox on 127.0.0.1 until interrupted: AWS KMS, STS and IAM;
for Azure, Managed HSM keys and role assignments, Entra ID's token
endpoint and Graph on their real host names; and Google Cloud KMS (REST
v1) with an OAuth token endpoint. It prints the environment that points
the AWS CLI and SDKs, gcloud and the Google SDK at it, as the customer
and as the vendor.

AWS_ENDPOINT_URL reaches it directly; for AWS CLIs older than 2.13, which
ignore that variable, HTTPS_PROXY and AWS_CA_BUNDLE route *.amazonaws.com
to it. The same proxy serves Azure's key, token and Graph hosts (with the
printed CA) to an Azure SDK client that goes through it.

For Google Cloud, gcloud reads CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS
(and ..._CLOUDRESOURCEMANAGER, for a project's IAM policy),
CLOUDSDK_AUTH_ACCESS_TOKEN, CLOUDSDK_CORE_PROJECT and CLOUDSDK_CONFIG (an
empty directory, so your own gcloud accounts are never used). The Google
SDK reads GOOGLE_APPLICATION_CREDENTIALS, a service-account key file the
sandbox writes whose token_uri is the sandbox's, and rekwiz reads the
Cloud KMS endpoint from REKWIZ_GCP_KMS_ENDPOINT. The project ` + fakecloud.GCPProject + `
has a key ring ` + fakecloud.GCPDemoKeyRing + ` in ` + fakecloud.GCPLocation + ` with an existing key, ` + fakecloud.GCPDemoKey + `.

State is in memory; the files are removed when it stops.`,
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
	sb.SeedGCPDemo()
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
		title, gcpTitle string
		id              fakecloud.Identity
		gcp             fakecloud.GCPIdentity
	}{
		{"the customer, admin of account " + fakecloud.CustomerAccount + ": run setup scripts as this",
			"owner of project " + fakecloud.GCPProject, sb.Customer(), sb.GCPCustomer()},
		{"the vendor (" + v.Name + ", account " + v.AWSAccountID + "): what the pairing check runs as",
			"holding only what bindings give it", sb.Vendor(), sb.GCPVendor()},
	} {
		gcpEnv, err := sandboxGCPEnv(sb, srv, who.gcp, dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\n# As %s:\n", who.title)
		fmt.Fprintf(out, "export %s\n", strings.Join(srv.Env(who.id, demoRegion, ca), " \\\n  "))
		fmt.Fprintf(out, "# Google Cloud (gcloud and the Go SDK), as %s, %s:\n", who.gcp.Email, who.gcpTitle)
		fmt.Fprintf(out, "export %s\n", strings.Join(gcpEnv, " \\\n  "))
	}
	fmt.Fprintln(out, "\n# Requests are logged on stderr.")
	// Until ctrl+c, SIGINT, SIGTERM or SIGHUP (a closed terminal): then
	// the deferred calls stop the server and remove the CA bundle, and
	// rekwiz exits 130 like every other command.
	<-cmd.Context().Done()
	return cmd.Context().Err()
}

// gcpEndpointEnv names the variable that points rekwiz's Google Cloud KMS
// client at another endpoint (the sandbox's); gcloud has its own,
// CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS.
const gcpEndpointEnv = "REKWIZ_GCP_KMS_ENDPOINT"

// sandboxGCPEnv writes id's service-account key file and an empty gcloud
// configuration directory under dir and returns the environment for
// gcloud and the Google SDK.
func sandboxGCPEnv(sb *fakecloud.Sandbox, srv *fakecloud.Server, id fakecloud.GCPIdentity, dir string) ([]string, error) {
	key, err := sb.GCPServiceAccountJSON(id, srv.GCPTokenURL())
	if err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, id.Name+"-gcp-key.json")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		return nil, err
	}
	config := filepath.Join(dir, id.Name+"-gcloud")
	if err := os.Mkdir(config, 0o700); err != nil {
		return nil, err
	}
	return append(srv.GCPEnv(id, config),
		"GOOGLE_APPLICATION_CREDENTIALS="+keyFile,
		gcpEndpointEnv+"="+srv.GCPKMSEndpoint()), nil
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
