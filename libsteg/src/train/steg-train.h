// SPDX-License-Identifier: MIT
// steg-train.h - the C++ training API: the joint loss of Eq. 1, one epoch of Adam,
// evaluation on the 8-bit hybrid, checkpoints that resume bit-identically on CPU, and
// export to a model file. steg-trainer is a thin main() over this.
#pragma once

#include "steg-data.h"
#include "steg-distributed.h"
#include "steg.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace steg {

struct TrainOptions {
    // Eq. 1: alpha * ||Ih - Oe||^2 + beta * ||Ig - Od||^2 + lambda * (||We||^2 + ||Wd||^2).
    // The image terms are squared L2 norms per image (summed over pixels and channels),
    // averaged over the batch; the weight term sums the squares of every conv weight.
    // With the 8-bit hybrid (the default) the decoder sees Oe clamped and rounded to the
    // 8-bit grid (straight-through gradient), while the cover term is taken on Oe itself.
    double      alpha  = 1.0;
    double      beta   = 1.0;
    // Weight of the cover term's chroma against its luma: the change d = Oe - Ih is split
    // into its gray component ((1,1,1) / sqrt 3) and the two orthogonal colour components,
    // and the colour part's squares are weighted by this (1: the paper's plain RGB norm).
    // Above 1 the encoder is pushed to hide in brightness rather than in hue.
    double      chroma_weight = 1.0;
    std::string architecture  = "rehman2017";  // or rehman2017-residual, -gray, -bounded, -coset, -phase
    // rehman2017-bounded: the bound on the change, in 8-bit levels. With
    // change_bound_start > 0 the bound starts there and shrinks geometrically to
    // change_bound over the first change_bound_epochs epochs (0: over the whole run),
    // so the networks first find a way to talk and then learn to whisper.
    double      change_bound        = 4.0;
    double      change_bound_start  = 0;
    double      change_bound_epochs = 0;
    // rehman2017-coset: the number of symbols a pixel can carry (its sum R + G + B
    // modulo this); the hybrid moves by up to a sixth of it in each channel.
    int         coset_period = 36;
    // rehman2017-phase: the luma period in 8-bit levels; the hybrid moves by up to half
    // of it, in R, G and B alike.
    double      phase_period = 20.0;
    // Distillation into a new architecture: the cover term's target starts as the
    // hybrid that `teacher` (a trained model file) makes of each pair and moves linearly
    // to the cover itself over teacher_ramp epochs; the decoder starts as the teacher's,
    // which reads that hybrid. A residual encoder so learns first to make the change the
    // teacher makes (a regression, which trains from any start), then to shrink it,
    // while the decoder keeps reading it. Empty: no teacher.
    std::string teacher;
    double      teacher_ramp = 0;
    double      colour_augment = 0;            // share of cover crops recoloured (make_batch)
    // The channels between the encoder and the decoder (steg-channel.h's mix text, e.g.
    // "none,yuv420,jpeg:50-95"): one drawn per batch, and one per pair in evaluate(),
    // whose revealed figures are then those after the channel. Empty: the 8-bit hybrid
    // reaches the decoder as saved.
    std::string transport;
    double      lambda = 1e-4;
    double      lr     = 1e-4;   // Adam
    double      lr_min = 0.0;    // end of the cosine schedule
    bool        cosine = false;  // cosine decay from lr to lr_min over all epochs
    double      warmup = 0;      // epochs of linear warm-up from 0 to lr (fine-tuning: Adam's
                                 // first steps move every weight by about lr at once)
    int         batch  = 32;
    int         epochs = 100;
    int         size   = 64;     // training crop edge
    int         repeat = 1;      // passes over the training images per epoch
    uint64_t    seed   = 1;
    bool        float_hybrid = false;  // true: the paper's float hybrid; false: clamp + round to 8 bits (STE)
    PayloadMode payload_mode = PayloadMode::Gray;
    steg_device device       = STEG_DEVICE_AUTO;
    int         threads      = 0;
    // bf16 autocast of the convolutions (weights, loss and the 8-bit rounding stay fp32),
    // as torch.autocast(dtype=torch.bfloat16): on CUDA, and on CPUs with AVX512-BF16.
    bool        amp           = false;
    bool        channels_last = true;  // NHWC activations and weights: faster oneDNN/cuDNN kernels
    int         data_workers  = 2;     // torch::data DataLoader threads cutting crops
    // Data-parallel training (world_size > 1): each rank trains `batch` pairs of every
    // step, gradients are averaged over the ranks in one all-reduce per step, and every
    // rank starts from rank 0's weights. See steg-distributed.h.
    DistOptions dist;
};

struct EpochStats {
    int    epoch = 0, steps = 0;
    int    skipped = 0;  // steps whose gradients were not finite: Adam did not step
    double loss = 0, cover_term = 0, payload_term = 0, weight_term = 0;
    double images_per_s = 0, wait_share = 0, seconds = 0;
    double allreduce_seconds = 0;  // time in the gradient all-reduce (distributed runs)
    bool   interrupted = false;  // stopped by `stop` (on any rank, in a distributed run)
};

