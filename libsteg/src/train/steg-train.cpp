// SPDX-License-Identifier: MIT
#include "steg-train.h"

#include "steg-atomic-file.h"
#include "steg-autocast.h"
#include "steg-channel.h"
#include "steg-dataset.h"
#include "steg-error.h"
#include "steg-metrics.h"
#include "steg-model.h"
#include "steg-payload.h"
#include "steg-runtime.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

namespace steg {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// The hybrid as a user saves it: clamped and rounded to the 8-bit grid. The rounding
// has no useful gradient, so the gradient passes straight through (Bengio et al. 2013).
// With `real_clamp` only the rounding is passed through and the clamp keeps its own
// gradient (zero beyond the range): a residual encoder, free to move its output
// anywhere, is otherwise pushed ever further past 0 or 255 by the decoder's gradient.
torch::Tensor to_8bit_grid(const torch::Tensor & x, bool real_clamp) {
    if (real_clamp) {
        torch::Tensor c = x.clamp(-0.5, 0.5);
        return c + (((c + 0.5) * 255.0).round() / 255.0 - 0.5 - c).detach();
    }
    torch::Tensor q = ((x + 0.5) * 255.0).round().clamp(0, 255) / 255.0 - 0.5;
    return x + (q - x).detach();
}

torch::Tensor weight_norm_sq(const torch::nn::Module & m) {
    torch::Tensor sum = torch::zeros({}, m.parameters().front().options());
    for (const auto & p : m.parameters()) {
        if (p.dim() == 4) {  // conv weights; biases are not part of ||W||^2
            sum = sum + p.pow(2).sum();
        }
    }
    return sum;
}

// The learning rate `epochs` (fractional) into the run: lr, or its cosine decay toward
// lr_min, scaled linearly up from 0 over the first `warmup` epochs (the first step
// gets 1 / n_batches of an epoch's share, not 0).
double scheduled_lr(const TrainOptions & o, double epochs, int n_batches) {
    double lr = o.lr;
    if (o.cosine) {
        const double progress = std::min(1.0, epochs / std::max(1, o.epochs));
        lr = o.lr_min + 0.5 * (o.lr - o.lr_min) * (1 + std::cos(M_PI * progress));
    }
    if (epochs < o.warmup) {
        lr *= (epochs + 1.0 / n_batches) / o.warmup;
    }
    return lr;
}

}  // namespace

double scheduled_change_bound(const TrainOptions & o, double epochs) {
    double b = o.change_bound;
    if (!change_bound_settled(o, epochs)) {
        const double span = o.change_bound_epochs > 0 ? o.change_bound_epochs : o.epochs;
        b                 = o.change_bound_start * std::pow(o.change_bound / o.change_bound_start, epochs / span);
    }
    return std::round(b * 1e4) / 1e4;
}

namespace {

// How far the cover term's target has moved from the teacher's hybrid to the cover.
double scheduled_toward_cover(const TrainOptions & o, double epochs) {
    return o.teacher.empty() ? 1.0 : o.teacher_ramp > 0 ? std::min(1.0, epochs / o.teacher_ramp) : 0.0;
}

// ||d||^2 per image with d's colour part weighted: with g = (d_r + d_g + d_b) / sqrt 3
// the gray component, ||d||^2 = g^2 + colour^2, so w * colour^2 + g^2 is
// w * ||d||^2 - (w - 1) * g^2.
torch::Tensor cover_norm_sq(const torch::Tensor & d, double chroma_weight) {
    torch::Tensor all = d.pow(2).sum({ 1, 2, 3 });
    if (chroma_weight == 1.0) {
        return all;
    }
    torch::Tensor gray = d.sum(1).pow(2).sum({ 1, 2 }) / 3.0;
    return chroma_weight * all - (chroma_weight - 1.0) * gray;
}

// The options that decide which batches a run trains, in the order a checkpoint
// records them: a resumed run must agree on each.
std::vector<std::pair<std::string, std::string>> run_identity(const TrainOptions & o, int world_size) {
    std::vector<std::pair<std::string, std::string>> id = {
        { "--batch", std::to_string(o.batch) },
        { "--seed", std::to_string(o.seed) },
        { "--size", std::to_string(o.size) },
        { "--repeat", std::to_string(o.repeat) },
        { "--architecture", o.architecture },
        { "--payload-mode", o.payload_mode == PayloadMode::Gray ? "gray" : "channel" },
        { "--world-size", std::to_string(world_size) }
    };
    if (o.architecture == kArchitectureCoset) {
        id.push_back({ "--coset-period", std::to_string(o.coset_period) });
    }
    if (o.architecture == kArchitecturePhase) {
        id.push_back({ "--phase-period", levels_text(o.phase_period) });
    }
    return id;
}

steg_image view_rgb(RgbImage & img) {
    return { img.width, img.height, STEG_FORMAT_RGB8, 0, img.pixels.data() };
}

}  // namespace

