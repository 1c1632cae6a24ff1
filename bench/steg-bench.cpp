// SPDX-License-Identifier: MIT
// steg-bench - times libsteg's hide and reveal through the C API (what every host pays)
// and the peak memory of a very large hide. Prints one JSON object per measurement,
// in the same shape as ../shared/reference/bench_reference.py, so bench/run compares them.
//
//   steg-bench [--device cpu|cuda] [--sizes 300x300,640x480,1920x1080] [--threads N]
//              [--precision fp32|bf16|fp16|auto]   (fp32 by default, as the reference's first column)
//              [--model FILE] [--big-mp 100]
//
// --big-mp N runs only the memory measurement: a hide of an N-megapixel cover, then
// reports the process's peak resident memory (run it in its own process).
#include "bench-options.h"
#include "steg.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void random_fill(steg_image & img, uint32_t seed) {
    std::mt19937 rng(seed);
    const size_t n = size_t(img.width) * img.height * steg_format_channels(img.format);
    for (size_t i = 0; i < n; ++i) {
        img.data[i] = uint8_t(rng());
    }
}

[[noreturn]] void die(const char * what) {
    std::fprintf(stderr, "steg-bench: %s: %s\n", what, steg_last_error());
    std::exit(1);
}

}  // namespace

int main(int argc, char ** argv) {
    std::string device = "cpu", sizes = "300x300,640x480,1920x1080", model, precision = "fp32";
    int         threads = 0, big_mp = 0, tile = 0;
    const char * usage = "usage: steg-bench [--device cpu|cuda] [--sizes WxH,...] [--threads N] [--model F] [--big-mp N]\n"
                         "                  [--precision fp32|bf16|fp16|auto] [--tile N]\n";
    for (int i = 1; i < argc; i += 2) {
        if (const int rc = bench::option_or_exit(argc, argv, i, "steg-bench", usage); rc >= 0) {
            return rc;
        }
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--device") device = v;
        else if (k == "--sizes") sizes = v;
        else if (k == "--threads") threads = std::atoi(v.c_str());
        else if (k == "--model") model = v;
        else if (k == "--big-mp") big_mp = std::atoi(v.c_str());
        else if (k == "--precision") precision = v;
        else if (k == "--tile") tile = std::atoi(v.c_str());
        else {
            std::fputs(usage, stderr);
            return 2;
        }
    }
    if (model.empty()) {
        const char * def = steg_default_model_path();
        if (!def) {
            std::fprintf(stderr, "steg-bench: no model: pass --model\n");
            return 2;
        }
        model = def;
    }
    steg_context_params p = steg_context_default_params();
    p.device              = device == "cuda" ? STEG_DEVICE_CUDA : STEG_DEVICE_CPU;
    p.n_threads           = threads;
    if (tile > 0) {
        p.tile_size = tile;
    }
    const int choice      = steg_param_choice(STEG_PARAM_PRECISION, precision.c_str());
    if (choice < 0) {
        std::fprintf(stderr, "steg-bench: --precision is auto, fp32, bf16 or fp16\n");
        return 2;
    }
    p.precision        = steg_precision(choice);
    steg_context * ctx = steg_init_from_file(model.c_str(), p);
    if (!ctx) {
        die("init");
    }

    if (big_mp > 0) {
        // A square-ish cover of big_mp megapixels, hidden in place (as GIMP and GStreamer do).
        const int  w = 10000, h = big_mp * 100;
        steg_image cover{}, payload{};
        if (steg_image_alloc(&cover, w, h, STEG_FORMAT_RGB8) || steg_image_alloc(&payload, w, h, STEG_FORMAT_GRAY8)) {
            die("alloc");
        }
        std::memset(cover.data, 128, size_t(w) * h * 3);
        std::memset(payload.data, 64, size_t(w) * h);
        const double t0 = now_ms();
        if (steg_hide(ctx, &cover, &payload, &cover) != STEG_OK) {
            die("hide");
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        std::printf("{\"what\": \"hide_peak_memory\", \"device\": \"%s\", \"size\": \"%dx%d\", \"precision\": \"%s\", "
                    "\"ms\": %.1f, \"peak_rss_mib\": %.1f, \"image_buffers_mib\": %.1f}\n",
                    steg_context_device(ctx), w, h, steg_context_precision(ctx), now_ms() - t0, ru.ru_maxrss / 1024.0, w * double(h) * 4 / 1048576.0);
        steg_image_free(&cover);
        steg_image_free(&payload);
        steg_free(ctx);
        return 0;
    }

    const bool cuda = std::strcmp(steg_context_device(ctx), "cuda") == 0;
    const int  n = cuda ? 20 : 3, warm = cuda ? 5 : 1;  // as the reference does
    for (size_t pos = 0; pos < sizes.size();) {
        const size_t end = std::min(sizes.find(',', pos), sizes.size());
        int          w = 0, h = 0;
        std::sscanf(sizes.substr(pos, end - pos).c_str(), "%dx%d", &w, &h);
        pos = end + 1;
        steg_image cover{}, payload{}, hybrid{}, revealed{};
        if (steg_image_alloc(&cover, w, h, STEG_FORMAT_RGB8) || steg_image_alloc(&payload, w, h, STEG_FORMAT_GRAY8) ||
            steg_image_alloc(&hybrid, w, h, STEG_FORMAT_RGB8) || steg_image_alloc(&revealed, w, h, STEG_FORMAT_GRAY8)) {
            die("alloc");
        }
        random_fill(cover, 1);
        random_fill(payload, 2);
        auto time = [&](auto && fn) {
            for (int i = 0; i < warm; ++i) fn();
            const double t0 = now_ms();
            for (int i = 0; i < n; ++i) fn();
            return (now_ms() - t0) / n;
        };
        const double hide = time([&] {
            if (steg_hide(ctx, &cover, &payload, &hybrid) != STEG_OK) die("hide");
        });
        const double reveal = time([&] {
            if (steg_reveal(ctx, &hybrid, &revealed) != STEG_OK) die("reveal");
        });
        std::printf("{\"what\": \"hide\", \"device\": \"%s\", \"size\": \"%dx%d\", \"precision\": \"%s\", \"ms\": %.3f}\n",
                    steg_context_device(ctx), w, h, steg_context_precision(ctx), hide);
        std::printf("{\"what\": \"reveal\", \"device\": \"%s\", \"size\": \"%dx%d\", \"precision\": \"%s\", \"ms\": %.3f}\n",
                    steg_context_device(ctx), w, h, steg_context_precision(ctx), reveal);
        std::fflush(stdout);
        for (auto * img : { &cover, &payload, &hybrid, &revealed }) steg_image_free(img);
    }
    steg_free(ctx);
    return 0;
}
