// SPDX-License-Identifier: MIT
// steg-metrics.h - image quality as the paper reports it (PSNR and SSIM on 8-bit data),
// and the colour difference a person sees (CIEDE2000).
#pragma once

#include "steg.h"

namespace steg {

// Both throw steg::Error(STEG_ERR_INVALID_ARGUMENT) for images that cannot be compared.
double psnr(const steg_image & a, const steg_image & b);
double ssim(const steg_image & a, const steg_image & b);

// SSIM of one plane of floats in [0, 255] (Wang et al. 2004, valid windows only).
double ssim_plane(const float * a, const float * b, int width, int height);

struct Lab {
    double l, a, b;
};

// An 8-bit sRGB colour in CIELAB (D65 white, 2-degree observer).
Lab srgb_to_lab(const uint8_t rgb[3]);

// CIEDE2000 difference of two CIELAB colours (Sharma, Wu, Dalal 2005; kL = kC = kH = 1).
double ciede2000(const Lab & x, const Lab & y);

struct ColourDifference {
    double mean = 0, p99 = 0;  // over pixels
};

// CIEDE2000 between the pixels of two RGB(A) images (alpha ignored). Throws
// steg::Error(STEG_ERR_INVALID_ARGUMENT) for gray images or images that cannot be compared.
ColourDifference colour_difference(const steg_image & a, const steg_image & b);

}  // namespace steg
