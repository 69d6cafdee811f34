"""Worker servers and the pool that hands exercises to them.

A :class:`WorkerServer` is one fork server (``grader/worker/server.py``)
started by a :class:`~grader.sandbox.Launcher`, with a result pipe that only
the grader and that server hold. What comes back is read with bounds (a
header line of at most :data:`MAX_HEADER` bytes, a payload of at most the
server's own cap) and handed on as bytes: decoding and judging are
``grader/verdicts.py``'s job.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable

from grader.cgroup import Cgroup
from grader.sandbox import WORKER_ENV, Launcher, worker_config
from grader.worker.wire import MAX_PAYLOAD

#: Extra seconds the grader waits for a worker server beyond the exercise's limit.
SERVER_GRACE = 10.0
#: Seconds a server may take to start (a sandbox, Python, NumPy) before it counts as failed.
START_TIMEOUT = 60.0
MAX_HEADER = 64 << 10
#: The most calls to dependencies the grader answers for one exercise.
MAX_ASKS = 100_000
#: Computes the answer (a JSON-able document) to a child's ask (bytes it sent).
Answer = Callable[[bytes], dict]


class ServerFailed(RuntimeError):
    """A worker server did not start; the message says what its launcher printed."""


class WorkerServer:
    """One fork server, its result pipe and, where one can be made, its cgroup.

    A sandboxed server is held (bubblewrap's ``--block-fd``) until its first
    process is in the cgroup, so that everything it ever starts is counted.
    """

    def __init__(self, launch: Launcher, memory_mb: int = 1024) -> None:
        rfd, wfd = os.pipe()
        self.errors = _ErrorLog()
        self.cgroup = Cgroup.create(memory_mb) if launch.sandboxed else None
        held: tuple[int, ...] = ()
        extra: tuple[str, ...] = ()
        if self.cgroup is not None:
            info_r, info_w = os.pipe()
            block_r, block_w = os.pipe()
            held, extra = (info_w, block_r), ("--info-fd", str(info_w), "--block-fd", str(block_r))
        try:
            self.proc = subprocess.Popen(
                launch.command(wfd, json.dumps({**worker_config(launch.host), "run": str(launch.staging)}), extra),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self.errors.wfd,
                pass_fds=(wfd, *held),
                env=dict(WORKER_ENV),
                start_new_session=True,
                cwd="/",
                **launch.popen_options(),
            )
        except OSError as exc:
            os.close(rfd)
            self._release(held)
            raise ServerFailed(f"could not start: {exc}") from None
        finally:
            os.close(wfd)
            self.errors.close_writer()
        self.rfd = rfd
        self.buffer = bytearray()
        self.hello: dict | None = None
        if self.cgroup is not None:
            self._enter_cgroup(info_r, info_w, block_r, block_w)

    def _enter_cgroup(self, info_r: int, info_w: int, block_r: int, block_w: int) -> None:
        """Move the sandbox's first process into the cgroup, then let it run."""
        os.close(info_w)
        os.close(block_r)
        try:
            data = b""
            deadline = time.monotonic() + START_TIMEOUT
            while b"child-pid" not in data or not data.rstrip().endswith(b"}"):
                ready, _, _ = select.select([info_r], [], [], max(0.0, deadline - time.monotonic()))
                chunk = os.read(info_r, 4096) if ready else b""
                if not chunk or len(data) > MAX_HEADER:
                    raise ServerFailed(self.errors.text() or "the sandbox did not start")
                data += chunk
            self.cgroup.add(int(json.loads(data)["child-pid"]))
            os.write(block_w, b"1")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.close(kill=True)
            raise ServerFailed(f"could not put the sandbox in its cgroup: {exc}") from None
        finally:
            self._release((info_r, block_w))

    @staticmethod
    def _release(fds) -> None:
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def wait_ready(self) -> dict:
        """The server's hello (what isolation it set up); ServerFailed if it never came."""
        try:
            line = self._read(None, time.monotonic() + START_TIMEOUT)
            hello = json.loads(line)["hello"]
            if not isinstance(hello, dict):
                raise ValueError("malformed hello")
        except (OSError, ValueError, KeyError, TypeError, TimeoutError, EOFError) as exc:
            self.close(kill=True)
            raise ServerFailed(self.errors.text() or str(exc)) from None
        self.hello = hello
        return hello

    def _read(self, n: int | None, deadline: float) -> bytes:
        """``n`` bytes (or, with None, a line without its newline) before ``deadline``."""
        buf = self.buffer
        while True:
            if n is None:
                end = buf.find(b"\n")
                if end >= 0:
                    line = bytes(buf[:end])
                    del buf[: end + 1]
                    return line
                if len(buf) > MAX_HEADER:
                    raise ValueError("header line too long")
            elif len(buf) >= n:
                data = bytes(buf[:n])
                del buf[:n]
                return data
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no answer in time")
            ready, _, _ = select.select([self.rfd], [], [], remaining)
            if ready:
                chunk = os.read(self.rfd, 1 << 20)
                if not chunk:
                    raise EOFError("the worker server exited")
                buf += chunk

    def run(self, request: dict, answer: Answer | None = None) -> tuple[dict, bytes]:
        """Send one request; its header and payload. Every line that comes back must
        carry the request's own random id, so nothing but the server's answer to
        *this* request is ever taken for it. Before the header, the child may ask
        (``{"ask": nbytes, "id"}`` and its bytes): ``answer`` computes each reply
        (see grader/dependencies.py); without it, every ask is refused."""
        child_deadline = time.monotonic() + float(request["timeout"])
        deadline = child_deadline + SERVER_GRACE
        request = {**request, "id": secrets.token_hex(16)}
        self.proc.stdin.write(json.dumps(request, allow_nan=False).encode() + b"\n")
        self.proc.stdin.flush()
        asks = 0
        while True:
            header = json.loads(self._read(None, deadline))
            if type(header) is not dict or header.get("id") != request["id"]:
                raise ValueError("an answer to another request")
            if "ask" not in header:
                break
            size = header["ask"]
            if type(size) is not int or not 0 <= size <= MAX_PAYLOAD:
                raise ValueError("malformed ask")
            data = self._read(size, deadline)
            asks += 1
            if answer is None or asks > MAX_ASKS or time.monotonic() > child_deadline:
                # past the child's deadline nobody waits for the answer: none is computed
                reply = {
                    "error": "refused: no dependency is answered here"
                    if answer is None
                    else "refused: too many calls"
                    if asks > MAX_ASKS
                    else "refused: too late"
                }
            else:
                reply = answer(data)
            self.proc.stdin.write(json.dumps({"answer": reply, "id": request["id"]}, allow_nan=False).encode() + b"\n")
            self.proc.stdin.flush()
        nbytes = header.get("nbytes")
        if type(nbytes) is not int or not 0 <= nbytes <= MAX_PAYLOAD:
            raise ValueError("malformed header")
        return header, self._read(nbytes, deadline)

    def close(self, kill: bool = False) -> None:
        if kill:
            _killpg(self.proc.pid)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            _killpg(self.proc.pid)
            self.proc.wait()
        try:
            os.close(self.rfd)
        except OSError:
            pass
        self.errors.close()
        if self.cgroup is not None:
            self.cgroup.remove()


class _ErrorLog:
    """A launcher's stderr: a pipe drained by a thread into a small bounded buffer."""

    LIMIT = 4096

    def __init__(self) -> None:
        self.rfd, self.wfd = os.pipe()
        self.data = b""
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.rfd, 4096)
            except OSError:
                return
            if not chunk:
                return
            if len(self.data) < self.LIMIT:
                self.data = (self.data + chunk)[: self.LIMIT]

    def close_writer(self) -> None:
        try:
            os.close(self.wfd)
        except OSError:
            pass

    def text(self) -> str:
        self.thread.join(timeout=1)
        return self.data.decode("utf-8", "replace").strip()

    def close(self) -> None:
        self.thread.join(timeout=1)
        try:
            os.close(self.rfd)
        except OSError:
            pass


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