struct Trainer::Impl {
    Model                               model = new_model(kArchitecture, 0);  // replaced by the constructor
    torch::Device                       device = torch::kCPU;
    std::unique_ptr<torch::optim::Adam> adam;
    int                                 epoch = 0;  // completed epochs
    int                                 step  = 0;  // steps done in the running epoch (after an interrupt)
    int                                 skipped_in_a_row = 0;
    double                              best_score = -std::numeric_limits<double>::infinity();
    std::unique_ptr<Communicator>       comm;            // distributed runs only
    bool                                synced = false;  // weights taken from rank 0 since the last load
    bool                                stepped = false;  // an Adam step taken (the model's shape is fixed)
    std::unique_ptr<Model>              teacher;         // TrainOptions::teacher, frozen
    std::vector<Channel>                transport;       // TrainOptions::transport, parsed

    // The channel of the step about to run: a function of the seed, the epoch, the step
    // and the rank, so that a resumed run (and each rank) draws as the first run did.
    ChannelDraw step_channel(const TrainOptions & o) const {
        const uint64_t r = comm ? uint64_t(comm->rank()) : 0;
        return draw_channel(transport, o.seed * 0x100000001b3ULL ^ (uint64_t(epoch) << 40) ^ (uint64_t(step) << 8) ^ r);
    }

    struct Terms {
        torch::Tensor loss, cover, payload, weight;
    };

    Terms forward(const TrainOptions & o, torch::Tensor host, torch::Tensor guest, double toward_cover = 1.0,
                  const ChannelDraw & channel = {}) {
        if (o.channels_last) {
            host  = host.contiguous(torch::MemoryFormat::ChannelsLast);
            guest = guest.contiguous(torch::MemoryFormat::ChannelsLast);
        }
        // Under --amp only the networks run in bf16: the hybrid is rounded to the 8-bit
        // grid in fp32 (bf16 has 8 significant bits, too few for 1/255 steps) and the
        // loss is summed in fp32.
        torch::Tensor oe, od;
        {
            AutocastBf16 amp(o.amp, device.type());
            oe = model.encoder->forward(host, guest);
        }
        oe = model.hybrid(host, oe, guest);
        torch::Tensor hybrid = o.float_hybrid ? oe : to_8bit_grid(oe, model.residual());
        hybrid               = apply_channel(hybrid, channel);
        {
            AutocastBf16 amp(o.amp, device.type());
            od = model.decoder->forward(hybrid).to(torch::kFloat32);
        }
        Terms t;
        // The cover term anchors the encoder's own output: on the clamped hybrid, pixels
        // where the cover is pure white or black would leave Oe free to drift past the
        // clamp (the clamped value already matches), and training diverged that way.
        torch::Tensor target = host;
        if (teacher && toward_cover < 1.0) {
            torch::NoGradGuard no_grad;
            AutocastBf16       amp(o.amp, device.type());
            torch::Tensor      th = teacher->hybrid(host, teacher->encoder->forward(host, guest), guest).to(torch::kFloat32);
            target                = th * (1.0 - toward_cover) + host * toward_cover;
        }
        t.cover   = cover_norm_sq(oe - target, o.chroma_weight).mean();
        t.payload = (od - guest).pow(2).sum({ 1, 2, 3 }).mean();
        t.weight  = weight_norm_sq(*model.encoder) + weight_norm_sq(*model.decoder);
        t.loss    = o.alpha * t.cover + o.beta * t.payload + o.lambda * t.weight;
        return t;
    }

