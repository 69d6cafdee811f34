# Portable build of the csrc kernels (compiled with the default flags of the target).
include "_kernels.pxi"
