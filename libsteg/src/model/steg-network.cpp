// SPDX-License-Identifier: MIT
// steg-network.cpp - Table 1 of the paper, read as ../shared/reference/paper_model.py reads it.
#include "steg-network.h"

#include "steg-autocast.h"
#include "steg-conv-rows.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/nn/functional/padding.h>
#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <torch/nn/modules/activation.h>

namespace nn = torch::nn;

namespace steg {

namespace {

constexpr int kDepth = 7;  // k = 7 conv layers in each encoder branch

nn::Conv2d conv(int64_t in, int64_t out, int64_t k) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(1).padding(k / 2));
}

// cat({relu(a), relu(b)}, 1) of two N x C x H x W float tensors, with relu(b) also left
// in b, in one pass where both are channels-last CPU float tensors (the convs' outputs
// at inference); otherwise through libtorch's ops. The same numbers either way.
torch::Tensor relu_cat(const torch::Tensor & a, torch::Tensor & b) {
    const auto cl = at::MemoryFormat::ChannelsLast;
    if (!a.device().is_cpu() || a.scalar_type() != torch::kFloat32 || b.scalar_type() != torch::kFloat32 ||
        !a.is_contiguous(cl) || !b.is_contiguous(cl) || a.size(0) != b.size(0) || a.size(2) != b.size(2) ||
        a.size(3) != b.size(3)) {
        b.relu_();
        return torch::cat({ torch::relu(a), b }, 1);
    }
    const int64_t ca = a.size(1), cb = b.size(1), c = ca + cb;
    torch::Tensor out = torch::empty({ a.size(0), c, a.size(2), a.size(3) }, a.options().memory_format(cl));
    const float * pa = a.data_ptr<float>();
    float *       pb = b.data_ptr<float>();
    float *       po = out.data_ptr<float>();
    at::parallel_for(0, a.size(0) * a.size(2) * a.size(3), 2048, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
            for (int64_t k = 0; k < ca; ++k) {
                po[p * c + k] = std::max(pa[p * ca + k], 0.0f);
            }
            for (int64_t k = 0; k < cb; ++k) {
                const float v = std::max(pb[p * cb + k], 0.0f);
                pb[p * cb + k] = v;
                po[p * c + ca + k] = v;
            }
        }
    });
    return out;
}

// conv's weight and bias as a RowLayer reading `sources` (-1: none), keeping the
// contiguous tensors its pointers point into in `keep`.
RowLayer row_layer(const nn::Conv2dImpl * c, bool relu, int src0, int src1, std::vector<torch::Tensor> & keep) {
    keep.push_back(c->weight.contiguous());  // PyTorch's order, whatever the tensor's memory format
    keep.push_back(c->bias.contiguous());
    const torch::Tensor & w = keep[keep.size() - 2];
    return { w.data_ptr<float>(),   keep.back().data_ptr<float>(), int(w.size(1)), int(w.size(0)), int(w.size(2)), relu,
             { src0, src1 } };
}

// The network of `layers` on CPU float tensors `inputs` (N x C x H x W each, the same N,
// H and W; their first row is row `top` of the picture) without gradient, through
// run_rows() (steg-conv-rows.h). Returns N x C' x H x W (NCHW), C' the last layer's
// outputs. Each thread takes one band of rows.
torch::Tensor rows_forward(const std::vector<torch::Tensor> & inputs, const std::vector<RowLayer> & layers,
                           int64_t top) {
    std::vector<torch::Tensor> hwc;
    for (const auto & x : inputs) {
        hwc.push_back(x.to(torch::kFloat32).contiguous(torch::MemoryFormat::ChannelsLast));
    }
    const int64_t n = hwc[0].size(0), h = hwc[0].size(2), w = hwc[0].size(3);
    const auto    nchw = hwc[0].options().memory_format(torch::MemoryFormat::Contiguous);
    torch::Tensor out  = torch::empty({ n, layers.back().out_channels, h, w }, nchw);
    const int64_t band = std::max<int64_t>(1, (h + at::get_num_threads() - 1) / at::get_num_threads());
    for (int64_t b = 0; b < n; ++b) {
        std::vector<RowInput> in;
        for (const auto & t : hwc) {
            in.push_back({ t.data_ptr<float>() + b * h * w * t.size(1), int(t.size(1)) });
        }
        float * dst = out.data_ptr<float>() + b * out.size(1) * h * w;
        at::parallel_for(0, h, band, [&](int64_t y0, int64_t y1) {
            run_rows(in, layers, int(h), int(w), dst, int(y0), int(y1), int(top));
        });
    }
    return out;
}

