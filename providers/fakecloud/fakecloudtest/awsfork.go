//go:build linux

package fakecloudtest

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The AWS CLI v2 of Debian's awscli package is a Python script: most of
// each start (about 0.5 s of CPU in 0.7 s) is importing the CLI, the same
// every time. The script tests run it hundreds of times, which alone
// took more CPU than a make test of 90 s has on this machine's two
// cores. So the tests' `aws` is the real CLI imported once per test
// binary and forked for each command (awsfork.py): the child takes the
// caller's standard input, output and error, working directory,
// environment and arguments and runs what /usr/bin/aws runs after the
// import, awscli.clidriver.main(), and the caller exits as it did.
// TestAWSForkIsTheCLI runs commands both ways and compares every byte
// and exit code.
//
// The `aws` on the tests' PATH (CLIEnv) is a small client (awsForkClient)
// that runs /usr/bin/aws itself whenever the fork would not be the same
// program: the fork server is not running, /usr/bin/aws is not the
// script the server imitates, or the caller's locale, time zone or
// Python variables (which Python reads when it starts, before any of the
// CLI's code) differ from the server's. REKWIZ_TEST_AWS_FORK=off turns
// the fork off and every test runs /usr/bin/aws.

//go:embed awsfork.py
var awsForkServer string

// awsForkScript is /usr/bin/aws as Debian's awscli 2.x installs it, the
// part that runs: the server does the same (awsfork.py). Any other
// /usr/bin/aws (another packaging, a later change) is run as it is.
var awsForkScript = []string{
	"#!/usr/bin/python3",
	"import sys",
	"import os",
	"if os.environ.get('LC_CTYPE', '') == 'UTF-8':",
	"    os.environ['LC_CTYPE'] = 'en_US.UTF-8'",
	"import awscli.clidriver",
	"def main():",
	"    return awscli.clidriver.main()",
	"if __name__ == '__main__':",
	"    sys.exit(main())",
}

// awsForkServerEnv is the server's whole environment: Python's start-up
// reads these (and nothing else of the environment that the CLI would
// not read again in the child).
var awsForkServerEnv = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}

// awsForkClient is the tests' `aws`. It is a Python program run with -I
// -S (no site packages, no environment variables read: a start of about
// 20 ms) that hands its file descriptors, arguments, working directory
// and environment to the server and exits with the child's exit code,
// or dies of the child's signal. Where the fork would not be the same
// program (see above) it execs /usr/bin/aws.
const awsForkClient = `#!/usr/bin/python3 -IS
import array, json, os, signal, socket, struct, sys

SOCK = %s
CLI = %s
SERVER_ENV = %s

def real():
    os.execv(CLI, [CLI] + sys.argv[1:])

def python_reads(env):
    return {k: v for k, v in env.items()
            if k in ('LANG', 'LANGUAGE', 'TZ') or k.startswith('LC_') or k.startswith('PYTHON')}

if python_reads(os.environ) != python_reads(SERVER_ENV):
    real()
try:
    cwd = os.getcwd()
    for fd in (0, 1, 2):
        os.fstat(fd)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(SOCK)
except OSError:
    real()
body = json.dumps({'argv': [CLI] + sys.argv[1:], 'env': dict(os.environ), 'cwd': cwd}).encode()
conn.sendmsg([struct.pack('!i', len(body)) + body],
             [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [0, 1, 2]))])
os.close(0)  # the child has them now: an end of input is the child's to see
got = b''
while len(got) < 8:
    more = conn.recv(8 - len(got))
    if not more:
        sys.stderr.write('aws (rekwiz test fork): the fork server went away\n')
        sys.exit(255)
    got += more
    if len(got) == 4:  # the child's pid: pass on the signals a caller sends
        (pid,) = struct.unpack('!i', got)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, lambda n, _f, pid=pid: os.kill(pid, n))
(code,) = struct.unpack('!i', got[4:])
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
`

// awsForks counts the commands the fork server has run.
var awsForks atomic.Int64

var awsFork struct {
	once sync.Once
	dir  string // holds `aws` (the client) and the server's socket
	err  error
}

// awsForkDir is the directory whose `aws` is the forked CLI, started on
// first use and running until the test binary ends; "" and an error
// when it cannot run, or the fork is turned off.
func awsForkDir() (string, error) {
	awsFork.once.Do(func() { awsFork.dir, awsFork.err = startAWSFork() })
	return awsFork.dir, awsFork.err
}

// errAWSForkOff: the fork is turned off or does not apply here.
var errAWSForkOff = errors.New("the AWS CLI fork is off")

func startAWSFork() (string, error) {
	if os.Getenv("REKWIZ_TEST_AWS_FORK") == "off" {
		return "", errAWSForkOff
	}
	if !isForkableCLI(AWSCLIPath) {
		return "", fmt.Errorf("%w: %s is not the Debian awscli script the fork imitates", errAWSForkOff, AWSCLIPath)
	}
	dir, err := os.MkdirTemp("", "rekwiz-aws-")
	if err != nil {
		return "", err
	}
	sock := filepath.Join(dir, "s")
	server := filepath.Join(dir, "awsfork.py")
	env := map[string]string{}
	for _, kv := range awsForkServerEnv {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	quote := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	client := fmt.Sprintf(awsForkClient, quote(sock), quote(AWSCLIPath), quote(env))
	if err := errors.Join(
		os.WriteFile(server, []byte(awsForkServer), 0o600),
		os.WriteFile(filepath.Join(dir, "aws"), []byte(client), 0o700),
	); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	ready := make(chan error, 1)
	log := &tailBuffer{max: 16 << 10}
	go func() {
		// As for moto_server, the kernel stops the server when the
		// thread that started it ends, which is when the test binary
		// does; with SIGTERM, on which it removes dir.
		runtime.LockOSThread()
		cmd := exec.Command("/usr/bin/python3", server, sock, dir, AWSCLIPath)
		cmd.Env = awsForkServerEnv
		cmd.Stderr = log
		out, err := cmd.StdoutPipe()
		if err != nil {
			ready <- err
			return
		}
		newProcessGroup(cmd)
		cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
		if err := cmd.Start(); err != nil {
			ready <- err
			return
		}
		lines := bufio.NewScanner(out)
		if !lines.Scan() || lines.Text() != "ready" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			ready <- fmt.Errorf("the AWS CLI fork server did not start: %q %v\n%s", lines.Text(), lines.Err(), log.String())
			return
		}
		ready <- nil
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "fork ") {
				awsForks.Add(1)
			}
		}
		_ = cmd.Wait()
	}()
	select {
	case err = <-ready:
	case <-time.After(60 * time.Second):
		err = errors.New("the AWS CLI fork server did not start within 60 s")
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// isForkableCLI: path is the script awsfork.py imitates (comments and
// blank lines aside).
func isForkableCLI(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var code []string
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimRight(l, " \t\r")
		if l == "" || (i > 0 && strings.HasPrefix(strings.TrimSpace(l), "#")) {
			continue
		}
		code = append(code, l)
	}
	return strings.Join(code, "\n") == strings.Join(awsForkScript, "\n")
}

// awsPathDir is the directory CLIEnv puts first on PATH for `aws`: the
// fork's, or /usr/bin's when the fork cannot run or no test will run it.
func awsPathDir() string {
	if testing.Short() { // no test runs the AWS CLI (RealCLI)
		return filepath.Dir(AWSCLIPath)
	}
	if dir, err := awsForkDir(); err == nil {
		return dir
	}
	return filepath.Dir(AWSCLIPath)
}
