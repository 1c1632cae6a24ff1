// SPDX-License-Identifier: MIT
// steg-narrow.cpp - the decoder's narrow layers: see steg-narrow.h.
#include "steg-narrow.h"

#include "steg-error.h"

#include <cstring>

namespace steg {

namespace {

constexpr int kLanes = 8;  // pixels a vector; the rows' right border holds one vector more
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

// One output row, all CO channels: for each eight pixels, CO accumulators; each input
// row segment is loaded once and used for every output channel. Built for AVX-512, AVX2
// with FMA and plain x86-64, chosen at load time by the CPU (GCC's target_clones).
template <int CO>
__attribute__((always_inline)) inline void conv_row(const float * __restrict weight, const float * __restrict bias,
                                                    const PlaneStack & in, PlaneStack & out, int y) {
    const int ci_count = in.channels(), width = in.width();
    for (int x = 0; x < width; x += kLanes) {
        Lanes acc[CO];
        for (int co = 0; co < CO; ++co) {
            acc[co] = Lanes {} + bias[co];
        }
        for (int ci = 0; ci < ci_count; ++ci) {
            for (int ky = 0; ky < 3; ++ky) {
                const float * s = in.row(ci, y + ky - 1) + x;
                Lanes        left, mid, right;
                std::memcpy(&left, s - 1, sizeof left);
                std::memcpy(&mid, s, sizeof mid);
                std::memcpy(&right, s + 1, sizeof right);
                const float * w = weight + (ci * 3 + ky) * 3;
                for (int co = 0; co < CO; ++co) {
                    const float * wc = w + std::ptrdiff_t(co) * ci_count * 9;
                    acc[co] += left * wc[0] + mid * wc[1] + right * wc[2];
                }
            }
        }
        for (int co = 0; co < CO; ++co) {
            const Lanes zero {};
            const Lanes r = acc[co] > zero ? acc[co] : zero;
            std::memcpy(out.row(co, y) + x, &r, sizeof r);
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define STEG_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define STEG_CLONES
#endif

STEG_CLONES void rows8(const float * weight, const float * bias, const PlaneStack & in, PlaneStack & out, int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
        conv_row<8>(weight, bias, in, out, y);
    }
}

STEG_CLONES void rows3(const float * weight, const float * bias, const PlaneStack & in, PlaneStack & out, int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
        conv_row<3>(weight, bias, in, out, y);
    }
}

}  // namespace

PlaneStack::PlaneStack(int channels, int height, int width)
    : channels_(channels),
      height_(height),
      width_(width),
      stride_(width + 2 + kLanes),
      data_(new float[size_t(channels) * size_t(height + 2) * size_t(width + 2 + kLanes)]) {
    for (int c = 0; c < channels_; ++c) {
        std::memset(row(c, -1) - 1, 0, sizeof(float) * size_t(stride_));
        std::memset(row(c, height_) - 1, 0, sizeof(float) * size_t(stride_));
    }
}

void PlaneStack::clear_border(int y) {
    for (int c = 0; c < channels_; ++c) {
        float * r = row(c, y);
        r[-1]    = 0.0f;
        std::memset(r + width_, 0, sizeof(float) * (kLanes + 1));
    }
}

void PlaneStack::set_rows_from_hwc(const float * hwc, int y0, int y1) {
    for (int y = y0; y < y1; ++y) {
        const float * src = hwc + std::ptrdiff_t(y) * width_ * channels_;
        for (int c = 0; c < channels_; ++c) {
            float * r = row(c, y);
            for (int x = 0; x < width_; ++x) {
                r[x] = src[std::ptrdiff_t(x) * channels_ + c];
            }
        }
        clear_border(y);
    }
}

void PlaneStack::rows_to_chw(float * chw, int y0, int y1) const {
    for (int c = 0; c < channels_; ++c) {
        for (int y = y0; y < y1; ++y) {
            std::memcpy(chw + (std::ptrdiff_t(c) * height_ + y) * width_, row(c, y), sizeof(float) * size_t(width_));
        }
    }
}

void conv3x3_relu_rows(const float * weight, const float * bias, const PlaneStack & in, PlaneStack & out, int y0, int y1) {
    if (in.height() != out.height() || in.width() != out.width() || !narrow_layer_supported(out.channels())) {
        throw Error(STEG_ERR_INTERNAL, "conv3x3_relu_rows: planes of another size, or not 8 or 3 outputs");
    }
    if (out.channels() == 8) {
        rows8(weight, bias, in, out, y0, y1);
    } else {
        rows3(weight, bias, in, out, y0, y1);
    }
    // The last vector of each row wrote past the width, into the border the next layer
    // reads as zeros.
    for (int y = y0; y < y1; ++y) {
        out.clear_border(y);
    }
}

}  // namespace steg
