// Package fakecloud is the sandbox, rekwiz's built-in fake cloud: in-process endpoints on
// loopback that speak the real AWS wire protocols, KMS (JSON 1.1), STS and IAM
// (query), so the real SDK and the real AWS CLI exercise the same code
// paths they would against AWS; Azure's Managed HSM, Entra ID and Graph;
// and Google Cloud KMS's REST API with an OAuth token endpoint (gcp*.go). Requests are SigV4-verified, key policies
// are enforced for every caller, and ciphertexts are real AES-GCM bound to
// the key and the encryption context.
//
// State is in memory; identities, key IDs and key material follow the
// seed, so a demo is the same every run. It listens on loopback only and
// its credentials open nothing outside it.
package fakecloud

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

// CustomerAccount is the sandbox customer's AWS account.
const CustomerAccount = "111122223333"

// Options configure a sandbox.
type Options struct {
	// Seed fixes identities, key IDs and key material.
	Seed uint64
	// Vendor is whose account the vendor identity belongs to.
	Vendor flows.Vendor
	// Now is the clock SigV4 checks request times against; nil is time.Now.
	Now func() time.Time
	// Log, when set, gets one line per request: service, operation,
	// caller, outcome. Never a secret.
	Log io.Writer
	// GCPServiceAccount is the vendor's Google service account, which the
	// GCP pairing check runs as; "" is Vendor.GCPServiceAccount, or, when
	// the profile has none, one named after the vendor's slug.
	GCPServiceAccount string
}

// Identity is someone who can call the sandbox.
type Identity struct {
	Name            string // "customer" or "vendor"
	ARN             string
	Account         string
	UserID          string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string

	// Expires is when a session's token stops working; zero never.
	Expires time.Time

	created time.Time // when an IAM user's access key was made
}

func (id *Identity) caller() awspolicy.Caller {
	return awspolicy.Caller{ARN: id.ARN, Account: id.Account}
}

// Sandbox holds the state of the sandbox cloud. It is safe for
// concurrent use.
type Sandbox struct {
	now func() time.Time
	log io.Writer

	mu       sync.Mutex
	rng      *rand.Rand
	seed     [32]byte
	customer *Identity
	vendor   *Identity
	kms      kmsState
	iam      iamState
	az       azureState
	gcp      gcpState
	sessions []*Identity // temporary credentials of the customer
	faults   []Fault
}

// New makes a sandbox with a customer admin and the vendor's identity.
func New(opts Options) *Sandbox {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], opts.Seed)
	copy(seed[8:], "rekwiz sandbox seed")
	s := &Sandbox{
		now:  opts.Now,
		log:  opts.Log,
		rng:  rand.New(rand.NewChaCha8(seed)),
		seed: seed,
		kms:  newKMSState(),
		iam:  newIAMState(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.customer = s.newIdentity("customer", "arn:aws:iam::"+CustomerAccount+":user/admin", CustomerAccount)
	s.vendor = s.newIdentity("vendor", vendorARN(opts.Vendor), opts.Vendor.AWSAccountID)
	s.az = s.newAzure(opts.Vendor.AzureAppID)
	s.gcp = s.newGCP(vendorServiceAccount(cmp.Or(opts.GCPServiceAccount, opts.Vendor.GCPServiceAccount), opts.Vendor.Slug))
	return s
}

// vendorARN is who the pairing check runs as: the profile's principal (a
// session of it, for a role), or a user in the vendor's account.
func vendorARN(v flows.Vendor) string {
	p := v.AWSPrincipalARN
	switch {
	case strings.Contains(p, ":role/"):
		role := p[strings.LastIndex(p, "/")+1:]
		return "arn:aws:sts::" + v.AWSAccountID + ":assumed-role/" + role + "/rekwiz-pairing-check"
	case strings.Contains(p, ":user/"):
		return p
	}
	return "arn:aws:iam::" + v.AWSAccountID + ":user/rekwiz-pairing-check"
}

func (s *Sandbox) newIdentity(name, arn, account string) *Identity {
	return &Identity{
		Name:            name,
		ARN:             arn,
		Account:         account,
		UserID:          "AIDA" + s.randString(16, upperDigits),
		AccessKeyID:     "AKIA" + s.randString(16, upperDigits),
		SecretAccessKey: s.randString(40, secretChars),
	}
}

const (
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"
)

// randString draws from the seeded stream; callers hold mu or are in New.
func (s *Sandbox) randString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// uuid draws a version-4 UUID from the seeded stream; callers hold mu or
// are in New.
func (s *Sandbox) uuid() string {
	return uuid.Must(uuid.NewRandomFromReader(rngReader{s.rng})).String()
}

// rngReader reads the seeded stream as bytes, each Uint64 drawn giving
// eight, little-endian: a UUID is two draws, and a seed gives the IDs it
// always has.
type rngReader struct{ rng *rand.Rand }

func (r rngReader) Read(p []byte) (int, error) {
	var b [8]byte
	for i := 0; i < len(p); i += 8 {
		binary.LittleEndian.PutUint64(b[:], r.rng.Uint64())
		copy(p[i:], b[:])
	}
	return len(p), nil
}

// CustomerSession returns temporary credentials (an ASIA key with a
// session token) of the customer's admin, valid until expires; a time in
// the past gives a session that has expired.
func (s *Sandbox) CustomerSession(expires time.Time) Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newIdentity("customer", s.customer.ARN, CustomerAccount)
	id.AccessKeyID = "ASIA" + id.AccessKeyID[4:]
	id.UserID = s.customer.UserID
	id.SessionToken = "IQoJb3JpZ2luX2VjE" + s.randString(120, secretChars)
	id.Expires = expires
	s.sessions = append(s.sessions, id)
	return *id
}

// Customer is the customer's admin, who runs the setup script.
func (s *Sandbox) Customer() Identity { return *s.customer }

// Vendor is the vendor's identity, which the pairing check runs as.
func (s *Sandbox) Vendor() Identity { return *s.vendor }

func (s *Sandbox) identityByKey(akid string) *Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range []*Identity{s.customer, s.vendor} {
		if id.AccessKeyID == akid {
			return id
		}
	}
	for _, u := range s.iam.users {
		for _, k := range u.keys {
			if k.AccessKeyID == akid {
				return k
			}
		}
	}
	for _, id := range s.sessions {
		if id.AccessKeyID == akid {
			return id
		}
	}
	return nil
}

// ServeHTTP serves the AWS APIs, routed by the service the request was
// signed for (or, unsigned, by its shape).
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	host := r.Host
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	if isAzureHost(host) {
		s.serveAzure(w, r, body)
		return
	}
	if isGCPRequest(r) {
		s.serveGCP(w, r, body)
		return
	}
	switch serviceOf(r) {
	case "kms":
		s.serveKMS(w, r, body)
	case "sts":
		s.serveSTS(w, r, body)
	case "iam":
		s.serveIAM(w, r, body)
	default:
		http.Error(w, "the rekwiz sandbox serves KMS, STS and IAM only", http.StatusBadRequest)
	}
}

func serviceOf(r *http.Request) string {
	if _, scope, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		if parts := strings.Split(scope, "/"); len(parts) >= 4 {
			return parts[3]
		}
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "TrentService.") {
		return "kms"
	}
	return "sts"
}

func (s *Sandbox) logf(format string, args ...any) {
	if s.log != nil {
		fmt.Fprintf(s.log, format+"\n", args...)
	}
}
