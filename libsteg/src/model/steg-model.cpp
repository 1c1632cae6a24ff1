// SPDX-License-Identifier: MIT
#include "steg-model.h"

#include "steg-error.h"
#include "steg-safetensors.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>

namespace steg {

namespace {

std::string shape_text(const std::vector<int64_t> & shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        s += (i ? ", " : "") + std::to_string(shape[i]);
    }
    return s + "]";
}

// Every parameter of both networks, named as in the file: "encoder.host.0.weight", ...
std::vector<std::pair<std::string, torch::Tensor>> named_tensors(const Model & m) {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto & p : m.encoder->named_parameters()) {
        out.emplace_back("encoder." + p.key(), p.value());
    }
    for (const auto & p : m.decoder->named_parameters()) {
        out.emplace_back("decoder." + p.key(), p.value());
    }
    return out;
}

}  // namespace

double parse_change_bound(const std::string & text, const std::string & where) {
    char *       end = nullptr;
    const double b   = text.empty() ? 0 : std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(b) || b <= 0 || b > 255) {
        throw Error(STEG_ERR_MODEL, where + ": a " + kArchitectureBounded + " model needs its change_bound (8-bit levels, " +
                                        "above 0 and at most 255) in the metadata; it has '" + text + "'");
    }
    return b;
}

int parse_coset_period(const std::string & text, const std::string & where) {
    char *     end = nullptr;
    const long m   = text.empty() ? 0 : std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || m < 3 || m > 255) {
        throw Error(STEG_ERR_MODEL, where + ": a " + kArchitectureCoset + " model needs its coset_period (a whole " +
                                        "number of levels from 3 to 255) in the metadata; it has '" + text + "'");
    }
    return int(m);
}

double parse_phase_period(const std::string & text, const std::string & where) {
    char *       end = nullptr;
    const double p   = text.empty() ? 0 : std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(p) || p < 2 || p > 255) {
        throw Error(STEG_ERR_MODEL, where + ": a " + kArchitecturePhase + " model needs its phase_period (8-bit " +
                                        "levels, from 2 to 255) in the metadata; it has '" + text + "'");
    }
    return p;
}

torch::Tensor phase_hybrid(const torch::Tensor & host, const torch::Tensor & s, double period) {
    torch::Tensor h    = host.to(torch::kFloat32);
    torch::Tensor c    = (h + 0.5) * 255.0;  // the cover in levels
    torch::Tensor y    = luma_levels(h);
    torch::Tensor d    = torch::remainder(s.to(torch::kFloat32) * period - y + period / 2, period) - period / 2;
    torch::Tensor top  = std::get<0>(c.max(1, /*keepdim=*/true)).detach();
    torch::Tensor low  = std::get<0>(c.min(1, /*keepdim=*/true)).detach();
    // The other way round the circle where this way leaves 0..255 and that one does not.
    torch::Tensor down = (top + d > 255) & (low + d - period >= 0);
    torch::Tensor up   = (low + d < 0) & (top + d + period <= 255);
    d                  = d - period * down.to(torch::kFloat32) + period * up.to(torch::kFloat32);
    torch::Tensor hard = (c + d.detach()).clamp(0, 255) / 255.0 - 0.5;
    if (!s.requires_grad()) {
        return hard;
    }
    torch::Tensor soft = h + d / 255.0;  // the luma's move, in R, G and B alike
    return soft + (hard - soft).detach();
}

