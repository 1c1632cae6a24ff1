// SPDX-License-Identifier: MIT
// steg-engine.h - runs a model over images of any size: tiles with halos, so memory
// stays bounded and the result is bit-identical to whole-image inference. No torch in
// this header (the engine hides it behind a pimpl), so the C API compiles fast.
#pragma once

#include "steg-rows.h"
#include "steg.h"

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace steg {

struct EngineOptions {
    steg_device    device    = STEG_DEVICE_AUTO;
    int            n_threads = 0;    // 0 = all cores
    int            tile_size = 0;    // inner tile edge in pixels; 0: the device's default
    steg_precision precision = STEG_PRECISION_AUTO;
};

// Called after each tile with the fraction done; return false to cancel.
using Progress = std::function<bool(float)>;

constexpr int kDefaultTileSize     = 512;
constexpr int kDefaultCudaTileSize = 4096;  // frames up to 4K run whole on CUDA

// The payload score counts the pixels where the decoder's output lies more than this
// many levels outside 0..255 (steg_reveal_scored in steg.h).
constexpr float kPayloadScoreSlack = 8.0f;

class Engine {
  public:
    Engine(const std::string & model_path, const EngineOptions & options);  // throws steg::Error
    ~Engine();

    // See steg_hide / steg_reveal in steg.h; inputs are validated there. Throws steg::Error.
    void hide(const steg_image & cover, const steg_image & payload, steg_image & hybrid, const Progress & progress);
    // Returns the payload score (steg_reveal_scored in steg.h) when `score`, else 1.
    double reveal(const steg_image & hybrid, steg_image & payload, const Progress & progress, bool score);

    // The same, on images read and written a band of rows at a time (bit-identical to
    // the calls above): the cover's and payload's sizes must match (the callers check).
    // `squared_error` (may be null): the sum of squared differences of the cover's and
    // the hybrid's R, G, B samples, as steg_psnr sums them.
    void   hide_rows(RowSource & cover, RowSource & payload, RowSink & hybrid, const Progress & progress,
                     double * squared_error);
    double reveal_rows(RowSource & hybrid, RowSink & payload, const Progress & progress, bool score);

    const std::map<std::string, std::string> & metadata() const;
    const char *                               device_name() const;
    const char *                               precision_name() const;  // steg_context_precision

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace steg
