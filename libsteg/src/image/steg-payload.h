// SPDX-License-Identifier: MIT
// steg-payload.h - turning any image into a one-channel payload of the cover's size.
#pragma once

#include "steg.h"

#include <cstdint>
#include <vector>

namespace steg {

// BT.601 luma of an 8-bit R, G, B pixel, unrounded: the one definition of the payload's
// luma (steg_payload_prepare, the training batches and evaluation all use it).
inline float bt601_luma(const uint8_t * rgb) {
    return 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
}

// Resamples a one-channel float image with a triangle filter widened by the scale
// factor when shrinking (antialiased), like the "bilinear" filters of image editors.
std::vector<float> resize_plane(const std::vector<float> & src, int sw, int sh, int dw, int dh);

// Throws steg::Error. `out` is allocated here.
void prepare_payload(const steg_image & src, int32_t width, int32_t height, steg_fit fit, steg_channel channel,
                     steg_image & out);

}  // namespace steg
