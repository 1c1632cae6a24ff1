// SPDX-License-Identifier: MIT
// steg-conv-rows.cpp - 3x3 layers a row at a time: see steg-conv-rows.h.
#include "steg-conv-rows.h"

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

// A layer's weights tap-major, as conv_row reads them, in groups of `group` output
// channels (8, or 3 for a layer of three): for group g, input channel ci, kernel row ky
// and column kx, the group's weights side by side.
std::vector<float> taps_of(const RowConv & l, int group) {
    const int          t_count = l.in_channels * 9;
    std::vector<float> taps(size_t(t_count) * size_t(l.out_channels));
    for (int co = 0; co < l.out_channels; ++co) {
        const int g = co / group, k = co % group;
        for (int t = 0; t < t_count; ++t) {
            taps[(size_t(g) * t_count + t) * group + k] = l.weight[size_t(co) * t_count + t];
        }
    }
    return taps;
}

// Output channels [co0, co0 + CO) of one output row: for each eight pixels, CO
// accumulators; each input row segment is loaded once and used for every output channel
// of the group. An output sample is the bias, then one fused multiply-add a tap, in the
// same order wherever it lies. `taps` is the group's part of taps_of(). Built for
// AVX-512, AVX2 with FMA and plain x86-64, chosen at load time by the CPU (GCC's
// target_clones).
template <int CO>
__attribute__((always_inline)) inline void conv_row(const float * taps, const float * bias, int in_channels,
                                                    const RowRing & in, RowRing & out, int co0, int y) {
    const int     rows_in = in_channels * 3, width = in.width();
    const float * rows[kMaxRowConvInputs * 3];  // the input rows each (ci, ky) reads, found once a row
    for (int ci = 0; ci < in_channels; ++ci) {
        for (int ky = 0; ky < 3; ++ky) {
            rows[ci * 3 + ky] = in.row(ci, y + ky - 1);
        }
    }
    for (int x = 0; x < width; x += kLanes) {
        Lanes acc[CO];
        for (int co = 0; co < CO; ++co) {
            acc[co] = Lanes {} + bias[co];
        }
        for (int r = 0; r < rows_in; ++r) {
            const float * s = rows[r] + x;
            const float * w = taps + std::ptrdiff_t(r) * 3 * CO;
            Lanes         left, mid, right;
            std::memcpy(&left, s - 1, sizeof left);
            std::memcpy(&mid, s, sizeof mid);
            std::memcpy(&right, s + 1, sizeof right);
            for (int co = 0; co < CO; ++co) {
                acc[co] += left * w[co];
            }
            for (int co = 0; co < CO; ++co) {
                acc[co] += mid * w[CO + co];
            }
            for (int co = 0; co < CO; ++co) {
                acc[co] += right * w[2 * CO + co];
            }
        }
        for (int co = 0; co < CO; ++co) {
            const Lanes zero {};
            const Lanes r = acc[co] > zero ? acc[co] : zero;
            std::memcpy(out.row(co0 + co, y) + x, &r, sizeof r);
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define STEG_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define STEG_CLONES
#endif

STEG_CLONES void row8(const float * taps, const float * bias, int in_channels, const RowRing & in, RowRing & out,
                      int co0, int y) {
    conv_row<8>(taps, bias, in_channels, in, out, co0, y);
}

STEG_CLONES void row3(const float * taps, const float * bias, int in_channels, const RowRing & in, RowRing & out,
                      int co0, int y) {
    conv_row<3>(taps, bias, in_channels, in, out, co0, y);
}

// Row y of layer l's output, all its channels, from the ring below.
void layer_row(const RowConv & l, const float * taps, const RowRing & in, RowRing & out, int y) {
    if (l.out_channels == 3) {
        row3(taps, l.bias, l.in_channels, in, out, 0, y);
    } else {
        for (int co0 = 0; co0 < l.out_channels; co0 += 8) {
            row8(taps + std::ptrdiff_t(co0) * l.in_channels * 9, l.bias + co0, l.in_channels, in, out, co0, y);
        }
    }
    out.clear_border(y);
}

// Row y of the input (through a ReLU with `relu`) from H x W x C floats into the ring's
// planar rows.
void input_row_from_hwc(const float * hwc, bool relu, RowRing & ring, int y) {
    const int     c_count = ring.channels(), width = ring.width();
    const float * src     = hwc + std::ptrdiff_t(y) * width * c_count;
    for (int c = 0; c < c_count; ++c) {
        float * r = ring.row(c, y);
        if (relu) {
            for (int x = 0; x < width; ++x) {
                r[x] = std::max(src[std::ptrdiff_t(x) * c_count + c], 0.0f);
            }
        } else {
            for (int x = 0; x < width; ++x) {
                r[x] = src[std::ptrdiff_t(x) * c_count + c];
            }
        }
    }
}

}  // namespace

void conv_rows(std::span<const RowConv> layers, bool relu_input, const float * hwc, int height, int width, float * chw,
               int y0, int y1) {
    const int n = int(layers.size());
    for (int k = 0; k < n; ++k) {
        if (!row_conv_supported(layers[k].out_channels) || layers[k].in_channels < 1 ||
            layers[k].in_channels > kMaxRowConvInputs || (k > 0 && layers[k].in_channels != layers[k - 1].out_channels)) {
            throw Error(STEG_ERR_INTERNAL, "conv_rows: layers that do not chain, or with outputs or inputs it does not take");
        }
    }
    if (n == 0 || width <= 0 || y0 < 0 || y1 > height || y0 >= y1) {
        return;
    }
    // Ring 0 holds the input (or its ReLU), ring k the output of layer k.
    std::vector<RowRing>            rings;
    std::vector<std::vector<float>> taps;
    rings.emplace_back(layers[0].in_channels, height, width);
    for (const auto & l : layers) {
        rings.emplace_back(l.out_channels, height, width);
        taps.push_back(taps_of(l, l.out_channels == 3 ? 3 : 8));
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
                input_row_from_hwc(hwc, relu_input, rings[0], r);
            } else {
                layer_row(layers[k - 1], taps[k - 1].data(), rings[k - 1], rings[k], r);
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
