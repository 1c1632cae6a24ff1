// SPDX-License-Identifier: MIT
// The network is exactly Table 1 as ../shared/reference/paper_model.py reads it.
#include "steg-conv-rows.h"
#include "steg-model.h"
#include "steg-network.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace {

std::map<std::string, std::vector<int64_t>> shapes_of(torch::nn::Module & m) {
    std::map<std::string, std::vector<int64_t>> out;
    for (const auto & p : m.named_parameters()) {
        out[p.key()] = p.value().sizes().vec();
    }
    return out;
}

}  // namespace

TEST(Network, ParameterCountsMatchThePaperReading) {
    steg::Encoder enc;
    steg::Decoder dec;
    EXPECT_EQ(steg::count_parameters(*enc), 36051);
    EXPECT_EQ(steg::count_parameters(*dec), 4819);
    EXPECT_EQ(steg::kEncoderParams, 36051);
    EXPECT_EQ(steg::kDecoderParams, 4819);
}

TEST(Network, EncoderLayerShapes) {
    steg::Encoder enc;
    auto          s = shapes_of(*enc);
    // guest branch: 1 -> 16, then 16 -> 16, all 3x3
    EXPECT_EQ(s["guest.0.weight"], (std::vector<int64_t>{ 16, 1, 3, 3 }));
    for (int i = 1; i < 7; ++i) {
        EXPECT_EQ(s["guest." + std::to_string(i) + ".weight"], (std::vector<int64_t>{ 16, 16, 3, 3 }));
    }
    // host branch: 3 -> 16; after host layers 1, 3, 5 the next layer sees 16 + 16 channels
    EXPECT_EQ(s["host.0.weight"], (std::vector<int64_t>{ 16, 3, 3, 3 }));
    for (int i = 1; i < 7; ++i) {
        const int64_t in = i % 2 == 1 ? 32 : 16;
        EXPECT_EQ(s["host." + std::to_string(i) + ".weight"], (std::vector<int64_t>{ 16, in, 3, 3 })) << i;
    }
    // tail: 1x1 convs 32 -> 16 -> 8 -> 3
    EXPECT_EQ(s["tail.0.weight"], (std::vector<int64_t>{ 16, 32, 1, 1 }));
    EXPECT_EQ(s["tail.2.weight"], (std::vector<int64_t>{ 8, 16, 1, 1 }));
    EXPECT_EQ(s["tail.4.weight"], (std::vector<int64_t>{ 3, 8, 1, 1 }));
    EXPECT_EQ(s.size(), 2u * (7 + 7 + 3));
}

TEST(Network, DecoderLayerShapes) {
    steg::Decoder dec;
    auto          s  = shapes_of(*dec);
    const int64_t ch[] = { 3, 16, 16, 8, 8, 3, 3 };
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(s["net." + std::to_string(2 * i) + ".weight"], (std::vector<int64_t>{ ch[i + 1], ch[i], 3, 3 }));
    }
    EXPECT_EQ(s["net.12.weight"], (std::vector<int64_t>{ 1, 3, 1, 1 }));
    EXPECT_EQ(s.size(), 2u * 7);
}

TEST(Network, SamePaddingKeepsTheImageSize) {
    torch::NoGradGuard g;
    steg::Encoder      enc;
    steg::Decoder      dec;
    auto               oe = enc->forward(torch::rand({ 2, 3, 13, 17 }), torch::rand({ 2, 1, 13, 17 }));
    EXPECT_EQ(oe.sizes().vec(), (std::vector<int64_t>{ 2, 3, 13, 17 }));
    EXPECT_EQ(dec->forward(oe).sizes().vec(), (std::vector<int64_t>{ 2, 1, 13, 17 }));
}

