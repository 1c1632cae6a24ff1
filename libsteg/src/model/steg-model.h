// SPDX-License-Identifier: MIT
// steg-model.h - a model: the paper's encoder and decoder plus the string metadata of
// its file. Internal (includes torch through steg-network.h).
#pragma once

#include "steg-network.h"

#include <map>
#include <string>

namespace steg {

// The architectures a model file may name. All have the same layers and weights
// (Table 1), so the same cost; they differ in what the encoder's output means:
//   rehman2017           the paper's: the encoder outputs the hybrid itself;
//   rehman2017-residual  the encoder outputs the change to the cover (hybrid = cover +
//                        output), so an unchanged cover costs the network nothing;
//   rehman2017-gray      the change is the mean of the encoder's three outputs, the same
//                        in R, G and B: the hybrid differs from the cover in brightness
//                        only, never in hue;
//   rehman2017-bounded   a gray change bounded by construction: hybrid = cover +
//                        b * tanh(g / b), g the mean of the three outputs and b the
//                        file's `change_bound` (in 8-bit levels). Near 0 it is the gray
//                        change itself; no pixel moves by more than b levels.
//   rehman2017-coset     the encoder picks a symbol, one of M (the file's `coset_period`)
//                        a pixel: round(M sigmoid(g)) with g the mean of its three
//                        outputs. A fixed layer (coset_hybrid()) moves the pixel's sum
//                        R + G + B by the least amount that leaves it equal to that
//                        symbol modulo M, spread over R, G and B as evenly as possible (a
//                        brightness change of at most M / 6 levels a channel, more only
//                        where a channel is at 0 or 255). The decoder also sees the
//                        hybrid's residue modulo M (coset_residue()), so its first layer
//                        takes 4 channels: 144 more weights, 0.4 % more multiply-adds.
//   rehman2017-phase     a code on brightness for lossy channels: the encoder picks a
//                        phase a pixel, t = (2/3) P s levels with P the file's
//                        `phase_period` and s = clamp(payload + g, 0, 1) (the payload
//                        in 0..1 plus the encoder's correction g), and a fixed layer
//                        (phase_hybrid()) moves R, G and B alike by the least change
//                        that leaves the pixel's luma equal to t modulo P (at most P / 2
//                        levels). A change equal in R, G and B has no chroma, so YUV
//                        4:2:0 keeps it. The decoder also sees the hybrid's luma phase
//                        (luma_phase(): its sin and cos, smooth in the pixels, so a
//                        codec's noise moves the reading a little, and the phase as a
//                        line): 6 input channels, 432 more weights; its output is a
//                        correction to the payload that phase reads as (phase_read()).
//                        Untrained, the two already write and read the payload.
constexpr const char * kArchitecture         = "rehman2017";
constexpr const char * kArchitectureResidual = "rehman2017-residual";
constexpr const char * kArchitectureGray     = "rehman2017-gray";
constexpr const char * kArchitectureBounded  = "rehman2017-bounded";
constexpr const char * kArchitectureCoset    = "rehman2017-coset";
constexpr const char * kArchitecturePhase    = "rehman2017-phase";
constexpr const char * kFormatVersion        = "1";

// What the encoder's output is, by architecture.
enum class EncoderOutput {
    hybrid,       // rehman2017
    change,       // rehman2017-residual
    gray_change,  // rehman2017-gray
    bounded_gray,  // rehman2017-bounded
    coset,         // rehman2017-coset
    phase,         // rehman2017-phase
};

// The output of architecture `name`. Throws steg::Error(STEG_ERR_MODEL) naming the known
// architectures (and `where`) when `name` is none.
EncoderOutput encoder_output(const std::string & name, const std::string & where);

// The rehman2017-coset hybrid (zero-centred, whole levels) of `host` (zero-centred, N x 3
// x H x W) for the symbols s in [0, 1) (N x 1 x H x W, symbol round(period * s) mod
// period): each pixel's sum R + G + B moves by the k in [-period / 2, period / 2] nearest
// to the symbol's residue (k +- period where the sum would leave 0..765), R, G and B each
// by k / 3 and the rest (k mod 3) to G then R, and what a channel cannot take at 0 or 255
// to the others in the order G, R, B. With a gradient, it is that of the sum's move
// spread evenly: d hybrid / d s = period / 3 levels in each channel.
torch::Tensor coset_hybrid(const torch::Tensor & host, const torch::Tensor & s, int period);

// The rehman2017-phase hybrid (zero-centred, not rounded) of `host` (zero-centred, N x 3
// x H x W) for the phases s in [0, 1) (N x 1 x H x W, a luma of s * period modulo
// period): R, G and B each move by the d in [-period / 2, period / 2) that takes the
// pixel's luma (luma_levels()) there, or by d -+ period where that keeps every channel in
// 0..255 and d does not; a channel that still leaves 0..255 is clamped. With a gradient,
// d hybrid / d s = period levels in each channel.
torch::Tensor phase_hybrid(const torch::Tensor & host, const torch::Tensor & s, double period);

// A coset_period from a model file's metadata: an integer in [3, 255]. Throws
// steg::Error(STEG_ERR_MODEL) naming `where` otherwise.
int parse_coset_period(const std::string & text, const std::string & where);

// A change_bound from a model file's metadata: a number of 8-bit levels in (0, 255].
// Throws steg::Error(STEG_ERR_MODEL) naming `where` otherwise.
double parse_change_bound(const std::string & text, const std::string & where);
// The metadata text of a number of levels, a change_bound or a phase_period (exact
// enough to give back the same double).
std::string levels_text(double levels);

// A phase_period from a model file's metadata: a number of 8-bit levels in [2, 255].
// Throws steg::Error(STEG_ERR_MODEL) naming `where` otherwise.
double parse_phase_period(const std::string & text, const std::string & where);

// Throws as encoder_output() does.
inline void check_architecture(const std::string & name, const std::string & where) {
    encoder_output(name, where);
}

struct Model {
    Encoder                            encoder;
    Decoder                            decoder;
    std::map<std::string, std::string> metadata;
    EncoderOutput                      output = EncoderOutput::hybrid;
    // rehman2017-bounded: the largest change, in 8-bit levels (metadata `change_bound`).
    double                             change_bound = 4.0;
    // rehman2017-coset: the number of symbols (metadata `coset_period`).
    int                                coset_period = 36;
    // rehman2017-phase: the luma period, in 8-bit levels (metadata `phase_period`).
    double                             phase_period = 20.0;