torch::Tensor coset_hybrid(const torch::Tensor & host, const torch::Tensor & s, int period) {
    const double  m = period;
    torch::Tensor c = ((host.to(torch::kFloat32) + 0.5) * 255.0).round();  // the cover in whole levels
    torch::Tensor sum = c.sum(1, /*keepdim=*/true);
    torch::Tensor t   = s.to(torch::kFloat32) * m;
    // The move of the sum: nearest to the symbol's residue, within 0..765.
    torch::Tensor d = torch::remainder(t - sum + m / 2, m) - m / 2;
    torch::Tensor k = d.round();
    k               = torch::where(sum + k > 765, k - m, k);
    k               = torch::where(sum + k < 0, k + m, k);
    // Spread over the channels: k / 3 each, the rest to G then R; what 0..255 refuses
    // passes on in the order G, R, B (the sum stays in 0..765, so all of it finds room).
    torch::Tensor q = torch::floor(k / 3), r = k - 3 * q;
    torch::Tensor add[3] = { q + (r >= 2).to(torch::kFloat32), q + (r >= 1).to(torch::kFloat32), q };
    torch::Tensor out[3], left = torch::zeros_like(k);
    for (int ch = 0; ch < 3; ++ch) {
        torch::Tensor want = c.narrow(1, ch, 1) + add[ch];
        out[ch]            = want.clamp(0, 255);
        left               = left + (want - out[ch]);
    }
    for (int ch : { 1, 0, 2 }) {
        torch::Tensor v = (out[ch] + left).clamp(0, 255);
        left            = left - (v - out[ch]);
        out[ch]         = v;
    }
    torch::Tensor hard = torch::cat({ out[0], out[1], out[2] }, 1) / 255.0 - 0.5;
    if (!s.requires_grad()) {
        return hard;
    }
    torch::Tensor soft = host.to(torch::kFloat32) + (d / 3.0) / 255.0;  // the sum's move, spread evenly
    return soft + (hard - soft).detach();
}

std::string levels_text(double levels) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", levels);
    return buf;
}

EncoderOutput encoder_output(const std::string & name, const std::string & where) {
    if (name == kArchitecture) {
        return EncoderOutput::hybrid;
    }
    if (name == kArchitectureResidual) {
        return EncoderOutput::change;
    }
    if (name == kArchitectureGray) {
        return EncoderOutput::gray_change;
    }
    if (name == kArchitectureBounded) {
        return EncoderOutput::bounded_gray;
    }
    if (name == kArchitectureCoset) {
        return EncoderOutput::coset;
    }
    if (name == kArchitecturePhase) {
        return EncoderOutput::phase;
    }
    throw Error(STEG_ERR_MODEL, where + ": unknown architecture '" + name + "' (this libsteg knows '" + kArchitecture +
                                    "', '" + kArchitectureResidual + "', '" + kArchitectureGray + "', '" +
                                    kArchitectureBounded + "', '" + kArchitectureCoset + "' and '" + kArchitecturePhase +
                                    "')");
}

const char * Model::architecture() const {
    switch (output) {
        case EncoderOutput::change:
            return kArchitectureResidual;
        case EncoderOutput::gray_change:
            return kArchitectureGray;
        case EncoderOutput::bounded_gray:
            return kArchitectureBounded;
        case EncoderOutput::coset:
            return kArchitectureCoset;
        case EncoderOutput::phase:
            return kArchitecturePhase;
        case EncoderOutput::hybrid:
            break;
    }
    return kArchitecture;
}

torch::Tensor Model::hybrid(const torch::Tensor & host, const torch::Tensor & encoder_out,
                            const torch::Tensor & guest, const Origin & at) const {
    torch::Tensor out = encoder_out.to(torch::kFloat32);
    switch (output) {
        case EncoderOutput::change:
            return host.to(torch::kFloat32) + out;
        case EncoderOutput::gray_change:  // N x 1 x H x W, broadcast over R, G and B
            return host.to(torch::kFloat32) + out.mean(1, /*keepdim=*/true);
        case EncoderOutput::bounded_gray: {
            const double b = change_bound / 255.0;  // levels -> the zero-centred scale
            return host.to(torch::kFloat32) + b * torch::tanh(out.mean(1, /*keepdim=*/true) / b);
        }
        case EncoderOutput::coset:  // the symbol in [0, (M - 1) / M]
            return coset_hybrid(host, torch::sigmoid(out.mean(1, /*keepdim=*/true)) * ((coset_period - 1.0) / coset_period),
                                coset_period);
        case EncoderOutput::phase: {  // the phase in [0, kPhaseSpan]: the rest parts its two ends
            if (!guest.defined()) {
                throw Error(STEG_ERR_INTERNAL, "a rehman2017-phase hybrid needs the payload");
            }
            // Clamped with clamp's own gradient (none outside 0..1): passing it through let
            // the payload term push g without end where a channel shifts the reading past
            // an end (videoconvert's darkening), and training diverged.
            torch::Tensor s = (guest.to(torch::kFloat32) + 0.5 + out.mean(1, /*keepdim=*/true)).clamp(0, 1);
            s = s.masked_fill(phase_pilots(s.size(2), s.size(3), at, s.device()), 0.5);
            return phase_hybrid(host, s * kPhaseSpan, phase_period);
        }
        case EncoderOutput::hybrid:
            break;
    }
    return out;
}

