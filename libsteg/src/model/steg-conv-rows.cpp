// SPDX-License-Identifier: MIT
// steg-conv-rows.cpp - the networks' convolutions a row at a time: see steg-conv-rows.h.
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
std::vector<float> taps_of(const RowLayer & l, int group) {
    const int          t_count = l.in_channels * l.kernel * l.kernel;
    std::vector<float> taps(size_t(t_count) * size_t(l.out_channels));
    for (int co = 0; co < l.out_channels; ++co) {
        const int g = co / group, k = co % group;
        for (int t = 0; t < t_count; ++t) {
            taps[(size_t(g) * t_count + t) * group + k] = l.weight[size_t(co) * t_count + t];
        }
    }
    return taps;
}

// Output channels [co0, co0 + CO) of output row y: for each eight pixels, CO
// accumulators; each input row segment is loaded once and used for every output channel
// of the group. `rows` holds the input rows read, K a channel (a 3x3 layer: the rows
// above, at and below y). An output sample is the bias, then one fused multiply-add a
// tap, in the same order wherever it lies. `taps` is the group's part of taps_of().
template <int CO, int K>
__attribute__((always_inline)) inline void conv_row(const float * taps, const float * bias, const float * const * rows,
                                                    int rows_in, int width, bool relu, RowRing & out, int co0, int y) {
    for (int x = 0; x < width; x += kLanes) {
        Lanes acc[CO];
        for (int co = 0; co < CO; ++co) {
            acc[co] = Lanes {} + bias[co];
        }
        for (int r = 0; r < rows_in; ++r) {
            const float * s = rows[r] + x;
            const float * w = taps + std::ptrdiff_t(r) * K * CO;
            Lanes         mid;
            std::memcpy(&mid, s, sizeof mid);
            if constexpr (K == 3) {
                Lanes left, right;
                std::memcpy(&left, s - 1, sizeof left);
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
            } else {
                for (int co = 0; co < CO; ++co) {
                    acc[co] += mid * w[co];
                }
            }
        }
        for (int co = 0; co < CO; ++co) {
            const Lanes zero {};
            const Lanes r = relu ? (acc[co] > zero ? acc[co] : zero) : acc[co];
            std::memcpy(out.row(co0 + co, y) + x, &r, sizeof r);
        }
    }
}

// Built for AVX-512, AVX2 with FMA and plain x86-64, chosen at load time by the CPU
// (GCC's target_clones).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define STEG_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define STEG_CLONES
#endif

#define STEG_ROW_KERNEL(name, CO, K)                                                                                   \
    STEG_CLONES void name(const float * taps, const float * bias, const float * const * rows, int rows_in, int width, \
                          bool relu, RowRing & out, int co0, int y) {                                                  \
        conv_row<CO, K>(taps, bias, rows, rows_in, width, relu, out, co0, y);                                          \
    }
STEG_ROW_KERNEL(row8x3, 8, 3)
STEG_ROW_KERNEL(row3x3, 3, 3)
STEG_ROW_KERNEL(row8x1, 8, 1)
STEG_ROW_KERNEL(row3x1, 3, 1)
#undef STEG_ROW_KERNEL

// Row y of an input from H x W x C floats into the ring's planar rows.
void input_row_from_hwc(const float * hwc, RowRing & ring, int y) {
    const int     c_count = ring.channels(), width = ring.width();
    const float * src     = hwc + std::ptrdiff_t(y) * width * c_count;
    for (int c = 0; c < c_count; ++c) {
        float * r = ring.row(c, y);
        for (int x = 0; x < width; ++x) {
            r[x] = src[std::ptrdiff_t(x) * c_count + c];
        }
    }
}

