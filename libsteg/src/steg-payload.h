// steg-payload.h - turning any image into a one-channel payload of the cover's size.
#pragma once

#include "steg.h"

#include <vector>

namespace steg {

// Resamples a one-channel float image with a triangle filter widened by the scale
// factor when shrinking (antialiased), like the "bilinear" filters of image editors.
std::vector<float> resize_plane(const std::vector<float> & src, int sw, int sh, int dw, int dh);

// Throws steg::Error. `out` is allocated here.
void prepare_payload(const steg_image & src, int32_t width, int32_t height, steg_fit fit, steg_channel channel,
                     steg_image & out);

}  // namespace steg
