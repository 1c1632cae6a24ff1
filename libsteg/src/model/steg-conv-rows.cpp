// SPDX-License-Identifier: MIT
// steg-conv-rows.cpp - the networks' convolutions a row at a time: see steg-conv-rows.h.
#include "steg-conv-rows.h"

#include "steg-error.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace steg {

namespace {

// A vector of L pixels: 8 (AVX2's registers) or 16 (AVX-512's). The rows' right border
// holds one vector of the wider kind more.
template <int L>
struct VectorOf {
    typedef float type __attribute__((vector_size(L * sizeof(float))));
};
template <int L>
using Lanes = typename VectorOf<L>::type;
constexpr int kMaxLanes = 16;

// Rows are numbered as in the whole picture (a tile's row 0 is its origin), and made two
// at a time: a node of depth d makes blocks of rows 2k + d and 2k + d + 1.
constexpr int kBlock = 2;

// floor(a / 2) for any sign.
constexpr int half_down(int a) {
    return a >= 0 ? a / 2 : -((1 - a) / 2);
}

// The last four rows a layer has made (row y in slot y mod 4), each channel's row with a
// zero border: index -1 and the indices W to W + 16, so that a vector of up to sixteen
// pixels may be read at any x in 0..W-1 with its neighbours. Rows outside the image
// [top, top + H) read as zeros; what is written to them goes to a row nothing reads.
class RowRing {
  public:
    RowRing(int channels, int top, int height, int width)
        : channels_(channels),
          top_(top),
          height_(height),
          stride_(width + 2 + kMaxLanes),
          width_(width),
          data_(new float[size_t(6 * channels) * size_t(stride_)]()) {}

    int channels() const { return channels_; }
    int width() const { return width_; }
    bool inside(int y) const { return y >= top_ && y < top_ + height_; }
    const float * row(int c, int y) const { return data_.get() + offset(c, y, 4); }
    float * row_out(int c, int y) { return data_.get() + offset(c, y, 5); }

    // Zeroes row y's right border in every channel (after a vector wrote past the width).
    void clear_border(int y) {
        for (int c = 0; c < channels_; ++c) {
            std::memset(row_out(c, y) + width_, 0, sizeof(float) * kMaxLanes);
        }
    }

  private:
    // Slots 0-3 hold rows, slot 4 the zero row of each channel, slot 5 the discarded one;
    // the left border (index -1) is never written.
    std::ptrdiff_t offset(int c, int y, int outside) const {
        const int slot = inside(y) ? (y & 3) : outside;
        return (std::ptrdiff_t(slot) * channels_ + c) * stride_ + 1;
    }

