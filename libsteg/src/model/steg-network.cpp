// SPDX-License-Identifier: MIT
// steg-network.cpp - Table 1 of the paper, read as ../shared/reference/paper_model.py reads it.
#include "steg-network.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/init.h>

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

torch::Tensor EncoderImpl::forward(const torch::Tensor & h, const torch::Tensor & g) {
    return tail->forward(features(h, g));
}

torch::Tensor EncoderImpl::features(const torch::Tensor & h, const torch::Tensor & g) {
    // Guest features G1, G3, G5, G7 join the host stream after host layers 1, 3, 5, 7.
    // The two branches advance a layer at a time, so that one guest feature map is
    // alive at once rather than seven (a tile's activations are most of inference's
    // memory); each conv sees the same input either way.
    torch::Tensor xg = g;
    torch::Tensor x  = h;
    for (int i = 0; i < kDepth; ++i) {
        xg = torch::relu(guest[i]->as<nn::Conv2d>()->forward(xg));
        x  = torch::relu(host[i]->as<nn::Conv2d>()->forward(x));
        if (i % 2 == 0) {
            x = torch::cat({ x, xg }, 1);
        }
    }
    return x;
}

torch::Tensor coset_residue(const torch::Tensor & x, int period) {
    torch::Tensor sum = ((x.to(torch::kFloat32) + 0.5) * 255.0).sum(1, /*keepdim=*/true);
    sum               = sum + (sum.round() - sum).detach();  // whole levels; 8-bit input rounds off float noise
    return torch::remainder(sum, double(period)) * (4.0 / period) - 2.0;
}

torch::Tensor luma_levels(const torch::Tensor & x) {
    torch::Tensor v = (x.to(torch::kFloat32) + 0.5) * 255.0;
    return 0.299 * v.narrow(1, 0, 1) + 0.587 * v.narrow(1, 1, 1) + 0.114 * v.narrow(1, 2, 1);
}

namespace {

// The luma's phase in turns from the cut, in [0, 1): the used phases, 0 to kPhaseSpan,
// are 1 - kPhaseCut to kPhaseCut.
torch::Tensor turns_from_cut(const torch::Tensor & x, double period) {
    return torch::remainder(luma_levels(x) / period - kPhaseCut, 1.0);
}

}  // namespace

torch::Tensor luma_phase(const torch::Tensor & x, double period) {
    torch::Tensor turns = turns_from_cut(x, period);
    torch::Tensor phi   = (turns + kPhaseCut) * (2.0 * std::numbers::pi);
    return torch::cat({ torch::sin(phi), torch::cos(phi), turns * 4.0 - 2.0 }, 1);
}

torch::Tensor phase_read(const torch::Tensor & x, double period) {
    return ((turns_from_cut(x, period) - (1.0 - kPhaseCut)) / kPhaseSpan).clamp(0, 1) - 0.5;
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

torch::Tensor DecoderImpl::forward(const torch::Tensor & x) {
    return head(features(x), x);
}

torch::Tensor DecoderImpl::features(const torch::Tensor & x) {
    torch::Tensor y = x;
    if (coset_period > 0) {
        y = torch::cat({ x.to(torch::kFloat32), coset_residue(x, coset_period) }, 1);
    } else if (phase_period > 0) {
        y = torch::cat({ x.to(torch::kFloat32), luma_phase(x, phase_period) }, 1);
    }
    for (auto it = net->begin(); it + 1 != net->end(); ++it) {
        y = it->forward(y);
    }
    return y;
}

torch::Tensor DecoderImpl::head(const torch::Tensor & f, const torch::Tensor & x) {
    torch::Tensor out = (net->end() - 1)->forward(f);
    return phase_period > 0 ? out.to(torch::kFloat32) + phase_read(x, phase_period) : out;
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
