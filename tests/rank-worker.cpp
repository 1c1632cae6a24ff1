// SPDX-License-Identifier: MIT
// steg-test-rank WORLD RANK BATCH EPOCHS PORT OUT: one rank of test-distributed.cpp's
// training, in a process of its own as under torchrun (two trainers in threads of one
// process are not something libtorch supports: oneDNN's backward can crash there). It
// trains EPOCHS epochs of a fixed synthetic set over Gloo on loopback and writes its
// final weights to OUT as raw floats. WORLD 1 is the single process the ranks are
// compared with, EPOCHS 0 the weights before training.
#include "steg-train.h"
#include "test-util.h"

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

        steg::ImageSet set;
        for (int i = 0; i < 16; ++i) {
            steg_test::Image img(20, 20, STEG_FORMAT_RGB8);
            steg_test::fill_synthetic(img.img, uint32_t(i + 70));
            set.push_back({ 20, 20, std::vector<uint8_t>(img.img.data, img.img.data + 20 * 20 * 3), "d" + std::to_string(i) });
        }
        std::vector<int> idx(set.size());
        std::iota(idx.begin(), idx.end(), 0);

        steg::TrainOptions o;
        o.size = 16, o.batch = batch, o.lr = 1e-3, o.seed = 5;
        o.device             = STEG_DEVICE_CPU;
        o.threads            = 1;
        o.data_workers       = 0;
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
