# AVX2/FMA build of the csrc kernels: same source, compiled with -mavx2 -mfma when the compiler
# accepts them (see setup.py). Only imported after a run-time CPU check (csrc/__init__.py).
include "_kernels.pxi"
