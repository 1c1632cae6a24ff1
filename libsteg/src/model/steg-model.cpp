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

std::string change_bound_text(double levels) {
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
    throw Error(STEG_ERR_MODEL, where + ": unknown architecture '" + name + "' (this libsteg knows '" + kArchitecture +
                                    "', '" + kArchitectureResidual + "', '" + kArchitectureGray + "' and '" +
                                    kArchitectureBounded + "')");
}

const char * Model::architecture() const {
    switch (output) {
        case EncoderOutput::change:
            return kArchitectureResidual;
        case EncoderOutput::gray_change:
            return kArchitectureGray;
        case EncoderOutput::bounded_gray:
            return kArchitectureBounded;
        case EncoderOutput::hybrid:
            break;
    }
    return kArchitecture;
}

torch::Tensor Model::hybrid(const torch::Tensor & host, const torch::Tensor & encoder_out) const {
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
        case EncoderOutput::hybrid:
            break;
    }
    return out;
}

Model new_model(const std::string & architecture, c10::optional<uint64_t> seed) {
    Model                         m{ Encoder(), Decoder(), {}, encoder_output(architecture, "new model") };
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

    m.metadata = {
        { "format_version", kFormatVersion },
        { "architecture", m.architecture() },
        { "payload_channels", "1" },
        { "normalization", "x / 255 - 0.5 for cover, payload and hybrid pixels" },
        { "hybrid", "8-bit (clamped and rounded before the decoder)" },
    };
    if (m.output == EncoderOutput::bounded_gray) {
        m.metadata["change_bound"] = change_bound_text(m.change_bound);
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
    Model m{ Encoder(), Decoder(), f.metadata, encoder_output(meta("architecture"), path) };
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
        meta["change_bound"] = change_bound_text(m.change_bound);
    } else {
        meta.erase("change_bound");
    }
    write_safetensors(path, meta, blobs);
}

}  // namespace steg
