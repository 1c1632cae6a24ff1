// SPDX-License-Identifier: MIT
// steg-channel.h - differentiable stand-ins for the channels a hybrid travels through
// on its way to the decoder: YUV 4:2:0 as videoconvert makes it, JPEG as libjpeg-turbo
// makes it, an H.264-like block quantiser, Gaussian noise and a small rescale. The
// trainer applies one, drawn per batch from a mix (steg-trainer --transport), between
// the encoder and the decoder, so that the networks learn a payload that survives it.
//
// Each stand-in computes in fp32 on 8-bit levels what the real channel computes, and
// rounds where the real one rounds; the rounding passes the gradient straight through
// (Bengio et al. 2013), so the forward pass is the channel's own output, up to the real
// codec's integer arithmetic (tests/test-channel.cpp holds each to the real codec).
// Internal: includes torch's tensor header.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace steg {

enum class ChannelKind {
    none,    // the 8-bit RGB hybrid as saved (PNG, FFV1)
    yuv420,  // RGB -> Y'CbCr 4:2:0, limited range, 8 bits -> RGB (videoconvert to I420 and back)
    jpeg,    // baseline JPEG, 4:2:0, the IJG tables scaled by quality (libjpeg-turbo, PIL, GIMP)
    h264,    // yuv420, then 4x4 blocks of the H.264 core transform quantised at a QP
    noise,   // Gaussian noise of a standard deviation in 8-bit levels
    resize,  // down by a factor and back to the size (bilinear both ways)
    cast,    // a colour cast: each image's R, G and B shifted by up to a number of levels
};

enum class YuvMatrix { bt601, bt709 };

// One channel of a mix and the range its strength is drawn from (uniformly, per batch):
// jpeg: quality 1..100; h264: QP 0..51; noise: sigma in levels; resize: the factor in
// (0, 1]; cast: the largest shift in levels. Unused for none and yuv420.
struct Channel {
    ChannelKind kind   = ChannelKind::none;
    YuvMatrix   matrix = YuvMatrix::bt601;  // yuv420 and h264
    double      lo = 0, hi = 0;
};

// A mix from its text: channels separated by commas, each a name with an optional
// ':' and parameter, e.g. "none,yuv420:bt709,jpeg:50-95,h264:18-30,noise:2,resize:0.7-1".
// A single number is a fixed strength. Throws steg::Error(STEG_ERR_INVALID_ARGUMENT)
// saying what is wrong and what is accepted.
std::vector<Channel> parse_transport(const std::string & spec);

// The canonical text of a mix (parse_transport gives the mix back), as recorded in a
// model file's `transport` metadata.
std::string transport_text(const std::vector<Channel> & mix);

// True when every channel of a mix that changes colour sampling is 4:2:0-based, i.e. a
// model trained on it is meant to survive chroma subsampling (the hosts then accept YUV).
bool transport_covers_yuv420(const std::vector<Channel> & mix);

// One draw from a mix: which channel and its strength, a pure function of `key` (the
// trainer derives it from the seed, the epoch, the step and the rank, so a resumed run
// draws the same channels).
struct ChannelDraw {
    Channel  channel;
    double   strength = 0;
    uint64_t noise_seed = 0;
};
ChannelDraw draw_channel(const std::vector<Channel> & mix, uint64_t key);

// Applies a draw to x, a zero-centred hybrid on the 8-bit grid (N x 3 x H x W, fp32, any
// H and W, any device); returns what comes out of the channel, zero-centred on the 8-bit
// grid, with straight-through gradients at the roundings.
at::Tensor apply_channel(const at::Tensor & x, const ChannelDraw & d);

// The quantisation table (8x8, row-major, natural order) that libjpeg's
// jpeg_set_quality(quality, force_baseline = TRUE) makes for luma (0) or chroma (1).
std::vector<int> jpeg_quant_table(int component, int quality);

}  // namespace steg