    std::pair<torch::Tensor, torch::Tensor> to_tensors(const Batch & b) {
        auto host  = torch::from_blob(const_cast<float *>(b.covers.data()), { b.count, 3, b.size, b.size }).to(device);
        auto guest = torch::from_blob(const_cast<float *>(b.payloads.data()), { b.count, 1, b.size, b.size }).to(device);
        return { host.clone(), guest.clone() };  // own the memory: the batch may go away
    }

    // One Adam step; the loss terms are those before it. Throws (weights untouched)
    // when the loss is not finite.
    EpochStats adam_step(const TrainOptions & o, const torch::Tensor & host, const torch::Tensor & guest,
                         double toward_cover, bool stop = false) {
        auto       t = forward(o, host, guest, toward_cover, step_channel(o));
        EpochStats s;
        s.loss = t.loss.item<double>();
        if (!std::isfinite(s.loss)) {
            throw Error(STEG_ERR_INTERNAL, "the loss became " + std::to_string(s.loss) +
                                               ": training diverged (try a lower --lr)");
        }
        adam->zero_grad();
        t.loss.backward();
        s.cover_term   = t.cover.item<double>();
        s.payload_term = t.payload.item<double>();
        s.weight_term  = t.weight.item<double>();
        s.steps        = 1;
        if (comm) {
            average_over_ranks(s, stop);
        }
        // A finite loss can still give inf/NaN gradients (overflow in the backward pass,
        // or a faulty kernel): one such step would turn every weight into NaN.
        if (!gradients_finite()) {
            s.skipped = 1;
            if (++skipped_in_a_row >= 10) {
                throw Error(STEG_ERR_INTERNAL, "10 steps in a row had non-finite gradients: training diverged "
                                               "(try a lower --lr)");
            }
            return s;
        }
        skipped_in_a_row = 0;
        adam->step();
        stepped = true;
        return s;
    }

    // One all-reduce per step: every gradient, the loss terms and the stop flag in one
    // flat buffer. The gradients become the mean over the ranks (the gradient of the
    // loss over the whole job's batch), the terms the job's, and a stop on any rank
    // stops all of them after this step.
    void average_over_ranks(EpochStats & s, bool stop) {
        auto                       params = all_parameters();
        std::vector<torch::Tensor> parts;
        for (auto & p : params) {
            parts.push_back(p.grad().defined() ? p.grad().reshape(-1).to(torch::kFloat32)
                                               : torch::zeros({ p.numel() }, p.options()));
        }
        parts.push_back(torch::tensor({ float(s.loss), float(s.cover_term), float(s.payload_term), float(stop) },
                                      torch::TensorOptions().dtype(torch::kFloat32).device(device)));
        torch::Tensor flat = torch::cat(parts).cpu();  // Gloo reduces host memory
        const auto    t0   = Clock::now();
        comm->all_reduce_sum(flat);
        s.allreduce_seconds = seconds_since(t0);
        const double n = comm->world_size();
        int64_t      at = 0;
        torch::NoGradGuard no_grad;
        for (auto & p : params) {
            torch::Tensor g = flat.narrow(0, at, p.numel()).view(p.sizes()).div(n).to(device);
            if (p.grad().defined()) {
                p.mutable_grad().copy_(g);
            }
            at += p.numel();
        }
        auto tail      = flat.narrow(0, at, 4);
        s.loss         = tail[0].item<double>() / n;
        s.cover_term   = tail[1].item<double>() / n;
        s.payload_term = tail[2].item<double>() / n;
        s.interrupted  = tail[3].item<double>() > 0;
    }

    bool gradients_finite() {
        std::vector<torch::Tensor> sums;
        for (const auto & p : all_parameters()) {
            if (p.grad().defined()) {
                sums.push_back(p.grad().abs().sum());
            }
        }
        return sums.empty() || torch::stack(sums).sum().isfinite().item<bool>();
    }

