// SPDX-License-Identifier: MIT
#include "steg-dataset.h"

namespace steg {

EpochPairs::EpochPairs(const ImageSet & covers, const ImageSet & payloads, std::vector<Pair> pairs, size_t first,
                       int size, PayloadMode mode, uint64_t seed, int epoch, double colour_augment)
    : covers_(&covers), payloads_(&payloads), pairs_(std::make_shared<const std::vector<Pair>>(std::move(pairs))),
      first_(first), size_(size), epoch_(epoch), mode_(mode), seed_(seed), colour_augment_(colour_augment) {}

torch::data::Example<> EpochPairs::get(size_t index) {
    // make_batch seeds each pair's crop by its place in the epoch, so one pair at a time
    // gives the same pixels as a whole batch would.
    Batch b = make_batch(*covers_, *payloads_, *pairs_, first_ + index, 1, size_, mode_, seed_, epoch_,
                         colour_augment_);
    torch::Tensor cover   = torch::from_blob(b.covers.data(), { 3, size_, size_ }).clone();
    torch::Tensor payload = torch::from_blob(b.payloads.data(), { 1, size_, size_ }).clone();
    return { cover, payload };
}

torch::optional<size_t> EpochPairs::size() const {
    return pairs_->size() > first_ ? pairs_->size() - first_ : 0;
}

}  // namespace steg