TEST(Network, ReceptiveRadiusIsWhatTheTilingAssumes) {
    // A change at one pixel must reach exactly kEncoderRadius pixels away, no further.
    torch::NoGradGuard g;
    torch::manual_seed(3);
    steg::Encoder enc;
    steg::xavier_init(*enc);
    for (auto & p : enc->parameters()) {
        p.abs_();  // positive weights: every path carries the change (ReLUs stay open)
    }
    const int n = 41, c = 20;
    auto      host = torch::rand({ 1, 3, n, n }), guest = torch::rand({ 1, 1, n, n });
    auto      base = enc->forward(host, guest);
    guest[0][0][c][c] += 1.0;
    auto diff = (enc->forward(host, guest) - base).abs().sum(1)[0];  // n x n
    EXPECT_GT(diff[c][c + steg::kEncoderRadius].item<float>(), 0.0f);
    EXPECT_EQ(diff[c][c + steg::kEncoderRadius + 1].item<float>(), 0.0f);
}

TEST(Network, XavierUniformInitWithZeroBiases) {
    steg::Encoder enc;
    steg::xavier_init(*enc);
    for (const auto & p : enc->named_parameters()) {
        const auto & t = p.value();
        if (t.dim() == 1) {
            EXPECT_EQ(t.abs().max().item<float>(), 0.0f) << p.key();
            continue;
        }
        const double fan_in = t.size(1) * t.size(2) * t.size(3), fan_out = t.size(0) * t.size(2) * t.size(3);
        const double bound  = std::sqrt(6.0 / (fan_in + fan_out));
        EXPECT_LE(t.abs().max().item<double>(), bound + 1e-6) << p.key();
        EXPECT_GT(t.abs().max().item<double>(), bound * 0.5) << p.key();  // spread over the range, not tiny
    }
}

TEST(Network, SeededInitIsTheManualSeedOneAndIgnoresOtherThreadsDraws) {
    // new_model(arch, seed) gives the weights that torch::manual_seed(seed) followed by
    // new_model() gave before (so the seeded runs in the model cards reproduce), and
    // draws from the global generator in between change nothing.
    torch::manual_seed(11);
    steg::Model before = steg::new_model(steg::kArchitectureResidual);
    torch::rand({ 1000 });  // another thread's draws, say
    steg::Model seeded = steg::new_model(steg::kArchitectureResidual, 11);
    auto        a = before.encoder->parameters(), b = seeded.encoder->parameters();
    auto        da = before.decoder->parameters(), db = seeded.decoder->parameters();
    a.insert(a.end(), da.begin(), da.end());
    b.insert(b.end(), db.begin(), db.end());
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
    }
    EXPECT_FALSE(torch::equal(steg::new_model(steg::kArchitecture, 12).encoder->parameters()[0], b[0]));
}

// Inference builds a coset decoder's input in one pass (coset_input); training
// differentiates the tensor path. Both must give the decoder the same numbers, or a
// model would reveal differently from how it was trained and validated.
// At inference on the CPU in fp32 the decoder's 3x3 layers run a row at a time and its
// last 1x1 layer in one pass, through steg-conv-rows.h's kernels; with a gradient,
// through libtorch's convs. The two must give the same features and the same output (to float
// rounding) on every pixel, the borders of odd and tiny images included, for each
// decoder's first layer, on one thread and on several (each takes a band of rows).
TEST(Network, DecoderInRowsComputesWhatLibtorchDoes) {
    torch::manual_seed(11);
    const int threads_before = at::get_num_threads();
    for (const auto & [coset, phase] : { std::pair{ 0, 0.0 }, std::pair{ 36, 0.0 }, std::pair{ 0, 20.0 } }) {
        steg::Decoder dec(coset, phase);
        ASSERT_TRUE(dec->runs_in_rows());
        {
            torch::NoGradGuard no_grad;
            for (auto & p : dec->named_parameters()) {
                if (p.key().find("bias") != std::string::npos) {
                    p.value().uniform_(-0.2, 0.2);  // Xavier's biases are zero: give them work
                }
            }
        }
        for (const auto & shape : { std::vector<int64_t>{ 2, 3, 37, 29 }, std::vector<int64_t>{ 1, 3, 3, 5 },
                                    std::vector<int64_t>{ 1, 3, 40, 300 } }) {
            const torch::Tensor x = torch::rand(shape) - 0.5;
            for (const auto & in : { x, x.contiguous(at::MemoryFormat::ChannelsLast) }) {
                const torch::Tensor want = dec->features(in).detach(), want_out = dec->forward(in).detach();
                for (int threads : { 1, 3 }) {
                    at::set_num_threads(threads);
                    torch::Tensor got, got_out;
                    {
                        torch::NoGradGuard no_grad;
                        got     = dec->features(in);
                        got_out = dec->head(got, in);
                    }
                    ASSERT_EQ(got.sizes(), want.sizes());
                    ASSERT_EQ(got_out.sizes(), want_out.sizes());
                    EXPECT_GT(want.abs().max().item<double>(), 0.01) << "the features are not all zero";
                    EXPECT_LT((got - want).abs().max().item<double>(), 2e-6)
                        << "coset " << coset << ", phase " << phase << ", " << shape[2] << "x" << shape[3] << ", "
                        << threads << " threads";
                    EXPECT_LT((got_out - want_out).abs().max().item<double>(), 2e-6)
                        << "the output: coset " << coset << ", phase " << phase << ", " << shape[2] << "x" << shape[3];
                }
            }
        }
    }
    at::set_num_threads(threads_before);
}

