"""Running the per-submission tasks: a local pool of batch workers, or a Dask cluster.

Each task is one request line for :mod:`grader.batch.task` and a deadline.
A :class:`TaskProcess` is one long-lived batch worker (``python -m
grader.batch.task``, in its own session); the driver keeps ``--jobs`` of them,
each graded submission at a time, and kills and replaces one that misses its
deadline or dies, so a submission that hangs or crashes the grading costs
only its own time. With ``--dask ADDRESS`` every task is sent to the cluster,
where :func:`remote_answer` runs it in a :class:`TaskProcess` of that Dask
worker: the same code, the same deadline, the same answer.

Answers come back as text; the driver validates them (:mod:`grader.batch.validate`).
"""

from __future__ import annotations

import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

#: The longest answer line accepted from a batch worker.
MAX_ANSWER_BYTES = 64 * 2**20
#: Seconds to wait for a Dask scheduler to answer.
CONNECT_TIMEOUT = 20.0
#: The fewest Dask tasks kept in flight (else four per Dask worker thread).
WINDOW = 16
PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


class Lost(Exception):
    """The batch worker could not answer: it died, or missed the deadline."""


@dataclass
class Task:
    """One submission's request line, and how long grading it may take (seconds)."""

    id: int
    line: str
    deadline: float


#: ``on_answer(task_id, answer_text, problem)``: exactly one of the two is None.
OnAnswer = Callable[[int, "str | None", "str | None"], None]


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PROJECT_ROOT, env.get("PYTHONPATH")) if p)
    # one process per core: the references' OpenMP/BLAS threads would only contend
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    return env


class TaskProcess:
    """One batch worker process, answering one request at a time."""

    #: The worker's command; the answer pipe's descriptor is appended.
    command = (sys.executable, "-m", "grader.batch.task")

    def __init__(self) -> None:
        rfd, wfd = os.pipe()
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker, closed with it
        try:
            self.proc = subprocess.Popen(
                [*self.command, str(wfd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self.stderr,
                pass_fds=(wfd,),
                cwd="/",
                env=_worker_env(),
                start_new_session=True,
            )
        finally:
            os.close(wfd)
        self.rfd = rfd

    def _last_error(self) -> str:
        self.stderr.seek(0, os.SEEK_END)
        self.stderr.seek(max(0, self.stderr.tell() - 4096))
        lines = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
        return f" ({lines[-1][:200]})" if lines else ""

    def run(self, line: str, deadline: float) -> str:
        """The answer line to ``line``; raises :class:`Lost` (the process is then unusable)."""
        end = time.monotonic() + deadline
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            raise Lost("the grading process died" + self._last_error()) from None
        chunks, size = [], 0
        while True:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.rfd], [], [], left)[0]:
                raise Lost(f"grading took longer than {deadline:.0f} s")
            chunk = os.read(self.rfd, 1 << 16)
            if not chunk:
                self.proc.wait()
                raise Lost(f"the grading process died (status {self.proc.returncode})" + self._last_error())
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise Lost("the grading process sent an oversized answer")
            chunks.append(chunk)
            if b"\n" in chunk:
                return b"".join(chunks).decode("utf-8", "replace").rstrip("\n")

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.close(wait=True)

    def close(self, wait: bool = True) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        if wait:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for close in (lambda: os.close(self.rfd), self.stderr.close):
            try:
                close()
            except OSError:
                pass
        self.rfd = -1


def answer_in(
    process: TaskProcess | None, task_line: str, deadline: float
) -> tuple[TaskProcess | None, str | None, str | None]:
    """Run one task in ``process`` (started when None); (process to reuse, answer, problem)."""
    if process is None:
        process = TaskProcess()
    try:
        return process, process.run(task_line, deadline), None
    except Lost as exc:
        process.kill()
        return None, None, str(exc)


class LocalEngine:
    """``jobs`` batch workers on this machine."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs

    def run(self, tasks: Iterable[Task], on_answer: OnAnswer) -> None:
        todo = iter(tasks)  # taken one at a time: a request is built only when a worker is free
        done: queue.SimpleQueue = queue.SimpleQueue()
        stop = threading.Event()
        live: set[TaskProcess] = set()
        lock = threading.Lock()

        def take() -> Task | None:
            with lock:
                return None if stop.is_set() else next(todo, None)

        def work() -> None:
            process = None
            while (task := take()) is not None:
                try:
                    if process is None:
                        process = TaskProcess()
                        with lock:
                            live.add(process)
                    current = process
                    process, text, problem = answer_in(process, task.line, task.deadline)
                    if process is None:
                        with lock:
                            live.discard(current)
                except Exception as exc:
                    process, text, problem = None, None, f"no grading process could start ({exc})"
                if not stop.is_set():
                    done.put((task.id, text, problem))
            if process is not None:
                process.close()

        threads = [threading.Thread(target=work, daemon=True) for _ in range(self.jobs)]
        for t in threads:
            t.start()
        try:
            while any(t.is_alive() for t in threads) or not done.empty():
                try:
                    item = done.get(timeout=0.2)
                except queue.Empty:
                    continue
                on_answer(*item)
        except BaseException:  # Ctrl-C: stop every worker now; what is on disk stays
            stop.set()
            with lock:
                for process in list(live):
                    process.kill()
            raise
        finally:
            for t in threads:
                t.join(timeout=15)


# ------------------------------------------------------------------------- Dask

_local = threading.local()


def remote_answer(task_line: str, deadline: float) -> str:
    """Run on a Dask worker: the answer line, or a problem answer when the worker was lost."""
    import json

    process, text, problem = answer_in(getattr(_local, "process", None), task_line, deadline)
    _local.process = process
    if text is not None:
        return text
    return json.dumps({"id": json.loads(task_line).get("id"), "problem": problem})


class DaskEngine:
    """One task per submission on the Dask distributed scheduler at ``address``."""

    def __init__(self, address: str) -> None:
        self.address = address

    def window(self, client) -> int:
        """How many tasks to keep in flight: four per Dask worker thread, at least :data:`WINDOW`."""
        return max(WINDOW, 4 * sum(client.nthreads().values()))

    def run(self, tasks: Iterable[Task], on_answer: OnAnswer) -> None:
        from distributed import Client, as_completed

        client = Client(self.address, timeout=CONNECT_TIMEOUT)
        todo = iter(tasks)
        futures: dict = {}

        def submit() -> None:
            task = next(todo, None)
            if task is not None:
                future = client.submit(
                    remote_answer,
                    task.line,
                    task.deadline,
                    pure=False,
                    key=f"nngrade-batch-{task.id}-{os.getpid()}-{time.time_ns()}",
                )
                futures[future] = task.id
                running.add(future)

        try:
            # the scheduler holds a bounded window of requests, not the whole class at once
            running = as_completed()
            for _ in range(self.window(client)):
                submit()
            for future in running:
                try:
                    text, problem = future.result(), None
                except Exception as exc:
                    text, problem = None, f"the Dask task failed: {type(exc).__name__}: {exc}"
                on_answer(futures.pop(future), text, problem)
                submit()
        except BaseException:
            client.cancel(list(futures))
            raise
        finally:
            client.close()
