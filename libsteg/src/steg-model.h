// steg-model.h - a model: the paper's encoder and decoder plus the string metadata of
// its file. Internal (includes torch through steg-network.h).
#pragma once

#include "steg-network.h"

#include <map>
#include <string>

namespace steg {

constexpr const char * kArchitecture  = "rehman2017";
constexpr const char * kFormatVersion = "1";

struct Model {
    Encoder                            encoder;
    Decoder                            decoder;
    std::map<std::string, std::string> metadata;
};

// A fresh model: Xavier-uniform weights, metadata naming the architecture and the
// normalisation.
Model new_model();

// Reads a model file and checks that it holds exactly the tensors of the architecture
// it names, with the right shapes and dtype. Throws steg::Error(STEG_ERR_MODEL, ...).
Model load_model(const std::string & path);

// Moves every conv weight of the model to channels-last (NHWC) in place, for oneDNN's
// and cuDNN's faster kernels. Values and parameter identity are unchanged.
void to_channels_last(Model & model);

// Writes encoder and decoder weights (F32) and the metadata, atomically.
void save_model(const std::string & path, const Model & model);

}  // namespace steg