// Row y of layer l's output, all its channels, from the rings of its sources.
void layer_row(const RowLayer & l, const float * taps, const std::vector<RowRing> & rings, RowRing & out, int y) {
    const float * rows[kMaxRowLayerInputs * 3];  // the input rows each (ci, ky) reads, found once a row
    int           n = 0;
    for (int src : l.sources) {
        if (src < 0) {
            continue;
        }
        const RowRing & in = rings[size_t(src)];
        for (int ci = 0; ci < in.channels(); ++ci) {
            for (int ky = 0; ky < l.kernel; ++ky) {
                rows[n++] = in.row(ci, y + ky - l.kernel / 2);
            }
        }
    }
    const int width = out.width();
    if (l.out_channels == 3) {
        (l.kernel == 3 ? row3x3 : row3x1)(taps, l.bias, rows, n, width, l.relu, out, 0, y);
    } else {
        const std::ptrdiff_t group = std::ptrdiff_t(8) * l.in_channels * l.kernel * l.kernel;
        for (int co0 = 0; co0 < l.out_channels; co0 += 8) {
            (l.kernel == 3 ? row8x3 : row8x1)(taps + co0 / 8 * group, l.bias + co0, rows, n, width, l.relu, out, co0, y);
        }
    }
    out.clear_border(y);
}

}  // namespace

void run_rows(std::span<const RowInput> inputs, std::span<const RowLayer> layers, int height, int width, float * chw,
              int y0, int y1) {
    // Each node's depth: how many 3x3 layers made it.
    const int        n_in = int(inputs.size()), n = n_in + int(layers.size());
    std::vector<int> depth(size_t(n), 0), channels(size_t(n), 0);
    for (int i = 0; i < n_in; ++i) {
        channels[size_t(i)] = inputs[size_t(i)].channels;
        if (inputs[size_t(i)].channels < 1) {
            throw Error(STEG_ERR_INTERNAL, "run_rows: an input without channels");
        }
    }
    for (int k = 0; k < int(layers.size()); ++k) {
        const RowLayer & l = layers[size_t(k)];
        const int        node = n_in + k;
        int              in_channels = 0, src_depth = -1;
        bool             ok = row_layer_supported(l.out_channels) && (l.kernel == 1 || l.kernel == 3) &&
                  l.sources[0] >= 0 && l.in_channels <= kMaxRowLayerInputs;
        for (int src : l.sources) {
            if (!ok || src < 0) {
                continue;
            }
            ok = src < node && (src_depth < 0 || depth[size_t(src)] == src_depth);
            if (ok) {
                src_depth = depth[size_t(src)];
                in_channels += channels[size_t(src)];
            }
        }
        if (!ok || in_channels != l.in_channels) {
            throw Error(STEG_ERR_INTERNAL, "run_rows: a layer that reads what it cannot, or with outputs it does not take");
        }
        depth[size_t(node)]    = src_depth + (l.kernel == 3 ? 1 : 0);
        channels[size_t(node)] = l.out_channels;
    }
    if (layers.empty() || width <= 0 || y0 < 0 || y1 > height || y0 >= y1) {
        return;
    }
    std::vector<RowRing>            rings;
    std::vector<std::vector<float>> taps;
    for (int i = 0; i < n; ++i) {
        rings.emplace_back(channels[size_t(i)], height, width);
    }
    for (const auto & l : layers) {
        taps.push_back(taps_of(l, l.out_channels == 3 ? 3 : 8));
    }
    // At step s, a node of depth d makes its row s - d if the band needs it: the last
    // node's rows [y0, y1), and a node of depth d the rows D - d more on either side (D
    // the last node's depth). The rows a 3x3 layer reads (r - 1, r, r + 1 of nodes one
    // less deep) were made at steps s - 2, s - 1 and s; a 1x1 layer reads row r, made
    // at step s by a node before it.
    const int D = depth[size_t(n - 1)];
    for (int s = y0 - D; s < y1 + D; ++s) {
        for (int i = 0; i < n; ++i) {
            const int d = depth[size_t(i)], r = s - d;
            if (r < std::max(0, y0 - (D - d)) || r >= std::min(height, y1 + (D - d))) {
                continue;
            }
            if (i < n_in) {
                input_row_from_hwc(inputs[size_t(i)].hwc, rings[size_t(i)], r);
            } else {
                layer_row(layers[size_t(i - n_in)], taps[size_t(i - n_in)].data(), rings, rings[size_t(i)], r);
            }
        }
        const int r = s - D;
        if (r >= y0 && r < y1) {
            const RowRing & last = rings[size_t(n - 1)];
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
