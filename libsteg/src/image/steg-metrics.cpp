// SPDX-License-Identifier: MIT
#include "steg-metrics.h"

#include "steg-error.h"
#include "steg-image.h"

#include <algorithm>
#include <array>
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

Lab srgb_to_lab(const uint8_t rgb[3]) {
    static const std::array<double, 256> linear = [] {
        std::array<double, 256> t{};
        for (int i = 0; i < 256; ++i) {
            const double c = i / 255.0;
            t[size_t(i)]   = c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
        }
        return t;
    }();
    const double r = linear[rgb[0]], g = linear[rgb[1]], b = linear[rgb[2]];
    // sRGB primaries to XYZ, divided by the D65 white point (0.95047, 1, 1.08883)
    const double x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
    const double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
    const double z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
    auto         f = [](double t) {
        constexpr double d = 6.0 / 29.0;
        return t > d * d * d ? std::cbrt(t) : t / (3 * d * d) + 4.0 / 29.0;
    };
    const double fx = f(x), fy = f(y), fz = f(z);
    return { 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz) };
}

double ciede2000(const Lab & x, const Lab & y) {
    constexpr double kDeg = M_PI / 180.0, k25_7 = 6103515625.0;  // 25^7
    auto             pow7 = [](double v) { return v * v * v * v * v * v * v; };
    const double     c1 = std::hypot(x.a, x.b), c2 = std::hypot(y.a, y.b);
    const double     cbar7 = pow7((c1 + c2) / 2);
    const double     g     = 0.5 * (1 - std::sqrt(cbar7 / (cbar7 + k25_7)));
    const double     a1 = (1 + g) * x.a, a2 = (1 + g) * y.a;
    const double     cp1 = std::hypot(a1, x.b), cp2 = std::hypot(a2, y.b);
    auto             hue = [](double b, double a) {
        if (a == 0 && b == 0) {
            return 0.0;
        }
        const double h = std::atan2(b, a) / (M_PI / 180.0);
        return h < 0 ? h + 360 : h;
    };
    const double h1 = hue(x.b, a1), h2 = hue(y.b, a2);
    const bool   achromatic = cp1 * cp2 == 0;
    double       dh         = 0;
    if (!achromatic) {
        dh = h2 - h1;
        dh = dh > 180 ? dh - 360 : dh < -180 ? dh + 360 : dh;
    }
    const double dl = y.l - x.l, dc = cp2 - cp1;
    const double dH = 2 * std::sqrt(cp1 * cp2) * std::sin(dh / 2 * kDeg);
    const double lbar = (x.l + y.l) / 2, cbar = (cp1 + cp2) / 2;
    double       hbar = h1 + h2;
    if (!achromatic) {
        hbar = std::abs(h1 - h2) <= 180 ? hbar / 2 : hbar < 360 ? (hbar + 360) / 2 : (hbar - 360) / 2;
    }
    const double t = 1 - 0.17 * std::cos((hbar - 30) * kDeg) + 0.24 * std::cos(2 * hbar * kDeg) +
                     0.32 * std::cos((3 * hbar + 6) * kDeg) - 0.20 * std::cos((4 * hbar - 63) * kDeg);
    const double dtheta = 30 * std::exp(-std::pow((hbar - 275) / 25, 2));
    const double cbar_7 = pow7(cbar);
    const double rc     = 2 * std::sqrt(cbar_7 / (cbar_7 + k25_7));
    const double l50    = (lbar - 50) * (lbar - 50);
    const double sl = 1 + 0.015 * l50 / std::sqrt(20 + l50), sc = 1 + 0.045 * cbar, sh = 1 + 0.015 * cbar * t;
    const double rt = -std::sin(2 * dtheta * kDeg) * rc;
    const double ql = dl / sl, qc = dc / sc, qh = dH / sh;
    return std::sqrt(std::max(0.0, ql * ql + qc * qc + qh * qh + rt * qc * qh));
}

ColourDifference colour_difference(const steg_image & a, const steg_image & b) {
    check_pair(a, b);
    if (colour_channels(a.format) != 3) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "a colour difference needs colour images, not grayscale");
    }
    const int          ca = steg_format_channels(a.format), cb = steg_format_channels(b.format);
    std::vector<float> d(size_t(a.width) * a.height);
    double             sum = 0;
    for (int y = 0; y < a.height; ++y) {
        const uint8_t * ra = a.data + y * row_bytes(a);
        const uint8_t * rb = b.data + y * row_bytes(b);
        for (int x = 0; x < a.width; ++x) {
            const uint8_t * pa = ra + x * ca;
            const uint8_t * pb = rb + x * cb;
            double          v  = 0;
            if (pa[0] != pb[0] || pa[1] != pb[1] || pa[2] != pb[2]) {
                v = ciede2000(srgb_to_lab(pa), srgb_to_lab(pb));
            }
            d[size_t(y) * a.width + x] = float(v);
            sum += v;
        }
    }
    ColourDifference out;
    out.mean = sum / double(d.size());
    // The 99th percentile by the nearest-rank rule.
    const size_t k = std::min(d.size() - 1, size_t(std::ceil(0.99 * double(d.size()))) - 1);
    std::nth_element(d.begin(), d.begin() + long(k), d.end());
    out.p99 = d[k];
    return out;
}

}  // namespace steg
