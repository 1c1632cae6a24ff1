// SPDX-License-Identifier: MIT
// steg-conv-rows.h - a chain of 3x3 layers, each with its ReLU, on the CPU in fp32, a row
// at a time: the decoder's 3x3 layers at inference, and its last 1x1 layer. oneDNN runs
// the decoder's narrow layers (8 or 3 outputs) at a fifth to a half of the rate it reaches
// on 16 channels, and each of its layers goes through memory whole. Here each layer keeps
// its last three rows, planar and zero-bordered, and makes a row as soon as the rows it
// reads are there, so what a band of rows needs stays in the core's cache through every
// layer. Each output row is computed eight pixels a vector, eight (or three) output
// channels at once, so that each input is loaded once a group. No torch:
// steg-network.cpp splits the rows among libtorch's threads.
#pragma once

#include <cstdint>
#include <span>

namespace steg {

// One 3x3 layer: relu(conv3x3(in) + bias), zero padding of one pixel; `weight` holds
// out_channels x in_channels x 3 x 3 floats (PyTorch's order).
struct RowConv {
    const float * weight;
    const float * bias;
    int           in_channels, out_channels;
};

// The most input channels a RowConv may have.
constexpr int kMaxRowConvInputs = 32;

// True when a RowConv may have `out_channels` outputs: 3, or 8 or 16 (groups of eight).
constexpr bool row_conv_supported(long out_channels) {
    return out_channels == 3 || out_channels == 8 || out_channels == 16;
}

// The layers on one H x W image: `hwc` holds the input as H x W x C floats (one image of
// a channels-last tensor, C = layers[0].in_channels), taken as it is or, with
// `relu_input`, through a ReLU first; then each layer in turn. Rows [y0, y1) of the last
// layer's output go to `chw` (its C' x H x W floats). A band's rows are computed with the
// rows of context they need (one more a layer on either side), so bands may run on
// different threads. Each output sample is summed in the same order wherever it lies, so
// any split into bands or tiles gives the same values. Throws steg::Error
// (STEG_ERR_INTERNAL) on layers that do not chain or that it does not take.
void conv_rows(std::span<const RowConv> layers, bool relu_input, const float * hwc, int height, int width, float * chw,
               int y0, int y1);

// The 1x1 layer with one output: out[i] = bias + sum over c of weight[c] chw[c][i], for
// the `plane` samples of each of `channels` planes.
void pointwise_rows(const float * weight, float bias, const float * chw, int channels, int64_t plane, float * out,
                    int64_t begin, int64_t end);

}  // namespace steg
