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
// environment, arguments, umask, process group and ignored signals, and
// runs what /usr/bin/aws runs after the import,
// awscli.clidriver.main(); the caller exits as it did, and a child whose
// caller dies is killed. TestAWSForkIsTheCLI runs commands both ways and
// compares every byte and exit code.
//
// What the import reads of the environment stays as the server read it:
// HOME above all (the CLI's caches and model directories are module
// constants made from ~). So the tests' HOME is one the server shares
// (awsHome: empty, as each test's own was), and the `aws` on the
// tests' PATH is a small client (awsForkClient) that runs /usr/bin/aws
// itself whenever the fork would not be the same program: the server is
// not running, /usr/bin/aws is not the script the server imitates, or
// the caller's HOME, locale, time zone, PYTHON*, OPENSSL_* or resource
// limits differ from the server's. REKWIZ_TEST_AWS_FORK=off turns the
// fork off, and every test runs /usr/bin/aws in a HOME of its own.

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

// awsForkClient is the tests' `aws`. It is a Python program run with -I
// -S (no site packages, no environment variables read: a start of about
// 20 ms) that hands its file descriptors, arguments, working directory,
// environment, umask, process group and ignored signals to the server,
// passes on the signals it is sent, and exits with the child's exit
// code, or dies of the child's signal. Where the fork would not be the
// same program (see above) it execs /usr/bin/aws. Its placeholders:
// the socket, the CLI, the server's environment and its limits.
const awsForkClient = `#!/usr/bin/python3 -IS
# C modules only: their Python wrappers (socket, signal, json) would
# double the start of what runs hundreds of times.
import _signal, _socket, _struct, array, os, resource, sys

SOCK = %s
CLI = %s
SERVER_ENV = %s
SERVER_LIMITS = %s
# What the server's start-up and import read of the environment.
READ = ('HOME', 'LANG', 'LANGUAGE', 'TZ', 'RUAMELDEBUG', 'UNIXCONFDIR', 'APPENGINE_RUNTIME')
READ_PREFIXES = ('LC_', 'PYTHON', 'OPENSSL_')

def real():
    os.execv(CLI, [CLI] + sys.argv[1:])

def imported_with(env):
    return {k: v for k, v in env.items() if k in READ or k.startswith(READ_PREFIXES)}

if imported_with(os.environ) != imported_with(SERVER_ENV):
    real()
for name, limit in SERVER_LIMITS.items():
    if list(resource.getrlimit(getattr(resource, name))) != limit:
        real()
try:
    cwd = os.getcwd()
    for fd in (0, 1, 2):
        os.fstat(fd)
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    conn.connect(SOCK)
except OSError:
    real()
relayed = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT)
ignored = [s for s in relayed + (_signal.SIGUSR1, _signal.SIGUSR2, _signal.SIGALRM)
           if _signal.getsignal(s) == _signal.SIG_IGN]
mask = os.umask(0)
os.umask(mask)
body = repr({'argv': [CLI] + sys.argv[1:], 'env': dict(os.environ), 'cwd': cwd,
             'umask': mask, 'pgid': os.getpgrp(), 'ignored': ignored}).encode('utf-8', 'surrogatepass')
conn.sendmsg([_struct.pack('!i', len(body)) + body],
             [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, array.array('i', [0, 1, 2]))])
os.close(0)  # the child has them now: an end of input is the child's to see
pid = 0
got = b''
while len(got) < 8:
    more = conn.recv(8 - len(got))
    if not more:
        if pid:
            os.kill(pid, _signal.SIGKILL)
        sys.stderr.write('aws (the tests\' forked AWS CLI, fakecloudtest/awsfork.go): the fork server went away\n')
        sys.exit(125)  # a code the AWS CLI never exits with
    got += more
    if len(got) == 4:  # the child's pid: pass on the signals a caller sends
        (pid,) = _struct.unpack('!i', got)
        for s in relayed:
            if s not in ignored:
                _signal.signal(s, lambda n, _f: os.kill(pid, n))
(code,) = _struct.unpack('!i', got[4:])
if code < 0:
    _signal.signal(-code, _signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
`

