// SPDX-License-Identifier: MIT
// steg-runtime.h - process-wide settings that every libtorch user in libsteg needs:
// the CPU thread count and glibc's malloc thresholds. No torch in this header.
#pragma once

namespace steg {

// Sets libtorch's CPU thread count (0 = all cores): it starts with 1 on some machines.
void set_cpu_threads(int n_threads);

// libtorch frees its large activation buffers (tens of MiB) after every call; glibc
// hands blocks that large straight back to the kernel, so the next call faults them in
// anew, which cost 2-5x in time on these machines (inference and training alike).
// Fixed thresholds above that working set (mmap 64 MiB, trim 256 MiB) keep the blocks
// in the process for reuse, and one arena keeps other threads' calls on them too.
// Process-wide and done once; a host that manages malloc
// itself sets STEG_MALLOC_TUNING=0.
void tune_malloc_once();

// True where the CPU computes bf16 dot products natively (AVX512-BF16 or AMX-BF16),
// the only CPUs on which oneDNN's bf16 convolutions are faster than fp32.
bool cpu_has_native_bf16();

}  // namespace steg
