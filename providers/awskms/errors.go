package awskms

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strings"

	"github.com/aws/smithy-go"
)

// problem is an AWS error said for a person: what is wrong, and the fix.
type problem struct {
	detail string
	remedy string
	action string // the KMS action refused, when the error names one
}

var notAuthorizedRE = regexp.MustCompile(`not authorized to perform: (kms:[A-Za-z]+)`)

// explain turns an SDK error into one sentence and a remedy. subject is
// what the call was about ("alias arn:…"), for the sentence.
func explain(err error, subject string) problem {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg := ae.ErrorCode(), ae.ErrorMessage()
		switch code {
		case "AccessDeniedException":
			p := problem{detail: "access denied: " + msg}
			if m := notAuthorizedRE.FindStringSubmatch(msg); m != nil {
				p.action = m[1]
				p.detail = "the key policy does not allow " + m[1]
				if strings.Contains(msg, "explicit deny") {
					p.detail = "an explicit Deny in the key policy refuses " + m[1]
				}
			}
			return p
		case "NotFoundException":
			return problem{detail: subject + " was not found: " + msg, remedy: "check the alias ARN's region and account, or run the setup script (it creates the alias)"}
		case "DisabledException":
			return problem{detail: "the key is disabled", remedy: "enable it: aws kms enable-key --key-id KEY_ID"}
		case "KMSInvalidStateException":
			return problem{detail: "the key is in a state that refuses use: " + msg}
		case "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "InvalidSignatureException", "SignatureDoesNotMatch":
			return problem{detail: "the AWS credentials were refused (" + code + ")",
				remedy: "sign in again (aws sso login, or fresh keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), then retry"}
		case "ThrottlingException":
			return problem{detail: "KMS is throttling requests", remedy: "wait a minute and retry"}
		}
		return problem{detail: code + ": " + msg}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return problem{detail: "AWS did not answer in time", remedy: "check the network and retry"}
	}
	var dns *net.DNSError
	var op *net.OpError
	if errors.As(err, &dns) || errors.As(err, &op) {
		return problem{detail: "could not reach AWS: " + err.Error(), remedy: "check the network, the region, and AWS_ENDPOINT_URL if set"}
	}
	return problem{detail: err.Error()}
}
