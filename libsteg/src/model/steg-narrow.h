// SPDX-License-Identifier: MIT
// steg-narrow.h - the decoder's narrow 3x3 layers (8 or 3 output channels) on the CPU,
// fp32, with their ReLU, and its last 1x1 layer. oneDNN runs these layers at a fifth to
// a half of the rate it reaches on the 16-channel ones (docs/performance.md). Here the
// layers run a row at a time, each row as soon as the rows it reads are there, over
// rings of three planar, zero-bordered rows a layer: what a band of rows needs stays in
// the core's cache instead of going through memory once a layer. Each output row is
// computed eight pixels a vector, every output channel at once, so that each input is
// loaded once. No torch: steg-network.cpp splits the rows among libtorch's threads.
#pragma once

#include <cstdint>
#include <span>

namespace steg {

// One 3x3 layer of the tail: relu(conv3x3(in) + bias), zero padding of one pixel;
// `weight` holds out_channels x in_channels x 3 x 3 floats (PyTorch's order).
struct NarrowLayer {
    const float * weight;
    const float * bias;
    int           in_channels, out_channels;
};

// True when a NarrowLayer may have `out_channels` outputs.
constexpr bool narrow_layer_supported(long out_channels) {
    return out_channels == 8 || out_channels == 3;
}

// The tail on one H x W image: relu(input), where `hwc` holds the input as H x W x C
// floats (one image of a channels-last tensor, C = layers[0].in_channels), then each
// layer in turn; rows [y0, y1) of the last layer's output go to `chw` (its C' x H x W
// floats). A band's rows are computed with the rows of context they need (a few more a
// layer), so bands may run on different threads. Each output sample is summed in the same
// order wherever it lies, so any split into bands or tiles gives the same values.
// Throws steg::Error (STEG_ERR_INTERNAL) on layers that do not chain or a width it does
// not take.
void narrow_tail_rows(std::span<const NarrowLayer> layers, const float * hwc, int height, int width, float * chw,
                      int y0, int y1);

// The 1x1 layer with one output: out[i] = bias + sum over c of weight[c] chw[c][i], for
// the `plane` samples of each of `channels` planes.
void pointwise_rows(const float * weight, float bias, const float * chw, int channels, int64_t plane, float * out,
                    int64_t begin, int64_t end);

}  // namespace steg
