// SPDX-License-Identifier: MIT
#include "steg-data.h"

#include "steg-error.h"
#include "steg-image.h"
#include "steg-payload.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;

namespace steg {

namespace {

bool has_image_extension(const fs::path & p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".webp";
}

RgbImage to_rgb(const steg_image & img, const std::string & name) {
    RgbImage  out{ img.width, img.height, std::vector<uint8_t>(size_t(img.width) * img.height * 3), name };
    const int ch = steg_format_channels(img.format);
    for (int y = 0; y < img.height; ++y) {
        const uint8_t * src = img.data + y * row_bytes(img);
        uint8_t *       dst = out.pixels.data() + size_t(y) * img.width * 3;
        for (int x = 0; x < img.width; ++x) {
            for (int c = 0; c < 3; ++c) {
                dst[x * 3 + c] = src[x * ch + (ch == 1 ? 0 : c)];
            }
        }
    }
    return out;
}

uint64_t read_be32(const uint8_t * p) {
    return (uint64_t(p[0]) << 24) | (uint64_t(p[1]) << 16) | (uint64_t(p[2]) << 8) | p[3];
}

// Whole file through zlib, which reads gzip and plain files alike.
std::vector<uint8_t> read_maybe_gzip(const std::string & path, size_t limit) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) {
        throw Error(STEG_ERR_IO, "cannot open '" + path + "'");
    }
    std::vector<uint8_t> out;
    uint8_t              buf[1 << 16];
    int                  n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) {
        out.insert(out.end(), buf, buf + n);
        if (out.size() > limit) {
            gzclose(f);
            throw Error(STEG_ERR_IO, "'" + path + "' is larger than any dataset file this reader takes");
        }
    }
    int         err = 0;
    std::string msg = n < 0 ? gzerror(f, &err) : "";
    gzclose(f);
    if (n < 0) {
        throw Error(STEG_ERR_IO, "cannot read '" + path + "': " + msg + " (truncated or damaged gzip?)");
    }
    return out;
}

}  // namespace

uint64_t mix_seed(uint64_t a, uint64_t b) {
    uint64_t z = a + 0x9e3779b97f4a7c15ull * (b + 1);
    z          = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z          = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

RgbImage resize_rgb(const RgbImage & img, int width, int height) {
    RgbImage out{ width, height, std::vector<uint8_t>(size_t(width) * height * 3), img.name };
    for (int c = 0; c < 3; ++c) {
        std::vector<float> plane(size_t(img.width) * img.height);
        for (size_t i = 0; i < plane.size(); ++i) {
            plane[i] = img.pixels[i * 3 + c];
        }
        const auto r = resize_plane(plane, img.width, img.height, width, height);
        for (size_t i = 0; i < r.size(); ++i) {
            out.pixels[i * 3 + c] = uint8_t(std::clamp(std::nearbyint(r[i]), 0.0f, 255.0f));
        }
    }
    return out;
}

ImageSet load_image_folder(const std::string & dir, int min_side) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        throw Error(STEG_ERR_IO, "'" + dir + "' is not a folder");
    }
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file() && has_image_extension(it->path())) {
            files.push_back(it->path());
        }
    }
    if (files.empty()) {
        throw Error(STEG_ERR_IO, "no PNG, JPEG or WebP images under '" + dir + "'");
    }
    std::sort(files.begin(), files.end());
    ImageSet set;
    for (const auto & f : files) {
        steg_image img{};
        load_image(f.string(), 0, img);  // throws with the file's name
        RgbImage rgb = to_rgb(img, fs::relative(f, dir).string());
        free_image(img);
        const int short_side = std::min(rgb.width, rgb.height);
        if (min_side > 0 && short_side < min_side) {
            const double s = double(min_side) / short_side;
            rgb = resize_rgb(rgb, std::max(min_side, int(std::ceil(rgb.width * s))),
                             std::max(min_side, int(std::ceil(rgb.height * s))));
        }
        set.push_back(std::move(rgb));
    }
    return set;
}

