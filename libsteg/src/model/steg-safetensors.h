// SPDX-License-Identifier: MIT
// steg-safetensors.h - the model file format: safetensors (the format of Hugging Face's
// `safetensors` package), so Python can read our models with safetensors.torch.load_file.
//
// Layout of a file, all integers little-endian:
//
//   u64        N            length of the header in bytes
//   u8[N]      header       UTF-8 JSON object:
//                             "__metadata__": { "key": "string value", ... }   (optional)
//                             "<tensor name>": { "dtype": "F32", "shape": [d0, d1, ...],
//                                                "data_offsets": [begin, end] }, ...
//   u8[...]    data         the tensors' bytes; offsets are relative to the start of data
//
// The reader trusts nothing: it bounds-checks the header length, parses the JSON, and
// checks every dtype, shape and offset pair before any tensor is used. Tensors must
// tile the data area exactly (no overlap, no gap, nothing past the end), as the
// reference implementation demands. Only plain C++ here: no torch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace steg {

struct TensorRecord {
    std::string          name;
    std::string          dtype;  // "F32", "F16", "BF16", "F64", "I64", ...
    std::vector<int64_t> shape;
    uint64_t             begin = 0;  // offsets into the data area
    uint64_t             end   = 0;
};

struct SafetensorsFile {
    std::map<std::string, std::string> metadata;
    std::vector<TensorRecord>          tensors;  // in file order of their data
    std::vector<uint8_t>               bytes;    // the whole file
    uint64_t                           data_start = 0;

    const TensorRecord * find(const std::string & name) const;
    const uint8_t *      data(const TensorRecord & t) const { return bytes.data() + data_start + t.begin; }
};

// A tensor to write: raw bytes of a contiguous little-endian array.
struct TensorBlob {
    std::string          name;
    std::string          dtype;
    std::vector<int64_t> shape;
    const void *         data   = nullptr;
    uint64_t             nbytes = 0;
};

// Largest header we accept: ours are a few KiB; this bounds the JSON parser's work.
constexpr uint64_t kMaxHeaderBytes = 16u << 20;

// Throw steg::Error(STEG_ERR_MODEL, ...) with a message that says what is wrong.
SafetensorsFile parse_safetensors(std::vector<uint8_t> bytes, const std::string & what);
SafetensorsFile read_safetensors(const std::string & path);

// Writes atomically (temporary file + rename). Throws steg::Error(STEG_ERR_IO, ...).
void write_safetensors(const std::string & path, const std::map<std::string, std::string> & metadata,
                       const std::vector<TensorBlob> & tensors);

// Bytes per element of a safetensors dtype, 0 if unknown.
int dtype_size(const std::string & dtype);

}  // namespace steg
