"""csrc.matmul vs NumPy's matmul (OpenBLAS) in GFLOP/s, and their ratio, on 1 thread and on all
cores, n x n times n x n for n = 64, 256, 1024, float32 and float64.

    python benchmarks/bench_matmul.py [--repeats 5] [--clock wall|cpu]

NNFUND_KERNELS=generic|avx2|avx512 benchmarks another build than the automatic choice; with
OPENBLAS_CORETYPE=Haswell, OpenBLAS too is held to its AVX2 kernels (a like-for-like comparison
of the avx2 build on an AVX-512 machine).

Each thread count runs in its own subprocess with OMP_NUM_THREADS / OPENBLAS_NUM_THREADS set,
and csrc.set_num_threads to the same count. Goal: ratio >= 0.8 at n = 1024.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness

SIZES = (64, 256, 1024)
DTYPES = ("float32", "float64")


def worker(threads, repeats):
    import numpy as np

    import csrc

    csrc.set_num_threads(threads)
    rng = np.random.default_rng(0)
    results = []
    for dtype in DTYPES:
        for n in SIZES:
            a = rng.standard_normal((n, n)).astype(dtype)
            b = rng.standard_normal((n, n)).astype(dtype)
            err = float(np.abs(csrc.matmul(a, b) - a @ b).max())
            t_ours = _harness.best_time(lambda a=a, b=b: csrc.matmul(a, b), repeats)
            t_blas = _harness.best_time(lambda a=a, b=b: a @ b, repeats)
            results.append(dict(dtype=dtype, n=n, ours=t_ours, blas=t_blas, max_err=err))
    print(json.dumps(results))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: time 1-thread rows by the thread's CPU time (a shared machine)",
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clock == "cpu":
        os.environ[_harness.CLOCK_ENV] = "cpu"
    if args.worker:
        return worker(args.worker, args.repeats)
    print(f"matmul, C = A @ B with A, B n x n; best of {args.repeats}; {_harness.machine()}")
    print(f"timing: {_harness.clock_note()}\n")
    rows = []
    for threads in _harness.thread_counts():
        for r in _harness.run_worker(__file__, threads, "--repeats", args.repeats):
            flops = 2.0 * r["n"] ** 3
            rows.append(
                [
                    threads,
                    r["dtype"],
                    r["n"],
                    f"{flops / r['ours'] / 1e9:.1f}",
                    f"{flops / r['blas'] / 1e9:.1f}",
                    f"{r['blas'] / r['ours']:.2f}x",
                    f"{r['max_err']:.1e}",
                ]
            )
    print(
        _harness.markdown_table(
            ["threads", "dtype", "n", "csrc GFLOP/s", "OpenBLAS GFLOP/s", "csrc / OpenBLAS", "max |diff|"], rows
        )
    )


if __name__ == "__main__":
    main()
