package fakecloud

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// signed is what a verified SigV4 signature says about a request.
type signed struct {
	id      *Identity
	region  string
	service string
}

// authError is why a request's signature was refused, in the words AWS
// uses; code is mapped per protocol (KMS and STS name them differently).
type authError struct {
	kind    authKind
	message string
}

type authKind int

const (
	authMissing  authKind = iota // no Authorization header
	authUnknown                  // unknown access key or session token
	authMismatch                 // signature does not match
	authExpired                  // request time too far from now
	authMalformed
	authTokenExpired // a session whose token has expired
)

const sigv4Algorithm = "AWS4-HMAC-SHA256"

// verify checks the request's SigV4 signature against the identities the
// sandbox knows, as AWS does: same canonical request, same derived key.
func (s *Sandbox) verify(r *http.Request, body []byte, now time.Time) (signed, *authError) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return signed{}, &authError{authMissing, "Missing Authentication Token"}
	}
	rest, ok := strings.CutPrefix(auth, sigv4Algorithm+" ")
	if !ok {
		return signed{}, &authError{authMalformed, "Only " + sigv4Algorithm + " signatures are supported."}
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 || cred[4] != "aws4_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return signed{}, &authError{authMalformed, "Authorization header requires Credential, SignedHeaders and Signature."}
	}
	akid, date, region, service := cred[0], cred[1], cred[2], cred[3]

	id := s.identityByKey(akid)
	if id == nil {
		return signed{}, &authError{authUnknown, "The security token included in the request is invalid."}
	}
	if tok := r.Header.Get("X-Amz-Security-Token"); tok != id.SessionToken {
		return signed{}, &authError{authUnknown, "The security token included in the request is invalid."}
	}
	if id.SessionToken != "" && !id.Expires.IsZero() && !now.Before(id.Expires) {
		return signed{}, &authError{authTokenExpired, "The security token included in the request is expired"}
	}

	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, date) {
		return signed{}, &authError{authMalformed, "X-Amz-Date is missing or does not match the credential scope date."}
	}
	if d := now.Sub(t); d > 15*time.Minute || d < -15*time.Minute {
		return signed{}, &authError{authExpired, "Signature expired: " + amzDate + " is now earlier or later than " +
			now.UTC().Format("20060102T150405Z") + " (15 min skew allowed)."}
	}

	signedHeaders := strings.Split(fields["SignedHeaders"], ";")
	canonical := canonicalRequest(r, body, signedHeaders)
	scope := date + "/" + region + "/" + service + "/aws4_request"
	toSign := sigv4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hexSHA256([]byte(canonical))
	key := hmacSHA256([]byte("AWS4"+id.SecretAccessKey), date)
	for _, p := range []string{region, service, "aws4_request"} {
		key = hmacSHA256(key, p)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return signed{}, &authError{authMismatch, "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
	return signed{id: id, region: region, service: service}, nil
}

func canonicalRequest(r *http.Request, body []byte, signedHeaders []string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(canonicalURI(r.URL) + "\n")
	b.WriteString(canonicalQuery(r.URL.RawQuery) + "\n")
	for _, h := range signedHeaders {
		b.WriteString(h + ":" + headerValue(r, h) + "\n")
	}
	b.WriteString("\n" + strings.Join(signedHeaders, ";") + "\n")
	if p := r.Header.Get("X-Amz-Content-Sha256"); p != "" {
		b.WriteString(p)
	} else {
		b.WriteString(hexSHA256(body))
	}
	return b.String()
}

// canonicalURI encodes the already-escaped path once more, segment by
// segment, as SigV4 does for every service but S3.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = uriEncode(s)
	}
	return strings.Join(segs, "/")
}

func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var pairs []kv
	for _, part := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(part, "=")
		dk, _ := url.QueryUnescape(k)
		dv, _ := url.QueryUnescape(v)
		pairs = append(pairs, kv{uriEncode(dk), uriEncode(dv)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.k + "=" + p.v
	}
	return strings.Join(out, "&")
}

// uriEncode percent-encodes everything but RFC 3986's unreserved characters.
func uriEncode(s string) string {
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&15])
	}
	return b.String()
}

func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return r.Host
	case "content-length":
		if v := r.Header.Get("Content-Length"); v != "" {
			return v
		}
		return strconv.FormatInt(r.ContentLength, 10)
	}
	vals := slices.Clone(r.Header.Values(name))
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
