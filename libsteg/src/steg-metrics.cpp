#include "steg-metrics.h"

#include "steg-error.h"
#include "steg-image.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace steg {

namespace {

constexpr int    kWindow = 11;  // Wang et al. 2004: 11x11 Gaussian, sigma 1.5
constexpr double kSigma  = 1.5;
constexpr double kC1     = (0.01 * 255) * (0.01 * 255);
constexpr double kC2     = (0.03 * 255) * (0.03 * 255);

int colour_channels(steg_format f) {
    return f == STEG_FORMAT_GRAY8 ? 1 : 3;  // alpha is not part of the picture
}

void check_pair(const steg_image & a, const steg_image & b) {
    check_image(&a, "first image");
    check_image(&b, "second image");
    if (a.width != b.width || a.height != b.height) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "images differ in size: " + std::to_string(a.width) + "x" +
                                                   std::to_string(a.height) + " vs " + std::to_string(b.width) + "x" +
                                                   std::to_string(b.height));
    }
    if (colour_channels(a.format) != colour_channels(b.format)) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "cannot compare a grayscale image with a colour one");
    }
}

std::vector<float> plane_of(const steg_image & img, int c) {
    const int          ch = steg_format_channels(img.format);
    std::vector<float> p(size_t(img.width) * img.height);
    for (int y = 0; y < img.height; ++y) {
        const uint8_t * row = img.data + y * row_bytes(img);
        for (int x = 0; x < img.width; ++x) {
            p[size_t(y) * img.width + x] = row[x * ch + c];
        }
    }
    return p;
}

// Separable Gaussian filter, keeping only the positions where the window fits.
std::vector<double> filter_valid(const std::vector<double> & src, int w, int h, const double * g) {
    const int           ow = w - kWindow + 1, oh = h - kWindow + 1;
    std::vector<double> tmp(size_t(ow) * h), out(size_t(ow) * oh);
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < ow; ++x) {
            double acc = 0;
            for (int k = 0; k < kWindow; ++k) {
                acc += g[k] * src[size_t(y) * w + x + k];
            }
            tmp[size_t(y) * ow + x] = acc;
        }
    }
    for (int y = 0; y < oh; ++y) {
        for (int x = 0; x < ow; ++x) {
            double acc = 0;
            for (int k = 0; k < kWindow; ++k) {
                acc += g[k] * tmp[size_t(y + k) * ow + x];
            }
            out[size_t(y) * ow + x] = acc;
        }
    }
    return out;
}

}  // namespace

double psnr(const steg_image & a, const steg_image & b) {
    check_pair(a, b);
    const int cc = colour_channels(a.format);
    const int ca = steg_format_channels(a.format), cb = steg_format_channels(b.format);
    double    se = 0;
    for (int y = 0; y < a.height; ++y) {
        const uint8_t * ra = a.data + y * row_bytes(a);
        const uint8_t * rb = b.data + y * row_bytes(b);
        for (int x = 0; x < a.width; ++x) {
            for (int c = 0; c < cc; ++c) {
                const double d = double(ra[x * ca + c]) - double(rb[x * cb + c]);
                se += d * d;
            }
        }
    }
    const double mse = se / (double(a.width) * a.height * cc);
    if (mse == 0) {
        return std::numeric_limits<double>::infinity();
    }
    return 10.0 * std::log10(255.0 * 255.0 / mse);
}

double ssim_plane(const float * a, const float * b, int w, int h) {
    if (w < kWindow || h < kWindow) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "SSIM needs images of at least 11x11 pixels");
    }
    double g[kWindow], sum = 0;
    for (int k = 0; k < kWindow; ++k) {
        const double d = k - kWindow / 2;
        g[k]           = std::exp(-d * d / (2 * kSigma * kSigma));
        sum += g[k];
    }
    for (double & v : g) {
        v /= sum;
    }
    const size_t        n = size_t(w) * h;
    std::vector<double> x(n), y(n), xx(n), yy(n), xy(n);
    for (size_t i = 0; i < n; ++i) {
        x[i]  = a[i];
        y[i]  = b[i];
        xx[i] = x[i] * x[i];
        yy[i] = y[i] * y[i];
        xy[i] = x[i] * y[i];
    }
    const auto mx = filter_valid(x, w, h, g), my = filter_valid(y, w, h, g);
    const auto sxx = filter_valid(xx, w, h, g), syy = filter_valid(yy, w, h, g), sxy = filter_valid(xy, w, h, g);
    double     total = 0;
    for (size_t i = 0; i < mx.size(); ++i) {
        const double vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cov = sxy[i] - mx[i] * my[i];
        total += ((2 * mx[i] * my[i] + kC1) * (2 * cov + kC2)) /
                 ((mx[i] * mx[i] + my[i] * my[i] + kC1) * (vx + vy + kC2));
    }
    return total / double(mx.size());
}

double ssim(const steg_image & a, const steg_image & b) {
    check_pair(a, b);
    const int cc    = colour_channels(a.format);
    double    total = 0;
    for (int c = 0; c < cc; ++c) {
        const auto pa = plane_of(a, c), pb = plane_of(b, c);
        total += ssim_plane(pa.data(), pb.data(), a.width, a.height);
    }
    return total / cc;
}

}  // namespace steg
