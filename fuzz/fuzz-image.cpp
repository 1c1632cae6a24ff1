// SPDX-License-Identifier: MIT
// fuzz-image - libFuzzer target: any bytes as an image file through libsteg's PNG,
// JPEG and WebP reader (the path every host takes for covers, payloads and hybrids), and
// through the row reader that steg hide and reveal stream files with. A refusal
// (steg::Error) is fine; a crash, a sanitizer report, a leak, or rows that differ from
// the whole-image decode, is a finding.
#include "steg-error.h"
#include "steg-image.h"
#include "steg-rows.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// A small pixel limit keeps each run fast; the limit itself is also under test.
constexpr int64_t kMaxPixels = 4 << 20;

// The whole image, or an empty one where the reader refuses the bytes.
steg_image decode_whole(const uint8_t * data, size_t size) {
    steg_image img{};
    FILE *     fp = fmemopen(const_cast<uint8_t *>(data), size, "rb");
    if (!fp) {
        return img;  // fmemopen refuses size 0
    }
    try {
        steg::load_image_stream(fp, int64_t(size), "fuzz", kMaxPixels, img);
        steg::check_image(&img, "decoded image");
    } catch (const steg::Error &) {
        img = {};
    }
    fclose(fp);
    return img;
}

// The same bytes as a file (in memory: memfd) read by rows, in bands of 7.
void compare_rows(const uint8_t * data, size_t size, const steg_image & whole) {
    const int fd = memfd_create("fuzz", 0);
    if (fd < 0) {
        return;
    }
    if (write(fd, data, size) != ssize_t(size)) {
        close(fd);
        return;
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        auto                 rows = steg::open_rows(path, kMaxPixels);
        std::vector<uint8_t> band(size_t(rows->row_size()) * 7);
        for (int y = 0; y < rows->height(); y += 7) {
            const int n = std::min(7, rows->height() - y);
            rows->read(band.data(), n);
            // Where the whole decode succeeded, every streamed row must equal its row.
            if (whole.data && (whole.width != rows->width() || whole.height != rows->height() ||
                               whole.format != rows->format() ||
                               std::memcmp(band.data(), whole.data + size_t(y) * rows->row_size(),
                                           size_t(n) * rows->row_size()) != 0)) {
                std::abort();
            }
        }
    } catch (const steg::Error &) {
        // Refused; the whole decode may have refused too, or the rows found the damage
        // only past the rows it read: both fine.
    }
    close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    steg_image whole = decode_whole(data, size);
    compare_rows(data, size, whole);
    steg::free_image(whole);
    return 0;
}