    // Makes `fresh` the run's model: on the run's device, channels-last if asked, and a
    // new Adam over its parameters.
    void install(Model fresh, const TrainOptions & o) {
        model = std::move(fresh);
        model.encoder->to(device);
        model.decoder->to(device);
        if (o.channels_last) {
            to_channels_last(model);
        }
        // Eq. 1 carries the weight penalty itself, so Adam's own weight decay stays 0
        // (Adam's weight_decay = wd adds (wd / 2) * ||W||^2 to the loss, including biases).
        adam = std::make_unique<torch::optim::Adam>(all_parameters(), torch::optim::AdamOptions(o.lr).weight_decay(0));
    }

    std::vector<torch::Tensor> all_parameters() {
        auto p = model.encoder->parameters();
        for (auto & d : model.decoder->parameters()) {
            p.push_back(d);
        }
        return p;
    }
};

Trainer::Trainer(const TrainOptions & options) : opt_(options), impl_(std::make_unique<Impl>()) {
    const bool has_cuda = torch::cuda::is_available();
    if (opt_.device == STEG_DEVICE_CUDA && !has_cuda) {
        throw Error(STEG_ERR_DEVICE, "CUDA was requested, but this libtorch has no CUDA support or sees no GPU");
    }
    impl_->device = (opt_.device != STEG_DEVICE_CPU && has_cuda) ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    set_cpu_threads(opt_.threads);
    tune_malloc_once();
#if TORCH_VERSION_MAJOR >= 2
    // libtorch 2.6 (Debian 13) now and then returns NaN gradients from oneDNN's
    // convolution backward on NCHW tensors (PyTorch 2.6 itself: 6 of 264 steps of the
    // paper's network; 0 of 264 in channels-last). Channels-last (the default) keeps
    // oneDNN; NCHW training runs on libtorch's own kernels, about 30x slower.
    // Process-wide, as the switch is.
    if (impl_->device.is_cpu() && !opt_.channels_last) {
        at::globalContext().setUserEnabledMkldnn(false);
    }
#endif
    // Weight init from a generator seeded by the run's seed: reproducible, and safe from
    // other threads of the process (two ranks in one process, a host's threads).
    impl_->install(new_model(opt_.architecture, opt_.seed, opt_.coset_period, opt_.phase_period), opt_);
    if (!opt_.transport.empty()) {
        impl_->transport = parse_transport(opt_.transport);
    }
    impl_->model.change_bound = scheduled_change_bound(opt_, 0);
    if (!opt_.teacher.empty()) {
        // The teacher, frozen; its decoder is where the student's starts.
        impl_->teacher = std::make_unique<Model>(load_model(opt_.teacher));
        impl_->teacher->encoder->to(impl_->device);
        impl_->teacher->decoder->to(impl_->device);
        impl_->teacher->encoder->eval();
        torch::NoGradGuard no_grad;
        auto               dst = impl_->model.decoder->parameters();
        auto               src = impl_->teacher->decoder->parameters();
        for (size_t i = 0; i < dst.size(); ++i) {
            dst[i].copy_(src[i]);
        }
        for (auto & p : impl_->teacher->encoder->parameters()) {
            p.requires_grad_(false);
        }
        if (opt_.channels_last) {
            to_channels_last(*impl_->teacher);
        }
    }
    if (opt_.dist.world_size > 1) {
        impl_->comm = std::make_unique<Communicator>(opt_.dist);  // waits for every rank
    }
}

int Trainer::rank() const {
    return impl_->comm ? impl_->comm->rank() : 0;
}

int Trainer::world_size() const {
    return impl_->comm ? impl_->comm->world_size() : 1;
}

Trainer::~Trainer() = default;

int Trainer::epoch() const {
    return impl_->epoch;
}

const char * Trainer::device_name() const {
    return impl_->device.is_cuda() ? "cuda" : "cpu";
}

EpochStats Trainer::loss_of(const Batch & batch) {
    torch::NoGradGuard no_grad;
    auto [host, guest] = impl_->to_tensors(batch);
    auto       t       = impl_->forward(opt_, host, guest, scheduled_toward_cover(opt_, impl_->epoch),
                                        impl_->step_channel(opt_));
    EpochStats s;
    s.loss         = t.loss.item<double>();
    s.cover_term   = t.cover.item<double>();
    s.payload_term = t.payload.item<double>();
    s.weight_term  = t.weight.item<double>();
    return s;
}