    int                      channels_, top_, height_, stride_, width_;
    std::unique_ptr<float[]> data_;
};

// The Winograd form of a 3x3 layer along the rows, F(2, 3): two output rows from four
// input rows d0..d3 (rows y - 1 to y + 2) in 4 x 3 multiply-adds a pixel for each input
// and output channel instead of 2 x 9. The input rows are transformed first, V0 = d0 - d2,
// V1 = d1 + d2, V2 = d2 - d1, V3 = d1 - d3, each kernel column g0, g1, g2 (its rows)
// likewise, U0 = g0, U1 = (g0 + g1 + g2) / 2, U2 = (g0 - g1 + g2) / 2, U3 = g2; with
// M_i the 1 x 3 convolution of V_i by U_i, row y is M0 + M1 + M2 and row y + 1 is
// M1 - M2 - M3. Row y reads d0..d2 alone and row y + 1 d1..d3 alone, so a row's value
// does not depend on the rows beside its receptive field.
constexpr int kWino = 4;

// A layer's weights as the kernels read them, in groups of `group` output channels (8, or
// 3 for a layer of three): for group g, transform i (3x3 layers; one for 1x1), input
// channel ci and kernel column kx, the group's weights side by side.
std::vector<float> taps_of(const RowLayer & l, int group) {
    const int          k = l.kernel, n_tf = k == 3 ? kWino : 1, groups = l.out_channels / group;
    const int          per_group = n_tf * l.in_channels * k * group;
    std::vector<float> taps(size_t(groups) * size_t(per_group));
    for (int co = 0; co < l.out_channels; ++co) {
        for (int ci = 0; ci < l.in_channels; ++ci) {
            const float * w = l.weight + (size_t(co) * l.in_channels + ci) * k * k;  // w[ky * k + kx]
            for (int kx = 0; kx < k; ++kx) {
                float u[kWino] = { w[kx], 0, 0, 0 };
                if (k == 3) {
                    const float g0 = w[kx], g1 = w[3 + kx], g2 = w[6 + kx];
                    u[1] = (g0 + g1 + g2) * 0.5f;
                    u[2] = (g0 - g1 + g2) * 0.5f;
                    u[3] = g2;
                }
                for (int i = 0; i < n_tf; ++i) {
                    taps[size_t(co / group) * per_group + ((size_t(i) * l.in_channels + ci) * k + kx) * group + co % group] =
                        u[i];
                }
            }
        }
    }
    return taps;
}

// acc[co] += the 1x1 convolution of rows[0..n) at pixels x..x+L-1 by taps (for each
// row, CO weights): each input vector is loaded once and used for every output channel of
// the group, each tap one fused multiply-add.
template <int L, int CO>
__attribute__((always_inline)) inline void sum_taps(const float * taps, const float * const * rows, int n, int x,
                                                    Lanes<L> (&acc)[CO]) {
    for (int r = 0; r < n; ++r) {
        Lanes<L> in;
        std::memcpy(&in, rows[r] + x, sizeof in);
        for (int co = 0; co < CO; ++co) {
            acc[co] += in * taps[r * CO + co];
        }
    }
}

// The input rows whose difference (or sum, for V1) is each transformed row:
// V0 = d0 - d2, V1 = d1 + d2, V2 = d2 - d1, V3 = d1 - d3.
constexpr int kTransformA[kWino] = { 0, 1, 2, 1 };
constexpr int kTransformB[kWino] = { 2, 2, 1, 3 };

// acc[j][co] += the 1 x 3 convolution of transformed row V_I at pixels x + jL to
// x + jL + L - 1 (for each input channel, 3 taps of CO weights). V_I is made as it is
// read, from the input rows d (d[4 ci + k]: input channel ci's row y - 1 + k): two loads
// and an add against 3 CO multiply-adds, where a pass that stored the transformed rows
// first spent a fifth of a hide in its stores. Each weight serves NX vectors: NX x CO sums
// under way at once, as many as it takes to hide a multiply-add's latency.
template <int L, int NX, int CO, int I>
__attribute__((always_inline)) inline void sum_transformed(const float * taps, const float * const * d, int n, int x,
                                                           Lanes<L> (&acc)[NX][CO]) {
    for (int r = 0; r < n; ++r) {
        const float * sa = d[kWino * r + kTransformA[I]] + x;
        const float * sb = d[kWino * r + kTransformB[I]] + x;
        const float * w  = taps + std::ptrdiff_t(r) * 3 * CO;
        for (int kx = 0; kx < 3; ++kx) {
            Lanes<L> in[NX];
            for (int j = 0; j < NX; ++j) {
                Lanes<L> va, vb;
                std::memcpy(&va, sa + j * L + kx - 1, sizeof va);
                std::memcpy(&vb, sb + j * L + kx - 1, sizeof vb);
                in[j] = I == 1 ? va + vb : va - vb;
            }
            for (int co = 0; co < CO; ++co) {
                const float wc = w[kx * CO + co];
                for (int j = 0; j < NX; ++j) {
                    acc[j][co] += in[j] * wc;
                }
            }
        }
    }
}

template <typename V>
__attribute__((always_inline)) inline void relu_if(V & v, bool relu) {
    const V zero {};
    v = relu ? (v > zero ? v : zero) : v;
}

// A 1x1 layer's output channels [co0, co0 + CO) of row y; `rows` holds a row a channel.
template <int L, int CO>
__attribute__((always_inline)) inline void conv_row(const float * taps, const float * bias, const float * const * rows,
                                                    int rows_in, int width, bool relu, RowRing & out, int co0, int y) {
    for (int x = 0; x < width; x += L) {
        Lanes<L> acc[CO];
        for (int co = 0; co < CO; ++co) {
            acc[co] = Lanes<L> {} + bias[co];
        }
        sum_taps<L, CO>(taps, rows, rows_in, x, acc);
        for (int co = 0; co < CO; ++co) {
            relu_if(acc[co], relu);
            std::memcpy(out.row_out(co0 + co, y) + x, &acc[co], sizeof acc[co]);
        }
    }
}

// A 3x3 layer's output channels [co0, co0 + CO) of rows y and y + 1 at pixels x to
// x + NX L - 1, from the input rows d (d[4 ci + k]: input channel ci's row y - 1 + k),
// into the output rows o0 and o1. Each output sample is bias + M0 + M1 + M2 (row y)
// or bias + M1 - M2 - M3 (row y + 1), in that order wherever it lies, whatever L and NX;
// the partial sums wait in the output rows, as the accumulators of one transform fill
// the registers.
template <int L, int NX, int CO>
__attribute__((always_inline)) inline void wino_step(const float * taps, const float * bias, const float * const * d,
                                                     int rows_in, bool relu, float * const * o0, float * const * o1,
                                                     int x) {
    using V                    = Lanes<L>;
    const std::ptrdiff_t per_tf = std::ptrdiff_t(rows_in) * 3 * CO;
    V                    acc[NX][CO];
    auto                 m = [&](auto i) {  // i: std::integral_constant<int, I>
        for (auto & vectors : acc) {
            for (auto & a : vectors) {
                a = V {};
            }
        }
        sum_transformed<L, NX, CO, i>(taps + i * per_tf, d, rows_in, x, acc);
    };
    // f(output row y's vector, row y + 1's, the transform's sum, the bias) for each
    // output channel and vector.
    auto each = [&](auto && f) {
        for (int co = 0; co < CO; ++co) {
            const V b = V {} + bias[co];
            for (int j = 0; j < NX; ++j) {
                f(o0[co] + x + j * L, o1[co] + x + j * L, acc[j][co], b);
            }
        }
    };
    m(std::integral_constant<int, 0> {});
    each([](float * p0, float *, const V & m0, const V & b) {
        const V a = b + m0;
        std::memcpy(p0, &a, sizeof a);
    });
    m(std::integral_constant<int, 1> {});
    each([](float * p0, float * p1, const V & m1, const V & b) {
        V a;
        std::memcpy(&a, p0, sizeof a);
        a += m1;
        const V c = b + m1;
        std::memcpy(p0, &a, sizeof a);
        std::memcpy(p1, &c, sizeof c);
    });
    m(std::integral_constant<int, 2> {});
    each([relu](float * p0, float * p1, const V & m2, const V &) {
        V a, b;
        std::memcpy(&a, p0, sizeof a);
        std::memcpy(&b, p1, sizeof b);
        a += m2;
        b -= m2;
        relu_if(a, relu);
        std::memcpy(p0, &a, sizeof a);
        std::memcpy(p1, &b, sizeof b);
    });
    m(std::integral_constant<int, 3> {});
    each([relu](float *, float * p1, const V & m3, const V &) {
        V b;
        std::memcpy(&b, p1, sizeof b);
        b -= m3;
        relu_if(b, relu);
        std::memcpy(p1, &b, sizeof b);
    });
}

// The whole of rows y and y + 1: NX vectors a step while more than NX - 1 vectors of
// pixels are left, then one vector a step. A step reads and writes at most L - 1
// pixels past the width, into the border.
template <int L, int NX, int CO>
__attribute__((always_inline)) inline void wino_rows(const float * taps, const float * bias, const float * const * d,
                                                     int rows_in, int width, bool relu, RowRing & out, int co0, int y) {
    float * o0[CO];
    float * o1[CO];
    for (int co = 0; co < CO; ++co) {
        o0[co] = out.row_out(co0 + co, y);
        o1[co] = out.row_out(co0 + co, y + 1);
    }
    int x = 0;
    for (; width - x > (NX - 1) * L; x += NX * L) {
        wino_step<L, NX, CO>(taps, bias, d, rows_in, relu, o0, o1, x);
    }
    for (; x < width; x += L) {
        wino_step<L, 1, CO>(taps, bias, d, rows_in, relu, o0, o1, x);
    }
}

// The kernels are built for AVX2 with FMA and for plain x86-64 in vectors of eight,
// chosen at load time by the CPU (GCC's target_clones), and for AVX-512 in vectors of
// sixteen, chosen at run time (row_lanes()). Each sample is summed in the same order in
// every FMA build, so AVX2 and AVX-512 give the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define STEG_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define STEG_WIDE   1
#define STEG_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#else
#define STEG_CLONES
#define STEG_WIDE 0
#endif

using RowKernel = void (*)(const float * taps, const float * bias, const float * const * rows, int rows_in, int width,
                           bool relu, RowRing & out, int co0, int y);

// AVX2 has 16 vector registers: one vector by eight output channels is what fits (two by
// four measured no faster on Zen 3). AVX-512 has 32: two vectors by eight channels,
// sixteen sums under way (on a Xeon with AVX-512, a 1080p hide on one thread took
// 1.19-1.28 s against one vector's 1.28-1.34 s, before V_I was made as it is read).
// STEG_ROW_KERNEL(attributes, name, kernel<...>)
#define STEG_ROW_KERNEL(attributes, name, ...)                                                                   \
    attributes void name(const float * taps, const float * bias, const float * const * rows, int rows_in, int width, \
                         bool relu, RowRing & out, int co0, int y) {                                                  \
        __VA_ARGS__(taps, bias, rows, rows_in, width, relu, out, co0, y);                                             \
    }
STEG_ROW_KERNEL(STEG_CLONES, wino8, wino_rows<8, 1, 8>)
STEG_ROW_KERNEL(STEG_CLONES, wino3, wino_rows<8, 1, 3>)
STEG_ROW_KERNEL(STEG_CLONES, row8x1, conv_row<8, 8>)
STEG_ROW_KERNEL(STEG_CLONES, row3x1, conv_row<8, 3>)
#if STEG_WIDE
STEG_ROW_KERNEL(STEG_AVX512, wino8_wide, wino_rows<16, 2, 8>)
STEG_ROW_KERNEL(STEG_AVX512, wino3_wide, wino_rows<16, 2, 3>)
STEG_ROW_KERNEL(STEG_AVX512, row8x1_wide, conv_row<16, 8>)
STEG_ROW_KERNEL(STEG_AVX512, row3x1_wide, conv_row<16, 3>)
#endif
#undef STEG_ROW_KERNEL

// The four kernels of each width.
struct RowKernels {
    RowKernel wino8, wino3, row8x1, row3x1;
};

bool cpu_has_avx512() {
#if STEG_WIDE
    static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
    return has;
#else
    return false;
#endif
}

std::atomic<int> g_lanes_asked { 0 };  // set_row_lanes(): 0, 8 or 16

const RowKernels & row_kernels() {
    static const RowKernels narrow { wino8, wino3, row8x1, row3x1 };
#if STEG_WIDE
    static const RowKernels wide { wino8_wide, wino3_wide, row8x1_wide, row3x1_wide };
    if (row_lanes() == 16) {
        return wide;
    }
#endif
    return narrow;
}

// Subnormal floats flushed to zero, in and out (x86's FTZ and DAZ), until the end of the
// scope, then the caller's mode again. Trained weights hold some (the shipped models 500
// to 800 each), and so, after them, do some activations; an Intel core takes a microcode
// assist of some hundred cycles for each operation on one, which made the encoder 4-5x
// slower on an AVX-512 Xeon (the AMD machine showed no such cost). Every thread that runs
// rows does this, so tiles and bands still agree bit for bit; a flushed value is below
// 1.2e-38, far under any sum's last bit.
#if defined(__SSE__)
class FlushSubnormals {
  public:
    FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040); }  // MXCSR's FTZ and DAZ
    ~FlushSubnormals() { _mm_setcsr(saved_); }
    FlushSubnormals(const FlushSubnormals &)             = delete;
    FlushSubnormals & operator=(const FlushSubnormals &) = delete;

  private:
    unsigned saved_;
};
#else
struct FlushSubnormals {};  // elsewhere subnormals are left as they are
#endif