namespace {

// An untrained model of architecture `output`; a rehman2017-coset decoder takes 4
// channels, a rehman2017-phase one 6.
Model empty_model(EncoderOutput output, int coset_period, double phase_period) {
    Model m{ Encoder(),
             Decoder(output == EncoderOutput::coset ? coset_period : 0, output == EncoderOutput::phase ? phase_period : 0),
             {},
             output };
    m.coset_period = coset_period;
    m.phase_period = phase_period;
    return m;
}

}  // namespace

Model new_model(const std::string & architecture, c10::optional<uint64_t> seed, int coset_period, double phase_period) {
    Model m = empty_model(encoder_output(architecture, "new model"), coset_period, phase_period);
    c10::optional<at::Generator> gen;
    if (seed) {
        gen = at::make_generator<at::CPUGeneratorImpl>(*seed);
        // The modules' own default init has already drawn one number per parameter from
        // the global generator; drawing as many here first keeps the weights exactly
        // those of torch::manual_seed(seed) before the model was made (the seeded runs
        // of earlier versions, whose commands the model cards list, stay reproducible).
        torch::NoGradGuard no_grad;
        torch::empty({ count_parameters(*m.encoder) + count_parameters(*m.decoder) }).uniform_(0, 1, gen);
    }
    xavier_init(*m.encoder, gen);
    xavier_init(*m.decoder, gen);
    if (m.output == EncoderOutput::phase) {
        // Both networks' outputs are corrections to a fixed code (the payload written
        // as the phase and read back): their last layers start at zero, so that an
        // untrained model is that code exactly and training starts from it.
        torch::NoGradGuard no_grad;
        for (auto & p : m.encoder->tail[m.encoder->tail->size() - 1]->parameters()) {
            p.zero_();
        }
        for (auto & p : (m.decoder->net->end() - 1)->ptr()->parameters()) {
            p.zero_();
        }
    }

    m.metadata = {
        { "format_version", kFormatVersion },
        { "architecture", m.architecture() },
        { "payload_channels", "1" },
        { "normalization", "x / 255 - 0.5 for cover, payload and hybrid pixels" },
        { "hybrid", "8-bit (clamped and rounded before the decoder)" },
    };
    if (m.output == EncoderOutput::bounded_gray) {
        m.metadata["change_bound"] = levels_text(m.change_bound);
    }
    if (m.output == EncoderOutput::coset) {
        m.metadata["coset_period"] = std::to_string(m.coset_period);
    }
    if (m.output == EncoderOutput::phase) {
        m.metadata["phase_period"] = levels_text(m.phase_period);
    }
    return m;
}

