// Package installtest runs scripts/install.sh end to end, as a customer
// pipes it into sh, against make dist's archives served on 127.0.0.1.
// It has no code of its own: only the test.
package installtest