// Whether conv has a shape run_rows() takes.
bool row_conv(const nn::Conv2dImpl * c) {
    return c && row_layer_supported(c->options.out_channels()) && c->options.in_channels() <= kMaxRowLayerInputs &&
           (c->options.kernel_size()->at(0) == 1 || c->options.kernel_size()->at(0) == 3) && c->bias.defined();
}

// At inference on the CPU in fp32 (not under autocast), where x is such a tensor.
bool rows_apply(const torch::Tensor & x) {
    return !torch::GradMode::is_enabled() && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
           !autocast_enabled(c10::kCPU);
}

}  // namespace

EncoderImpl::EncoderImpl() {
    guest = register_module("guest", nn::ModuleList());
    host  = register_module("host", nn::ModuleList());
    for (int i = 0; i < kDepth; ++i) {
        guest->push_back(conv(i == 0 ? 1 : 16, 16, 3));
        // host layers 2, 4, 6 (0-based 1, 3, 5) follow a concatenation: 16 host + 16 guest
        host->push_back(conv(i == 0 ? 3 : (i % 2 == 1 ? 32 : 16), 16, 3));
    }
    tail = register_module("tail", nn::Sequential(conv(32, 16, 1), nn::ReLU(), conv(16, 8, 1), nn::ReLU(),
                                                  conv(8, 3, 1)));
}

torch::Tensor EncoderImpl::forward(const torch::Tensor & h, const torch::Tensor & g, const Origin & at) {
    // At inference on the CPU in fp32, the whole network runs a row at a time.
    if (rows_apply(h) && g.scalar_type() == torch::kFloat32 && runs_in_rows()) {
        // Nodes: 0 the host, 1 the guest, then guest layer i and host layer i in turn
        // (2 + 2i and 3 + 2i), then the tail's three. Host layer i reads host layer i - 1
        // and, after a join (odd i), guest layer i - 1 too.
        std::vector<torch::Tensor> keep;
        std::vector<RowLayer>      layers;
        for (int i = 0; i < kDepth; ++i) {
            const int guest_in = i == 0 ? 1 : 2 * i, host_in = i == 0 ? 0 : 2 * i + 1, joined = i % 2 == 1 ? 2 * i : -1;
            layers.push_back(row_layer(guest[i]->as<nn::Conv2d>(), true, guest_in, -1, keep));
            layers.push_back(row_layer(host[i]->as<nn::Conv2d>(), true, host_in, joined, keep));
        }
        const int last = 2 * kDepth + 1;
        layers.push_back(row_layer(tail->ptr(0)->as<nn::Conv2d>(), true, last, last - 1, keep));
        layers.push_back(row_layer(tail->ptr(2)->as<nn::Conv2d>(), true, last + 1, -1, keep));
        layers.push_back(row_layer(tail->ptr(4)->as<nn::Conv2d>(), false, last + 2, -1, keep));
        return rows_forward({ h, g }, layers, at.y);
    }
    return tail->forward(features(h, g));
}

bool EncoderImpl::runs_in_rows() const {
    for (int i = 0; i < kDepth; ++i) {
        if (!row_conv(guest->ptr(i)->as<nn::Conv2d>()) || !row_conv(host->ptr(i)->as<nn::Conv2d>())) {
            return false;
        }
    }
    return tail->size() == 5 && tail->ptr(1)->as<nn::ReLU>() && tail->ptr(3)->as<nn::ReLU>() &&
           row_conv(tail->ptr(0)->as<nn::Conv2d>()) && row_conv(tail->ptr(2)->as<nn::Conv2d>()) &&
           row_conv(tail->ptr(4)->as<nn::Conv2d>());
}

