// SPDX-License-Identifier: MIT
#include "steg-payload.h"

#include "steg-error.h"
#include "steg-image.h"

#include <algorithm>
#include <cmath>

namespace steg {

namespace {

// For each destination sample along one axis: the first source index and its weights.
struct Taps {
    std::vector<int>                first;
    std::vector<std::vector<float>> weights;
};

Taps make_taps(int src, int dst) {
    Taps         t;
    const double scale   = double(src) / double(dst);
    const double support = std::max(1.0, scale);  // triangle half-width in source pixels
    for (int i = 0; i < dst; ++i) {
        const double center = (i + 0.5) * scale;
        const int    lo     = std::max(0, int(std::floor(center - support)));
        const int    hi     = std::min(src - 1, int(std::ceil(center + support)));
        std::vector<float> w;
        double             sum = 0;
        for (int j = lo; j <= hi; ++j) {
            const double v = std::max(0.0, 1.0 - std::abs((j + 0.5 - center) / support));
            w.push_back(float(v));
            sum += v;
        }
        for (auto & v : w) {
            v = float(v / sum);
        }
        t.first.push_back(lo);
        t.weights.push_back(std::move(w));
    }
    return t;
}

uint8_t to_byte(float v) {
    return uint8_t(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
}

}  // namespace

std::vector<float> resize_plane(const std::vector<float> & src, int sw, int sh, int dw, int dh) {
    const Taps         tx = make_taps(sw, dw), ty = make_taps(sh, dh);
    std::vector<float> tmp(size_t(dw) * sh), dst(size_t(dw) * dh);
    for (int y = 0; y < sh; ++y) {  // horizontal pass
        const float * row = src.data() + size_t(y) * sw;
        for (int x = 0; x < dw; ++x) {
            float acc = 0;
            for (size_t k = 0; k < tx.weights[x].size(); ++k) {
                acc += tx.weights[x][k] * row[tx.first[x] + int(k)];
            }
            tmp[size_t(y) * dw + x] = acc;
        }
    }
    for (int y = 0; y < dh; ++y) {  // vertical pass
        float * out = dst.data() + size_t(y) * dw;
        for (size_t k = 0; k < ty.weights[y].size(); ++k) {
            const float   w   = ty.weights[y][k];
            const float * row = tmp.data() + size_t(ty.first[y] + int(k)) * dw;
            for (int x = 0; x < dw; ++x) {
                out[x] += w * row[x];
            }
        }
    }
    return dst;
}

void prepare_payload(const steg_image & src, int32_t width, int32_t height, steg_fit fit, steg_channel channel,
                     steg_image & out) {
    check_image(&src, "payload");
    if (width <= 0 || height <= 0) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "payload target size must be positive");
    }
    if (fit != STEG_FIT_SCALE && fit != STEG_FIT_LETTERBOX) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "unknown fit mode " + std::to_string(int(fit)));
    }
    if (channel < STEG_CHANNEL_LUMA || channel > STEG_CHANNEL_B) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "unknown payload channel " + std::to_string(int(channel)));
    }
    // One channel: a gray image is taken as it is; colour becomes BT.601 luma or one channel.
    const int          ch = steg_format_channels(src.format);
    std::vector<float> plane(size_t(src.width) * src.height);
    for (int y = 0; y < src.height; ++y) {
        const uint8_t * row = src.data + y * row_bytes(src);
        float *         dst = plane.data() + size_t(y) * src.width;
        for (int x = 0; x < src.width; ++x) {
            const uint8_t * p = row + x * ch;
            if (ch == 1) {
                dst[x] = p[0];
            } else if (channel == STEG_CHANNEL_LUMA) {
                dst[x] = bt601_luma(p);
            } else {
                dst[x] = p[int(channel) - 1];
            }
        }
    }

    int fw = width, fh = height;  // size of the fitted picture inside the payload
    if (fit == STEG_FIT_LETTERBOX) {
        const double s = std::min(double(width) / src.width, double(height) / src.height);
        fw             = std::clamp(int(std::lround(src.width * s)), 1, width);
        fh             = std::clamp(int(std::lround(src.height * s)), 1, height);
    }
    if (fw != src.width || fh != src.height) {
        plane = resize_plane(plane, src.width, src.height, fw, fh);
    }
    alloc_image(out, width, height, STEG_FORMAT_GRAY8);  // zeroed: the letterbox bars are black
    const int ox = (width - fw) / 2, oy = (height - fh) / 2;
    for (int y = 0; y < fh; ++y) {
        for (int x = 0; x < fw; ++x) {
            out.data[size_t(oy + y) * width + ox + x] = to_byte(plane[size_t(y) * fw + x]);
        }
    }
}

}  // namespace steg
