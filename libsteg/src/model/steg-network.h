// SPDX-License-Identifier: MIT
// steg-network.h - the paper's encoder and decoder (Rehman et al. 2017, Table 1, k = 7)
// as libtorch modules. Internal: only the few translation units that run the networks
// include it, since torch headers are slow to compile.
//
// Parameter names follow ../shared/reference/paper_model.py (guest.N, host.N, tail.N,
// net.N), so a model file loads straight into that PyTorch model.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <ATen/core/Generator.h>
#include <c10/util/Optional.h>

#include <cstdint>

namespace steg {

// Receptive radius of each network: seven 3x3 convs on the longest encoder path, six in
// the decoder. A tile halo at least this wide makes tiled inference exact.
constexpr int kEncoderRadius = 7;
constexpr int kDecoderRadius = 6;

constexpr int64_t kEncoderParams = 36051;
constexpr int64_t kDecoderParams = 4819;

// Where a zero-centred image's top-left pixel lies in the whole picture: a tile's
// place, so that the rehman2017-phase pilots (below) fall on the same pixels, and the
// CPU's rows kernels (steg-conv-rows.h) pair the same rows, whatever the tiling.
struct Origin {
    int64_t y = 0, x = 0;
};

struct EncoderImpl : torch::nn::Module {
    EncoderImpl();
    // host: N x 3 x H x W, guest: N x 1 x H x W, both zero-centred; `at`, their place in
    // the picture (the rows' kernels pair rows by it). Returns Oe, N x 3 x H x W.
    torch::Tensor forward(const torch::Tensor & host, const torch::Tensor & guest, const Origin & at = {});
    // The two branches (the 3x3 layers, nearly all the work), N x 32 x H x W; forward is
    // tail->forward(features(...)). Inference runs them in bf16 and the tail in fp32.
    torch::Tensor features(const torch::Tensor & host, const torch::Tensor & guest);
    // At inference on the CPU in fp32, forward() runs the whole network a row at a time
    // with steg-conv-rows.h's kernels when its layers have the shapes those take.
    bool runs_in_rows() const;