torch::Tensor EncoderImpl::features(const torch::Tensor & h, const torch::Tensor & g) {
    // Guest features G1, G3, G5, G7 join the host stream after host layers 1, 3, 5, 7.
    // The two branches advance a layer at a time, so that one guest feature map is
    // alive at once rather than seven (a tile's activations are most of inference's
    // memory); each conv sees the same input either way.
    // Without a gradient the ReLUs run in place, and where the streams join, one pass
    // (relu_cat) replaces two ReLUs and the concatenation: the same numbers.
    const bool    inference = !torch::GradMode::is_enabled();
    torch::Tensor xg        = g;
    torch::Tensor x         = h;
    for (int i = 0; i < kDepth; ++i) {
        xg = guest[i]->as<nn::Conv2d>()->forward(xg);
        x  = host[i]->as<nn::Conv2d>()->forward(x);
        if (!inference) {
            xg = torch::relu(xg);
            x  = torch::relu(x);
            if (i % 2 == 0) {
                x = torch::cat({ x, xg }, 1);
            }
        } else if (i % 2 == 0) {
            x = relu_cat(x, xg);
        } else {
            xg.relu_();
            x.relu_();
        }
    }
    return x;
}

torch::Tensor coset_residue(const torch::Tensor & x, int period) {
    torch::Tensor sum = ((x.to(torch::kFloat32) + 0.5) * 255.0).sum(1, /*keepdim=*/true);
    sum               = sum + (sum.round() - sum).detach();  // whole levels; 8-bit input rounds off float noise
    return torch::remainder(sum, double(period)) * (4.0 / period) - 2.0;
}

// The sum of three whole levels is exact after rounding, and the residue's scaling is the
// same two float operations as the tensor path's; one pass instead of its dozen and the
// concatenation. Channels-last out, as the decoder's layers run fastest.
torch::Tensor coset_input(const torch::Tensor & x, int period) {
    const torch::Tensor src = x.contiguous(at::MemoryFormat::ChannelsLast);
    const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
    torch::Tensor y = torch::empty({ n, 4, h, w }, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    float residue[3 * 255 + 1];  // the plane's value for each sum R + G + B
    for (int sum = 0; sum <= 3 * 255; ++sum) {
        const float scaled = float(sum % period) * float(4.0 / period);
        residue[sum]       = scaled - 2.0f;
    }
    const float * in  = src.data_ptr<float>();
    float *       out = y.data_ptr<float>();
    at::parallel_for(0, n * h * w, 4096, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const float * px  = in + 3 * i;
            float *       o   = out + 4 * i;
            float         sum = 0;
            for (int c = 0; c < 3; ++c) {
                o[c] = px[c];
                sum += (px[c] + 0.5f) * 255.0f;
            }
            o[3] = residue[std::clamp(int(std::lrint(sum)), 0, 3 * 255)];
        }
    });
    return y;
}

torch::Tensor luma_levels(const torch::Tensor & x) {
    torch::Tensor v = (x.to(torch::kFloat32) + 0.5) * 255.0;
    return 0.299 * v.narrow(1, 0, 1) + 0.587 * v.narrow(1, 1, 1) + 0.114 * v.narrow(1, 2, 1);
}

torch::Tensor phase_pilots(int64_t h, int64_t w, const Origin & at, const torch::Device & device) {
    const auto    opts = torch::TensorOptions().dtype(torch::kInt64).device(device);
    torch::Tensor rows = (torch::arange(h, opts) + at.y).remainder(kPilotStride).eq(0);
    torch::Tensor cols = (torch::arange(w, opts) + at.x).remainder(kPilotStride).eq(0);
    return rows.view({ 1, 1, h, 1 }).logical_and(cols.view({ 1, 1, 1, w }));
}

