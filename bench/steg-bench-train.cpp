// SPDX-License-Identifier: MIT
// steg-bench-train - times one training step of the joint loss (Eq. 1, Adam, batch 32)
// through libsteg's C++ training API, in the JSON shape of bench_reference.py's
// "train_step" line, so bench/run can compare the two.
//
//   steg-bench-train [--device cpu|cuda] [--threads N] [--batch 32] [--size 64] [--amp 0|1]
//                    [--channels-last 0|1] [--world-size N]
//
// --world-size N > 1 forks N processes that train as one data-parallel job over Gloo on
// loopback (each rank `--batch` pairs a step) and reports the job's images/s and the
// time of the per-step gradient all-reduce (waits for the slower rank included); with
// --allreduce-only 1 the ranks only all-reduce a buffer of the model's size (its 40,870
// parameters and the 4 loss figures), which is the collective's own cost.
#include "bench-options.h"
#include "steg-data.h"
#include "steg-distributed.h"
#include "steg-train.h"

#include <torch/torch.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace {

int free_port() {
    const int   fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family      = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len     = sizeof a;
    bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

}  // namespace

int main(int argc, char ** argv) {
    steg::TrainOptions o;
    std::string        device = "cpu";
    int                world  = 1;
    bool               only_allreduce = false;
    o.size                    = 64;
    const char * usage = "usage: steg-bench-train [--device cpu|cuda] [--threads N] [--batch B] [--size S] [--amp 0|1] "
                         "[--channels-last 0|1] [--world-size N] [--allreduce-only 0|1]\n";
    for (int i = 1; i < argc; i += 2) {
        if (const int rc = bench::option_or_exit(argc, argv, i, "steg-bench-train", usage); rc >= 0) {
            return rc;
        }
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--device") device = v;
        else if (k == "--threads") o.threads = std::atoi(v.c_str());
        else if (k == "--batch") o.batch = std::atoi(v.c_str());
        else if (k == "--size") o.size = std::atoi(v.c_str());
        else if (k == "--amp") o.amp = v == "1";
        else if (k == "--channels-last") o.channels_last = v == "1";
        else if (k == "--world-size") world = std::max(1, std::atoi(v.c_str()));
        else if (k == "--allreduce-only") only_allreduce = v == "1";
        else {
            std::fputs(usage, stderr);
            return 2;
        }
    }
    o.device = device == "cuda" ? STEG_DEVICE_CUDA : STEG_DEVICE_CPU;
    if (world > 1) {  // one process per rank; rank 0 reports
        o.dist.world_size  = world;
        o.dist.master_port = free_port();
        o.dist.interface   = "lo";
        for (int r = 1; r < world; ++r) {
            if (fork() == 0) {
                o.dist.rank = r;
                break;
            }
        }
    }
    if (only_allreduce && world > 1) {
        try {
            steg::Communicator c(o.dist);
            torch::Tensor      flat = torch::rand({ 40870 + 4 });
            const int          n    = 2000;
            for (int i = 0; i < 50; ++i) c.all_reduce_sum(flat);
            const auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < n; ++i) c.all_reduce_sum(flat);
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / n;
            if (c.rank() == 0) {
                std::printf("{\"what\": \"allreduce\", \"floats\": %d, \"world_size\": %d, \"transport\": \"gloo tcp loopback\", "
                            "\"ms\": %.4f}\n", 40874, world, ms);
            }
        } catch (const std::exception & e) {
            std::fprintf(stderr, "steg-bench-train: %s\n", e.what());
            return 1;
        }
        if (o.dist.rank == 0) {
            int status = 0;
            while (wait(&status) > 0) {}
        }
        return 0;
    }
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
        const int  n = cuda ? 10 : (world > 1 ? 20 : 3), warm = cuda ? 3 : 1;  // as the reference does
        for (int i = 0; i < warm; ++i) t.train_step(b);
        double     allreduce = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i) allreduce += t.train_step(b).allreduce_seconds;  // each step reads its loss
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / n;
        if (t.rank() == 0) {
            std::printf("{\"what\": \"train_step\", \"device\": \"%s\", \"size\": \"%dx%dx%d\", \"precision\": \"%s\", "
                        "\"channels_last\": %s, \"ms\": %.3f, \"images_per_s\": %.1f",
                        t.device_name(), o.batch, o.size, o.size, o.amp ? "bf16" : "fp32",
                        o.channels_last ? "true" : "false", ms, o.batch * world / ms * 1000.0);
            if (world > 1) {
                std::printf(", \"world_size\": %d, \"threads_per_rank\": %d, \"allreduce_ms\": %.3f", world, o.threads,
                            allreduce * 1000.0 / n);
            }
            std::printf("}\n");
        }
    } catch (const std::exception & e) {
        std::fprintf(stderr, "steg-bench-train: %s\n", e.what());
        return 1;
    }
    if (world > 1 && o.dist.rank == 0) {
        int status = 0, bad = 0;
        while (wait(&status) > 0) bad += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return bad ? 1 : 0;
    }
    return 0;
}
