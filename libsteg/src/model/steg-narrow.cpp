// SPDX-License-Identifier: MIT
// steg-narrow.cpp - the decoder's narrow layers: see steg-narrow.h.
#include "steg-narrow.h"

#include "steg-error.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace steg {

namespace {

constexpr int kLanes = 8;  // pixels a vector; the rows' right border holds one vector more
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

// The last three rows a layer has made (row y in slot y mod 3), each channel's row with a
// zero border: index -1 and the indices W to W + 8, so that a vector of eight pixels may
// be read at any x in 0..W-1 with its neighbours. Rows outside the image read as zeros.
class RowRing {
  public:
    RowRing(int channels, int height, int width)
        : channels_(channels),
          height_(height),
          stride_(width + 2 + kLanes),
          width_(width),
          data_(new float[size_t(3 * channels + 1) * size_t(stride_)]()) {}

    int channels() const { return channels_; }
    int width() const { return width_; }
    float * row(int c, int y) { return data_.get() + offset(c, y); }
    const float * row(int c, int y) const { return data_.get() + offset(c, y); }

    // Zeroes row y's right border in every channel (after a vector wrote past the width).
    void clear_border(int y) {
        for (int c = 0; c < channels_; ++c) {
            std::memset(row(c, y) + width_, 0, sizeof(float) * kLanes);
        }
    }

  private:
    // The zero row is the last; the left border (index -1) is never written.
    std::ptrdiff_t offset(int c, int y) const {
        const std::ptrdiff_t slot = y < 0 || y >= height_ ? 3 * channels_ : (y % 3) * channels_ + c;
        return slot * stride_ + 1;
    }

    int                      channels_, height_, stride_, width_;
    std::unique_ptr<float[]> data_;
};

// One output row, all CO channels: for each eight pixels, CO accumulators; each input
// row segment is loaded once and used for every output channel. Built for AVX-512, AVX2
// with FMA and plain x86-64, chosen at load time by the CPU (GCC's target_clones).
template <int CO>
__attribute__((always_inline)) inline void conv_row(const NarrowLayer & l, const RowRing & in, RowRing & out, int y) {
    const int ci_count = l.in_channels, width = in.width();
    for (int x = 0; x < width; x += kLanes) {
        Lanes acc[CO];
        for (int co = 0; co < CO; ++co) {
            acc[co] = Lanes {} + l.bias[co];
        }
        for (int ci = 0; ci < ci_count; ++ci) {
            for (int ky = 0; ky < 3; ++ky) {
                const float * s = in.row(ci, y + ky - 1) + x;
                Lanes         left, mid, right;
                std::memcpy(&left, s - 1, sizeof left);
                std::memcpy(&mid, s, sizeof mid);
                std::memcpy(&right, s + 1, sizeof right);
                const float * w = l.weight + (ci * 3 + ky) * 3;
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
    out.clear_border(y);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define STEG_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define STEG_CLONES
#endif

STEG_CLONES void row8(const NarrowLayer & l, const RowRing & in, RowRing & out, int y) {
    conv_row<8>(l, in, out, y);
}

STEG_CLONES void row3(const NarrowLayer & l, const RowRing & in, RowRing & out, int y) {
    conv_row<3>(l, in, out, y);
}

// Row y of relu(input) from H x W x C floats into the ring's planar rows.
void relu_row_from_hwc(const float * hwc, RowRing & ring, int y) {
    const int     c_count = ring.channels(), width = ring.width();
    const float * src     = hwc + std::ptrdiff_t(y) * width * c_count;
    for (int c = 0; c < c_count; ++c) {
        float * r = ring.row(c, y);
        for (int x = 0; x < width; ++x) {
            r[x] = std::max(src[std::ptrdiff_t(x) * c_count + c], 0.0f);
        }
    }
}

}  // namespace

void narrow_tail_rows(std::span<const NarrowLayer> layers, const float * hwc, int height, int width, float * chw,
                      int y0, int y1) {
    const int n = int(layers.size());
    for (int k = 0; k < n; ++k) {
        if (!narrow_layer_supported(layers[k].out_channels) || (k > 0 && layers[k].in_channels != layers[k - 1].out_channels)) {
            throw Error(STEG_ERR_INTERNAL, "narrow_tail_rows: layers that do not chain, or not 8 or 3 outputs");
        }
    }
    if (n == 0 || width <= 0 || y0 < 0 || y1 > height || y0 >= y1) {
        return;
    }
    // Ring 0 holds relu(input), ring k the output of layer k.
    std::vector<RowRing> rings;
    rings.emplace_back(layers[0].in_channels, height, width);
    for (const auto & l : layers) {
        rings.emplace_back(l.out_channels, height, width);
    }
    // At step s, ring k makes its row s - k if the band needs it: the last ring's rows
    // [y0, y1), and each ring below one row more on either side. The rows a layer reads
    // (r - 1, r, r + 1 of the ring below) were made at steps s - 2, s - 1 and s.
    for (int s = y0 - n; s < y1 + n; ++s) {
        for (int k = 0; k <= n; ++k) {
            const int r = s - k;
            if (r < std::max(0, y0 - (n - k)) || r >= std::min(height, y1 + (n - k))) {
                continue;
            }
            if (k == 0) {
                relu_row_from_hwc(hwc, rings[0], r);
            } else if (layers[k - 1].out_channels == 8) {
                row8(layers[k - 1], rings[k - 1], rings[k], r);
            } else {
                row3(layers[k - 1], rings[k - 1], rings[k], r);
            }
        }
        const int r = s - n;
        if (r >= y0 && r < y1) {
            const RowRing & last = rings[n];
            for (int c = 0; c < last.channels(); ++c) {
                std::memcpy(chw + (std::ptrdiff_t(c) * height + r) * width, last.row(c, r), sizeof(float) * size_t(width));
            }
        }
    }
}

void pointwise_rows(const float * weight, float bias, const float * chw, int channels, int64_t plane, float * out,
                    int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
        out[i] = bias;
    }
    for (int c = 0; c < channels; ++c) {
        const float   w = weight[c];
        const float * p = chw + c * plane;
        for (int64_t i = begin; i < end; ++i) {
            out[i] += w * p[i];
        }
    }
}

}  // namespace steg