namespace {

// The first pilot row (or column) of a tile whose first row is `origin` (>= 0).
int64_t first_pilot(int64_t origin) {
    return (kPilotStride - origin % kPilotStride) % kPilotStride;
}

// phase_offset() from the luma in levels.
torch::Tensor offset_of(const torch::Tensor & luma, double period, const Origin & at) {
    namespace F        = torch::nn::functional;
    const int64_t h    = luma.size(2), w = luma.size(3);
    const int64_t fy   = first_pilot(at.y), fx = first_pilot(at.x);
    torch::Tensor p    = luma.detach().slice(2, fy, h, kPilotStride).slice(3, fx, w, kPilotStride);
    if (p.numel() == 0) {
        return torch::zeros({ luma.size(0), 1, h, w }, luma.options());
    }
    // A pilot's luma is kPhaseSpan / 2 turns into the used phases: 1/2 turn from the cut.
    // Summed over the window of pilots round each (zeros past the image's edge: the
    // sums' angle does not depend on their count).
    torch::Tensor a    = (p / period - kPhaseCut - 0.5) * (2.0 * std::numbers::pi);
    auto          box  = [](const torch::Tensor & t) {
        return torch::avg_pool2d(t, 2 * kPilotWindow + 1, /*stride=*/1, /*padding=*/kPilotWindow);
    };
    torch::Tensor turn = torch::atan2(box(torch::sin(a)), box(torch::cos(a))) / (2.0 * std::numbers::pi);
    // Each pixel takes the estimate of the pilot at or above and left of it (the first
    // pilot's for the rows and columns before it).
    turn = turn.repeat_interleave(kPilotStride, 2).repeat_interleave(kPilotStride, 3);
    turn = F::pad(turn, F::PadFuncOptions({ fx, 0, fy, 0 }).mode(torch::kReplicate));
    return turn.narrow(2, 0, h).narrow(3, 0, w);
}

// The luma's phase in turns from the cut, less the pilots' offset, in [0, 1): the used
// phases, 0 to kPhaseSpan, are 1 - kPhaseCut to kPhaseCut.
torch::Tensor turns_from_cut(const torch::Tensor & x, double period, const Origin & at) {
    torch::Tensor luma = luma_levels(x);
    return torch::remainder(luma / period - kPhaseCut - offset_of(luma, period, at), 1.0);
}

// `planes` with each pilot's value replaced by the mean of its left and right
// neighbours' (the one neighbour's at the image's edge).
torch::Tensor between_pilots(const torch::Tensor & planes, const Origin & at) {
    namespace F     = torch::nn::functional;
    const int64_t w = planes.size(3);
    if (w < 2) {
        return planes;  // no neighbour
    }
    torch::Tensor padded = F::pad(planes, F::PadFuncOptions({ 1, 1, 0, 0 }).mode(torch::kReflect));
    torch::Tensor sides  = (padded.narrow(3, 0, w) + padded.narrow(3, 2, w)) * 0.5;
    return torch::where(phase_pilots(planes.size(2), w, at, planes.device()), sides, planes);
}

}  // namespace

torch::Tensor phase_offset(const torch::Tensor & x, double period, const Origin & at) {
    return offset_of(luma_levels(x), period, at);
}

torch::Tensor luma_phase(const torch::Tensor & x, double period, const Origin & at) {
    torch::Tensor turns = turns_from_cut(x, period, at);
    torch::Tensor phi   = (turns + kPhaseCut) * (2.0 * std::numbers::pi);
    return between_pilots(torch::cat({ torch::sin(phi), torch::cos(phi), turns * 4.0 - 2.0 }, 1), at);
}

torch::Tensor phase_read(const torch::Tensor & x, double period, const Origin & at) {
    torch::Tensor s = ((turns_from_cut(x, period, at) - (1.0 - kPhaseCut)) / kPhaseSpan).clamp(0, 1) - 0.5;
    return between_pilots(s, at);
}

DecoderImpl::DecoderImpl(int period, double phase) : coset_period(period), phase_period(phase) {
    const int64_t ch[] = { 3 + (period > 0 ? 1 : 0) + (phase > 0 ? 3 : 0), 16, 16, 8, 8, 3, 3 };
    nn::Sequential seq;
    for (size_t i = 0; i + 1 < std::size(ch); ++i) {
        seq->push_back(conv(ch[i], ch[i + 1], 3));
        seq->push_back(nn::ReLU());
    }
    seq->push_back(conv(3, 1, 1));
    net = register_module("net", seq);
}

torch::Tensor DecoderImpl::forward(const torch::Tensor & x, const Origin & at) {
    return head(features(x, at), x, at);
}

