"""One warm parent for a pool's kernels: imports once, forks a kernel per request (Linux).

Each kernel of a pool (`execute.KernelPool`) used to start Python, import ipykernel, then
pandas, matplotlib and seaborn for the chapters: about a second of CPU per kernel, paid again
for every kernel. Here one process, started with the pool's environment, does those imports
once, moves their objects out of the collector's reach (`gc.freeze`), and forks a kernel for
each request; a child shares the parent's memory pages until it writes to them.

jupyter_client still starts and manages every kernel the usual way, through a kernel spec (see
`kernel_spec_argv`) whose command is a small stub, not Python with ipykernel:

- the stub connects to the server's Unix socket (in the pool's private 0700 folder) and sends
  the connection file jupyter_client wrote; the server forks; the child runs ipykernel on that
  connection file and keeps the accepted connection open, the server closes its copy;
- the stub then waits on the connection: it ends when the kernel ends (the connection closes),
  and the kernel ends when the stub ends (a watcher thread sees the connection close), so
  jupyter_client's kill, shutdown and polling act on the stub exactly as on a kernel process;
- the stub passes SIGINT and SIGTERM on to its kernel, and ends if its own parent (the build)
  dies, as ipykernel's parent poller does for a kernel; the server ends when the build dies.

Forking is safe here because nothing before the fork starts a thread or a ZMQ context:
imports only. Elsewhere than Linux, the pool starts kernels directly (`execute.USE_FORK`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading

# The stub jupyter_client runs as "the kernel": a few standard-library imports, no package.
STUB = r"""
import json, os, signal, socket, sys, time
parent = int(os.environ.get("JPY_PARENT_PID") or os.getppid())  # the build, even if already gone
deadline = time.monotonic() + 60
while True:  # the server binds its socket as it starts: a stub may come first
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(sys.argv[1])
        break
    except (FileNotFoundError, ConnectionRefusedError):
        conn.close()
        if time.monotonic() > deadline or os.getppid() != parent:
            sys.exit(1)
        time.sleep(0.01)
conn.sendall((json.dumps({"connection_file": sys.argv[2]}) + "\n").encode())
reply = b""
while not reply.endswith(b"\n"):
    chunk = conn.recv(64)
    if not chunk:
        sys.exit(1)
    reply += chunk
kernel = int(reply)
def relay(signum, _frame):
    try:
        os.kill(kernel, signum)
    except OSError:
        pass
signal.signal(signal.SIGINT, relay)
signal.signal(signal.SIGTERM, relay)
conn.settimeout(1.0)
while True:
    try:
        if not conn.recv(1):
            break
    except socket.timeout:
        if os.getppid() != parent:
            relay(signal.SIGKILL, None)
            break
    except InterruptedError:
        continue
"""


def kernel_spec_argv(python: str, server_socket: str) -> list[str]:
    return [python, "-c", STUB, server_socket, "{connection_file}"]


def _warm() -> None:
    """What every kernel imports before its first chapter: ipykernel, then `execute.warm_up`
    (the chapters' imports, then `gc.freeze`, so the children share those pages untouched)."""
    import ipykernel.kernelapp  # noqa: F401

    from . import execute

    execute.warm_up()


def _watch(conn: socket.socket) -> None:
    """In a kernel: end the process when its stub is gone."""
    try:
        while conn.recv(1):
            pass
    except OSError:
        pass
    os._exit(0)


def _kernel(conn: socket.socket, connection_file: str, extra: list[str]) -> None:
    """In the forked child: run ipykernel on the connection file, as `ipykernel_launcher -f`."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    threading.Thread(target=_watch, args=(conn,), name="dxreport-stub-watch", daemon=True).start()
    from ipykernel.kernelapp import IPKernelApp

    argv = ["-f", connection_file, *extra]
    sys.argv = ["ipykernel_launcher", *argv]
    app = IPKernelApp.instance()
    app.initialize(argv)
    app.start()


def _read_request(conn: socket.socket) -> dict:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("stub went away")
        data += chunk
        if len(data) > 65536:
            raise ValueError("request too long")
    return json.loads(data)


def serve(path: str, parent: int, extra: list[str]) -> None:
    """Answer stubs until the build (`parent`) is gone."""
    if os.getppid() != parent:  # it died before this process began
        os._exit(0)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)  # in the pool's private folder: only this user reaches it
    server.listen(16)  # stubs may connect now; they are answered once the imports are done
    _warm()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kernels are reaped by the system
    server.settimeout(1.0)
    while True:
        if os.getppid() != parent:  # the build died: nothing will ask again
            os._exit(0)
        try:
            conn, _ = server.accept()
        except socket.timeout:
            continue
        try:
            conn.settimeout(10.0)
            request = _read_request(conn)
            conn.settimeout(None)
            connection_file = str(request["connection_file"])
        except (OSError, ValueError, KeyError, ConnectionError):
            conn.close()
            continue
        pid = os.fork()
        if pid == 0:
            server.close()
            code = 1
            try:
                _kernel(conn, connection_file, extra)
                code = 0
            finally:
                os._exit(code)
        try:
            conn.sendall(f"{pid}\n".encode())
        except OSError:
            os.kill(pid, signal.SIGKILL)
        conn.close()


if __name__ == "__main__":
    # as ipykernel's launcher does: the working folder is not on the path while modules load
    # (IPython puts it back when each kernel starts)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    serve(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
