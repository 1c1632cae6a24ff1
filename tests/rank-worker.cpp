// SPDX-License-Identifier: MIT
// steg-test-rank WORLD RANK BATCH EPOCHS PORT OUT: one rank of test-distributed.cpp's
// training, in a process of its own as under torchrun (two trainers in threads of one
// process are not something libtorch supports: oneDNN's backward can crash there). It
// trains EPOCHS epochs of a fixed synthetic set over Gloo on loopback and writes its
// final weights to OUT as raw floats. WORLD 1 is the single process the ranks are
// compared with, EPOCHS 0 the weights before training.
#include "test-train-util.h"

#include <atomic>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <numeric>
#include <string>

int main(int argc, char ** argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: steg-test-rank WORLD RANK BATCH EPOCHS PORT OUT\n");
        return 2;
    }
    try {
        const int world = std::stoi(argv[1]), rank = std::stoi(argv[2]), batch = std::stoi(argv[3]);
        const int epochs = std::stoi(argv[4]), port = std::stoi(argv[5]);
        const std::string out = argv[6];

        const steg::ImageSet set = steg_test::synthetic_set(16, 20);
        std::vector<int> idx(set.size());
        std::iota(idx.begin(), idx.end(), 0);

        steg::TrainOptions o = steg_test::distributed_test_options(batch);
        o.dist.world_size    = world;
        o.dist.rank          = rank;
        o.dist.master_port   = port;
        o.dist.timeout_s     = 60;
        o.dist.interface     = "lo";
        steg::Trainer     t(o);
        std::atomic<bool> stop{ false };
        for (int e = 0; e < epochs; ++e) {
            t.train_epoch(set, set, steg::epoch_pairs(idx, idx, true, 1, o.seed, e), stop, {});
        }
        const std::vector<float> w = t.parameters_flat();
        const std::string        tmp = out + ".part";
        {
            std::ofstream f(tmp, std::ios::binary);
            f.write(reinterpret_cast<const char *>(w.data()), std::streamsize(w.size() * sizeof(float)));
            if (!f) throw std::runtime_error("cannot write " + tmp);
        }
        std::filesystem::rename(tmp, out);
        return 0;
    } catch (const std::exception & e) {
        std::fprintf(stderr, "rank %s: %s\n", argv[2], e.what());
        return 1;
    }
}
