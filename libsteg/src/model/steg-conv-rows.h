// SPDX-License-Identifier: MIT
// steg-conv-rows.h - the networks' convolutions on the CPU in fp32 at inference, a few
// rows at a time. oneDNN runs these small layers (16 channels and fewer) at a half of
// what the cores can do, or less on the decoder's narrow ones, and each of its layers
// goes through memory whole. Here each layer keeps its last four rows, planar and
// zero-bordered, and makes two rows as soon as the rows it reads are there, so what a
// band of rows needs stays in the core's cache through every layer. A 3x3 layer makes its
// two rows in Winograd's form along the columns, F(2, 3): for two rows, 12 multiply-adds
// a pixel for each input and output channel instead of 18. A row is computed eight pixels
// a vector (sixteen with AVX-512), eight (or three) output channels at once, each tap one
// fused multiply-add, so that each input is loaded once a group. Subnormal floats are
// flushed to zero while the rows run. A layer may read two layers' outputs as one (the
// encoder's concatenations cost nothing). No torch: steg-network.cpp splits the rows
// among libtorch's threads.
#pragma once

#include <cstdint>
#include <span>

namespace steg {

// An input of the network: H x W x channels floats (one image of a channels-last tensor).
struct RowInput {
    const float * hwc;
    int           channels;
};

// One layer: conv(k x k) + bias, k = 3 (zero padding of one pixel) or 1, then a ReLU if
// `relu`. `weight` holds out_channels x in_channels x k x k floats (PyTorch's order). Its
// input is node sources[0], followed by node sources[1] if that is not -1 (their
// channels concatenated in that order), where the network's inputs are nodes 0, 1, ...
// and its layers the nodes after them, in order.
struct RowLayer {
    const float * weight;
    const float * bias;
    int           in_channels, out_channels, kernel;
    bool          relu;
    int           sources[2];
};

// The most input channels a RowLayer may have.
constexpr int kMaxRowLayerInputs = 32;

// True when a RowLayer may have `out_channels` outputs: 3, or 8 or 16 (groups of eight).
constexpr bool row_layer_supported(long out_channels) {
    return out_channels == 3 || out_channels == 8 || out_channels == 16;
}

// The network on one H x W image whose first row is row `top` (>= 0) of the picture it
// comes from (a tile's place); rows [y0, y1) of its last layer's output go to `chw`
// (that layer's C x H x W floats). A layer comes after what it reads; a 3x3 layer reads
// nodes made by the same number of 3x3 layers before them, and a 1x1 layer reads nodes
// that are all as deep as each other. A band's rows are computed with the rows of context
// they need (one more a 3x3 layer on either side), so bands may run on different threads.
// The rows are paired by their place in the picture and each output sample is summed in
// the same order wherever it lies, so any split into bands, or into tiles with `top`
// their place, gives the same values. Throws steg::Error (STEG_ERR_INTERNAL) on a
// network it does not take.
void run_rows(std::span<const RowInput> inputs, std::span<const RowLayer> layers, int height, int width, float * chw,
              int y0, int y1, int top = 0);

// How many pixels a vector the row kernels take: 16 where the CPU has AVX-512, else 8.
// Both give the same bits (each sample is summed in the same order with fused
// multiply-adds); set_row_lanes(8) holds a process to the narrow kernels (tests compare
// the two), set_row_lanes(0) gives the choice back to the CPU.
int  row_lanes();
void set_row_lanes(int lanes);

// The 1x1 layer with one output: out[i] = bias + sum over c of weight[c] chw[c][i], for
// the `plane` samples of each of `channels` planes.
void pointwise_rows(const float * weight, float bias, const float * chw, int channels, int64_t plane, float * out,
                    int64_t begin, int64_t end);

}  // namespace steg