// At inference the encoder's ReLUs run in place and the streams join in one pass
// (relu_cat); with a gradient, through libtorch's relu and cat. The features must be
// the same numbers, channels-last (as the engine runs) or not, on one thread and on
// several. On the CPU in fp32, inference runs the whole encoder a row at a time
// (steg-conv-rows.h): its output must be training's to float rounding on every pixel,
// the borders included, whichever band of rows each thread takes.
TEST(Network, EncoderInferenceComputesWhatTrainingDoes) {
    torch::manual_seed(12);
    steg::Encoder enc;
    ASSERT_TRUE(enc->runs_in_rows());
    {
        torch::NoGradGuard no_grad;
        for (auto & p : enc->named_parameters()) {
            if (p.key().find("bias") != std::string::npos) {
                p.value().uniform_(-0.2, 0.2);  // Xavier's biases are zero: make some ReLUs cut
            }
        }
    }
    const int threads_before = at::get_num_threads();
    for (bool channels_last : { false, true }) {
        if (channels_last) {
            torch::NoGradGuard no_grad;
            for (auto & p : enc->parameters()) {
                if (p.dim() == 4) {
                    p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));  // as steg::to_channels_last does
                }
            }
        }
        const auto    format = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
        torch::Tensor host   = (torch::rand({ 2, 3, 23, 41 }) - 0.5).contiguous(format);
        torch::Tensor guest  = (torch::rand({ 2, 1, 23, 41 }) - 0.5).contiguous(format);
        const torch::Tensor want = enc->features(host, guest).detach(), want_out = enc->forward(host, guest).detach();
        EXPECT_GT(want.abs().max().item<double>(), 0.01) << "the features are not all zero";
        EXPECT_GT(want.eq(0).sum().item<int64_t>(), 0) << "no ReLU cut anything";
        EXPECT_GT(want_out.abs().max().item<double>(), 0.01) << "the output is not all zero";
        for (int threads : { 1, 3 }) {
            at::set_num_threads(threads);
            torch::Tensor got, got_out;
            {
                c10::InferenceMode guard;
                got     = enc->features(host, guest);
                got_out = enc->forward(host, guest);  // on the CPU in fp32: the whole network in rows
            }
            EXPECT_TRUE(torch::equal(got, want)) << "channels-last " << channels_last << ", " << threads << " threads";
            ASSERT_EQ(got_out.sizes(), want_out.sizes());
            EXPECT_LT((got_out - want_out).abs().max().item<double>(), 2e-6)
                << "the output: channels-last " << channels_last << ", " << threads << " threads";
        }
    }
    at::set_num_threads(threads_before);
}

