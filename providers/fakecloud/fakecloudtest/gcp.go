package fakecloudtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rekwiz/rekwiz/providers/fakecloud"
)

// GcloudPath is the Google Cloud CLI from the Debian package google-cloud-cli.
const GcloudPath = "/usr/bin/gcloud"

// Gcloud returns gcloud's path. Without it the test is skipped, except
// under CI (CI=true), where it fails: the machine image must have it (it
// is not in the configured apt sources, so .ci/run cannot install it).
func Gcloud(t testing.TB) string {
	t.Helper()
	return Tool(t, GcloudPath, "google-cloud-cli")
}

// GcloudEnv is an environment in which gcloud reaches the sandbox as id
// and nothing else: an empty HOME and a fresh CLOUDSDK_CONFIG, so the
// machine's gcloud accounts and properties are never read.
func (e *Env) GcloudEnv(t testing.TB, id fakecloud.GCPIdentity) []string {
	t.Helper()
	dir, err := os.MkdirTemp(filepath.Dir(e.Home), "gcloud-config-")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{
		"HOME=" + e.Home,
		"PATH=" + os.Getenv("PATH"),
		"LANG=C.UTF-8",
	}, e.Server.GCPEnv(id, dir)...)
}

// GCPCredentialsFile writes id's service-account key (token_uri the
// sandbox's) to a file only the test can read and returns its path, for
// GOOGLE_APPLICATION_CREDENTIALS or the SDK's credentials-file option.
func (e *Env) GCPCredentialsFile(t testing.TB, id fakecloud.GCPIdentity) string {
	t.Helper()
	b, err := e.GCPServiceAccountJSON(id, e.Server.GCPTokenURL())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(filepath.Dir(e.Home), id.Name+"-gcp-key.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