EpochStats Trainer::train_step(const Batch & batch) {
    auto [host, guest] = impl_->to_tensors(batch);
    return impl_->adam_step(opt_, host, guest, scheduled_toward_cover(opt_, impl_->epoch));
}

EpochStats Trainer::train_epoch(const ImageSet & covers, const ImageSet & payloads, const std::vector<Pair> & pairs,
                                const std::atomic<bool> & stop, const StepCallback & on_step) {
    auto &          m = *impl_;
    EpochStats      s;
    s.epoch = m.epoch + 1;
    const int world = world_size();
    const std::vector<Pair> & mine  = world > 1 ? shard_for_rank(pairs, opt_.batch, world, rank()) : pairs;
    const int                 n_batches = int(mine.size() / size_t(opt_.batch));
    if (n_batches == 0) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "an epoch has " + std::to_string(pairs.size()) +
                                                   " pairs, fewer than one batch of " + std::to_string(opt_.batch) +
                                                   (world > 1 ? " for each of " + std::to_string(world) + " ranks" : ""));
    }
    if (m.comm && !m.synced) {  // every rank starts from rank 0's weights
        m.comm->broadcast(m.all_parameters());
        m.synced = true;
    }
    auto loader = make_epoch_loader(covers, payloads, mine, opt_.batch, m.step, opt_.size, opt_.payload_mode,
                                    opt_.seed, m.epoch, opt_.data_workers, opt_.colour_augment);
    m.model.encoder->train();
    m.model.decoder->train();
    const auto start = Clock::now();
    double     wait  = 0;
    int        done  = 0;
    auto       it    = loader->begin();
    // A distributed run learns of a stop in the step's all-reduce, so that every rank
    // stops after the same step.
    while ((m.comm || !stop) && m.step < n_batches) {
        const auto t0 = Clock::now();
        if (it == loader->end()) {
            break;
        }
        torch::data::Example<> batch = std::move(*it);
        ++it;
        wait += seconds_since(t0);
        const double progress = m.epoch + double(m.step) / n_batches;
        const double lr       = scheduled_lr(opt_, progress, n_batches);
        m.model.change_bound  = scheduled_change_bound(opt_, progress);
        for (auto & g : m.adam->param_groups()) {
            static_cast<torch::optim::AdamOptions &>(g.options()).lr(lr);
        }
        EpochStats st;
        try {
            st = m.adam_step(opt_, batch.data.to(m.device), batch.target.to(m.device),
                             scheduled_toward_cover(opt_, progress), stop);
        } catch (const Error & e) {
            throw Error(e.status(), "epoch " + std::to_string(s.epoch) + ", step " + std::to_string(m.step + 1) + ": " +
                                        e.what() + "; the last checkpoint is kept");
        }
        ++m.step;
        ++done;
        s.loss += st.loss;
        s.cover_term += st.cover_term;
        s.payload_term += st.payload_term;
        s.weight_term += st.weight_term;
        s.skipped += st.skipped;
        s.allreduce_seconds += st.allreduce_seconds;
        if (on_step) {
            on_step(s.epoch, m.step, n_batches, s.loss / done, done * opt_.batch * world / seconds_since(start));
        }
        if (st.interrupted) {
            break;
        }
    }
    s.steps        = done;
    s.seconds      = seconds_since(start);
    s.images_per_s = done * opt_.batch * world / std::max(1e-9, s.seconds);  // the whole job's
    s.wait_share   = wait / std::max(1e-9, s.seconds);
    if (done) {
        s.loss /= done;
        s.cover_term /= done;
        s.payload_term /= done;
        s.weight_term /= done;
    }
    s.interrupted = m.step < n_batches;
    if (!s.interrupted) {
        ++m.epoch;
        m.step = 0;
        m.model.change_bound = scheduled_change_bound(opt_, m.epoch);  // what validation and export see
    }
    return s;
}

