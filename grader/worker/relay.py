"""The server's side of the ask/answer exchange between a worker child and the grader.

When an exercise is graded once more with correct dependencies
(``grader/dependencies.py``), the child's calls to a failing dependency are
sent to the grader, which answers with the reference's value
(:mod:`.observe` is the child's side). The server relays: each child gets its
own pair of pipes (nothing meant for one exercise can reach another), every
line is bounded and carries the request's id, and a child that stops reading
its answers cannot block the server past the child's own deadline.
"""

from __future__ import annotations

import json
import os
import select
import time

from .wire import MAX_PAYLOAD, dumps


class LineReader:
    """Lines from a file descriptor (the server's stdin), with an optional deadline."""

    MAX_LINE = MAX_PAYLOAD + 1024

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""

    def readline(self, deadline: float | None = None) -> bytes | None:
        """The next line without its newline; None at end of input or past the deadline."""
        while b"\n" not in self.buffer:
            if len(self.buffer) > self.MAX_LINE:
                return None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                    return None
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line


class Relay:
    """A child's asks, passed on to the grader; the grader's answers, passed back.

    The child writes one line per ask on ``ask_r``'s pipe; the server sends it
    to the grader as a header ``{"ask": nbytes, "id"}`` and the bytes, reads the
    grader's answer line ``{"answer": ..., "id"}`` on stdin, and writes the answer's
    document to the child on ``answer_w``. Each child has its own pair of
    pipes: nothing meant for one exercise can reach another.
    """

    def __init__(self, out, stdin: LineReader, request_id) -> None:
        self.id = request_id
        self.out = out
        self.stdin = stdin
        self.ask_r, self.ask_w = os.pipe()
        self.answer_r, self.answer_w = os.pipe()
        self.buffer = b""

    def child_fds(self) -> dict:
        return {"ask_fd": self.ask_w, "answer_fd": self.answer_r}

    def after_fork(self) -> None:
        """In the server, once the child has its ends."""
        os.close(self.ask_w)
        os.close(self.answer_r)
        os.set_blocking(self.answer_w, False)

    def pump(self, deadline: float) -> str:
        """Read what the child asked; answer every complete line. ``"ok"``, ``"closed"``,
        ``"too_large"`` or ``"timed_out"``."""
        chunk = os.read(self.ask_r, 1 << 20)
        if not chunk:
            return "closed"
        self.buffer += chunk
        while b"\n" in self.buffer:
            line, _, self.buffer = self.buffer.partition(b"\n")
            self.out.write(json.dumps({"ask": len(line), "id": self.id}).encode() + b"\n" + line)
            self.out.flush()
            doc = self._answer(deadline)
            if doc is None:
                return "timed_out"
            if not _write_all(self.answer_w, dumps(doc) + b"\n", deadline):
                return "timed_out"
        return "too_large" if len(self.buffer) > MAX_PAYLOAD else "ok"

    def _answer(self, deadline: float):
        """The grader's answer to this request's ask (late answers to an earlier
        request, whose child ran out of time, are skipped); None past the deadline."""
        while True:
            line = self.stdin.readline(deadline)
            if line is None:
                return None
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if type(doc) is dict and "answer" in doc and doc.get("id") == self.id:
                return doc["answer"]

    def close(self) -> None:
        for fd in (self.ask_r, self.answer_w):
            try:
                os.close(fd)
            except OSError:
                pass


def _write_all(fd: int, data: bytes, deadline: float) -> bool:
    """Write ``data`` to a non-blocking pipe before ``deadline`` (a child that stops reading loses)."""
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if not select.select([], [fd], [], remaining)[1]:
            continue
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            continue
        except OSError:  # the child closed its end: it will not read the answer
            return True
    return True