    torch::nn::ModuleList guest{ nullptr };
    torch::nn::ModuleList host{ nullptr };
    torch::nn::Sequential tail{ nullptr };
};
TORCH_MODULE(Encoder);

// The residue of a zero-centred image's pixel sum R + G + B modulo `period` levels, as
// a plane in [-2, 2): 4 ((R + G + B) mod period) / period - 2. The sum is rounded to
// whole levels with a straight-through gradient (d/dx of the residue is that of the sum
// over period / 4), so a trainer's gradient reaches the hybrid.
torch::Tensor coset_residue(const torch::Tensor & x, int period);

// [x, coset_residue(x, period)] as one N x 4 x H x W channels-last tensor of a float CPU
// x, built in one pass over the pixels with the tensor path's values exactly; no
// gradient. A coset decoder's input wherever no gradient is asked for (inference).
torch::Tensor coset_input(const torch::Tensor & x, int period);

// The brightness of a zero-centred image in 8-bit levels, BT.601's weights
// (0.299 R + 0.587 G + 0.114 B), as N x 1 x H x W. A change equal in R, G and B moves it
// (and BT.709's luma) by that change.
torch::Tensor luma_levels(const torch::Tensor & x);

// rehman2017-phase uses the phases 0 to kPhaseSpan of its circle; the rest parts the
// two ends, so that what is left of a channel's shift of the luma once the pilots have
// measured it (below), and its noise, do not carry black round to white. The circle is cut in
// the middle of that gap, at kPhaseCut.
constexpr double kPhaseSpan = 2.0 / 3.0;
constexpr double kPhaseCut  = (1.0 + kPhaseSpan) / 2.0;

// rehman2017-phase's pilots: the pixels whose row and column in the whole picture are
// both multiples of kPilotStride carry the middle phase (s = 1/2) instead of the
// payload. A channel that shifts the luma (videoconvert's 8-bit path comes back about
// 3.5 levels darker, JPEG does not) shifts them too, and the decoder reads the shift
// from the pilots round each pixel (phase_offset()), whatever the payload.
constexpr int64_t kPilotStride = 4;
// The pilots that measure the shift at a pixel: the (2 kPilotWindow + 1)^2 round the
// pilot at or above and left of it.
constexpr int64_t kPilotWindow = 4;
// How far from a pixel the phase planes look (phase_offset() and the pilots'
// neighbours): a tile's halo for a rehman2017-phase decoder adds this much.
constexpr int kPhaseReach = int(kPilotStride * (kPilotWindow + 1));

// The pilots of an h x w image at `at`, as a 1 x 1 x h x w bool mask.
torch::Tensor phase_pilots(int64_t h, int64_t w, const Origin & at, const torch::Device & device);

// The luma shift at each pixel of a zero-centred image, in turns of the circle (N x 1 x
// H x W, in [-1/2, 1/2]), that brings the pilots round it (kPilotWindow) back to the
// middle phase on average (their circular mean); 0 where the image holds no pilot.
// No gradient: the decoder reads the phase relative to it. It depends on the image's
// pixels within kPhaseReach only, so tiles read as the whole image does.
torch::Tensor phase_offset(const torch::Tensor & x, double period, const Origin & at);

// The phase of a zero-centred image's luma on a circle of `period` levels, less
// phase_offset(), as three planes N x 3 x H x W: sin and cos of 2 pi luma / period,
// smooth everywhere, so a lossy channel's level or two of noise moves them a little
// rather than to another symbol; and the phase itself as a line, 4 ((luma / period -
// kPhaseCut) mod 1) - 2, whose one break lies in the middle of the unused gap (the used
// phases, 0 to 2/3, read as -4/3 to 4/3), so that reading it back is a linear map rather
// than an arc tangent. At a pilot each plane holds the mean of its left and right
// neighbours' (which carry the payload).
torch::Tensor luma_phase(const torch::Tensor & x, double period, const Origin & at = {});

// The zero-centred payload a rehman2017-phase hybrid's luma phase reads as (the inverse
// of the phase layer's t = kPhaseSpan period s for s in 0..1; phases in the unused gap
// read as the nearer end), less phase_offset(), N x 1 x H x W; at a pilot, the mean of
// its left and right neighbours' readings.
torch::Tensor phase_read(const torch::Tensor & x, double period, const Origin & at = {});

struct DecoderImpl : torch::nn::Module {
    // coset_period > 0: the decoder also sees coset_residue(hybrid, coset_period) (its
    // first layer takes 4 channels); phase_period > 0: it also sees luma_phase(hybrid,
    // phase_period) (6 channels); both 0 for the paper's.
    explicit DecoderImpl(int coset_period = 0, double phase_period = 0);
    // hybrid: N x 3 x H x W zero-centred, its top-left pixel at `at` in the whole
    // picture (rehman2017-phase's pilots). Returns Od, N x 1 x H x W.
    torch::Tensor forward(const torch::Tensor & hybrid, const Origin & at = {});
    // All layers but the last 1x1 conv (N x 3 x H x W), and that conv: forward is
    // head(features(x), x). Inference runs the features in bf16 and the head in fp32.
    // With a phase_period the head adds its output to the payload as the hybrid's luma
    // phase reads it (phase_read()): the network learns a correction to that reading.
    torch::Tensor features(const torch::Tensor & hybrid, const Origin & at = {});
    torch::Tensor head(const torch::Tensor & features, const torch::Tensor & hybrid, const Origin & at = {});
    // How far from a pixel its reading looks: the halo that makes tiled reveal exact
    // (kDecoderRadius, and kPhaseReach more with a phase_period).
    int reach() const { return kDecoderRadius + (phase_period > 0 ? kPhaseReach : 0); }
    // At inference on the CPU in fp32, features() runs the 3x3 layers a row at a time
    // with steg-conv-rows.h's kernels when they have the shapes those take.
    bool runs_in_rows() const;

    torch::nn::Sequential net{ nullptr };
    int                   coset_period = 0;
    double                phase_period = 0;
};
TORCH_MODULE(Decoder);

// Xavier-uniform weights and zero biases, as the paper initialises them.
// `generator`: draw from it instead of libtorch's global generator (for a seeded init
// that other threads cannot disturb).
void xavier_init(torch::nn::Module & module, c10::optional<at::Generator> generator = c10::nullopt);

int64_t count_parameters(const torch::nn::Module & module);

}  // namespace steg
