// Package gcpkms is rekwiz's Google Cloud KMS provider (gcp-delegated):
// the set-up the script does, made through Cloud KMS's API ("set it up
// for me"), and the pairing check that proves the vendor's service
// account can encrypt and decrypt with the customer's key, and no more.
//
// It never disables, destroys or schedules the destruction of a key
// version, never removes a binding or a label, and writes a key's IAM
// policy only by adding the vendor's member, with the etag of the policy
// it read (a conflicting write is retried from a fresh read).
//
// # The client: Cloud KMS's REST API through golang.org/x/oauth2/google
//
// Credentials are golang.org/x/oauth2/google's Application Default
// Credentials. The calls (about ten of Cloud KMS v1's REST methods and
// Resource Manager's projects.getIamPolicy) are made by client.go over
// net/http with the JSON field names of the discovery document; a test
// sends each request through Google's generated client
// (google.golang.org/api/cloudkms/v1) too and compares the two on the
// wire. Neither Google client fits the size budget (the binary may grow
// by at most 6 MB). Measured on rekwiz at cefac00, go 1.26, linux/amd64,
// `go build -o /tmp/x ./cmd/rekwiz` with a tiny use of each (credentials,
// get, IAM get/set, encrypt, decrypt, patch, create):
//
//	base                                   37,491,321 bytes
//	cloud.google.com/go/kms v1.37.0 (REST)  +11,549,265 (+11.0 MiB), 120 more package inits, 690 KB allocated at init
//	google.golang.org/api/cloudkms/v1       + 9,093,589 (+8.7 MiB),   93 more package inits, 363 KB allocated at init
//	golang.org/x/oauth2/google alone        +   342,222 (+0.3 MiB),    2 more package inits,  22 KB allocated at init
//
// Both clients link gRPC, protobuf and OpenTelemetry through their
// transport (google.golang.org/api/transport/http imports s2a-go, which
// imports gRPC), even for REST; cloudkms.New(httpClient) links the same
// (9,092,217 bytes more). Package inits cost about 3 ms (api) and 3-5 ms
// (kms) of start-up at GODEBUG=inittrace=1. What rekwiz needs of Cloud
// KMS is small enough to make over net/http: this package, linked into
// rekwiz with the same go.mod, adds 676,279 bytes and 3 package inits
// (0.1 ms, 24 KB); the go.mod upgrades of golang.org/x/net, crypto, sys
// and text that google.golang.org/api (a test dependency, for the wire
// comparison) brings add 393,418 more, 1,069,697 bytes (1.0 MiB) in all.
//
// # Who reads what
//
// The vendor's role, roles/cloudkms.cryptoKeyEncrypterDecrypter, lets it
// encrypt and decrypt, not read the key, its labels or its IAM policy.
// So the check splits the work by whose credentials allow it, and grants
// the vendor nothing more:
//   - the customer's credentials (Config.Customer: Application Default
//     Credentials in `rekwiz` and `rekwiz verify`, the sandbox's admin in
//     the demo) read the key (purpose, primary version, labels) and the
//     IAM policies of the key, its key ring and the project;
//   - the vendor's service account (Config.Vendor, the demo's: in
//     production it is the vendor's own, which rekwiz does not hold)
//     makes the Encrypt → Decrypt round trip, and asks Cloud KMS which
//     permissions it holds on the key (testIamPermissions, which needs no
//     permission): that catches a wider role inherited from a folder or
//     organization, which no policy the customer read shows.
//
// Without Config.Vendor the round trip runs as the customer, proving the
// key works; the vendor's access is then judged from the policies.
package gcpkms

import "github.com/rekwiz/rekwiz/flows"

// Kit is what the Google Cloud provider gives the flow: the set-up ("set
// it up for me", as the customer) and the pairing check. A nil Setup
// leaves set-up to the script.
type Kit struct {
	Setup   *Setup
	Pairing *Pairing
}

// Serves reports whether p is Google Cloud's.
func (Kit) Serves(p flows.Provider) bool { return p.Cloud() == flows.CloudGCP }

// SetupFor is the set-up of p, when p is Google Cloud's and the kit has
// one.
func (k Kit) SetupFor(p flows.Provider) (*Setup, bool) {
	return k.Setup, k.Serves(p) && k.Setup != nil
}

// PairingFor is the pairing check of p, when p is Google Cloud's and the
// kit has one.
func (k Kit) PairingFor(p flows.Provider) (*Pairing, bool) {
	return k.Pairing, k.Serves(p) && k.Pairing != nil
}
