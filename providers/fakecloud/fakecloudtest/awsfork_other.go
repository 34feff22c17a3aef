//go:build !linux

package fakecloudtest

import "path/filepath"

// The forked AWS CLI (awsfork.go) is built for Linux, where Debian's
// awscli is: elsewhere `aws` is /usr/bin's, in the test's own HOME.

func awsPathDir() string { return filepath.Dir(AWSCLIPath) }

func awsHome(own string) string { return own }