ImageSet load_cifar10_binary(const std::string & path) {
    std::vector<std::string> files;
    if (fs::is_directory(path)) {
        for (const auto & e : fs::directory_iterator(path)) {
            if (e.path().extension() == ".bin" && e.path().filename() != "batches.meta.bin") {
                files.push_back(e.path().string());
            }
        }
        std::sort(files.begin(), files.end());
    } else {
        files.push_back(path);
    }
    if (files.empty()) {
        throw Error(STEG_ERR_IO, "no CIFAR-10 .bin batches in '" + path + "'");
    }
    constexpr size_t kRecord = 1 + 3 * 32 * 32;
    ImageSet         set;
    for (const auto & f : files) {
        const auto bytes = read_maybe_gzip(f, 1u << 30);
        if (bytes.empty() || bytes.size() % kRecord != 0) {
            throw Error(STEG_ERR_IO, "'" + f + "' is not a CIFAR-10 batch: " + std::to_string(bytes.size()) +
                                         " bytes is not a whole number of 3073-byte records (truncated?)");
        }
        for (size_t r = 0; r < bytes.size() / kRecord; ++r) {
            const uint8_t * rec = bytes.data() + r * kRecord + 1;  // skip the label
            RgbImage        img{ 32, 32, std::vector<uint8_t>(32 * 32 * 3), f + "#" + std::to_string(r) };
            for (int i = 0; i < 32 * 32; ++i) {
                for (int c = 0; c < 3; ++c) {
                    img.pixels[size_t(i) * 3 + c] = rec[c * 1024 + i];
                }
            }
            set.push_back(std::move(img));
        }
    }
    return set;
}

ImageSet load_mnist_idx(const std::string & path, int pad_to) {
    const auto bytes = read_maybe_gzip(path, 1u << 30);
    if (bytes.size() < 16 || read_be32(bytes.data()) != 0x00000803) {
        throw Error(STEG_ERR_IO, "'" + path + "' is not an MNIST idx3 image file (wrong magic number)");
    }
    const uint64_t n = read_be32(bytes.data() + 4), rows = read_be32(bytes.data() + 8),
                   cols = read_be32(bytes.data() + 12);
    if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096 || n > (bytes.size() - 16) / (rows * cols) ||
        bytes.size() - 16 != n * rows * cols) {
        throw Error(STEG_ERR_IO, "'" + path + "' declares " + std::to_string(n) + " images of " + std::to_string(rows) +
                                     "x" + std::to_string(cols) + " but holds " + std::to_string(bytes.size() - 16) +
                                     " bytes of pixels (truncated?)");
    }
    const int w = std::max<int>(int(cols), pad_to), h = std::max<int>(int(rows), pad_to);
    const int ox = (w - int(cols)) / 2, oy = (h - int(rows)) / 2;
    ImageSet  set;
    for (uint64_t i = 0; i < n; ++i) {
        RgbImage        img{ w, h, std::vector<uint8_t>(size_t(w) * h * 3, 0), path + "#" + std::to_string(i) };
        const uint8_t * src = bytes.data() + 16 + i * rows * cols;
        for (uint64_t y = 0; y < rows; ++y) {
            for (uint64_t x = 0; x < cols; ++x) {
                uint8_t * p = &img.pixels[((oy + y) * w + ox + x) * 3];
                p[0] = p[1] = p[2] = src[y * cols + x];
            }
        }
        set.push_back(std::move(img));
    }
    return set;
}

ImageSet load_dataset(const std::string & path, int min_side, int pad_to) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        throw Error(STEG_ERR_IO, "dataset '" + path + "' does not exist");
    }
    const std::string name = fs::path(path).filename().string();
    if (fs::is_regular_file(path)) {
        if (name.find("idx3") != std::string::npos) {
            return load_mnist_idx(path, pad_to);
        }
        if (fs::path(path).extension() == ".bin") {
            return load_cifar10_binary(path);
        }
        throw Error(STEG_ERR_IO, "'" + path + "' is neither an MNIST idx3 file nor a CIFAR-10 .bin batch");
    }
    for (const auto & e : fs::directory_iterator(path)) {
        if (e.path().extension() == ".bin") {
            return load_cifar10_binary(path);
        }
    }
    return load_image_folder(path, min_side);
}

Split split_indices(size_t n, double val_fraction, double test_fraction, uint64_t seed) {
    std::vector<int> idx(n);
    for (size_t i = 0; i < n; ++i) {
        idx[i] = int(i);
    }
    std::mt19937_64 rng(mix_seed(seed, 0x5b117));
    std::shuffle(idx.begin(), idx.end(), rng);
    const size_t n_val  = size_t(std::lround(n * val_fraction));
    const size_t n_test = std::min(n - n_val, size_t(std::lround(n * test_fraction)));
    Split        s;
    s.val.assign(idx.begin(), idx.begin() + long(n_val));
    s.test.assign(idx.begin() + long(n_val), idx.begin() + long(n_val + n_test));
    s.train.assign(idx.begin() + long(n_val + n_test), idx.end());
    return s;
}