// Row y of an input from H x W x C floats (row `top` first) into the ring's planar rows.
void input_row_from_hwc(const float * hwc, int top, RowRing & ring, int y) {
    const int     c_count = ring.channels(), width = ring.width();
    const float * src     = hwc + std::ptrdiff_t(y - top) * width * c_count;
    for (int c = 0; c < c_count; ++c) {
        float * r = ring.row_out(c, y);
        for (int x = 0; x < width; ++x) {
            r[x] = src[std::ptrdiff_t(x) * c_count + c];
        }
    }
}

// Rows y and y + 1 of layer l's output, all its channels, from the rings of its sources.
void layer_rows(const RowKernels & kernels, const RowLayer & l, const float * taps, const std::vector<RowRing> & rings,
                RowRing & out, int y) {
    const int          width = out.width();
    const bool         relu  = l.relu;
    if (l.kernel == 1) {
        for (int r = y; r < y + kBlock; ++r) {
            if (!out.inside(r)) {
                continue;
            }
            const float * rows[kMaxRowLayerInputs];
            int           n = 0;
            for (int src : l.sources) {
                for (int ci = 0; src >= 0 && ci < rings[size_t(src)].channels(); ++ci) {
                    rows[n++] = rings[size_t(src)].row(ci, r);
                }
            }
            if (l.out_channels == 3) {
                kernels.row3x1(taps, l.bias, rows, n, width, relu, out, 0, r);
            } else {
                for (int co0 = 0; co0 < l.out_channels; co0 += 8) {
                    kernels.row8x1(taps + co0 * l.in_channels, l.bias + co0, rows, n, width, relu, out, co0, r);
                }
            }
            out.clear_border(r);
        }
        return;
    }
    const float * d[kWino * kMaxRowLayerInputs];  // d[4 ci + k]: input channel ci's row y - 1 + k
    int           ci = 0;
    for (int src : l.sources) {
        for (int c = 0; src >= 0 && c < rings[size_t(src)].channels(); ++c, ++ci) {
            for (int k = 0; k < kWino; ++k) {
                d[kWino * ci + k] = rings[size_t(src)].row(c, y - 1 + k);
            }
        }
    }
    if (l.out_channels == 3) {
        kernels.wino3(taps, l.bias, d, l.in_channels, width, relu, out, 0, y);
    } else {
        const std::ptrdiff_t group = std::ptrdiff_t(8) * kWino * l.in_channels * 3;
        for (int co0 = 0; co0 < l.out_channels; co0 += 8) {
            kernels.wino8(taps + co0 / 8 * group, l.bias + co0, d, l.in_channels, width, relu, out, co0, y);
        }
    }
    out.clear_border(y);
    out.clear_border(y + 1);
}

}  // namespace

