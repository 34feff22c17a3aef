//go:build !linux

package fakecloudtest

import "path/filepath"

// awsPathDir is /usr/bin's: the forked AWS CLI (awsfork.go) is built
// for Linux, where Debian's awscli is.
func awsPathDir() string { return filepath.Dir(AWSCLIPath) }
