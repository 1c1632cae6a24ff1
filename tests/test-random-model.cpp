// SPDX-License-Identifier: MIT
// test-random-model.cpp - the one test helper that needs libtorch (kept apart so the
// host tests, which link only the public libsteg, can share test-util.cpp).
#include "steg-model.h"
#include "test-util.h"

#include <torch/torch.h>

namespace steg_test {

void write_random_model(const std::string & path, uint64_t seed, const std::map<std::string, std::string> & metadata) {
    torch::manual_seed(seed);
    steg::Model m = steg::new_model();
    for (const auto & kv : metadata) {
        m.metadata[kv.first] = kv.second;
    }
    steg::save_model(path, m);
}

}  // namespace steg_test
