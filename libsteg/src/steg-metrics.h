// steg-metrics.h - image quality as the paper reports it: PSNR and SSIM on 8-bit data.
#pragma once

#include "steg.h"

namespace steg {

// Both throw steg::Error(STEG_ERR_INVALID_ARGUMENT) for images that cannot be compared.
double psnr(const steg_image & a, const steg_image & b);
double ssim(const steg_image & a, const steg_image & b);

// SSIM of one plane of floats in [0, 255] (Wang et al. 2004, valid windows only).
double ssim_plane(const float * a, const float * b, int width, int height);

}  // namespace steg