class _NoServer:
    """Stands in the pool for a server that could not be replaced: every exercise given to it is
    reported as a lost worker, and it stays, so that no exercise waits forever for a server."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def run(self, request: dict, answer: Answer | None = None) -> tuple[dict, bytes]:
        raise EOFError(f"no worker server could start ({self.reason[:100]})")

    def close(self, kill: bool = False) -> None:
        pass


class WorkerPool:
    """``jobs`` fork servers, each serving one exercise at a time; broken ones are replaced.

    The servers start at once and are ready (their hello read) before the
    pool is: a launcher that cannot start a server raises :class:`ServerFailed`.
    """

    def __init__(self, jobs: int, launch: Launcher, memory_mb: int = 1024) -> None:
        self.launch = launch
        self.memory_mb = memory_mb
        self.idle: queue.SimpleQueue = queue.SimpleQueue()
        self.all: list[WorkerServer] = []
        self.lock = threading.Lock()
        self.closed = False
        try:
            for _ in range(jobs):
                self.all.append(WorkerServer(launch, memory_mb))
            self.hello = [s.wait_ready() for s in self.all][0]
        except ServerFailed:
            self.close(kill=True)
            raise
        first = self.all[0].cgroup
        self.cgroup = first.describe() if first is not None else None
        for server in self.all:
            self.idle.put(server)

    def _replace(self) -> None:
        """A new server in place of a lost one; if none can start, a stand-in that reports it.
        None once the pool is closed: a grader thread that finishes an answer after the
        run (its server gone) must not start a server that outlives it."""
        if self.closed:  # a thread still waiting for a server gets one that says so, never hangs
            self.idle.put(_NoServer("the run is over"))
            return
        try:
            server = WorkerServer(self.launch, self.memory_mb)
            with self.lock:
                self.all.append(server)
                late = self.closed
            if late:  # the pool closed while this one started
                server.close(kill=True)
                self.idle.put(_NoServer("the run is over"))
                return
            server.wait_ready()
        except ServerFailed as exc:
            self.idle.put(_NoServer(str(exc)))
            return
        self.idle.put(server)

    def run(self, request: dict, answer: Answer | None = None) -> tuple[dict, bytes]:
        server = self.idle.get()
        try:
            result = server.run(request, answer)
        except (OSError, ValueError, TypeError, KeyError, TimeoutError, EOFError) as exc:
            server.close(kill=True)
            self._replace()
            return {"lost": True, "detail": str(exc)[:200]}, b""
        self.idle.put(server)
        return result

    def close(self, kill: bool = False) -> None:
        with self.lock:
            self.closed = True
            servers = list(self.all)
        for server in servers:
            try:
                server.close(kill)
            except OSError:
                pass
