// SPDX-License-Identifier: MIT
// steg-narrow.h - the decoder's narrow 3x3 layers (8 or 3 output channels) on the CPU,
// fp32, with their ReLU. oneDNN runs these layers at a fifth to a half of the rate it
// reaches on the 16-channel ones (docs/performance.md); here each output row is
// computed over planar, zero-bordered input, eight pixels a vector, every output
// channel at once, so that each input is loaded once. No torch: steg-network.cpp splits
// the rows among libtorch's threads.
#pragma once

#include <cstddef>
#include <memory>

namespace steg {

// C planes of an H x W image, each row with a zero border: index -1 and the indices W
// to W + 8 of every row, and a whole zero row above and below each plane, so that a
// vector of eight pixels may be read at any x in 0..W-1 with its neighbours.
class PlaneStack {
   public:
    PlaneStack(int channels, int height, int width);

    int channels() const { return channels_; }
    int height() const { return height_; }
    int width() const { return width_; }
    // Row y (-1..H) of plane c; valid indices -1..W+8.
    float *       row(int c, int y) { return data_.get() + offset(c, y); }
    const float * row(int c, int y) const { return data_.get() + offset(c, y); }

    // Rows [y0, y1) of all planes from an image stored as H x W x C floats (one image of
    // a channels-last tensor).
    void set_rows_from_hwc(const float * hwc, int y0, int y1);
    // Rows [y0, y1) of all planes into an image stored as C x H x W floats.
    void rows_to_chw(float * chw, int y0, int y1) const;
    // Zeroes row y's border in every plane (after something wrote past its width).
    void clear_border(int y);

   private:
    std::ptrdiff_t offset(int c, int y) const { return (std::ptrdiff_t(c) * (height_ + 2) + y + 1) * stride_ + 1; }

    int                      channels_, height_, width_, stride_;
    std::unique_ptr<float[]> data_;
};

// Rows [y0, y1) of relu(conv3x3(in) + bias) into `out`: `weight` holds out.channels() x
// in.channels() x 3 x 3 floats (PyTorch's order), zero padding of one pixel. Each
// output sample is summed in the same order wherever it lies, so any split into rows or
// tiles gives the same values. out.channels() must be 8 or 3 (the decoder's).
void conv3x3_relu_rows(const float * weight, const float * bias, const PlaneStack & in, PlaneStack & out, int y0, int y1);

// True when conv3x3_relu_rows() takes `out_channels` outputs.
constexpr bool narrow_layer_supported(long out_channels) {
    return out_channels == 8 || out_channels == 3;
}

}  // namespace steg