EvalStats Trainer::evaluate(const ImageSet & covers, const ImageSet & payloads, const std::vector<Pair> & pairs,
                            int size) {
    auto &             m = *impl_;
    torch::NoGradGuard no_grad;
    m.model.encoder->eval();
    m.model.decoder->eval();
    EvalStats e;
    for (const auto & pr : pairs) {
        RgbImage cover = covers[size_t(pr.cover)], secret = payloads[size_t(pr.payload)];
        if (cover.width != size || cover.height != size) {
            cover = resize_rgb(cover, size, size);
        }
        // The payload exactly as `steg hide` prepares it: luma, then fitted to the cover.
        steg_image prepared{};
        prepare_payload(view_rgb(secret), size, size, STEG_FIT_SCALE, STEG_CHANNEL_LUMA, prepared);
        std::vector<uint8_t> payload(prepared.data, prepared.data + size_t(size) * size);
        steg_image_free(&prepared);
        Batch b;
        b.size = size;
        b.count = 1;
        b.covers.resize(size_t(3) * size * size);
        b.payloads.resize(size_t(size) * size);
        for (size_t i = 0; i < payload.size(); ++i) {
            for (int c = 0; c < 3; ++c) {
                b.covers[c * payload.size() + i] = cover.pixels[i * 3 + c] / 255.0f - 0.5f;
            }
            b.payloads[i] = payload[i] / 255.0f - 0.5f;
        }
        auto [host, guest] = m.to_tensors(b);
        auto u8 = [](const torch::Tensor & x) {
            return ((x + 0.5) * 255.0).round().clamp(0, 255).to(torch::kCPU, torch::kUInt8).contiguous();
        };
        torch::Tensor hybrid = u8(m.model.hybrid(host, m.model.encoder->forward(host, guest), guest));                         // 1x3xSxS
        torch::Tensor back   = hybrid.to(m.device, torch::kFloat32) / 255.0 - 0.5;                     // as saved
        // Through the channel: a draw of its own for each pair, the same in every evaluation.
        back = apply_channel(back, draw_channel(m.transport, 0x5eed0000ULL + uint64_t(e.images)));
        torch::Tensor shown  = u8(m.model.decoder->forward(back));                                     // 1x1xSxS
        torch::Tensor hwc    = hybrid[0].permute({ 1, 2, 0 }).contiguous();
        steg_image    ci = view_rgb(cover);
        steg_image    hi = { size, size, STEG_FORMAT_RGB8, 0, hwc.data_ptr<uint8_t>() };
        steg_image    pi = { size, size, STEG_FORMAT_GRAY8, 0, payload.data() };
        steg_image    ri = { size, size, STEG_FORMAT_GRAY8, 0, shown.data_ptr<uint8_t>() };
        const double  hp = psnr(ci, hi), rp = psnr(pi, ri);
        PairScore     ps;
        ps.cover         = cover.name;
        ps.payload       = secret.name;
        ps.hybrid_psnr   = std::isinf(hp) ? 100.0 : hp;  // an exact copy counts as 100 dB
        ps.revealed_psnr = std::isinf(rp) ? 100.0 : rp;
        ps.hybrid_ssim   = ssim(ci, hi);
        ps.revealed_ssim = ssim(pi, ri);
        const ColourDifference cd = colour_difference(ci, hi);
        ps.colour_mean   = cd.mean;
        ps.colour_p99    = cd.p99;
        e.hybrid_psnr += ps.hybrid_psnr;
        e.revealed_psnr += ps.revealed_psnr;
        e.hybrid_ssim += ps.hybrid_ssim;
        e.revealed_ssim += ps.revealed_ssim;
        e.colour_mean += ps.colour_mean;
        e.colour_p99 += ps.colour_p99;
        e.pairs.push_back(std::move(ps));
        ++e.images;
    }
    if (e.images) {
        for (double * v : { &e.hybrid_psnr, &e.revealed_psnr, &e.hybrid_ssim, &e.revealed_ssim, &e.colour_mean,
                            &e.colour_p99 }) {
            *v /= e.images;
        }
    }
    return e;
}

double quantile(std::vector<double> v, double q) {
    if (v.empty()) {
        return std::nan("");
    }
    std::sort(v.begin(), v.end());
    const double pos = std::clamp(q, 0.0, 1.0) * double(v.size() - 1);
    const size_t i   = size_t(pos);
    return i + 1 < v.size() ? v[i] + (pos - double(i)) * (v[i + 1] - v[i]) : v[i];
}