var awsFork struct {
	once sync.Once
	dir  string // bin/aws (the client), s (the socket), home (the shared HOME)
	err  error
}

// awsForks counts the commands the fork server has run.
var awsForks atomic.Int64

// awsForkDir is the directory of the forked CLI, started on first use
// and running until the test binary ends; "" and an error when it cannot
// run, or the fork is turned off.
func awsForkDir() (string, error) {
	awsFork.once.Do(func() { awsFork.dir, awsFork.err = startAWSFork() })
	return awsFork.dir, awsFork.err
}

// errAWSForkOff: the fork is turned off or does not apply here.
var errAWSForkOff = errors.New("the AWS CLI fork is off")

// maxSocketPath is what a Unix socket's path may hold on Linux (108
// bytes with the terminating NUL), with room to spare.
const maxSocketPath = 100

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
	if len(sock) > maxSocketPath {
		os.RemoveAll(dir)
		return "", fmt.Errorf("%w: the socket's path %s is too long for a Unix socket (TMPDIR)", errAWSForkOff, sock)
	}
	server := filepath.Join(dir, "awsfork.py")
	env := []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + filepath.Join(dir, "home")}
	if err := errors.Join(
		os.WriteFile(server, []byte(awsForkServer), 0o600),
		os.Mkdir(filepath.Join(dir, "home"), 0o700),
		os.Mkdir(filepath.Join(dir, "bin"), 0o700),
	); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	ready := make(chan string, 1)
	failed := make(chan error, 1)
	log := &tailBuffer{max: 16 << 10}
	go func() {
		// As for moto_server, the kernel stops the server when the
		// thread that started it ends, which is when the test binary
		// does; with SIGTERM, on which it removes dir.
		runtime.LockOSThread()
		cmd := exec.Command("/usr/bin/python3", server, sock, dir, AWSCLIPath)
		cmd.Env = env
		cmd.Stderr = log
		out, err := cmd.StdoutPipe()
		if err != nil {
			failed <- err
			return
		}
		newProcessGroup(cmd)
		cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
		if err := cmd.Start(); err != nil {
			failed <- err
			return
		}
		lines := bufio.NewScanner(out)
		limits, ok := "", lines.Scan()
		if ok {
			limits, ok = strings.CutPrefix(lines.Text(), "ready ")
		}
		if !ok {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			failed <- fmt.Errorf("the AWS CLI fork server did not start: %q %v\n%s", lines.Text(), lines.Err(), log.String())
			return
		}
		ready <- limits
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "fork ") {
				awsForks.Add(1)
			}
		}
		_ = cmd.Wait()
	}()
	var limits string
	select {
	case limits = <-ready:
	case err = <-failed:
	case <-time.After(60 * time.Second):
		err = errors.New("the AWS CLI fork server did not start within 60 s")
	}
	if err == nil {
		serverEnv := map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			serverEnv[k] = v
		}
		quote := func(v any) string { b, _ := json.Marshal(v); return string(b) }
		client := fmt.Sprintf(awsForkClient, quote(sock), quote(AWSCLIPath), quote(serverEnv), limits)
		err = os.WriteFile(filepath.Join(dir, "bin", "aws"), []byte(client), 0o700)
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

// awsForkOn is whether the tests' `aws` is the fork: not under -short,
// where no test runs the AWS CLI (RealCLI), nor where it cannot run.
func awsForkOn() (dir string, ok bool) {
	if testing.Short() {
		return "", false
	}
	dir, err := awsForkDir()
	return dir, err == nil
}

// awsPathDir is the directory CLIEnv puts first on PATH for `aws`: the
// fork's, or /usr/bin's.
func awsPathDir() string {
	if dir, ok := awsForkOn(); ok {
		return filepath.Join(dir, "bin")
	}
	return filepath.Dir(AWSCLIPath)
}

// awsHome is the HOME CLIEnv gives the AWS CLI: the fork's (which its
// import read; empty, like own), or own.
func awsHome(own string) string {
	if dir, ok := awsForkOn(); ok {
		return filepath.Join(dir, "home")
	}
	return own
}
