// SPDX-License-Identifier: MIT
// fuzz-safetensors - libFuzzer target: any bytes as a model file through the
// safetensors reader, which checks the header length, the JSON, every dtype, shape and
// offset pair and that the tensors tile the data area. A refusal is fine; anything the
// reader accepts must really hold every tensor it lists inside the data.
#include "steg-error.h"
#include "steg-safetensors.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    try {
        const steg::SafetensorsFile f = steg::parse_safetensors(std::vector<uint8_t>(data, data + size), "fuzz");
        volatile uint8_t sink = 0;
        for (const auto & t : f.tensors) {
            const uint8_t * p = f.data(t);
            for (uint64_t i = t.begin; i < t.end; ++i) {  // touch every byte it claims (ASan checks)
                sink = uint8_t(sink ^ p[i - t.begin]);
            }
        }
    } catch (const steg::Error &) {
    }
    return 0;
}