void Trainer::save_checkpoint(const std::string & path) const {
    auto &                          m = *impl_;
    torch::serialize::OutputArchive archive, optimizer;
    archive.write("architecture", c10::IValue(std::string(m.model.architecture())));
    archive.write("epoch", torch::tensor(int64_t(m.epoch)));
    archive.write("step", torch::tensor(int64_t(m.step)));
    archive.write("best_score", torch::tensor(m.best_score, torch::kFloat64));
    archive.write("change_bound", torch::tensor(m.model.change_bound, torch::kFloat64));
    archive.write("coset_period", torch::tensor(int64_t(m.model.coset_period)));
    archive.write("phase_period", torch::tensor(m.model.phase_period, torch::kFloat64));
    for (const auto & [flag, value] : run_identity(opt_, world_size())) {
        archive.write("run" + flag, c10::IValue(value));
    }
    for (const auto & p : m.model.encoder->named_parameters()) {
        archive.write("encoder." + p.key(), p.value().detach().cpu());
    }
    for (const auto & p : m.model.decoder->named_parameters()) {
        archive.write("decoder." + p.key(), p.value().detach().cpu());
    }
    m.adam->save(optimizer);
    archive.write("optimizer", optimizer);
    std::ostringstream bytes;
    archive.save_to(bytes);
    const std::string data = bytes.str();
    AtomicFile        out(path);
    out.write(data.data(), data.size());
    out.commit();
}

std::string Trainer::checkpoint_architecture(const std::string & path) {
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path, torch::kCPU);
    } catch (const std::exception &) {
        throw Error(STEG_ERR_MODEL, "'" + path + "' is not a steg-trainer checkpoint (missing, truncated or damaged)");
    }
    c10::IValue arch;
    if (!archive.try_read("architecture", arch) || !arch.isString()) {
        throw Error(STEG_ERR_MODEL, "'" + path + "' is not a steg-trainer checkpoint (it names no architecture)");
    }
    check_architecture(arch.toStringRef(), path);
    return arch.toStringRef();
}

void Trainer::load_checkpoint(const std::string & path, bool same_run) {
    auto &                         m = *impl_;
    torch::serialize::InputArchive archive, optimizer;
    try {
        archive.load_from(path, m.device);
    } catch (const std::exception &) {
        throw Error(STEG_ERR_MODEL, "'" + path + "' is not a steg-trainer checkpoint (missing, truncated or damaged)");
    }
    c10::IValue arch;
    if (!archive.try_read("architecture", arch) || !arch.isString() || arch.toStringRef() != m.model.architecture()) {
        throw Error(STEG_ERR_MODEL, "'" + path + "' is a checkpoint of another architecture (this run trains '" +
                                        std::string(m.model.architecture()) + "': give the run's --architecture)");
    }
    // A checkpoint of another run's batches: resuming would not continue that run.
    for (const auto & [flag, value] : run_identity(opt_, world_size())) {
        c10::IValue v;
        if (same_run && archive.try_read("run" + flag, v) && v.isString() && v.toStringRef() != value) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "'" + path + "' is a checkpoint of a run with " + flag + " " +
                                                       v.toStringRef() + ", not " + value +
                                                       ": resume with the run's own options (or start a new run "
                                                       "from its weights: steg-trainer export, then --init)");
        }
    }
    try {
        torch::NoGradGuard no_grad;
        auto               read = [&](const std::string & key) {
            torch::Tensor t;  // a fresh tensor each time: read() resizes what it is given
            archive.read(key, t);
            return t;
        };
        m.epoch = int(read("epoch").item<int64_t>());
        torch::Tensor best;
        m.best_score = archive.try_read("best_score", best) ? best.item<double>()
                                                            : -std::numeric_limits<double>::infinity();
        m.step  = int(read("step").item<int64_t>());
        torch::Tensor bound;  // rehman2017-bounded; absent from older checkpoints
        if (archive.try_read("change_bound", bound)) {
            m.model.change_bound = bound.item<double>();
        }
        torch::Tensor period;  // rehman2017-coset; the decoder reads the residue modulo it
        if (archive.try_read("coset_period", period)) {
            m.model.coset_period = opt_.coset_period = int(period.item<int64_t>());
            m.model.decoder->coset_period = m.model.output == EncoderOutput::coset ? m.model.coset_period : 0;
        }
        torch::Tensor phase;  // rehman2017-phase; the decoder reads the luma's phase on it
        if (archive.try_read("phase_period", phase)) {
            m.model.phase_period = opt_.phase_period = phase.item<double>();
            m.model.decoder->phase_period = m.model.output == EncoderOutput::phase ? m.model.phase_period : 0;
        }
        for (auto & p : m.model.encoder->named_parameters()) {
            p.value().copy_(read("encoder." + p.key()));
        }
        for (auto & p : m.model.decoder->named_parameters()) {
            p.value().copy_(read("decoder." + p.key()));
        }
        archive.read("optimizer", optimizer);
        m.adam->load(optimizer);
        m.synced = false;
    } catch (const std::exception & e) {
        const std::string what = e.what();
        throw Error(STEG_ERR_MODEL, "'" + path + "' is damaged or of another shape: " + what.substr(0, what.find('\n')));
    }
}