torch::Tensor DecoderImpl::features(const torch::Tensor & x, const Origin & at) {
    torch::Tensor y = x;
    if (coset_period > 0) {
        const bool fused = !torch::GradMode::is_enabled() && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
                           x.dim() == 4 && x.size(1) == 3;
        y = fused ? coset_input(x, coset_period) : torch::cat({ x.to(torch::kFloat32), coset_residue(x, coset_period) }, 1);
    } else if (phase_period > 0) {
        y = torch::cat({ x.to(torch::kFloat32), luma_phase(x, phase_period, at) }, 1);
    }
    // At inference on the CPU in fp32 the 3x3 layers run a row at a time (under bf16
    // autocast the input is fp32 but the convs run in bf16, and oneDNN runs them all).
    if (rows_apply(y) && runs_in_rows()) {
        std::vector<torch::Tensor> keep;
        std::vector<RowLayer>      layers;
        for (size_t i = 0; i + 1 < net->size(); i += 2) {
            layers.push_back(row_layer(net->ptr(i)->as<nn::Conv2d>(), true, int(i / 2), -1, keep));
        }
        return rows_forward({ y }, layers, at.y);
    }
    for (auto it = net->begin(); it + 1 != net->end(); ++it) {
        y = it->forward(y);
    }
    return y;
}

bool DecoderImpl::runs_in_rows() const {
    if (net->size() != 13) {
        return false;
    }
    for (size_t i = 0; i + 1 < net->size(); i += 2) {
        const auto * c = net->ptr(i)->as<nn::Conv2d>();
        if (!row_conv(c) || c->options.kernel_size()->at(0) != 3 || !net->ptr(i + 1)->as<nn::ReLU>()) {
            return false;
        }
    }
    return true;
}

torch::Tensor DecoderImpl::head(const torch::Tensor & f, const torch::Tensor & x, const Origin & at) {
    // At inference on the CPU in fp32, on the row kernels' planar output, one pass of
    // our own: oneDNN would first move the three planes to its channels-last layout.
    const auto * last = net->ptr(net->size() - 1)->as<nn::Conv2d>();
    torch::Tensor out;
    if (!torch::GradMode::is_enabled() && f.device().is_cpu() && f.scalar_type() == torch::kFloat32 && f.dim() == 4 &&
        f.is_contiguous() && last && last->options.kernel_size()->at(0) == 1 && last->weight.size(0) == 1 &&
        last->weight.size(1) == f.size(1) && last->bias.defined()) {
        const torch::Tensor weight = last->weight.contiguous();
        const float         bias   = last->bias.template item<float>();
        const int64_t       plane  = f.size(2) * f.size(3), channels = f.size(1);
        out = torch::empty({ f.size(0), 1, f.size(2), f.size(3) }, f.options());
        for (int64_t b = 0; b < f.size(0); ++b) {
            const float * in = f.data_ptr<float>() + b * channels * plane;
            float *       o  = out.data_ptr<float>() + b * plane;
            at::parallel_for(0, plane, 16384, [&](int64_t begin, int64_t end) {
                pointwise_rows(weight.data_ptr<float>(), bias, in, int(channels), plane, o, begin, end);
            });
        }
    } else {
        out = (net->end() - 1)->forward(f);
    }
    return phase_period > 0 ? out.to(torch::kFloat32) + phase_read(x, phase_period, at) : out;
}

void xavier_init(nn::Module & module, c10::optional<at::Generator> generator) {
    torch::NoGradGuard no_grad;
    for (auto & p : module.named_parameters()) {
        torch::Tensor w = p.value();
        if (w.dim() == 4) {
            // U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), as nn::init::xavier_uniform_
            // draws it, but from `generator` when given (the global one is shared by
            // every thread of the process).
            const double fan_in = double(w.size(1) * w.size(2) * w.size(3));
            const double fan_out = double(w.size(0) * w.size(2) * w.size(3));
            const double a       = std::sqrt(6.0 / (fan_in + fan_out));
            w.uniform_(-a, a, generator);
        } else {
            w.zero_();
        }
    }
}

int64_t count_parameters(const nn::Module & module) {
    int64_t n = 0;
    for (const auto & p : module.parameters()) {
        n += p.numel();
    }
    return n;
}

}  // namespace steg