// On the CPU in fp32 the rows' kernels make a 3x3 layer's rows two at a time, in
// Winograd's form, paired by their row in the whole picture (steg-conv-rows.h). A tile
// that starts at any row must then give the very numbers the whole image gives wherever
// its rows have all their context (which is why tiled output is bit-identical to a
// whole image's). Paired by the tile's own rows instead, the sums differ in the last bit.
TEST(Network, RowsGiveTheSameNumbersWhereverATileStarts) {
    torch::manual_seed(13);
    steg::Encoder enc;
    steg::Decoder dec(36, 0.0);
    ASSERT_TRUE(enc->runs_in_rows());
    ASSERT_TRUE(dec->runs_in_rows());
    {
        torch::NoGradGuard no_grad;
        for (auto & p : enc->named_parameters()) {
            if (p.key().find("bias") != std::string::npos) {
                p.value().uniform_(-0.2, 0.2);
            }
        }
        for (auto & p : dec->named_parameters()) {
            if (p.key().find("bias") != std::string::npos) {
                p.value().uniform_(-0.2, 0.2);
            }
        }
    }
    const int           threads_before = at::get_num_threads();
    const torch::Tensor host           = torch::rand({ 1, 3, 45, 27 }) - 0.5;
    const torch::Tensor guest          = torch::rand({ 1, 1, 45, 27 }) - 0.5;
    c10::InferenceMode  guard;
    const torch::Tensor whole     = enc->forward(host, guest);
    const torch::Tensor whole_dec = dec->features(host);
    for (int threads : { 1, 3 }) {
        at::set_num_threads(threads);
        for (int64_t top : { 1, 2, 5, 8 }) {
            const int64_t rows = 45 - top;
            const torch::Tensor tile =
                enc->forward(host.narrow(2, top, rows), guest.narrow(2, top, rows), steg::Origin{ top, 0 });
            const torch::Tensor tile_dec = dec->features(host.narrow(2, top, rows), steg::Origin{ top, 0 });
            // The encoder has 7 3x3 layers, the decoder 6: the first rows lack context.
            EXPECT_TRUE(torch::equal(tile.narrow(2, 7, rows - 7), whole.narrow(2, top + 7, rows - 7)))
                << "encoder, tile from row " << top << ", " << threads << " threads";
            EXPECT_TRUE(torch::equal(tile_dec.narrow(2, 6, rows - 6), whole_dec.narrow(2, top + 6, rows - 6)))
                << "decoder, tile from row " << top << ", " << threads << " threads";
            EXPECT_FALSE(torch::equal(tile.narrow(2, 0, 7), whole.narrow(2, top, 7)))
                << "the rows without context differ (the tile's border is zeros)";
        }
    }
    at::set_num_threads(threads_before);
}

// Where the CPU has AVX-512 the row kernels take sixteen pixels a vector, elsewhere
// eight; each sample is summed in the same order either way, so a hybrid made on one
// machine is the same bytes as on another. Widths that are not a multiple of either
// check the right border (a vector reads and writes past the last pixel).
TEST(Network, RowsGiveTheSameBitsInEitherVectorWidth) {
    if (steg::row_lanes() != 16) {
        GTEST_SKIP() << "this CPU has no AVX-512: the wide kernels cannot run here";
    }
    torch::manual_seed(14);
    steg::Encoder enc;
    steg::Decoder dec(36, 0.0);
    {
        torch::NoGradGuard no_grad;
        for (auto & p : enc->named_parameters()) {
            if (p.key().find("bias") != std::string::npos) {
                p.value().uniform_(-0.2, 0.2);
            }
        }
    }
    const int          threads_before = at::get_num_threads();
    c10::InferenceMode guard;
    for (int64_t width : { 5, 27, 41, 300 }) {
        const torch::Tensor host  = torch::rand({ 1, 3, 19, width }) - 0.5;
        const torch::Tensor guest = torch::rand({ 1, 1, 19, width }) - 0.5;
        for (int threads : { 1, 2 }) {
            at::set_num_threads(threads);
            const torch::Tensor wide = enc->forward(host, guest), wide_dec = dec->features(host);
            steg::set_row_lanes(8);
            ASSERT_EQ(steg::row_lanes(), 8);
            const torch::Tensor narrow = enc->forward(host, guest), narrow_dec = dec->features(host);
            steg::set_row_lanes(0);
            EXPECT_GT(wide.abs().max().item<double>(), 0.01);
            EXPECT_TRUE(torch::equal(wide, narrow)) << "encoder, width " << width << ", " << threads << " threads";
            EXPECT_TRUE(torch::equal(wide_dec, narrow_dec))
                << "decoder, width " << width << ", " << threads << " threads";
        }
    }
    at::set_num_threads(threads_before);
}

