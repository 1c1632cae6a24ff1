// SPDX-License-Identifier: MIT
// The synthetic training data and options the distributed tests and their rank worker
// (rank-worker.cpp) share: the ranks and the single process they are compared with
// must train on the same set with the same options.
#pragma once

#include "steg-data.h"
#include "steg-train.h"
#include "test-util.h"

#include <string>
#include <vector>

namespace steg_test {

inline steg::ImageSet synthetic_set(int n, int size) {
    steg::ImageSet set;
    for (int i = 0; i < n; ++i) {
        Image img(size, size, STEG_FORMAT_RGB8);
        fill_synthetic(img.img, uint32_t(i + 70));
        set.push_back({ size, size, std::vector<uint8_t>(img.img.data, img.img.data + size * size * 3),
                        "d" + std::to_string(i) });
    }
    return set;
}

inline steg::TrainOptions distributed_test_options(int batch) {
    steg::TrainOptions o;
    o.size = 16, o.batch = batch, o.lr = 1e-3, o.seed = 5;
    o.device       = STEG_DEVICE_CPU;
    o.threads      = 1;
    o.data_workers = 0;
    return o;
}

}  // namespace steg_test