std::vector<Pair> epoch_pairs(const std::vector<int> & covers, const std::vector<int> & payloads, bool same,
                              int repeat, uint64_t seed, int epoch) {
    std::vector<Pair> pairs;
    std::mt19937_64   rng(mix_seed(seed, uint64_t(epoch) * 2 + 1));
    for (int r = 0; r < std::max(1, repeat); ++r) {
        std::vector<int> c = covers;
        std::shuffle(c.begin(), c.end(), rng);
        if (same) {
            // First half covers, second half payloads: no image plays both roles.
            const size_t half = c.size() / 2;
            for (size_t i = 0; i < half; ++i) {
                pairs.push_back({ c[i], c[half + i] });
            }
        } else {
            std::vector<int> p = payloads;
            std::shuffle(p.begin(), p.end(), rng);
            for (size_t i = 0; i < std::min(c.size(), p.size()); ++i) {
                pairs.push_back({ c[i], p[i] });
            }
        }
    }
    return pairs;
}

Batch make_batch(const ImageSet & covers, const ImageSet & payloads, const std::vector<Pair> & pairs, size_t first,
                 int count, int size, PayloadMode mode, uint64_t seed, int epoch, double colour_augment) {
    Batch         b;
    const size_t  plane = size_t(size) * size;
    b.size              = size;
    b.count             = count;
    b.covers.resize(size_t(count) * 3 * plane);
    b.payloads.resize(size_t(count) * plane);
    for (int i = 0; i < count; ++i) {
        const Pair &     pr = pairs[first + size_t(i)];
        const uint64_t   place = pr.slot >= 0 ? uint64_t(pr.slot) : first + size_t(i);
        std::mt19937_64  rng(mix_seed(mix_seed(seed, uint64_t(epoch)), place));
        auto             crop = [&](const RgbImage & img, int & x0, int & y0, bool & flip) {
            x0   = int(rng() % uint64_t(img.width - size + 1));
            y0   = int(rng() % uint64_t(img.height - size + 1));
            flip = rng() & 1;
        };
        int  cx, cy, px, py;
        bool cf, pf;
        const RgbImage & cov = covers[size_t(pr.cover)];
        const RgbImage & pay = payloads[size_t(pr.payload)];
        crop(cov, cx, cy, cf);
        crop(pay, px, py, pf);
        const int channel = mode == PayloadMode::Channel ? int(rng() % 3) : -1;
        // Colour change of this cover: channel order, saturation, negative.
        int   order[3] = { 0, 1, 2 };
        float sat = 1.0f, invert = 0.0f;
        if (colour_augment > 0 && double(rng() >> 11) * 0x1.0p-53 < colour_augment) {
            static constexpr int kOrders[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
                                                   { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
            const int            k            = int(rng() % 6);
            std::copy(kOrders[k], kOrders[k] + 3, order);
            sat    = float(0.5 + 2.0 * double(rng() >> 11) * 0x1.0p-53);
            invert = (rng() % 4 == 0) ? 1.0f : 0.0f;
        }
        const bool recolour = sat != 1.0f || invert != 0.0f || order[0] != 0 || order[1] != 1;
        float *   dc      = b.covers.data() + size_t(i) * 3 * plane;
        float *   dp      = b.payloads.data() + size_t(i) * plane;
        for (int y = 0; y < size; ++y) {
            for (int x = 0; x < size; ++x) {
                const uint8_t * c = &cov.pixels[(size_t(cy + y) * cov.width + cx + (cf ? size - 1 - x : x)) * 3];
                const uint8_t * p = &pay.pixels[(size_t(py + y) * pay.width + px + (pf ? size - 1 - x : x)) * 3];
                const size_t    o = size_t(y) * size + x;
                if (!recolour) {
                    for (int k = 0; k < 3; ++k) {
                        dc[k * plane + o] = c[k] / 255.0f - 0.5f;
                    }
                } else {
                    const uint8_t q[3] = { c[order[0]], c[order[1]], c[order[2]] };
                    const float   y    = bt601_luma(q);
                    for (int k = 0; k < 3; ++k) {
                        float v = std::nearbyint(std::clamp(y + sat * (q[k] - y), 0.0f, 255.0f));
                        v       = invert != 0.0f ? 255.0f - v : v;
                        dc[k * plane + o] = v / 255.0f - 0.5f;
                    }
                }
                const float v = channel < 0 ? std::nearbyint(bt601_luma(p)) : p[channel];
                dp[o]         = v / 255.0f - 0.5f;
            }
        }
    }
    return b;
}

}  // namespace steg
