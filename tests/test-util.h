// SPDX-License-Identifier: MIT
// test-util.h - helpers shared by the tests: temporary folders, model files with
// random weights, generated and real photos.
#pragma once

#include "steg.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace steg_test {

// A fresh folder under the system's temporary folder, removed with its contents.
struct TempDir {
    TempDir();
    ~TempDir();
    std::string path;
    std::string file(const std::string & name) const { return path + "/" + name; }
};

// Writes a model of the paper's architecture with Xavier-random weights (seeded).
// Defined in test-random-model.cpp, the one helper that needs libtorch.
void write_random_model(const std::string & path, uint64_t seed = 1,
                        const std::map<std::string, std::string> & metadata = {});

// An owned image that frees itself.
struct Image {
    steg_image img{};
    Image() = default;
    Image(int w, int h, steg_format f);
    ~Image() { steg_image_free(&img); }
    Image(Image && o) noexcept : img(o.img) { o.img = {}; }
    Image & operator=(Image && o) noexcept {
        std::swap(img, o.img);
        return *this;
    }
    Image(const Image &)             = delete;
    Image & operator=(const Image &) = delete;
    uint8_t * px(int x, int y) { return img.data + (int64_t(y) * img.width + x) * steg_format_channels(img.format); }
};

// A deterministic photo-like picture: smooth gradients, edges and mild noise.
void fill_synthetic(steg_image & img, uint32_t seed);

// Real photos for end-to-end tests: the classic test images of python3-skimage and,
// when ../shared is beside the project, a few dataset photos. May be empty.
std::vector<std::string> real_photos();

// Path of the default model shipped in models/, or "" if there is none.
std::string shipped_model();

std::string read_file(const std::string & path);
void        write_file(const std::string & path, const std::string & bytes);
bool        file_exists(const std::string & path);

}  // namespace steg_test