// The figures of one (cover, payload) pair, from the 8-bit hybrid.
struct PairScore {
    std::string cover, payload;  // image names
    double      hybrid_psnr = 0, hybrid_ssim = 0, revealed_psnr = 0, revealed_ssim = 0;
    double      colour_mean = 0, colour_p99 = 0;  // CIEDE2000 cover -> hybrid over pixels
};

struct EvalStats {
    int    images = 0;
    // Means over the pairs (an exact copy counts as 100 dB).
    double hybrid_psnr = 0, hybrid_ssim = 0, revealed_psnr = 0, revealed_ssim = 0;
    double colour_mean = 0, colour_p99 = 0;
    std::vector<PairScore> pairs;  // in evaluation order
};

// The change bound (levels) `epochs` (fractional) into a run with options `o`, rounded to
// 1e-4 of a level (so that a model file's text gives back the same number).
double scheduled_change_bound(const TrainOptions & o, double epochs);

// True once the bound has reached its final value (always without an anneal).
inline bool change_bound_settled(const TrainOptions & o, double epochs) {
    return o.change_bound_start <= 0 || epochs >= (o.change_bound_epochs > 0 ? o.change_bound_epochs : o.epochs);
}

// The q-quantile (0..1) of `values` by linear interpolation between order statistics.
double quantile(std::vector<double> values, double q);

// Per-step report: epoch, step, steps in the epoch, loss so far, images/s.
using StepCallback = std::function<void(int, int, int, double, double)>;

class Trainer {
  public:
    explicit Trainer(const TrainOptions & options);  // a fresh model, Xavier init
    ~Trainer();

    const TrainOptions & options() const { return opt_; }
    int                  epoch() const;  // epochs completed
    int                  rank() const;   // this process's rank (0 when not distributed)
    int                  world_size() const;
    const char *         device_name() const;

    // One epoch over `pairs` of (covers, payloads), resuming at the step a checkpoint
    // stopped at. Stops early (interrupted = true) when `stop` becomes true; throws
    // steg::Error if the loss stops being finite. In a distributed run every rank passes
    // the same `pairs` and trains its shard (shard_for_rank); a stop on any rank stops
    // all of them after the same step, and the loss figures are the whole job's.
    EpochStats train_epoch(const ImageSet & covers, const ImageSet & payloads, const std::vector<Pair> & pairs,
                           const std::atomic<bool> & stop, const StepCallback & on_step);

    // Hides each payload in its cover at size x size (images resized, antialiased),
    // rounds the hybrid to 8 bits, reveals from it, and averages PSNR/SSIM of both.
    EvalStats evaluate(const ImageSet & covers, const ImageSet & payloads, const std::vector<Pair> & pairs, int size);

    // One Adam step on one batch; returns the loss terms before the step. Throws
    // steg::Error (and leaves the weights untouched) if the loss is not finite. A finite
    // loss with non-finite gradients skips the step (skipped = 1, weights untouched);
    // ten such steps in a row throw.
    EpochStats train_step(const Batch & batch);

    // Loss terms of Eq. 1 for one batch without training (for tests and reports).
    EpochStats loss_of(const Batch & batch);

    // Checkpoint: weights, Adam state, epoch and step, the best validation score and
    // the options that decide the run's batches (batch, seed, crop size, repeat,
    // architecture, payload mode, number of ranks); written atomically. Loading one
    // made with other such options throws steg::Error(STEG_ERR_INVALID_ARGUMENT): the
    // resumed run would not continue the same sequence of batches.
    void save_checkpoint(const std::string & path) const;
    // `same_run` false: only the weights and state are wanted (export), whatever the
    // options of the run that wrote it.
    void load_checkpoint(const std::string & path, bool same_run = true);  // throws steg::Error(STEG_ERR_MODEL)

    // The best validation score of the run so far (kept in checkpoints, so that a
    // resumed run does not overwrite its best model with a worse one); -inf at first.
    double best_score() const;
    void   set_best_score(double score);

    // The architecture a checkpoint holds (to make the Trainer that loads it).
    static std::string checkpoint_architecture(const std::string & path);  // throws steg::Error(STEG_ERR_MODEL)

    // Takes the weights of a model file (to evaluate it, or to fine-tune from it). A
    // trainer made for rehman2017-bounded takes a rehman2017-gray model's weights as its
    // own start (the bounded change is the gray change near 0).
    void import_model(const std::string & path);  // throws steg::Error(STEG_ERR_MODEL)

    // Metadata of the imported model file (empty for a fresh model).
    const std::map<std::string, std::string> & model_metadata() const;

    // The model file of steg.h, with `metadata` added to the model's own.
    void export_model(const std::string & path, const std::map<std::string, std::string> & metadata) const;

    // Flat copy of all parameters (encoder then decoder), for comparisons in tests.
    std::vector<float> parameters_flat() const;

  private:
    struct Impl;
    TrainOptions          opt_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace steg
