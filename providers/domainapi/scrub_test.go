package domainapi

import "testing"

func TestScrubKeepsSecretsOutOfErrors(t *testing.T) {
	secrets := []string{"rkw_live_0123456789abcdef", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	for in, want := range map[string]string{
		"bad token rkw_live_0123456789abcdef.":           "bad token ****.",
		"secret wJalrXUtnFEMI/K7MDENG cut":               "secret **** cut",
		"ends in …PxRfiCYEXAMPLEKEY":                     "ends in …****",
		"field keyARN: expected arn:aws:kms:REGION:ACCT": "field keyARN: expected arn:aws:kms:REGION:ACCT",
		"short overlap wJalrXU is fine":                  "short overlap wJalrXU is fine",
	} {
		if got := scrub(in, secrets...); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
}
