// SPDX-License-Identifier: MIT
// bench-options.h - what the C++ benchmarks' option loops share: they read argv in
// pairs (--option value).
#pragma once

#include <cstdio>
#include <cstring>

namespace bench {

// At argv[i]: -1 to go on and read argv[i + 1] as its value; otherwise the exit code for
// main: 0 after printing `usage` for --help or -h, 2 (with a message) for an option
// without its value.
inline int option_or_exit(int argc, char ** argv, int i, const char * tool, const char * usage) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
        std::fputs(usage, stdout);
        return 0;
    }
    if (i + 1 == argc) {
        std::fprintf(stderr, "%s: %s needs a value\n%s", tool, argv[i], usage);
        return 2;
    }
    return -1;
}

}  // namespace bench
