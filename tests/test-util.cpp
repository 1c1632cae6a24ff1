// SPDX-License-Identifier: MIT
#include "test-util.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace steg_test {

TempDir::TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "steg-test-XXXXXX").string();
    path             = mkdtemp(tmpl.data());
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
}

Image::Image(int w, int h, steg_format f) {
    steg_image_alloc(&img, w, h, f);
}

void fill_synthetic(steg_image & img, uint32_t seed) {
    std::mt19937 rng(seed);
    const int    ch = steg_format_channels(img.format);
    const double fx = 0.02 + (rng() % 100) * 1e-4, fy = 0.03 + (rng() % 100) * 1e-4;
    for (int y = 0; y < img.height; ++y) {
        for (int x = 0; x < img.width; ++x) {
            uint8_t * p = img.data + (int64_t(y) * img.width + x) * ch;
            for (int c = 0; c < ch; ++c) {
                double v = 128 + 70 * std::sin(fx * x * (c + 1) + seed) * std::cos(fy * y + c);
                v += (x > img.width / 3 && y < img.height / 2) ? 40 : 0;  // an edge
                v += int(rng() % 9) - 4;                                   // sensor noise
                p[c] = uint8_t(std::clamp(v, 0.0, 255.0));
            }
            if (ch == 4) {
                p[3] = uint8_t((x * 7 + y * 3) % 256);  // an alpha pattern to check it survives
            }
        }
    }
}

std::vector<std::string> real_photos() {
    std::vector<std::string> out;
    for (const char * f : { "astronaut.png", "coffee.png", "chelsea.png", "camera.png" }) {
        const std::string p = std::string("/usr/lib/python3/dist-packages/skimage/data/") + f;
        if (fs::exists(p)) {
            out.push_back(p);
        }
    }
    const fs::path shared = fs::path(STEG_SOURCE_DIR) / ".." / "shared" / "datasets" / "bsds" / "test";
    std::error_code ec;
    if (fs::is_directory(shared, ec)) {
        std::vector<std::string> bsds;
        for (const auto & e : fs::directory_iterator(shared)) {
            if (e.path().extension() == ".jpg") {
                bsds.push_back(e.path().string());
            }
        }
        std::sort(bsds.begin(), bsds.end());
        for (size_t i = 0; i < std::min<size_t>(2, bsds.size()); ++i) {
            out.push_back(bsds[i]);
        }
    }
    return out;
}

std::string shipped_model() {
    const std::string p = std::string(STEG_SOURCE_DIR) + "/models/default.safetensors";
    return fs::exists(p) ? p : "";
}

std::string read_file(const std::string & path) {
    std::ifstream      in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const std::string & path, const std::string & bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

bool file_exists(const std::string & path) {
    return fs::exists(path);
}

}  // namespace steg_test