    const char * architecture() const;

    // True when the encoder outputs a change to the cover, not the hybrid.
    bool residual() const { return output != EncoderOutput::hybrid; }

    // The zero-centred float hybrid from the cover and the encoder's output (in fp32,
    // whatever precision the encoder ran in); rehman2017-phase also takes the payload
    // (`guest`, zero-centred, N x 1 x H x W) and where the image lies in the whole
    // picture (`at`: its pilots, phase_pilots(), carry the middle phase).
    torch::Tensor hybrid(const torch::Tensor & host, const torch::Tensor & encoder_out,
                         const torch::Tensor & guest = {}, const Origin & at = {}) const;
};

// A fresh model of `architecture`: Xavier-uniform weights, metadata naming the
// architecture and the normalisation (and a rehman2017-coset model's `coset_period`, a
// rehman2017-phase model's `phase_period`).
// With a seed the weights come from a generator of their own seeded with it (the same
// weights as torch::manual_seed(seed) would give, whatever other threads draw
// meanwhile); without one, from libtorch's global generator.
Model new_model(const std::string & architecture = kArchitecture, c10::optional<uint64_t> seed = c10::nullopt,
                int coset_period = 36, double phase_period = 20.0);

// Reads a model file and checks that it holds exactly the tensors of the architecture
// it names, with the right shapes and dtype. Throws steg::Error(STEG_ERR_MODEL, ...).
Model load_model(const std::string & path);

// Moves every conv weight of the model to channels-last (NHWC) in place, for oneDNN's
// and cuDNN's faster kernels. Values and parameter identity are unchanged.
void to_channels_last(Model & model);

// Sets every subnormal parameter (below 1.2e-38 in magnitude) to zero, for inference:
// trained weights hold some (the shipped models 500-800 each), and each operation on one
// costs an Intel core a microcode assist of some hundred cycles in the layers libtorch
// runs (bf16, CUDA). A product changes by less than 1e-37 times an activation.
void flush_subnormals(Model & model);

// Writes encoder and decoder weights (F32) and the metadata, atomically.
void save_model(const std::string & path, const Model & model);

}  // namespace steg
