// SPDX-License-Identifier: MIT
// steg-payload.h - turning any image into a one-channel payload of the cover's size.
#pragma once

#include "steg-rows.h"
#include "steg.h"

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

namespace steg {

// BT.601 luma of an 8-bit R, G, B pixel, unrounded: the one definition of the payload's
// luma (steg_payload_prepare, the training batches and evaluation all use it).
inline float bt601_luma(const uint8_t * rgb) {
    return 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
}

// For each destination sample along one axis: the first source index and its weights
// (a triangle filter, widened by the scale factor when shrinking).
struct Taps {
    std::vector<int>                first;
    std::vector<std::vector<float>> weights;
};
Taps make_taps(int src, int dst);
// One row resampled: out[x] = sum over k of tx.weights[x][k] * row[tx.first[x] + k].
void resize_row(const float * row, const Taps & tx, float * out);

// Resamples a one-channel float image with a triangle filter widened by the scale
// factor when shrinking (antialiased), like the "bilinear" filters of image editors.
std::vector<float> resize_plane(const std::vector<float> & src, int sw, int sh, int dw, int dh);

// A payload as steg_payload_prepare makes it (GRAY8, width x height: `src` as BT.601 luma
// or one channel, scaled or letterboxed), made a band of rows at a time, so that only
// the source's plane is held, never the fitted image. Throws steg::Error.
class PayloadRows final : public RowSource {
  public:
    PayloadRows(const steg_image & src, int32_t width, int32_t height, steg_fit fit, steg_channel channel);
    void read(uint8_t * dst, int rows) override;

  private:
    const float * resized_source_row(int y);

    std::vector<float> plane_;  // the source, one channel, sw_ x sh_
    int                sw_ = 0, sh_ = 0;
    int                fw_ = 0, fh_ = 0, ox_ = 0, oy_ = 0;  // the fitted picture and its place
    bool               resize_ = false;
    Taps               tx_, ty_;
    std::deque<std::pair<int, std::vector<float>>> rows_;  // source rows resampled to fw_
    std::vector<float> line_;
    int32_t            next_ = 0;
};

// Throws steg::Error. `out` is allocated here.
void prepare_payload(const steg_image & src, int32_t width, int32_t height, steg_fit fit, steg_channel channel,
                     steg_image & out);

}  // namespace steg
