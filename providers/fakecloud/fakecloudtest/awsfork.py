# The AWS CLI v2, imported once and forked for each command: the fork
# server behind fakecloudtest's `aws` (see awsfork.go).
#
# /usr/bin/aws is: a fix to LC_CTYPE, `import awscli.clidriver`, then
# sys.exit(awscli.clidriver.main()). The import is most of each start
# (about 0.5 s of CPU in 0.7 s); this process makes it once, and then,
# for each command a client sends, forks a child that becomes the
# client's command: its standard input, output and error, working
# directory, environment, arguments, umask, process group and ignored
# signals; then it runs the rest of /usr/bin/aws: main(), sys.exit, the
# interpreter's own shutdown. The client exits as the child did.
#
# What the import reads of the environment is fixed in the server: HOME
# (the CLI's caches and model directories are module constants made
# from ~, and Python's user site-packages), the locale, TZ, PYTHON*,
# OPENSSL_* and a few variables its libraries read on import. The client
# compares those with the server's and runs /usr/bin/aws itself when
# any differs, and so when its resource limits differ (see awsfork.go).
# The import's own change to the environment (awscli/__init__.py puts
# the CLI's data directory on AWS_DATA_PATH) is made again in each child
# over the client's environment.
#
# Protocol, on a Unix stream socket: the client sends a 4-byte length and
# that many bytes of a Python literal (UTF-8, surrogates passed) {"argv",
# "env", "cwd", "umask", "pgid", "ignored"}, with its file descriptors 0, 1 and 2 attached (SCM_RIGHTS)
# to the first bytes; the server answers with the child's pid as 4
# bytes, and with the child's exit code as 4 more (negative: killed by
# that signal) once it has ended. A child whose client goes away (its
# end of the connection closes first) kills itself.
#
# Usage: python3 awsfork.py SOCKET DIR CLI. It prints "ready LIMITS"
# (its resource limits, JSON) once it listens, and "fork PID" for each
# command. On SIGTERM the server removes DIR (which holds SOCKET) and
# ends.

import array
import ast
import gc
import json
import os
import resource
import shutil
import signal
import socket
import struct
import sys
import threading

SOCK_PATH, DIR, CLI = sys.argv[1:4]

# Listen before the import: a socket that cannot be made fails at once.
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(SOCK_PATH)
srv.listen(128)

# A script's own directory comes first on its module path: the CLI's
# imports see what they see when CLI runs, not this file's directory.
sys.path[0] = os.path.dirname(CLI)

if os.environ.get('LC_CTYPE', '') == 'UTF-8':
    os.environ['LC_CTYPE'] = 'en_US.UTF-8'
import awscli
import awscli.clidriver
import awscli.handlers  # imported by main() through its plugins: import it once here

_DATA = os.path.join(os.path.dirname(os.path.abspath(awscli.__file__)), 'data')

LIMITS = {name: resource.getrlimit(getattr(resource, name))
          for name in sorted(dir(resource)) if name.startswith('RLIMIT_')}


def data_path(env):
    """AWS_DATA_PATH as awscli/__init__.py leaves it, for env."""
    paths = []
    if 'AWS_DATA_PATH' in env:
        for p in env['AWS_DATA_PATH'].split(os.pathsep):
            paths.append(os.path.expanduser(os.path.expandvars(p)))
    paths.append(_DATA)
    return os.pathsep.join(paths)


def read_request(conn):
    fds = array.array('i')
    data, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    while len(data) < 4:
        more = conn.recv(65536)
        if not more:
            raise EOFError('short request')
        data += more
    (n,) = struct.unpack('!i', data[:4])
    body = data[4:]
    while len(body) < n:
        more = conn.recv(65536)
        if not more:
            raise EOFError('short request')
        body += more
    return ast.literal_eval(body.decode('utf-8', 'surrogatepass')), list(fds)


def watch(conn):
    """Ends this child when its client is gone: the client only ever
    closes the connection after the child has ended, or when it dies."""
    try:
        while conn.recv(1):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGKILL)


def run_child(req, fds, conn):
    """Becomes the client's `aws` command; never returns."""
    for i, fd in enumerate(fds):
        os.dup2(fd, i)
        os.close(fd)
    os.chdir(req['cwd'])
    env = dict(req['env'])
    env['AWS_DATA_PATH'] = data_path(env)
    os.environ.clear()
    os.environ.update(env)
    if os.environ.get('LC_CTYPE', '') == 'UTF-8':
        os.environ['LC_CTYPE'] = 'en_US.UTF-8'
    os.umask(req['umask'])
    try:
        os.setpgid(0, req['pgid'])  # a kill of the caller's group reaches it
    except OSError:
        pass
    for s in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(s, signal.SIG_DFL)
    for s in req['ignored']:
        signal.signal(s, signal.SIG_IGN)
    # Python makes stdout line-buffered on a terminal when it starts; the
    # server's stdout was a pipe.
    sys.stdout.reconfigure(line_buffering=os.isatty(1))
    threading.Thread(target=watch, args=(conn,), daemon=True).start()
    sys.argv = req['argv']
    sys.exit(awscli.clidriver.main())


def main():
    waiting = {}  # child pid -> the client's connection

    def reap(*_):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = waiting.pop(pid, None)
            if conn is not None:
                try:
                    conn.sendall(struct.pack('!i', os.waitstatus_to_exitcode(status)))
                except OSError:
                    pass
                conn.close()

    def stop(*_):
        shutil.rmtree(DIR, ignore_errors=True)
        os._exit(0)

    signal.signal(signal.SIGCHLD, reap)
    signal.signal(signal.SIGTERM, stop)
    # The import's objects go where the cyclic garbage collector never
    # looks (gc.freeze, made for servers that fork): a child's
    # collections, and the one at its exit, would otherwise write to
    # every object and copy all of the server's memory (about 0.09 s of
    # CPU of each command's 0.2). Nothing frozen is garbage: it is what
    # the import keeps, which the CLI uses until it exits.
    gc.freeze()
    print('ready', json.dumps(LIMITS), flush=True)
    while True:
        conn, _ = srv.accept()
        try:
            req, fds = read_request(conn)
        except (OSError, EOFError, ValueError, SyntaxError):
            conn.close()
            continue
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
        pid = os.fork()
        if pid == 0:
            srv.close()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
            run_child(req, fds, conn)
        waiting[pid] = conn
        try:
            conn.sendall(struct.pack('!i', pid))
        except OSError:
            pass
        print('fork', pid, flush=True)  # counted by awsfork.go, for its tests
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
        for fd in fds:
            os.close(fd)


main()
