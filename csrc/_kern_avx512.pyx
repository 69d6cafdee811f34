# AVX-512 build of the csrc kernels: same source, compiled with -mavx512f -mavx512dq -mavx512bw
# -mavx512vl -mavx2 -mfma when the compiler accepts them (see setup.py), which gives it 512-bit
# micro-tiles and their own blocking (nnf_microkernel.h). Only imported after a run-time CPU
# check (csrc/__init__.py).
include "_kernels.pxi"