Model load_model(const std::string & path) {
    const SafetensorsFile f = read_safetensors(path);
    auto                  meta = [&](const char * key) {
        auto it = f.metadata.find(key);
        return it == f.metadata.end() ? std::string() : it->second;
    };
    if (meta("format_version") != kFormatVersion) {
        throw Error(STEG_ERR_MODEL, path + ": unsupported steg model format version '" + meta("format_version") +
                                        "' (this libsteg reads version " + kFormatVersion + ")");
    }
    const EncoderOutput output = encoder_output(meta("architecture"), path);
    Model m = empty_model(output, output == EncoderOutput::coset ? parse_coset_period(meta("coset_period"), path) : 36,
                          output == EncoderOutput::phase ? parse_phase_period(meta("phase_period"), path) : 20.0);
    m.metadata = f.metadata;
    if (m.output == EncoderOutput::bounded_gray) {
        m.change_bound = parse_change_bound(meta("change_bound"), path);
    }
    torch::NoGradGuard     no_grad;
    std::set<std::string>  expected;
    for (auto & [name, param] : named_tensors(m)) {
        expected.insert(name);
        const TensorRecord * t = f.find(name);
        if (!t) {
            throw Error(STEG_ERR_MODEL, path + ": tensor '" + name + "' is missing");
        }
        if (t->dtype != "F32") {
            throw Error(STEG_ERR_MODEL, path + ": tensor '" + name + "' has dtype " + t->dtype + ", expected F32");
        }
        if (t->shape != param.sizes().vec()) {
            throw Error(STEG_ERR_MODEL, path + ": tensor '" + name + "' has shape " + shape_text(t->shape) +
                                            ", expected " + shape_text(param.sizes().vec()));
        }
        // Copy byte-wise: the data area need not be 4-byte aligned.
        std::memcpy(param.data_ptr<float>(), f.data(*t), t->end - t->begin);
        if (!torch::isfinite(param).all().item<bool>()) {
            throw Error(STEG_ERR_MODEL, path + ": tensor '" + name + "' holds NaN or infinite values");
        }
    }
    for (const auto & t : f.tensors) {
        if (!expected.count(t.name)) {
            throw Error(STEG_ERR_MODEL, path + ": unexpected tensor '" + t.name + "' for architecture " + m.architecture());
        }
    }
    return m;
}

void to_channels_last(Model & model) {
    torch::NoGradGuard no_grad;
    for (auto * m : { static_cast<torch::nn::Module *>(model.encoder.get()),
                      static_cast<torch::nn::Module *>(model.decoder.get()) }) {
        for (auto & p : m->parameters()) {
            if (p.dim() == 4) {
                p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
            }
        }
    }
}

void flush_subnormals(Model & model) {
    torch::NoGradGuard no_grad;
    for (auto * m : { static_cast<torch::nn::Module *>(model.encoder.get()),
                      static_cast<torch::nn::Module *>(model.decoder.get()) }) {
        for (auto & p : m->parameters()) {
            p.masked_fill_(p.abs() < std::numeric_limits<float>::min(), 0.0f);
        }
    }
}

void save_model(const std::string & path, const Model & m) {
    std::vector<torch::Tensor> keep;  // owns the CPU copies while they are written
    std::vector<TensorBlob>    blobs;
    for (auto & [name, param] : named_tensors(m)) {
        keep.push_back(param.detach().to(torch::kCPU, torch::kFloat32).contiguous());
        blobs.push_back({ name, "F32", keep.back().sizes().vec(), keep.back().data_ptr(),
                          static_cast<uint64_t>(keep.back().numel()) * 4 });
    }
    auto meta              = m.metadata;
    meta["format_version"] = kFormatVersion;
    meta["architecture"]   = m.architecture();
    if (m.output == EncoderOutput::bounded_gray) {
        meta["change_bound"] = levels_text(m.change_bound);
    } else {
        meta.erase("change_bound");
    }
    if (m.output == EncoderOutput::coset) {
        meta["coset_period"] = std::to_string(m.coset_period);
    } else {
        meta.erase("coset_period");
    }
    if (m.output == EncoderOutput::phase) {
        meta["phase_period"] = levels_text(m.phase_period);
    } else {
        meta.erase("phase_period");
    }
    write_safetensors(path, meta, blobs);
}

}  // namespace steg