void run_rows(std::span<const RowInput> inputs, std::span<const RowLayer> layers, int height, int width, float * chw,
              int y0, int y1, int top) {
    const FlushSubnormals flush;
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
    const RowKernels &              kernels = row_kernels();
    std::vector<RowRing>            rings;
    std::vector<std::vector<float>> taps;
    for (int i = 0; i < n; ++i) {
        rings.emplace_back(channels[size_t(i)], top, height, width);
    }
    for (const auto & l : layers) {
        taps.push_back(taps_of(l, l.out_channels == 3 ? 3 : 8));
    }
    // In the picture's rows: a node of depth d makes blocks of two rows, 2k + d and
    // 2k + d + 1, block k at step k + d. A 3x3 layer's block k reads rows 2k + d - 1 to
    // 2k + d + 2 of nodes one less deep: their blocks k (made at the step before) and
    // k + 1 (made at this step, by a node before it); a 1x1 layer reads its sources'
    // block k, made at this step. So four rows a node suffice. Blocks are placed by the
    // picture's rows, whatever the tile or band, so a row is summed the same way wherever
    // it is computed. The band needs the last node's rows [Y0, Y1) and a node of depth d
    // the rows D - d more on either side (D the last node's depth): blocks k_first to
    // k_last - d.
    const int D = depth[size_t(n - 1)], Y0 = top + y0, Y1 = top + y1;
    const int k_first = half_down(Y0 - D), k_last = half_down(Y1 + D - 1);
    for (int s = k_first; s <= k_last; ++s) {
        for (int i = 0; i < n; ++i) {
            const int d = depth[size_t(i)], k = s - d, y = 2 * k + d;
            if (k < k_first) {
                continue;
            }
            RowRing & ring = rings[size_t(i)];
            if (i < n_in) {
                for (int r = y; r < y + kBlock; ++r) {
                    if (ring.inside(r)) {
                        input_row_from_hwc(inputs[size_t(i)].hwc, top, ring, r);
                    }
                }
            } else if (ring.inside(y) || ring.inside(y + 1)) {
                layer_rows(kernels, layers[size_t(i - n_in)], taps[size_t(i - n_in)].data(), rings, ring, y);
            }
        }
        const int k = s - D;
        for (int r = 2 * k + D; k >= k_first && r < 2 * k + D + kBlock; ++r) {
            if (r >= Y0 && r < Y1) {
                const RowRing & last = rings[size_t(n - 1)];
                for (int c = 0; c < last.channels(); ++c) {
                    std::memcpy(chw + (std::ptrdiff_t(c) * height + (r - top)) * width, last.row(c, r),
                                sizeof(float) * size_t(width));
                }
            }
        }
    }
}

void pointwise_rows(const float * weight, float bias, const float * chw, int channels, int64_t plane, float * out,
                    int64_t begin, int64_t end) {
    const FlushSubnormals flush;
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

int row_lanes() {
    const int asked = g_lanes_asked.load(std::memory_order_relaxed);
    return cpu_has_avx512() && asked != 8 ? 16 : 8;
}

void set_row_lanes(int lanes) {
    g_lanes_asked.store(lanes == 8 || lanes == 16 ? lanes : 0, std::memory_order_relaxed);
}

}  // namespace steg
