// steg-bench-train - times one training step of the joint loss (Eq. 1, Adam, batch 32)
// through libsteg's C++ training API, in the JSON shape of bench_reference.py's
// "train_step" line, so bench/run can compare the two.
//
//   steg-bench-train [--device cpu|cuda] [--threads N] [--batch 32] [--size 64] [--amp 0|1]
//                    [--channels-last 0|1]
#include "steg-data.h"
#include "steg-train.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

int main(int argc, char ** argv) {
    steg::TrainOptions o;
    std::string        device = "cpu";
    o.size                    = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--device") device = v;
        else if (k == "--threads") o.threads = std::atoi(v.c_str());
        else if (k == "--batch") o.batch = std::atoi(v.c_str());
        else if (k == "--size") o.size = std::atoi(v.c_str());
        else if (k == "--amp") o.amp = v == "1";
        else if (k == "--channels-last") o.channels_last = v == "1";
        else {
            std::fprintf(stderr, "usage: steg-bench-train [--device cpu|cuda] [--threads N] [--batch B] [--size S] [--amp 0|1] "
                                 "[--channels-last 0|1]\n");
            return 2;
        }
    }
    o.device = device == "cuda" ? STEG_DEVICE_CUDA : STEG_DEVICE_CPU;
    try {
        steg::Trainer t(o);
        steg::Batch   b;  // random pixels, as the reference uses
        b.count = o.batch, b.size = o.size;
        std::mt19937                          rng(1);
        std::uniform_real_distribution<float> u(-0.5f, 0.5f);
        b.covers.resize(size_t(o.batch) * 3 * o.size * o.size);
        b.payloads.resize(size_t(o.batch) * o.size * o.size);
        for (auto & v : b.covers) v = u(rng);
        for (auto & v : b.payloads) v = u(rng);
        const bool cuda = std::string(t.device_name()) == "cuda";
        const int  n = cuda ? 10 : 3, warm = cuda ? 3 : 1;  // as the reference does
        for (int i = 0; i < warm; ++i) t.train_step(b);
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i) t.train_step(b);  // each step reads its loss, which waits for the device
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / n;
        std::printf("{\"what\": \"train_step\", \"device\": \"%s\", \"size\": \"%dx%dx%d\", \"precision\": \"%s\", "
                    "\"channels_last\": %s, \"ms\": %.3f, \"images_per_s\": %.1f}\n",
                    t.device_name(), o.batch, o.size, o.size, o.amp ? "bf16" : "fp32",
                    o.channels_last ? "true" : "false", ms, o.batch / ms * 1000.0);
    } catch (const std::exception & e) {
        std::fprintf(stderr, "steg-bench-train: %s\n", e.what());
        return 1;
    }
    return 0;
}
