// SPDX-License-Identifier: MIT
#include "steg-safetensors.h"

#include "steg-atomic-file.h"
#include "steg-error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

using json = nlohmann::json;

namespace steg {

namespace {

// Model files are a few hundred KiB; refuse to slurp anything absurdly large.
constexpr uint64_t kMaxFileBytes = 1ull << 30;

[[noreturn]] void fail(const std::string & what, const std::string & why) {
    throw Error(STEG_ERR_MODEL, what + ": " + why);
}

uint64_t read_u64_le(const uint8_t * p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) {
        v = (v << 8) | p[i];
    }
    return v;
}

TensorRecord parse_tensor(const std::string & what, const std::string & name, const json & j) {
    if (!j.is_object()) {
        fail(what, "header entry '" + name + "' is not an object");
    }
    TensorRecord t;
    t.name       = name;
    auto dtype   = j.find("dtype");
    auto shape   = j.find("shape");
    auto offsets = j.find("data_offsets");
    if (dtype == j.end() || !dtype->is_string()) {
        fail(what, "tensor '" + name + "' has no string 'dtype'");
    }
    t.dtype = dtype->get<std::string>();
    if (dtype_size(t.dtype) == 0) {
        fail(what, "tensor '" + name + "' has unknown dtype '" + t.dtype + "'");
    }
    if (shape == j.end() || !shape->is_array() || shape->size() > 8) {
        fail(what, "tensor '" + name + "' has no 'shape' array of at most 8 dimensions");
    }
    uint64_t numel = 1;
    for (const auto & d : *shape) {
        if (!d.is_number_unsigned()) {
            fail(what, "tensor '" + name + "' has a shape entry that is not a non-negative integer");
        }
        const uint64_t n = d.get<uint64_t>();
        if (n != 0 && numel > kMaxFileBytes / n) {
            fail(what, "tensor '" + name + "' declares more elements than any model file can hold");
        }
        numel *= n;
        t.shape.push_back(static_cast<int64_t>(n));
    }
    if (offsets == j.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned()) {
        fail(what, "tensor '" + name + "' has no 'data_offsets' pair of non-negative integers");
    }
    t.begin = (*offsets)[0].get<uint64_t>();
    t.end   = (*offsets)[1].get<uint64_t>();
    if (t.end < t.begin) {
        fail(what, "tensor '" + name + "' ends before it begins");
    }
    const uint64_t expected = numel * static_cast<uint64_t>(dtype_size(t.dtype));
    if (t.end - t.begin != expected) {
        fail(what, "tensor '" + name + "' spans " + std::to_string(t.end - t.begin) + " bytes but its shape and dtype need " +
                       std::to_string(expected));
    }
    return t;
}

}  // namespace

int dtype_size(const std::string & d) {
    if (d == "F64" || d == "I64" || d == "U64") {
        return 8;
    }
    if (d == "F32" || d == "I32" || d == "U32") {
        return 4;
    }
    if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") {
        return 2;
    }
    if (d == "I8" || d == "U8" || d == "BOOL") {
        return 1;
    }
    return 0;
}

const TensorRecord * SafetensorsFile::find(const std::string & name) const {
    for (const auto & t : tensors) {
        if (t.name == name) {
            return &t;
        }
    }
    return nullptr;
}

