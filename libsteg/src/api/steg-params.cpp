// SPDX-License-Identifier: MIT
// steg-params.cpp - the one definition of each user-visible parameter. The steg command's
// flags, the GStreamer properties and the GIMP arguments read their names, help texts,
// choices, ranges and defaults from here. Enum choices are in the order of the C enums.
#include "steg.h"

#include <cstring>

namespace {

const char * const kDevices[]  = { "auto", "cpu", "cuda", nullptr };
const char * const kFits[]     = { "scale", "letterbox", nullptr };
const char * const kChannels[] = { "luma", "r", "g", "b", nullptr };
const char * const kPrecisions[] = { "auto", "fp32", "bf16", "fp16", nullptr };

const char * const kDevicesHelp[]  = { "CUDA if libtorch has it and a GPU is present, else the CPU", "the CPU",
                                       "an NVIDIA GPU (needs a CUDA build of libtorch)", nullptr };
const char * const kFitsHelp[]     = { "stretched to the cover's size (antialiased), aspect not kept",
                                       "scaled to fit inside the cover, aspect kept, black bars", nullptr };
const char * const kPrecisionsHelp[] = {
    "bf16 only where it stays within the measured bounds (docs/performance.md): today fp32",
    "32-bit floats throughout",
    "bf16 convolutions with fp32 accumulation (a CPU with AVX512-BF16 or AMX, or CUDA): not faster than fp32 on "
    "a CPU without AMX; with the default model the revealed payload within 0.15 dB",
    "IEEE half convolutions (CUDA only)",
    nullptr
};
const char * const kChannelsHelp[] = { "the BT.601 luma of a colour payload", "its red channel", "its green channel",
                                       "its blue channel", nullptr };

const steg_param_spec kSpecs[STEG_PARAM_COUNT] = {
    { STEG_PARAM_KIND_STRING, "model", "Model",
      "model file (.safetensors) or the name of a shipped model (robust: survives JPEG and video codecs); default: the shipped default model, or $STEG_MODEL", nullptr, 0, 0, 0, nullptr },
    { STEG_PARAM_KIND_ENUM, "device", "Device",
      "where the networks run: auto (CUDA if present, else CPU), cpu or cuda", kDevices, STEG_DEVICE_AUTO, 0, 0, kDevicesHelp },
    { STEG_PARAM_KIND_INT, "threads", "CPU threads", "CPU threads for the networks; 0 uses all cores", nullptr, 0, 0,
      1024, nullptr },
    { STEG_PARAM_KIND_ENUM, "fit", "Fit",
      "how a payload of another size fits the cover: scale (stretch, antialiased) or letterbox (keep aspect, black bars)",
      kFits, STEG_FIT_SCALE, 0, 0, kFitsHelp },
    { STEG_PARAM_KIND_ENUM, "channel", "Payload channel",
      "what a colour payload becomes: luma (BT.601), or its r, g or b channel", kChannels, STEG_CHANNEL_LUMA, 0, 0, kChannelsHelp },
    { STEG_PARAM_KIND_INT, "tile", "Tile size",
      "inner tile edge in pixels: smaller tiles use less memory; the result does not change", nullptr, 512, 32,
      16384, nullptr },
    { STEG_PARAM_KIND_ENUM, "precision", "Precision",
      "number format of the networks: auto (today fp32), fp32, or bf16 (needs a CPU with native bf16; "
      "docs/performance.md has its speed and quality)",
      kPrecisions, STEG_PRECISION_AUTO, 0, 0, kPrecisionsHelp },
};

}  // namespace

extern "C" {

const steg_param_spec * steg_param_get(steg_param param) {
    if (param < 0 || param >= STEG_PARAM_COUNT) {
        return nullptr;
    }
    return &kSpecs[param];
}

int32_t steg_param_choice(steg_param param, const char * name) {
    const steg_param_spec * spec = steg_param_get(param);
    if (!spec || !spec->choices || !name) {
        return -1;
    }
    for (int32_t i = 0; spec->choices[i]; ++i) {
        if (std::strcmp(spec->choices[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

}  // extern "C"
