"""Shared helpers of the csrc benchmarks: one worker subprocess per thread count (so that
OpenBLAS, OpenMP and torch all start with that many threads), best-of-N wall-clock timing, and a
Markdown table printer."""

import json
import os
import platform
import subprocess
import sys
import time


def thread_counts():
    """1 thread and all cores (just 1 on a single-core machine)."""
    cores = os.cpu_count() or 1
    return [1] if cores == 1 else [1, cores]


CLOCK_ENV = "NNFUND_BENCH_CLOCK"


def clock_note():
    """What the timings measure, for the tables' headers."""
    if os.environ.get(CLOCK_ENV) == "cpu":
        return (
            "1-thread rows: CPU time of the calling thread (time.thread_time: time the "
            "process waits for a core shared with other load is not counted); other rows: "
            "wall time"
        )
    return "wall time"


def _clock():
    """time.thread_time when asked for (NNFUND_BENCH_CLOCK=cpu) and this worker runs one
    thread (with more, the calling thread's CPU time would miss the others' work); else
    time.perf_counter."""
    if os.environ.get(CLOCK_ENV) == "cpu" and os.environ.get("OMP_NUM_THREADS") == "1":
        return time.thread_time
    return time.perf_counter


def run_worker(script, threads, *args):
    """Runs `script --worker threads args...` with every thread-pool size set to `threads`
    before NumPy/torch start; returns the JSON it prints."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    root = os.path.dirname(os.path.dirname(os.path.abspath(script)))
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, script, "--worker", str(threads), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"worker failed ({threads} threads):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_time(fn, repeats, min_time=0.05):
    """Best time of fn() over `repeats` rounds (each round at least one call and, for fast
    calls, enough calls to last ~min_time), after one warm-up call; wall time, or see
    _clock."""
    clock = _clock()
    fn()
    best = float("inf")
    for _ in range(repeats):
        calls, start = 0, clock()
        while True:
            fn()
            calls += 1
            elapsed = clock() - start
            if elapsed >= min_time:
                break
        best = min(best, elapsed / calls)
    return best


def machine():
    """A one-line description of the machine (CPU model, cores) and the active csrc build."""
    import csrc

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores; csrc build {csrc.active_build()} "
        f"({csrc.active_build_reason()}), OpenMP {'on' if csrc.openmp_enabled() else 'off'}; "
        f"Python {platform.python_version()}"
    )


def markdown_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)
