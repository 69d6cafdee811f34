"""The server's relay of a child's asks (grader/worker/relay.py): bounded, per request, never stuck."""

from __future__ import annotations

import io
import json
import os
import time

from grader.worker.relay import LineReader, Relay


def _pipe_with(data: bytes) -> int:
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    return r


def test_line_reader_gives_lines_and_none_past_the_deadline():
    r, w = os.pipe()
    os.write(w, b"one\ntwo\npartial")
    reader = LineReader(r)
    assert reader.readline() == b"one" and reader.readline(time.monotonic() + 1) == b"two"
    start = time.monotonic()
    assert reader.readline(time.monotonic() + 0.2) is None, "no newline before the deadline"
    assert time.monotonic() - start < 2
    os.close(w)
    assert reader.readline() is None, "end of input"
    os.close(r)


def test_an_ask_goes_to_the_grader_with_the_request_id_and_only_its_own_answer_comes_back():
    late = json.dumps({"answer": {"value": 1}, "id": "earlier-request"}).encode()
    own = json.dumps({"answer": {"value": 2}, "id": "this-request"}).encode()
    stdin = LineReader(_pipe_with(late + b"\n" + own + b"\n"))
    out = io.BytesIO()
    relay = Relay(out, stdin, "this-request")
    fds = relay.child_fds()
    ask, answer = os.dup(fds["ask_fd"]), os.dup(fds["answer_fd"])  # the child's ends, as a fork keeps them
    relay.after_fork()
    os.write(ask, b'{"name": "step"}\n')
    assert relay.pump(time.monotonic() + 5) == "ok"
    header, _, body = out.getvalue().partition(b"\n")
    assert json.loads(header) == {"ask": len(b'{"name": "step"}'), "id": "this-request"}
    assert body == b'{"name": "step"}'
    assert os.read(answer, 1000) == b'{"value":2}\n', "the late answer of another request is skipped"
    relay.close()
    for fd in (ask, answer, stdin.fd):
        os.close(fd)


def test_a_child_that_stops_reading_its_answers_cannot_hold_the_server_past_its_deadline(tmp_path):
    big = json.dumps({"answer": {"value": "x" * (1 << 20)}, "id": "r"}).encode()
    (tmp_path / "stdin").write_bytes(big + b"\n")  # more than a pipe holds
    stdin = LineReader(os.open(tmp_path / "stdin", os.O_RDONLY))
    relay = Relay(io.BytesIO(), stdin, "r")
    fds = relay.child_fds()
    ask, answer = os.dup(fds["ask_fd"]), os.dup(fds["answer_fd"])
    relay.after_fork()
    os.write(ask, b"{}\n")
    start = time.monotonic()
    assert relay.pump(time.monotonic() + 0.5) == "timed_out"  # nobody reads the 1 MB answer
    assert time.monotonic() - start < 3
    relay.close()
    for fd in (ask, answer, stdin.fd):
        os.close(fd)