SafetensorsFile parse_safetensors(std::vector<uint8_t> bytes, const std::string & what) {
    SafetensorsFile f;
    if (bytes.size() < 8) {
        fail(what, "file is " + std::to_string(bytes.size()) +
                       " bytes, too short for a safetensors header (is it a model file?)");
    }
    const uint64_t n = read_u64_le(bytes.data());
    if (n > kMaxHeaderBytes) {
        fail(what, "declares a " + std::to_string(n) + "-byte header, more than the " +
                       std::to_string(kMaxHeaderBytes) + " this reader accepts (not a safetensors file?)");
    }
    if (n > bytes.size() - 8) {
        fail(what, "file is truncated: the header needs " + std::to_string(n) + " bytes but only " +
                       std::to_string(bytes.size() - 8) + " follow");
    }
    f.data_start              = 8 + n;
    const uint64_t data_bytes = bytes.size() - f.data_start;

    json header = json::parse(bytes.begin() + 8, bytes.begin() + static_cast<std::ptrdiff_t>(f.data_start), nullptr,
                              /*allow_exceptions=*/false);
    if (header.is_discarded()) {
        fail(what, "header is not valid JSON (not a safetensors file, or damaged)");
    }
    if (!header.is_object()) {
        fail(what, "header is not a JSON object");
    }
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            if (!it->is_object()) {
                fail(what, "'__metadata__' is not an object");
            }
            for (auto m = it->begin(); m != it->end(); ++m) {
                if (!m->is_string()) {
                    fail(what, "metadata value '" + m.key() + "' is not a string");
                }
                f.metadata[m.key()] = m->get<std::string>();
            }
            continue;
        }
        f.tensors.push_back(parse_tensor(what, it.key(), *it));
    }

    // The tensors must tile the data area: sorted by offset, each starts where the last ended.
    std::sort(f.tensors.begin(), f.tensors.end(),
              [](const TensorRecord & a, const TensorRecord & b) { return a.begin < b.begin; });
    uint64_t pos = 0;
    for (const auto & t : f.tensors) {
        if (t.begin < pos) {
            fail(what, "tensor '" + t.name + "' overlaps the tensor before it");
        }
        if (t.begin > pos) {
            fail(what, "gap of " + std::to_string(t.begin - pos) + " bytes before tensor '" + t.name + "'");
        }
        if (t.end > data_bytes) {
            fail(what, "file is truncated: tensor '" + t.name + "' ends at byte " + std::to_string(t.end) +
                           " of a " + std::to_string(data_bytes) + "-byte data area");
        }
        pos = t.end;
    }
    if (pos != data_bytes) {
        fail(what, std::to_string(data_bytes - pos) + " unexplained bytes after the last tensor");
    }
    f.bytes = std::move(bytes);
    return f;
}

SafetensorsFile read_safetensors(const std::string & path) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        throw Error(STEG_ERR_MODEL, "'" + path + "' is " + (S_ISDIR(st.st_mode) ? "a folder" : "not a regular file") +
                                        ", not a model file (give the .safetensors file itself)");
    }
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) {
        throw Error(STEG_ERR_MODEL, "cannot open model file '" + path + "': " + std::strerror(errno));
    }
    const std::streamoff size = in.tellg();
    if (size < 0 || static_cast<uint64_t>(size) > kMaxFileBytes) {
        throw Error(STEG_ERR_MODEL, path + ": not a readable model file (" +
                                        (size < 0 ? std::string("its size cannot be read")
                                                  : std::to_string(size) + " bytes, more than any model") + ")");
    }
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    in.seekg(0);
    if (!in.read(reinterpret_cast<char *>(bytes.data()), size)) {
        throw Error(STEG_ERR_MODEL, "cannot read model file '" + path + "'");
    }
    return parse_safetensors(std::move(bytes), path);
}

void write_safetensors(const std::string & path, const std::map<std::string, std::string> & metadata,
                       const std::vector<TensorBlob> & tensors) {
    json     header  = json::object();
    uint64_t offset  = 0;
    header["__metadata__"] = metadata;
    for (const auto & t : tensors) {
        header[t.name] = { { "dtype", t.dtype }, { "shape", t.shape }, { "data_offsets", { offset, offset + t.nbytes } } };
        offset += t.nbytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // the reference pads the header to 8 bytes

    uint8_t  len[8];
    uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) {
        len[i] = static_cast<uint8_t>(n >> (8 * i));
    }
    AtomicFile out(path);
    out.write(len, sizeof len);
    out.write(text.data(), text.size());
    for (const auto & t : tensors) {
        out.write(t.data, t.nbytes);
    }
    out.commit();
}

}  // namespace steg
