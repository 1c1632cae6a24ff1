// SPDX-License-Identifier: MIT
// steg-model.h - a model: the paper's encoder and decoder plus the string metadata of
// its file. Internal (includes torch through steg-network.h).
#pragma once

#include "steg-network.h"

#include <map>
#include <string>

namespace steg {

// The architectures a model file may name. Both have the same layers and weights
// (Table 1); they differ in what the encoder's output means:
//   rehman2017           the paper's: the encoder outputs the hybrid itself;
//   rehman2017-residual  the encoder outputs the change to the cover (hybrid = cover +
//                        output), so an unchanged cover costs the network nothing.
constexpr const char * kArchitecture         = "rehman2017";
constexpr const char * kArchitectureResidual = "rehman2017-residual";
constexpr const char * kFormatVersion        = "1";

// Throws steg::Error(STEG_ERR_MODEL) naming the known architectures when `name` is none.
void check_architecture(const std::string & name, const std::string & where);

struct Model {
    Encoder                            encoder;
    Decoder                            decoder;
    std::map<std::string, std::string> metadata;
    bool                               residual = false;  // architecture rehman2017-residual

    const char * architecture() const { return residual ? kArchitectureResidual : kArchitecture; }

    // The zero-centred float hybrid from the cover and the encoder's output (in fp32,
    // whatever precision the encoder ran in).
    torch::Tensor hybrid(const torch::Tensor & host, const torch::Tensor & encoder_out) const;
};

// A fresh model of `architecture`: Xavier-uniform weights, metadata naming the
// architecture and the normalisation. With a seed the weights come from a generator of
// their own seeded with it (the same weights as torch::manual_seed(seed) would give,
// whatever other threads draw meanwhile); without one, from libtorch's global generator.
Model new_model(const std::string & architecture = kArchitecture, c10::optional<uint64_t> seed = c10::nullopt);

// Reads a model file and checks that it holds exactly the tensors of the architecture
// it names, with the right shapes and dtype. Throws steg::Error(STEG_ERR_MODEL, ...).
Model load_model(const std::string & path);

// Moves every conv weight of the model to channels-last (NHWC) in place, for oneDNN's
// and cuDNN's faster kernels. Values and parameter identity are unchanged.
void to_channels_last(Model & model);

// Writes encoder and decoder weights (F32) and the metadata, atomically.
void save_model(const std::string & path, const Model & model);

}  // namespace steg
