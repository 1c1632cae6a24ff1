// SPDX-License-Identifier: MIT
#include "steg-runtime.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#if defined(__GLIBC__)
#    include <malloc.h>
#endif

namespace steg {

void set_cpu_threads(int n_threads) {
    const int n = n_threads > 0 ? n_threads : int(std::max(1u, std::thread::hardware_concurrency()));
    if (at::get_num_threads() != n) {
        at::set_num_threads(n);
    }
}

void tune_malloc_once() {
#if defined(__GLIBC__)
    static std::once_flag once;
    std::call_once(once, [] {
        const char * env = std::getenv("STEG_MALLOC_TUNING");
        if (env && std::strcmp(env, "0") == 0) {
            return;
        }
        mallopt(M_MMAP_THRESHOLD, 64 << 20);
        mallopt(M_TRIM_THRESHOLD, 256 << 20);
        // One arena: a thread other than main (a GStreamer streaming thread) would get
        // its own arena, whose heaps are capped at 64 MiB, so libtorch's activations
        // were mmapped and unmapped on every call again (measured: stegreveal at
        // 1080p took 4x libsteg's time on the main thread).
        mallopt(M_ARENA_MAX, 1);
    });
#endif
}

bool cpu_has_native_bf16() {
    // The kernel's flags (avx512_bf16, amx_bf16) say what the CPU has and the kernel
    // enables; read once.
    static const bool has = [] {
        std::FILE * f = std::fopen("/proc/cpuinfo", "r");
        if (!f) {
            return false;
        }
        char line[8192];
        bool found = false;
        while (!found && std::fgets(line, sizeof line, f)) {
            if (std::strncmp(line, "flags", 5) == 0) {
                found = std::strstr(line, " avx512_bf16") || std::strstr(line, " amx_bf16");
                break;
            }
        }
        std::fclose(f);
        return found;
    }();
    return has;
}

}  // namespace steg