void Trainer::import_model(const std::string & path) {
    Model   loaded = load_model(path);
    auto &  m      = *impl_;
    // The decoder's extra inputs: none, the coset residue (1 plane) or the luma phase (2).
    auto extra = [](EncoderOutput o) { return o == EncoderOutput::coset ? 1 : o == EncoderOutput::phase ? 2 : 0; };
    if (extra(loaded.output) != extra(m.model.output)) {
        // Another decoder input: the run's model is remade in the file's shape (and
        // period), which only a run that has not trained yet can do.
        if (m.stepped || m.epoch > 0 || m.step > 0 || m.teacher) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "'" + path + "' is a " + loaded.architecture() +
                                                       " model, whose decoder differs from this run's (" +
                                                       m.model.architecture() + ")");
        }
        m.install(new_model(loaded.architecture(), opt_.seed, loaded.coset_period, loaded.phase_period), opt_);
        opt_.coset_period = loaded.coset_period;
        opt_.phase_period = loaded.phase_period;
    }
    torch::NoGradGuard no_grad;
    auto               dst = m.all_parameters();
    auto               src = loaded.encoder->parameters();
    for (auto & d : loaded.decoder->parameters()) {
        src.push_back(d);
    }
    for (size_t i = 0; i < dst.size(); ++i) {
        dst[i].copy_(src[i]);
    }
    m.model.metadata = loaded.metadata;
    m.synced         = false;
    if (m.model.output == EncoderOutput::bounded_gray && loaded.output == EncoderOutput::gray_change) {
        return;  // a gray start for a bounded run: the bound stays the run's own
    }
    m.model.output       = loaded.output;  // the layers are the same; the file says what they mean
    m.model.change_bound = loaded.change_bound;
    opt_.architecture    = loaded.architecture();
    // A coset or phase run keeps its own period (a start may move to another: the symbol
    // s in [0, 1) keeps its meaning on a coarser or finer grid); a trainer made for
    // another architecture (eval, export) was remade with the file's above.
}

double Trainer::best_score() const {
    return impl_->best_score;
}

void Trainer::set_best_score(double score) {
    impl_->best_score = score;
}

const std::map<std::string, std::string> & Trainer::model_metadata() const {
    return impl_->model.metadata;
}

void Trainer::export_model(const std::string & path, const std::map<std::string, std::string> & metadata) const {
    Model copy = impl_->model;  // the same networks; the architecture's numbers (bound, period) with them
    for (const auto & kv : metadata) {
        copy.metadata[kv.first] = kv.second;
    }
    if (!impl_->transport.empty()) {  // what the model was trained to survive; the hosts read it
        copy.metadata["transport"] = transport_text(impl_->transport);
    }
    save_model(path, copy);
}

std::vector<float> Trainer::parameters_flat() const {
    std::vector<float> out;
    for (const auto & p : impl_->all_parameters()) {
        torch::Tensor c = p.detach().cpu().contiguous().view(-1);
        out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    }
    return out;
}

}  // namespace steg
