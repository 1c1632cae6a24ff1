// SPDX-License-Identifier: MIT
// steg-dataset.h - one epoch of (cover, payload) pairs as a torch::data dataset, so that
// torch::data's DataLoader cuts the crops on its worker threads while a step runs.
// Only torch translation units include this (it pulls in <torch/data.h>); the pixel
// work itself is make_batch in steg-data.h, which needs no torch.
#pragma once

#include "steg-data.h"

#include <torch/data.h>

#include <memory>

namespace steg {

// Example i is pair `first + i` of the epoch, cropped, flipped and made gray (or one
// channel) exactly as make_batch makes it: data is the cover (3 x S x S), target the
// payload (1 x S x S), both zero-centred floats. Starting at `first` lets a resumed
// epoch pick up at the step it stopped at, with the same crops.
class EpochPairs : public torch::data::datasets::Dataset<EpochPairs> {
  public:
    EpochPairs(const ImageSet & covers, const ImageSet & payloads, std::vector<Pair> pairs, size_t first, int size,
               PayloadMode mode, uint64_t seed, int epoch, double colour_augment = 0);

    torch::data::Example<>  get(size_t index) override;
    torch::optional<size_t> size() const override;

  private:
    // Pointers, not references: the DataLoader keeps its own copy of the dataset.
    const ImageSet *                         covers_;
    const ImageSet *                         payloads_;
    std::shared_ptr<const std::vector<Pair>> pairs_;
    size_t                                   first_;
    int                                      size_, epoch_;
    PayloadMode                              mode_;
    uint64_t                                 seed_;
    double                                   colour_augment_;
};

// The batches of one epoch from `first_batch` on, in order, made by `workers` threads
// up to 2 x workers batches ahead of the consumer. Incomplete last batches are dropped.
inline auto make_epoch_loader(const ImageSet & covers, const ImageSet & payloads, const std::vector<Pair> & pairs,
                              int batch, int first_batch, int size, PayloadMode mode, uint64_t seed, int epoch,
                              int workers = 2, double colour_augment = 0) {
    EpochPairs data(covers, payloads, pairs, size_t(first_batch) * size_t(batch), size, mode, seed, epoch,
                    colour_augment);
    return torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
        std::move(data).map(torch::data::transforms::Stack<>()),
        torch::data::DataLoaderOptions().batch_size(size_t(batch)).workers(size_t(workers)).drop_last(true));
}

}  // namespace steg
