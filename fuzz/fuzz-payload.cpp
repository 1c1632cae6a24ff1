// SPDX-License-Identifier: MIT
// fuzz-payload - libFuzzer target: payload preparation (steg_payload_prepare's core)
// with random source sizes, formats, strides, target sizes, fits and channels: the
// antialiased resize and the letterbox must stay inside both buffers for any shapes.
#include "steg-error.h"
#include "steg-image.h"
#include "steg-payload.h"

#include <cstdint>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size <= 12) {  // the shape bytes and at least one pixel byte
        return 0;
    }
    // The first 12 bytes choose the shapes; the rest are the pixels (repeated as needed).
    const int32_t     sw = 1 + data[0] % 64, sh = 1 + data[1] % 64;
    const int32_t     tw = 1 + (data[2] | (data[3] << 8)) % 300, th = 1 + (data[4] | (data[5] << 8)) % 300;
    const steg_format formats[] = { STEG_FORMAT_GRAY8, STEG_FORMAT_RGB8, STEG_FORMAT_RGBA8 };
    const steg_format format    = formats[data[6] % 3];
    const int         ch        = steg_format_channels(format);
    const int64_t     stride    = int64_t(sw) * ch + data[7] % 5;  // padding after each row
    const auto        fit       = data[8] % 2 ? STEG_FIT_LETTERBOX : STEG_FIT_SCALE;
    const auto        channel   = steg_channel(data[9] % 4);
    std::vector<uint8_t> pixels(size_t(stride) * size_t(sh));
    for (size_t i = 0; i < pixels.size(); ++i) {
        pixels[i] = data[12 + i % (size - 12)];
    }
    const steg_image src{ sw, sh, format, stride, pixels.data() };
    steg_image       out{};
    try {
        steg::prepare_payload(src, tw, th, fit, channel, out);
        if (out.width != tw || out.height != th || out.format != STEG_FORMAT_GRAY8) {
            __builtin_trap();  // a wrong shape is a finding too
        }
        steg::free_image(out);
    } catch (const steg::Error &) {
    }
    return 0;
}
