// SPDX-License-Identifier: MIT
// test-random-model.cpp - the one test helper that needs libtorch (kept apart so the
// host tests, which link only the public libsteg, can share test-util.cpp).
#include "steg-model.h"
#include "test-util.h"

#include <torch/torch.h>

namespace steg_test {

void write_random_model(const std::string & path, uint64_t seed) {
    torch::manual_seed(seed);
    steg::save_model(path, steg::new_model());
}

}  // namespace steg_test