// Trained weights hold subnormal floats, and an Intel core slows down some hundred times
// on each operation with one: the rows run with them flushed to zero (a value below
// 1.2e-38 comes out as zero), and give the caller back its own floating-point mode, on
// the thread that called and whatever that mode was.
TEST(Network, RowsFlushSubnormalsAndKeepTheCallersMode) {
#if !defined(__SSE__)
    GTEST_SKIP() << "the rows flush subnormals on x86 only";
#else
    steg::Decoder dec;
    {
        torch::NoGradGuard no_grad;
        for (auto & p : dec->named_parameters()) {
            p.value().zero_();
            if (p.key().find("bias") != std::string::npos) {
                p.value().fill_(1e-39f);  // subnormal: unflushed, each feature would be 1e-39
            }
        }
    }
    ASSERT_TRUE(dec->runs_in_rows());
    c10::InferenceMode  guard;
    const torch::Tensor x      = torch::rand({ 1, 3, 9, 21 });
    const unsigned      before = _mm_getcsr();
    for (unsigned mode : { before & ~0x8040u, before | 0x8040u }) {  // FTZ and DAZ off, then on
        _mm_setcsr(mode);
        const torch::Tensor f = dec->features(x);
        const unsigned      after = _mm_getcsr();
        _mm_setcsr(before);
        EXPECT_EQ(after, mode) << "the caller's MXCSR changed";
        EXPECT_TRUE(torch::equal(f, torch::zeros_like(f))) << "a subnormal came out";
    }
#endif
}

TEST(Network, CosetInputIsTheTensorPathsExactly) {
    torch::manual_seed(5);
    for (int period : { 24, 36, 7 }) {
        // 8-bit pixels as the engine and the trainer make them (bytes / 255 - 0.5), with
        // the extremes of the sum (0 and 765) and a multiple of M.
        torch::Tensor bytes = torch::randint(0, 256, { 2, 3, 37, 29 }, torch::kUInt8);
        bytes.index_put_({ 0, torch::indexing::Slice(), 0, 0 }, 0);
        bytes.index_put_({ 0, torch::indexing::Slice(), 0, 1 }, 255);
        bytes.index_put_({ 0, torch::indexing::Slice(), 0, 2 }, period);
        torch::Tensor x = bytes.to(torch::kFloat32).mul_(1.0f / 255.0f).sub_(0.5f);
        torch::Tensor want = torch::cat({ x, steg::coset_residue(x, period) }, 1);
        for (const auto & in : { x, x.contiguous(at::MemoryFormat::ChannelsLast) }) {
            torch::Tensor got = steg::coset_input(in, period);
            EXPECT_TRUE(torch::equal(got, want)) << "period " << period;
        }
        // The decoder takes it where no gradient is asked for, and reads as in training.
        steg::Decoder dec(period, 0);
        torch::Tensor trained = dec->forward(x.contiguous(at::MemoryFormat::ChannelsLast));
        ASSERT_TRUE(trained.requires_grad());
        c10::InferenceMode guard;
        EXPECT_TRUE(torch::allclose(dec->forward(x.contiguous(at::MemoryFormat::ChannelsLast)), trained.detach(), 0, 1e-6));
    }
}
