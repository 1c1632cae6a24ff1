// SPDX-License-Identifier: MIT
// fuzz-image - libFuzzer target: any bytes as an image file through libsteg's PNG,
// JPEG and WebP reader (the path every host takes for covers, payloads and hybrids). A refusal
// (steg::Error) is fine; a crash, a sanitizer report or a leak is a finding.
#include "steg-error.h"
#include "steg-image.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    FILE * fp = fmemopen(const_cast<uint8_t *>(data), size, "rb");
    if (!fp) {
        return 0;  // fmemopen refuses size 0
    }
    steg_image img{};
    try {
        // A small pixel limit keeps each run fast; the limit itself is also under test.
        steg::load_image_stream(fp, int64_t(size), "fuzz", 4 << 20, img);
        steg::check_image(&img, "decoded image");
        steg::free_image(img);
    } catch (const steg::Error &) {
    }
    fclose(fp);
    return 0;
}
