// SPDX-License-Identifier: MIT
// The trainer: Eq. 1 computed as written, learning that works, disjoint pairing, the
// dataset readers, bit-identical resume, the NaN guard and bad inputs.
#include "steg-data.h"
#include "steg-dataset.h"
#include "steg-error.h"
#include "steg-model.h"
#include "steg-train.h"
#include "test-util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <numeric>
#include <filesystem>
#include <set>

using steg_test::TempDir;

namespace {

steg::TrainOptions tiny_options() {
    steg::TrainOptions o;
    o.size    = 16;
    o.batch   = 2;
    o.epochs  = 3;
    o.lr      = 1e-3;
    o.device  = STEG_DEVICE_CPU;
    o.threads = 1;  // one thread: libtorch's CPU kernels are then run-to-run deterministic
    o.seed    = 9;
    return o;
}

steg::ImageSet synthetic_set(int n, int w, int h) {
    steg::ImageSet set;
    for (int i = 0; i < n; ++i) {
        steg_test::Image img(w, h, STEG_FORMAT_RGB8);
        steg_test::fill_synthetic(img.img, uint32_t(i + 1));
        set.push_back({ w, h, std::vector<uint8_t>(img.img.data, img.img.data + w * h * 3), "s" + std::to_string(i) });
    }
    return set;
}

// A model whose every weight and bias is zero, except what `tweak` sets.
std::string zero_model(const TempDir & d, const std::function<void(steg::Model &)> & tweak = {},
                       const char * architecture = steg::kArchitecture) {
    steg::Model m = steg::new_model(architecture);
    torch::NoGradGuard g;
    for (auto & p : m.encoder->parameters()) p.zero_();
    for (auto & p : m.decoder->parameters()) p.zero_();
    if (tweak) tweak(m);
    steg::save_model(d.file("zero.safetensors"), m);
    return d.file("zero.safetensors");
}

steg::Batch constant_batch(int count, int size, float cover, float payload) {
    steg::Batch b;
    b.count = count, b.size = size;
    b.covers.assign(size_t(count) * 3 * size * size, cover);
    b.payloads.assign(size_t(count) * size * size, payload);
    return b;
}

std::string error_of(const std::function<void()> & f) {
    try {
        f();
    } catch (const steg::Error & e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Train, LossIsEquationOneAsWritten) {
    TempDir            d;
    steg::TrainOptions o = tiny_options();
    o.alpha = 2, o.beta = 3, o.lambda = 0.5;
    steg::Trainer t(o);
    t.import_model(zero_model(d));
    // Zero weights: Oe = 0 (the cover term is taken on Oe) and Od = 0.
    const float cover = 0.25f, payload = -0.125f;
    auto        s     = t.loss_of(constant_batch(2, 8, cover, payload));
    const double cov  = 3 * 8 * 8 * double(cover) * cover;  // per image, averaged over the batch
    const double pay  = 8 * 8 * double(payload) * payload;
    EXPECT_NEAR(s.cover_term, cov, 1e-4);
    EXPECT_NEAR(s.payload_term, pay, 1e-4);
    EXPECT_NEAR(s.weight_term, 0.0, 1e-12);
    EXPECT_NEAR(s.loss, 2 * cov + 3 * pay, 1e-4);

    // The paper's float hybrid gives the same terms here: Oe = 0 either way.
    o.float_hybrid = true;
    steg::Trainer f(o);
    f.import_model(zero_model(d));
    EXPECT_NEAR(f.loss_of(constant_batch(2, 8, cover, payload)).loss, 2 * cov + 3 * pay, 1e-4);
}

TEST(Train, DecoderSeesTheHybridOnTheEightBitGrid) {
    // Encoder: a constant Oe = 0.3/255, off the 8-bit grid. Decoder: channel R passed
    // straight through (centre taps of 1), so Od shows exactly what the decoder was given.
    TempDir     d;
    const float off   = 0.3f / 255.0f;
    std::string model = zero_model(d, [&](steg::Model & m) {
        m.encoder->named_parameters()["tail.4.bias"].fill_(off);
        auto p = m.decoder->named_parameters();
        for (int i = 0; i <= 10; i += 2) {
            p["net." + std::to_string(i) + ".weight"][0][0][1][1] = 1.0f;
        }
        p["net.12.weight"][0][0][0][0] = 1.0f;
    });
    steg::TrainOptions o = tiny_options();
    steg::Trainer      q(o);
    q.import_model(model);
    o.float_hybrid = true;
    steg::Trainer f(o);
    f.import_model(model);
    const auto batch = constant_batch(1, 8, 0.f, 0.f);
    // 8-bit: round((0.3/255 + 0.5) * 255) = 128, so the decoder sees 128/255 - 0.5 = 0.5/255.
    const double grid = 0.5 / 255.0;
    EXPECT_NEAR(q.loss_of(batch).payload_term, 64 * grid * grid, 1e-6);  // float32 sums; the two cases differ by 2.8x
    EXPECT_NEAR(f.loss_of(batch).payload_term, 64 * double(off) * off, 1e-6);  // float32 sums; the two cases differ by 2.8x
    // The cover term is taken on Oe itself in both modes.
    EXPECT_NEAR(q.loss_of(batch).cover_term, 3 * 64 * double(off) * off, 1e-6);  // float32 sums; the two cases differ by 2.8x
}

TEST(Train, WeightTermIsTheSquaredNormOfAllConvWeights) {
    TempDir            d;
    steg::TrainOptions o = tiny_options();
    o.lambda             = 0.25;
    steg::Trainer t(o);
    t.export_model(d.file("m.safetensors"), {});
    steg::Model m = steg::load_model(d.file("m.safetensors"));
    double      expected = 0;
    for (auto * mod : { static_cast<torch::nn::Module *>(m.encoder.get()), static_cast<torch::nn::Module *>(m.decoder.get()) }) {
        for (auto & p : mod->parameters()) {
            if (p.dim() == 4) expected += p.pow(2).sum().item<double>();
        }
    }
    auto s = t.loss_of(constant_batch(1, 8, 0.f, 0.f));
    EXPECT_NEAR(s.weight_term, expected, expected * 1e-5);
    EXPECT_NEAR(s.loss, s.cover_term + s.payload_term + 0.25 * expected, 1e-3);
}

TEST(Train, OneStepLowersTheLossOnAFixedBatch) {
    steg::TrainOptions o = tiny_options();
    steg::Trainer      t(o);
    auto               set   = synthetic_set(4, 24, 24);
    auto               pairs = steg::epoch_pairs({ 0, 1, 2, 3 }, {}, true, 1, 1, 0);
    steg::Batch        b     = steg::make_batch(set, set, pairs, 0, 2, 16, steg::PayloadMode::Gray, 1, 0);
    const double       before = t.loss_of(b).loss;
    t.train_step(b);
    EXPECT_LT(t.loss_of(b).loss, before);
}

TEST(Train, EpochLoaderServesTheCropsOfMakeBatchInOrder) {
    // torch::data's DataLoader, with worker threads, from the start and from a resumed
    // step: every batch must be make_batch's, in order, so runs stay reproducible.
    auto set   = synthetic_set(12, 24, 20);
    auto pairs = steg::epoch_pairs({ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }, {}, true, 2, 3, 1);
    ASSERT_EQ(pairs.size(), 12u);
    for (int first : { 0, 2 }) {
        auto loader = steg::make_epoch_loader(set, set, pairs, 3, first, 16, steg::PayloadMode::Channel, 3, 1, 2);
        int  n      = first;
        for (auto & batch : *loader) {
            steg::Batch want = steg::make_batch(set, set, pairs, size_t(n) * 3, 3, 16, steg::PayloadMode::Channel, 3, 1);
            ASSERT_EQ(batch.data.sizes(), (std::vector<int64_t>{ 3, 3, 16, 16 }));
            ASSERT_EQ(batch.target.sizes(), (std::vector<int64_t>{ 3, 1, 16, 16 }));
            EXPECT_EQ(std::memcmp(batch.data.contiguous().data_ptr<float>(), want.covers.data(), want.covers.size() * 4), 0) << n;
            EXPECT_EQ(std::memcmp(batch.target.contiguous().data_ptr<float>(), want.payloads.data(), want.payloads.size() * 4), 0) << n;
            ++n;
        }
        EXPECT_EQ(n, 4) << "from batch " << first;
    }
}

TEST(Train, ChannelsLastComputesTheSameLoss) {
    auto               set   = synthetic_set(4, 24, 24);
    auto               pairs = steg::epoch_pairs({ 0, 1, 2, 3 }, {}, true, 1, 1, 0);
    steg::Batch        b     = steg::make_batch(set, set, pairs, 0, 2, 16, steg::PayloadMode::Gray, 1, 0);
    steg::TrainOptions o     = tiny_options();
    o.channels_last          = false;
    steg::Trainer nchw(o);
    o.channels_last = true;
    steg::Trainer nhwc(o);  // same seed, same init
    const auto a = nchw.loss_of(b), c = nhwc.loss_of(b);
    EXPECT_NEAR(a.loss, c.loss, 1e-4 * a.loss);
    EXPECT_NEAR(a.weight_term, c.weight_term, 1e-6 * a.weight_term);  // summed in another order
    nchw.train_step(b);
    nhwc.train_step(b);
    EXPECT_NEAR(nchw.loss_of(b).loss, nhwc.loss_of(b).loss, 1e-3 * a.loss);
}

TEST(Train, AmpRunsTheNetworksInBf16AndStillLearns) {
    auto               set   = synthetic_set(4, 24, 24);
    auto               pairs = steg::epoch_pairs({ 0, 1, 2, 3 }, {}, true, 1, 1, 0);
    steg::Batch        b     = steg::make_batch(set, set, pairs, 0, 2, 16, steg::PayloadMode::Gray, 1, 0);
    steg::TrainOptions o     = tiny_options();
    steg::Trainer      fp32(o);
    o.amp = true;
    steg::Trainer amp(o);  // same init
    const auto    f = fp32.loss_of(b), h = amp.loss_of(b);
    // bf16 keeps 8 significant bits: the loss moves, but only a little. (Were --amp
    // ignored, the two would agree to float precision.)
    EXPECT_NE(f.loss, h.loss);
    EXPECT_NEAR(f.loss, h.loss, 0.05 * f.loss);
    EXPECT_DOUBLE_EQ(f.weight_term, h.weight_term);  // the weights stay fp32
    amp.train_step(b);
    EXPECT_LT(amp.loss_of(b).loss, h.loss);
    for (float v : amp.parameters_flat()) ASSERT_TRUE(std::isfinite(v));
}

TEST(Train, WarmupScalesTheFirstStepsLearningRate) {
    // Adam's first step moves every weight with a gradient by exactly lr (m / sqrt(v) =
    // +-1), so the largest change shows the learning rate the step used.
    auto             set = synthetic_set(8, 20, 20);
    std::vector<int> idx(8);
    std::iota(idx.begin(), idx.end(), 0);
    auto pairs = steg::epoch_pairs(idx, {}, true, 1, 9, 0);  // 4 pairs: 2 batches of 2
    auto first_step_size = [&](double warmup) {
        steg::TrainOptions o = tiny_options();
        o.warmup             = warmup;
        steg::Trainer     t(o);
        const auto        before = t.parameters_flat();
        std::atomic<bool> stop{ false };
        t.train_epoch(set, set, pairs, stop, [&](int, int, int, double, double) { stop = true; });
        const auto after = t.parameters_flat();
        double     most  = 0;
        for (size_t i = 0; i < after.size(); ++i) most = std::max(most, std::fabs(double(after[i]) - before[i]));
        return most;
    };
    const double lr = tiny_options().lr;
    EXPECT_NEAR(first_step_size(0), lr, 0.01 * lr);
    EXPECT_NEAR(first_step_size(1), lr / 2, 0.01 * lr);  // step 1 of 2 in a 1-epoch warm-up
    EXPECT_NEAR(first_step_size(4), lr / 8, 0.01 * lr);
}

TEST(Train, CoversAndPayloadsAreDrawnDisjointly) {
    std::vector<int> idx(40);
    std::iota(idx.begin(), idx.end(), 0);
    auto e0 = steg::epoch_pairs(idx, {}, true, 1, 7, 0);
    ASSERT_EQ(e0.size(), 20u);
    std::set<int> covers, payloads;
    for (auto p : e0) {
        covers.insert(p.cover);
        payloads.insert(p.payload);
    }
    EXPECT_EQ(covers.size(), 20u);
    EXPECT_EQ(payloads.size(), 20u);
    for (int c : covers) EXPECT_EQ(payloads.count(c), 0u) << c;  // no image in both roles
    // Random each epoch, reproducible by seed.
    auto e1 = steg::epoch_pairs(idx, {}, true, 1, 7, 1);
    auto again = steg::epoch_pairs(idx, {}, true, 1, 7, 0);
    EXPECT_FALSE(std::equal(e0.begin(), e0.end(), e1.begin(), [](auto a, auto b) { return a.cover == b.cover; }));
    EXPECT_TRUE(std::equal(e0.begin(), e0.end(), again.begin(),
                           [](auto a, auto b) { return a.cover == b.cover && a.payload == b.payload; }));
}

TEST(Train, SplitIsDisjointAndSeeded) {
    auto s = steg::split_indices(100, 0.1, 0.2, 3);
    EXPECT_EQ(s.val.size(), 10u);
    EXPECT_EQ(s.test.size(), 20u);
    EXPECT_EQ(s.train.size(), 70u);
    std::set<int> all(s.train.begin(), s.train.end());
    all.insert(s.val.begin(), s.val.end());
    all.insert(s.test.begin(), s.test.end());
    EXPECT_EQ(all.size(), 100u);
    EXPECT_EQ(steg::split_indices(100, 0.1, 0.2, 3).val, s.val);
    EXPECT_NE(steg::split_indices(100, 0.1, 0.2, 4).val, s.val);
}

TEST(Data, Cifar10BinaryBatches) {
    TempDir     d;
    std::string rec(2 * 3073, '\0');
    for (int r = 0; r < 2; ++r) {
        rec[size_t(r) * 3073] = char(r);  // label
        for (int c = 0; c < 3; ++c) {
            for (int i = 0; i < 1024; ++i) rec[size_t(r) * 3073 + 1 + c * 1024 + i] = char(r * 100 + c * 10 + i % 7);
        }
    }
    steg_test::write_file(d.file("data_batch_1.bin"), rec);
    auto set = steg::load_dataset(d.path, 0, 0);
    ASSERT_EQ(set.size(), 2u);
    EXPECT_EQ(set[1].width, 32);
    // Planes in the file become interleaved RGB.
    EXPECT_EQ(set[1].pixels[3 * 5 + 0], 100 + 0 + 5);
    EXPECT_EQ(set[1].pixels[3 * 5 + 2], 100 + 20 + 5);
    steg_test::write_file(d.file("data_batch_1.bin"), rec.substr(0, 4000));
    EXPECT_NE(error_of([&] { steg::load_dataset(d.file("data_batch_1.bin"), 0, 0); }).find("truncated"), std::string::npos);
}

TEST(Data, MnistIdxRawAndGzipPaddedToTheCover) {
    TempDir     d;
    std::string idx = std::string("\0\0\x08\x03\0\0\0\x02\0\0\0\x1c\0\0\0\x1c", 16);
    for (int i = 0; i < 2 * 28 * 28; ++i) idx.push_back(char(i % 251));
    steg_test::write_file(d.file("t10k-images-idx3-ubyte"), idx);
    gzFile gz = gzopen(d.file("g-idx3-ubyte.gz").c_str(), "wb");
    gzwrite(gz, idx.data(), unsigned(idx.size()));
    gzclose(gz);
    for (const char * f : { "t10k-images-idx3-ubyte", "g-idx3-ubyte.gz" }) {
        auto set = steg::load_dataset(d.file(f), 0, 32);
        ASSERT_EQ(set.size(), 2u) << f;
        EXPECT_EQ(set[0].width, 32);
        EXPECT_EQ(set[0].pixels[0], 0);                            // padding is black
        EXPECT_EQ(set[0].pixels[(2 * 32 + 2) * 3 + 1], 0 % 251);   // first MNIST pixel at (2, 2)
        EXPECT_EQ(set[1].pixels[(2 * 32 + 3) * 3], (784 + 1) % 251);
    }
    steg_test::write_file(d.file("short-idx3-ubyte"), idx.substr(0, 900));
    EXPECT_NE(error_of([&] { steg::load_dataset(d.file("short-idx3-ubyte"), 0, 32); }).find("truncated"), std::string::npos);
    steg_test::write_file(d.file("bad-idx3-ubyte"), std::string(100, 'x'));
    EXPECT_NE(error_of([&] { steg::load_dataset(d.file("bad-idx3-ubyte"), 0, 32); }).find("magic"), std::string::npos);
}

TEST(Data, ImageFoldersAreRecursiveAndMakeGrayRgb) {
    TempDir d;
    std::filesystem::create_directories(d.file("a/b"));
    steg_test::Image gray(20, 10, STEG_FORMAT_GRAY8), rgb(30, 30, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(gray.img, 1);
    steg_image_save(d.file("a/b/g.png").c_str(), &gray.img, 0);
    steg_image_save(d.file("c.jpg").c_str(), &rgb.img, STEG_SAVE_ALLOW_LOSSY);
    steg_test::write_file(d.file("notes.txt"), "ignored");
    auto set = steg::load_dataset(d.path, 16, 0);
    ASSERT_EQ(set.size(), 2u);
    EXPECT_EQ(set[0].name, "a/b/g.png");
    EXPECT_EQ(set[0].height, 16);  // scaled up so a 16x16 crop fits
    EXPECT_EQ(set[0].pixels[0], set[0].pixels[1]);

    TempDir empty;
    EXPECT_NE(error_of([&] { steg::load_dataset(empty.path, 16, 0); }).find("no PNG, JPEG or WebP"), std::string::npos);
    steg_test::write_file(d.file("broken.png"), "not really a png");
    EXPECT_NE(error_of([&] { steg::load_dataset(d.path, 16, 0); }).find("broken.png"), std::string::npos);
    EXPECT_NE(error_of([&] { steg::load_dataset(d.file("nowhere"), 16, 0); }).find("does not exist"), std::string::npos);
}

TEST(Data, SharedDatasetsWhenPresent) {
    const std::string root = std::string(STEG_SOURCE_DIR) + "/../shared/datasets";
    if (!std::filesystem::exists(root + "/mnist/t10k-images-idx3-ubyte.gz")) {
        GTEST_SKIP() << "../shared/datasets is not beside the project";
    }
    EXPECT_EQ(steg::load_dataset(root + "/mnist/t10k-images-idx3-ubyte.gz", 0, 32).size(), 10000u);
    auto cifar = steg::load_dataset(root + "/cifar10/test/airplane", 0, 0);
    EXPECT_EQ(cifar.size(), 500u);
    EXPECT_EQ(cifar[0].width, 32);
}

TEST(Train, ResumeIsBitIdenticalEvenMidEpoch) {
    TempDir            d;
    steg::TrainOptions o = tiny_options();
    auto               set = synthetic_set(12, 20, 20);
    std::vector<int>   idx(12);
    std::iota(idx.begin(), idx.end(), 0);
    std::atomic<bool> never{ false };

    steg::Trainer straight(o);
    for (int e = 0; e < o.epochs; ++e) {
        straight.train_epoch(set, set, steg::epoch_pairs(idx, {}, true, 1, o.seed, e), never, {});
    }

    // The same run, stopped after 1 epoch and 1 step, then continued by a new process.
    {
        steg::Trainer     first(o);
        std::atomic<bool> stop{ false };
        first.train_epoch(set, set, steg::epoch_pairs(idx, {}, true, 1, o.seed, 0), never, {});
        auto s = first.train_epoch(set, set, steg::epoch_pairs(idx, {}, true, 1, o.seed, 1), stop,
                                   [&](int, int step, int, double, double) { stop = step >= 1; });
        ASSERT_TRUE(s.interrupted);
        first.save_checkpoint(d.file("c.ckpt"));
    }
    steg::Trainer resumed(o);
    resumed.load_checkpoint(d.file("c.ckpt"));
    EXPECT_EQ(resumed.epoch(), 1);
    while (resumed.epoch() < o.epochs) {
        resumed.train_epoch(set, set, steg::epoch_pairs(idx, {}, true, 1, o.seed, resumed.epoch()), never, {});
    }
    const auto a = straight.parameters_flat(), b = resumed.parameters_flat();
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
}

TEST(Train, NonFiniteLossStopsWithoutTouchingTheWeights) {
    TempDir            d;
    steg::TrainOptions o = tiny_options();
    steg::Trainer      t(o);
    t.import_model(zero_model(d, [](steg::Model & m) { m.decoder->named_parameters()["net.12.bias"].fill_(1e30f); }));
    const auto before = t.parameters_flat();
    auto       set    = synthetic_set(4, 20, 20);
    std::atomic<bool> never{ false };
    const std::string e = error_of([&] {
        t.train_epoch(set, set, steg::epoch_pairs({ 0, 1, 2, 3 }, {}, true, 1, 1, 0), never, {});
    });
    EXPECT_NE(e.find("diverged"), std::string::npos) << e;
    EXPECT_NE(e.find("epoch 1, step 1"), std::string::npos) << e;
    EXPECT_EQ(t.parameters_flat(), before);
}

TEST(Train, NonFiniteGradientsSkipTheStepWithoutTouchingTheWeights) {
    // A finite loss whose backward pass overflows: the encoder's last layer outputs a
    // bias of 1e18 (cover term 3 * 64 * 1e36, still finite) and its input is 1e20, so
    // the gradient of its weights is about 64 * 2e18 * 1e20 = inf.
    TempDir            d;
    steg::TrainOptions o = tiny_options();
    steg::Trainer      t(o);
    t.import_model(zero_model(d, [](steg::Model & m) {
        m.encoder->named_parameters()["tail.2.bias"].fill_(1e20f);
        m.encoder->named_parameters()["tail.4.bias"].fill_(1e18f);
    }));
    const auto batch  = constant_batch(1, 8, 0.f, 0.f);
    const auto before = t.parameters_flat();
    steg::EpochStats s;
    ASSERT_NO_THROW(s = t.train_step(batch));
    EXPECT_TRUE(std::isfinite(s.loss));
    EXPECT_EQ(s.skipped, 1);
    const auto after = t.parameters_flat();
    ASSERT_EQ(before.size(), after.size());
    EXPECT_EQ(std::memcmp(before.data(), after.data(), before.size() * sizeof(float)), 0);
    // Ten in a row stop the run with the advice.
    for (int i = 0; i < 8; ++i) t.train_step(batch);
    EXPECT_NE(error_of([&] { t.train_step(batch); }).find("non-finite gradients"), std::string::npos);
}

TEST(Train, BadCheckpointsAreRefused) {
    TempDir       d;
    steg::Trainer t(tiny_options());
    EXPECT_NE(error_of([&] { t.load_checkpoint(d.file("none.ckpt")); }).find("not a steg-trainer checkpoint"),
              std::string::npos);
    t.save_checkpoint(d.file("ok.ckpt"));
    const std::string bytes = steg_test::read_file(d.file("ok.ckpt"));
    steg_test::write_file(d.file("cut.ckpt"), bytes.substr(0, bytes.size() / 2));
    EXPECT_FALSE(error_of([&] { t.load_checkpoint(d.file("cut.ckpt")); }).empty());

    torch::serialize::OutputArchive other;  // a checkpoint of some other network
    other.write("architecture", c10::IValue(std::string("unet")));
    other.write("epoch", torch::tensor(int64_t(3)));
    other.save_to(d.file("other.ckpt"));
    EXPECT_NE(error_of([&] { t.load_checkpoint(d.file("other.ckpt")); }).find("another architecture"), std::string::npos);
}

// rehman2017-residual: the same layers, the hybrid is the cover plus the encoder's output.
// A constant change set through the tail's last bias shows it in the cover term.
TEST(Train, ResidualHybridIsCoverPlusEncoderOutput) {
    TempDir     d;
    const float step  = 4.0f / 255.0f;
    auto        model = [&](float r, float g, float b, const char * arch) {
        return zero_model(d, [&](steg::Model & m) {
            auto bias = m.encoder->named_parameters()["tail.4.bias"];
            bias[0] = r, bias[1] = g, bias[2] = b;
        }, arch);
    };
    const auto batch = constant_batch(2, 8, 0.25f, 0.f);
    steg::TrainOptions o = tiny_options();
    steg::Trainer      res(o), paper(o);
    res.import_model(model(step, step, step, steg::kArchitectureResidual));
    EXPECT_EQ(res.options().architecture, steg::kArchitectureResidual);  // taken from the file
    // Oe - Ih is the change itself: 3 channels x 64 pixels of `step`.
    EXPECT_NEAR(res.loss_of(batch).cover_term, 3 * 64 * double(step) * step, 1e-6);
    paper.import_model(model(step, step, step, steg::kArchitecture));
    // The paper's encoder outputs the hybrid itself: Oe = step, far from the cover's 0.25.
    EXPECT_NEAR(paper.loss_of(batch).cover_term, 3 * 64 * std::pow(0.25 - step, 2), 1e-4);
}

// rehman2017-gray: the change is the mean of the encoder's three outputs, in R, G and B
// alike. Outputs (3s, 0, 0) make a change of s in each channel: 3 x 64 pixels of s^2 in
// the cover term (1/3 of the residual architecture's 9 s^2 a pixel), and none of it
// colour, so the chroma weight changes nothing.
TEST(Train, GrayHybridIsCoverPlusTheMeanOfTheEncoderOutput) {
    TempDir     d;
    const float s    = 2.0f / 255.0f;
    auto        make = [&](const char * arch) {
        return zero_model(d, [&](steg::Model & m) {
            auto bias = m.encoder->named_parameters()["tail.4.bias"];
            bias[0] = 3 * s, bias[1] = 0, bias[2] = 0;
        }, arch);
    };
    const auto batch = constant_batch(2, 8, 0.25f, 0.f);
    steg::TrainOptions o = tiny_options();
    steg::Trainer      gray(o), res(o);
    gray.import_model(make(steg::kArchitectureGray));
    EXPECT_EQ(gray.options().architecture, steg::kArchitectureGray);
    EXPECT_NEAR(gray.loss_of(batch).cover_term, 3 * 64 * double(s) * s, 1e-6);
    res.import_model(make(steg::kArchitectureResidual));
    EXPECT_NEAR(res.loss_of(batch).cover_term, 64 * 9 * double(s) * s, 1e-6);
    o.chroma_weight = 10;
    steg::Trainer weighted(o);
    weighted.import_model(make(steg::kArchitectureGray));
    EXPECT_NEAR(weighted.loss_of(batch).cover_term, 3 * 64 * double(s) * s, 1e-6);
}

// rehman2017-coset: the payload term's gradient reaches the encoder through the fixed
// coset layer (a straight-through step), and a trainer made for any architecture takes
// a coset model's weights and period (steg-trainer eval and export); a run that has
// trained cannot take a model of another decoder.
TEST(Train, CosetRunTrainsItsEncoderAndItsModelLoadsAnywhere) {
    TempDir            d;
    steg::TrainOptions o = tiny_options();
    o.architecture       = steg::kArchitectureCoset;
    o.coset_period       = 30;
    o.alpha              = 0;  // the payload term alone
    auto batch           = constant_batch(2, 8, 0.1f, 0.f);
    for (size_t i = 0; i < batch.payloads.size(); ++i) {
        batch.payloads[i] = float(i % 7) / 7.0f - 0.5f;
    }
    steg::Trainer t(o);
    const auto    before = t.parameters_flat();
    t.train_step(batch);
    const auto after   = t.parameters_flat();
    int        changed = 0;
    for (int64_t i = 0; i < steg::kEncoderParams; ++i) {
        changed += before[size_t(i)] != after[size_t(i)];
    }
    EXPECT_GT(changed, steg::kEncoderParams / 2) << "the encoder learns through the coset layer";
    EXPECT_EQ(after.size(), size_t(steg::kEncoderParams + steg::kDecoderParams + 16 * 9));  // one more decoder input

    t.export_model(d.file("c.safetensors"), {});
    steg::Trainer e(tiny_options());
    e.import_model(d.file("c.safetensors"));
    EXPECT_EQ(e.options().architecture, steg::kArchitectureCoset);
    EXPECT_EQ(e.options().coset_period, 30);
    EXPECT_EQ(e.parameters_flat(), after);
    EXPECT_NEAR(e.loss_of(batch).payload_term, t.loss_of(batch).payload_term, 1e-6);
    o.coset_period = 24;  // a coset run keeps its own period when it starts from another's weights
    steg::Trainer finer(o);
    finer.import_model(d.file("c.safetensors"));
    EXPECT_EQ(finer.options().coset_period, 24);
    EXPECT_EQ(finer.parameters_flat(), after);
    finer.export_model(d.file("c24.safetensors"), {});
    EXPECT_EQ(steg::load_model(d.file("c24.safetensors")).coset_period, 24);

    steg::Trainer trained(tiny_options());
    trained.train_step(batch);
    EXPECT_NE(error_of([&] { trained.import_model(d.file("c.safetensors")); }).find("decoder differs"),
              std::string::npos);
}

// rehman2017-phase: the payload term's gradient reaches the encoder through the fixed
// phase layer and the decoder's reading of the luma phase, the hybrid differs from the
// cover in brightness only, a new model's encoder writes the payload as the phase and
// its decoder reads it back (their last layers start at zero), and a trainer made for another architecture takes a phase model's
// weights and period; a run that has trained cannot take a model of another decoder.
TEST(Train, PhaseRunTrainsItsEncoderAndItsModelLoadsAnywhere) {
    TempDir            d;
    steg::TrainOptions o = tiny_options();
    o.architecture       = steg::kArchitecturePhase;
    o.phase_period       = 20;
    o.alpha              = 0;
    auto batch           = constant_batch(2, 8, 0.1f, 0.f);
    for (size_t i = 0; i < batch.payloads.size(); ++i) {
        batch.payloads[i] = float(i % 7) / 7.0f - 0.5f;
    }
    steg::Trainer t(o);
    const auto    before = t.parameters_flat();
    t.train_step(batch);  // the last layers (zero at the start) move first,
    t.train_step(batch);  // then the layers before them
    const auto after   = t.parameters_flat();
    int        changed = 0;
    for (int64_t i = 0; i < steg::kEncoderParams; ++i) {
        changed += before[size_t(i)] != after[size_t(i)];
    }
    EXPECT_GT(changed, steg::kEncoderParams / 2) << "the encoder learns through the phase layer";
    EXPECT_EQ(after.size(), size_t(steg::kEncoderParams + steg::kDecoderParams + 3 * 16 * 9));  // three more inputs

    t.export_model(d.file("p.safetensors"), {});
    steg::Model m = steg::load_model(d.file("p.safetensors"));
    EXPECT_EQ(m.phase_period, 20.0);
    {
        torch::NoGradGuard g;
        torch::Tensor      host  = torch::rand({ 1, 3, 8, 8 }) * 0.5 - 0.25;  // levels 64-191: nothing near 0 or 255
        torch::Tensor      guest = torch::rand({ 1, 1, 8, 8 }) - 0.5;
        torch::Tensor      h     = m.hybrid(host, m.encoder->forward(host, guest), guest);
        torch::Tensor      dd    = h - host;
        EXPECT_LT((dd - dd.mean(1, true)).abs().max().item<float>(), 1e-6) << "brightness only";
        EXPECT_LE(dd.abs().max().item<float>() * 255, 20.0f / 2 + 1e-3);
    }
    {  // a new model's encoder writes the payload itself: its luma phase line reads it
        torch::NoGradGuard g;
        steg::Model        z = steg::new_model(steg::kArchitecturePhase, 3, 36, 20);  // as a new model starts
        torch::Tensor host  = torch::rand({ 1, 3, 8, 8 }) * 0.5 - 0.25;
        torch::Tensor guest = torch::rand({ 1, 1, 8, 8 }) - 0.5;
        torch::Tensor h     = z.hybrid(host, z.encoder->forward(host, guest), guest);
        // Its pilots (rows and columns 0 and 4) read as the mean of their left and right
        // neighbours' payload (the right one's alone at the left edge).
        const torch::Tensor pilots = steg::phase_pilots(8, 8, {}, torch::kCPU);
        torch::Tensor       right  = guest.roll(-1, 3), left = guest.roll(1, 3);
        left.narrow(3, 0, 1).copy_(right.narrow(3, 0, 1));
        const torch::Tensor seen = torch::where(pilots, (left + right) / 2, guest);
        torch::Tensor       line = steg::luma_phase(h, 20).narrow(1, 2, 1);
        EXPECT_LT((line - (4 * ((seen + 0.5) * 2 / 3 + 1.0 / 6) - 2)).abs().max().item<float>(), 1e-3);
        // and its decoder reads it back
        EXPECT_LT((z.decoder->forward(h) - seen).abs().max().item<float>(), 1e-3);
        EXPECT_LT(steg::phase_offset(h, 20, {}).abs().max().item<float>(), 1e-3) << "a float hybrid's pilots sit exactly";
        EXPECT_THROW(z.hybrid(host, z.encoder->forward(host, guest)), steg::Error) << "the payload is needed";
    }
    {  // training starts from that code: a new run's payload term on mid-gray covers is
       // the 8-bit rounding's alone (the luma moves in whole levels of R, G and B)
        steg::TrainOptions fresh = o;
        fresh.phase_period       = 16;
        steg::Trainer n(fresh);
        auto          mid = constant_batch(2, 16, 0.02f, 0.f);
        for (size_t i = 0; i < mid.payloads.size(); ++i) {
            mid.payloads[i] = float(i % 97) / 97.0f - 0.5f;
        }
        const double per_pixel = n.loss_of(mid).payload_term / (16 * 16);
        EXPECT_LT(per_pixel, std::pow(0.6 / 16 * 1.5, 2)) << "under 0.6 levels of luma error a pixel";
    }
    steg::Trainer e(tiny_options());
    e.import_model(d.file("p.safetensors"));
    EXPECT_EQ(e.options().architecture, steg::kArchitecturePhase);
    EXPECT_EQ(e.options().phase_period, 20.0);
    EXPECT_EQ(e.parameters_flat(), after);
    EXPECT_NEAR(e.loss_of(batch).payload_term, t.loss_of(batch).payload_term, 1e-6);

    steg::Trainer coset([] {
        steg::TrainOptions c = tiny_options();
        c.architecture       = steg::kArchitectureCoset;
        return c;
    }());
    coset.train_step(batch);
    EXPECT_NE(error_of([&] { coset.import_model(d.file("p.safetensors")); }).find("decoder differs"), std::string::npos);
}

// rehman2017-bounded: the gray change squashed into (-b, b), b = change_bound levels. A
// gray model's weights start a bounded run as they are (the architecture stays bounded).
TEST(Train, BoundedHybridHoldsTheGrayChangeWithinItsBound) {
    TempDir     d;
    const float s    = 20.0f / 255.0f;  // a gray change of 20 levels before the bound
    const auto  gray = zero_model(d, [&](steg::Model & m) {
        auto bias = m.encoder->named_parameters()["tail.4.bias"];
        bias[0] = 3 * s, bias[1] = 0, bias[2] = 0;
    }, steg::kArchitectureGray);
    const auto         batch = constant_batch(2, 8, 0.25f, 0.f);
    steg::TrainOptions o     = tiny_options();
    o.architecture           = steg::kArchitectureBounded;
    o.change_bound           = 4;
    steg::Trainer bounded(o);
    bounded.import_model(gray);
    EXPECT_EQ(bounded.options().architecture, steg::kArchitectureBounded);
    const double b = 4.0 / 255.0, change = b * std::tanh(double(s) / b);
    EXPECT_NEAR(bounded.loss_of(batch).cover_term, 3 * 64 * change * change, 1e-6);
    EXPECT_LT(change, b);
    EXPECT_GT(change, 0.99 * b);  // 20 levels, squashed to just under 4
}

// The bound shrinks geometrically from change_bound_start to change_bound, over
// change_bound_epochs (or the whole run), and stays there; the best model is kept only
// once it is settled.
TEST(Train, ChangeBoundShrinksGeometricallyThenHolds) {
    steg::TrainOptions o;
    o.epochs             = 10;
    o.change_bound       = 4;
    EXPECT_EQ(steg::scheduled_change_bound(o, 0), 4);  // no start: constant
    EXPECT_TRUE(steg::change_bound_settled(o, 0));
    o.change_bound_start = 64;
    EXPECT_EQ(steg::scheduled_change_bound(o, 0), 64);
    EXPECT_EQ(steg::scheduled_change_bound(o, 5), 16);
    EXPECT_EQ(steg::scheduled_change_bound(o, 7.5), 8);
    EXPECT_EQ(steg::scheduled_change_bound(o, 10), 4);
    EXPECT_EQ(steg::scheduled_change_bound(o, 12), 4);
    EXPECT_FALSE(steg::change_bound_settled(o, 9.9));
    EXPECT_TRUE(steg::change_bound_settled(o, 10));
    o.change_bound_epochs = 4;
    EXPECT_EQ(steg::scheduled_change_bound(o, 2), 16);
    EXPECT_EQ(steg::scheduled_change_bound(o, 6), 4);
    EXPECT_TRUE(steg::change_bound_settled(o, 4));
    // Rounded to 1e-4 of a level, so that the model file's text gives the same number.
    const double mid = steg::scheduled_change_bound(o, 1);
    EXPECT_EQ(mid, std::stod(steg::levels_text(mid)));
    EXPECT_NEAR(mid, 32, 1e-4);
}

TEST(Train, ChromaWeightScalesOnlyTheColourPartOfTheChange) {
    TempDir     d;
    const float s    = 3.0f / 255.0f;
    auto        make = [&](float r, float g, float b) {
        return zero_model(d, [&](steg::Model & m) {
            auto bias = m.encoder->named_parameters()["tail.4.bias"];
            bias[0] = r, bias[1] = g, bias[2] = b;
        }, steg::kArchitectureResidual);
    };
    const auto         batch = constant_batch(1, 8, 0.f, 0.f);
    steg::TrainOptions o     = tiny_options();
    o.chroma_weight          = 5;
    steg::Trainer t(o);
    // A gray change (equal in R, G, B) costs the same as in plain RGB.
    t.import_model(make(s, s, s));
    EXPECT_NEAR(t.loss_of(batch).cover_term, 64 * 3 * double(s) * s, 1e-7);
    // A change of colour only (R up, G down) costs chroma_weight times its RGB norm.
    t.import_model(make(s, -s, 0));
    EXPECT_NEAR(t.loss_of(batch).cover_term, 5 * 64 * 2 * double(s) * s, 1e-6);
    // A mix: its gray part (mean 2s/3 in each channel) at 1, the rest at 5.
    t.import_model(make(2 * s, 0, 0));
    const double gray = 3 * std::pow(2 * s / 3.0, 2), all = 4 * double(s) * s;
    EXPECT_NEAR(t.loss_of(batch).cover_term, 64 * (gray + 5 * (all - gray)), 1e-6);
}

TEST(Train, CheckpointsKnowTheirArchitecture) {
    TempDir            d;
    steg::TrainOptions o = tiny_options();
    o.architecture       = steg::kArchitectureResidual;
    steg::Trainer res(o);
    res.save_checkpoint(d.file("r.ckpt"));
    EXPECT_EQ(steg::Trainer::checkpoint_architecture(d.file("r.ckpt")), steg::kArchitectureResidual);
    steg::Trainer paper(tiny_options());
    EXPECT_NE(error_of([&] { paper.load_checkpoint(d.file("r.ckpt")); }).find("--architecture"), std::string::npos);
    steg::Trainer again(o);
    again.load_checkpoint(d.file("r.ckpt"));
    EXPECT_EQ(again.parameters_flat(), res.parameters_flat());
    // Exported, the model file names the architecture and loads as it.
    res.export_model(d.file("r.safetensors"), {});
    EXPECT_TRUE(steg::load_model(d.file("r.safetensors")).residual());
    EXPECT_NE(error_of([&] { steg::Trainer::checkpoint_architecture(d.file("none.ckpt")); }).find("not a steg-trainer checkpoint"),
              std::string::npos);
}

TEST(Data, ColourAugmentChangesCoversOnlyAndStaysOnTheGrid) {
    steg::ImageSet          set   = synthetic_set(6, 20, 20);
    std::vector<steg::Pair> pairs = { { 0, 1 }, { 2, 3 }, { 4, 5 }, { 1, 0 }, { 3, 2 }, { 5, 4 } };
    const auto plain = steg::make_batch(set, set, pairs, 0, 6, 16, steg::PayloadMode::Gray, 4, 0);
    const auto none  = steg::make_batch(set, set, pairs, 0, 6, 16, steg::PayloadMode::Gray, 4, 0, 0.0);
    const auto all   = steg::make_batch(set, set, pairs, 0, 6, 16, steg::PayloadMode::Gray, 4, 0, 1.0);
    const auto again = steg::make_batch(set, set, pairs, 0, 6, 16, steg::PayloadMode::Gray, 4, 0, 1.0);
    EXPECT_EQ(none.covers, plain.covers);  // off: the batch of before, crop for crop
    EXPECT_EQ(all.covers, again.covers);   // deterministic
    EXPECT_EQ(all.payloads, plain.payloads);
    EXPECT_NE(all.covers, plain.covers);
    for (float v : all.covers) {
        const float level = (v + 0.5f) * 255.0f;
        EXPECT_NEAR(level, std::nearbyint(level), 1e-3);  // still 8-bit pixels
        EXPECT_GE(level, -1e-3);
        EXPECT_LE(level, 255.001f);
    }
}

// Distillation: the cover term first targets the teacher's hybrid, moving to the cover
// over teacher_ramp epochs, and the decoder starts as the teacher's.
TEST(Train, TeacherHybridIsTheFirstTargetAndItsDecoderTheStart) {
    TempDir     d;
    const float t_out = 0.1f;  // the teacher (paper architecture) outputs a flat 0.1
    std::string teacher = zero_model(d, [&](steg::Model & m) {
        m.encoder->named_parameters()["tail.4.bias"].fill_(t_out);
        m.decoder->named_parameters()["net.12.bias"].fill_(0.25f);
    });
    std::filesystem::rename(teacher, d.file("teacher.safetensors"));
    steg::TrainOptions o = tiny_options();
    o.architecture       = steg::kArchitectureResidual;
    o.teacher            = d.file("teacher.safetensors");
    o.teacher_ramp       = 2;
    steg::Trainer t(o);
    t.import_model(zero_model(d, {}, steg::kArchitectureResidual));  // the student changes nothing: hybrid = cover
    // import_model replaced the decoder too; a fresh trainer keeps the teacher's:
    steg::Trainer fresh(o);
    fresh.export_model(d.file("fresh.safetensors"), {});
    EXPECT_NEAR(steg::load_model(d.file("fresh.safetensors")).decoder->named_parameters()["net.12.bias"].item<float>(),
                0.25f, 1e-7);
    const float cover = -0.2f;
    const auto  batch = constant_batch(1, 8, cover, 0.f);
    // Epoch 0: the target is the teacher's hybrid (0.1); the student's is the cover.
    EXPECT_NEAR(t.loss_of(batch).cover_term, 3 * 64 * std::pow(double(cover) - t_out, 2), 1e-4);
    // Without a teacher the same student has no cover cost at all.
    steg::TrainOptions plain = tiny_options();
    plain.architecture       = steg::kArchitectureResidual;
    steg::Trainer p(plain);
    p.import_model(zero_model(d, {}, steg::kArchitectureResidual));
    EXPECT_NEAR(p.loss_of(batch).cover_term, 0.0, 1e-9);
}

// Eq. 1 on a random model and a batch of real pixels, against a computation written out
// here from the modules themselves: alpha ||Ih - Oe||^2 + beta ||Ig - Od||^2 (per image,
// averaged) + lambda ||W||^2, the decoder seeing Oe clamped and rounded to 8 bits. With
// every term non-zero a wrong sign (Ih + Oe) or a swapped term shows.
TEST(Train, LossMatchesAnIndependentComputationOfEquationOne) {
    TempDir d;
    steg_test::write_random_model(d.file("r.safetensors"), 21);
    steg::TrainOptions o = tiny_options();
    o.alpha = 1.7, o.beta = 0.6, o.lambda = 0.01;
    o.channels_last = false;
    steg::Trainer t(o);
    t.import_model(d.file("r.safetensors"));
    auto        set   = synthetic_set(4, 24, 24);
    auto        pairs = steg::epoch_pairs({ 0, 1, 2, 3 }, {}, true, 1, 1, 0);
    steg::Batch b     = steg::make_batch(set, set, pairs, 0, 2, 16, steg::PayloadMode::Gray, 1, 0);
    const auto  s     = t.loss_of(b);

    torch::NoGradGuard g;
    steg::Model        m     = steg::load_model(d.file("r.safetensors"));
    auto               host  = torch::from_blob(b.covers.data(), { 2, 3, 16, 16 }).clone();
    auto               guest = torch::from_blob(b.payloads.data(), { 2, 1, 16, 16 }).clone();
    auto               oe    = m.encoder->forward(host, guest);
    auto               h8    = ((oe + 0.5) * 255).round().clamp(0, 255) / 255 - 0.5;
    auto               od    = m.decoder->forward(h8);
    const double cover = (host - oe).pow(2).sum().item<double>() / 2, payload = (guest - od).pow(2).sum().item<double>() / 2;
    double       weights = 0;
    for (auto * mod : { static_cast<torch::nn::Module *>(m.encoder.get()), static_cast<torch::nn::Module *>(m.decoder.get()) }) {
        for (auto & p : mod->parameters()) {
            if (p.dim() == 4) weights += p.pow(2).sum().item<double>();
        }
    }
    ASSERT_GT(cover, 1.0);  // all terms well away from zero
    ASSERT_GT(payload, 1.0);
    EXPECT_NEAR(s.cover_term, cover, cover * 1e-4);
    EXPECT_NEAR(s.payload_term, payload, payload * 1e-4);
    EXPECT_NEAR(s.weight_term, weights, weights * 1e-4);
    EXPECT_NEAR(s.loss, 1.7 * cover + 0.6 * payload + 0.01 * weights, s.loss * 1e-4);
}

// What training is for: a short run raises both PSNRs over the untrained network, on
// pairs it validates with (cover and payload on the 8-bit grid).
TEST(Train, ShortTrainingImprovesBothPsnrs) {
    auto               set = synthetic_set(12, 32, 32);
    std::vector<int>   idx(12);
    std::iota(idx.begin(), idx.end(), 0);
    steg::TrainOptions o = tiny_options();
    o.batch = 4, o.size = 24, o.lr = 3e-3, o.data_workers = 0;
    steg::Trainer     t(o);
    const auto        val    = steg::epoch_pairs(idx, idx, true, 1, 5, -1);
    const auto        before = t.evaluate(set, set, val, 32);
    std::atomic<bool> stop{ false };
    for (int e = 0; e < 40; ++e) {
        t.train_epoch(set, set, steg::epoch_pairs(idx, idx, true, 2, o.seed, e), stop, {});
    }
    const auto after = t.evaluate(set, set, val, 32);
    EXPECT_GT(after.hybrid_psnr, before.hybrid_psnr + 2.0) << before.hybrid_psnr << " -> " << after.hybrid_psnr;
    EXPECT_GT(after.revealed_psnr, before.revealed_psnr + 0.8) << before.revealed_psnr << " -> " << after.revealed_psnr;
}
