// SPDX-License-Identifier: MIT
// steg-data.h - training data: image sets held in memory as 8-bit RGB, split by seed,
// paired into (cover, payload) each epoch, and cut into random crops. Plain C++ (no
// torch), so it is cheap to compile and test; steg-dataset.h serves the crops to
// torch::data's DataLoader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace steg {

struct RgbImage {
    int                  width = 0, height = 0;
    std::vector<uint8_t> pixels;  // RGB, row-major
    std::string          name;
};

using ImageSet = std::vector<RgbImage>;

// Every PNG/JPEG under `dir`, recursively, in sorted order. Gray photos become RGB.
// Images whose shorter side is below min_side are scaled up to it (so crops fit).
// Throws steg::Error for an empty folder or an unreadable image.
ImageSet load_image_folder(const std::string & dir, int min_side);

// CIFAR-10 binary batches (data_batch_*.bin / test_batch.bin: 10000 records of
// 1 label byte + 3072 bytes of 32x32 RGB planes) from a file or a folder of them.
ImageSet load_cifar10_binary(const std::string & path);

// MNIST idx3 images (raw or gzip), each 28x28 gray, padded with black to `pad_to`
// (0 keeps 28) and made RGB.
ImageSet load_mnist_idx(const std::string & path, int pad_to);

// Chooses the reader from what the path is: a .bin file or a folder of them -> CIFAR-10
// binary; an idx3 file (raw or .gz) -> MNIST; anything else -> an image folder.
ImageSet load_dataset(const std::string & path, int min_side, int pad_to);

// Scales an RGB image (antialiased) to exactly width x height.
RgbImage resize_rgb(const RgbImage & img, int width, int height);

struct Split {
    std::vector<int> train, val, test;
};

// Deterministic split by seed: val_fraction and test_fraction of the images go to
// validation and test, the rest to training.
Split split_indices(size_t n, double val_fraction, double test_fraction, uint64_t seed);

enum class PayloadMode { Gray, Channel };

// One (cover, payload) pair of an epoch: indices into the cover and payload sets.
// `slot` is its place in the whole epoch when it travels in a rank's shard (crops are
// seeded by that place, so a shard cuts the crops the whole epoch would); -1: its
// place in the list it is in.
struct Pair {
    int     cover, payload;
    int64_t slot = -1;
};

// The pairs of one epoch. With one image set for both roles (same == true) each
// image appears at most once per repeat, as cover or as payload, never both: covers
// and payloads are drawn disjointly at random each epoch, as the paper does.
std::vector<Pair> epoch_pairs(const std::vector<int> & covers, const std::vector<int> & payloads, bool same,
                              int repeat, uint64_t seed, int epoch);

// A batch ready for the networks: zero-centred floats, NCHW.
struct Batch {
    std::vector<float> covers;    // B x 3 x S x S
    std::vector<float> payloads;  // B x 1 x S x S
    int                size = 0, count = 0;
};

// Random crop (and horizontal flip) of each pair; the payload becomes gray (BT.601) or
// one random channel. Deterministic in (seed, epoch, index of the pair in the epoch).
// With colour_augment > 0 that share of the cover crops get their colours changed (a
// random channel order, saturation scaled by 0.5-2.5, and in a quarter of them the
// negative), so saturated and unusual colours are trained, not only a photo's.
Batch make_batch(const ImageSet & covers, const ImageSet & payloads, const std::vector<Pair> & pairs, size_t first,
                 int count, int size, PayloadMode mode, uint64_t seed, int epoch, double colour_augment = 0);

uint64_t mix_seed(uint64_t a, uint64_t b);  // splitmix64 of a combined with b

}  // namespace steg
