// SPDX-License-Identifier: MIT
// Hide and reveal through the C API: tiling is exact, in-place works, alpha and strides
// are respected, progress can cancel, and bad arguments are refused.
#include "steg-error.h"
#include "steg-model.h"
#include "test-util.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <numbers>
#include <random>
#include <set>

using steg_test::Image;
using steg_test::TempDir;

namespace {

// fp32 unless asked: the exactness tests compare with libtorch's fp32 forward pass.
struct Ctx {
    steg_context * ctx = nullptr;
    Ctx(const std::string & model, int tile, steg_progress_callback cb = nullptr, void * ud = nullptr,
        steg_precision precision = STEG_PRECISION_FP32) {
        steg_context_params p = steg_context_default_params();
        p.device              = STEG_DEVICE_CPU;
        p.precision           = precision;
        p.tile_size           = tile;
        p.progress            = cb;
        p.progress_user_data  = ud;
        ctx                   = steg_init_from_file(model.c_str(), p);
        EXPECT_NE(ctx, nullptr) << steg_last_error();
    }
    ~Ctx() { steg_free(ctx); }
};

class Engine : public ::testing::Test {
  protected:
    void SetUp() override { steg_test::write_random_model(model = dir.file("m.safetensors"), 11); }
    TempDir     dir;
    std::string model;
};

bool same_pixels(const steg_image & a, const steg_image & b) {
    return a.width == b.width && a.height == b.height && a.format == b.format &&
           std::memcmp(a.data, b.data, size_t(a.width) * a.height * steg_format_channels(a.format)) == 0;
}

}  // namespace

TEST_F(Engine, WholeImageEqualsTheNetworkOnTheEightBitGrid) {
    Image cover(37, 29, STEG_FORMAT_RGB8), payload(37, 29, STEG_FORMAT_GRAY8), hybrid(37, 29, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(cover.img, 1);
    steg_test::fill_synthetic(payload.img, 2);
    Ctx c(model, 512);
    ASSERT_EQ(steg_hide(c.ctx, &cover.img, &payload.img, &hybrid.img), STEG_OK) << steg_last_error();

    torch::NoGradGuard g;
    steg::Model        m    = steg::load_model(model);
    auto               host = torch::from_blob(cover.img.data, { 29, 37, 3 }, torch::kUInt8).permute({ 2, 0, 1 }).unsqueeze(0);
    auto               guest = torch::from_blob(payload.img.data, { 1, 1, 29, 37 }, torch::kUInt8);
    auto               oe    = m.encoder->forward(host.to(torch::kFloat32) / 255 - 0.5, guest.to(torch::kFloat32) / 255 - 0.5);
    auto expected = ((oe + 0.5) * 255).round().clamp(0, 255).to(torch::kUInt8)[0].permute({ 1, 2, 0 }).contiguous();
    EXPECT_EQ(std::memcmp(expected.data_ptr<uint8_t>(), hybrid.img.data, 37 * 29 * 3), 0);
}

// For every architecture's reach: rehman2017-phase's decoder also reads the pilots
// round each pixel, and its pilots lie where the whole picture puts them.
TEST_F(Engine, TiledIsBitIdenticalToWholeImageOnOddSizes) {
    const std::string phase = dir.file("phase.safetensors");
    steg::save_model(phase, steg::new_model(steg::kArchitecturePhase, 9, 36, 20));
    for (auto [w, h, tile, model] : { std::tuple{ 97, 61, 32, model }, std::tuple{ 131, 77, 45, model },
                                      std::tuple{ 64, 200, 33, model }, std::tuple{ 97, 61, 32, phase },
                                      std::tuple{ 131, 77, 45, phase } }) {
        Image cover(w, h, STEG_FORMAT_RGB8), payload(w, h, STEG_FORMAT_GRAY8);
        Image whole(w, h, STEG_FORMAT_RGB8), tiled(w, h, STEG_FORMAT_RGB8);
        Image rev_whole(w, h, STEG_FORMAT_GRAY8), rev_tiled(w, h, STEG_FORMAT_GRAY8);
        steg_test::fill_synthetic(cover.img, uint32_t(w));
        steg_test::fill_synthetic(payload.img, uint32_t(h));
        Ctx big(model, 4096), small(model, tile);
        ASSERT_EQ(steg_hide(big.ctx, &cover.img, &payload.img, &whole.img), STEG_OK);
        ASSERT_EQ(steg_hide(small.ctx, &cover.img, &payload.img, &tiled.img), STEG_OK);
        EXPECT_TRUE(same_pixels(whole.img, tiled.img)) << w << "x" << h << " tile " << tile;
        ASSERT_EQ(steg_reveal(big.ctx, &whole.img, &rev_whole.img), STEG_OK);
        ASSERT_EQ(steg_reveal(small.ctx, &whole.img, &rev_tiled.img), STEG_OK);
        EXPECT_TRUE(same_pixels(rev_whole.img, rev_tiled.img)) << w << "x" << h << " tile " << tile << " " << model;
    }
}

TEST_F(Engine, InPlaceHideEqualsOutOfPlace) {
    Image cover(90, 70, STEG_FORMAT_RGB8), payload(90, 70, STEG_FORMAT_GRAY8), hybrid(90, 70, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(cover.img, 5);
    steg_test::fill_synthetic(payload.img, 6);
    Ctx c(model, 32);
    ASSERT_EQ(steg_hide(c.ctx, &cover.img, &payload.img, &hybrid.img), STEG_OK);
    ASSERT_EQ(steg_hide(c.ctx, &cover.img, &payload.img, &cover.img), STEG_OK);  // hybrid is the cover
    EXPECT_TRUE(same_pixels(cover.img, hybrid.img));
}

TEST_F(Engine, RgbaKeepsAlphaAndHidesLikeRgb) {
    const int w = 50, h = 40;
    Image     rgba(w, h, STEG_FORMAT_RGBA8), rgb(w, h, STEG_FORMAT_RGB8), payload(w, h, STEG_FORMAT_GRAY8);
    Image     out_rgba(w, h, STEG_FORMAT_RGBA8), out_rgb(w, h, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(rgba.img, 9);
    steg_test::fill_synthetic(payload.img, 10);
    for (int i = 0; i < w * h; ++i) {
        std::memcpy(rgb.img.data + i * 3, rgba.img.data + i * 4, 3);
    }
    Ctx c(model, 16 + 16);
    ASSERT_EQ(steg_hide(c.ctx, &rgba.img, &payload.img, &out_rgba.img), STEG_OK);
    ASSERT_EQ(steg_hide(c.ctx, &rgb.img, &payload.img, &out_rgb.img), STEG_OK);
    for (int i = 0; i < w * h; ++i) {
        ASSERT_EQ(out_rgba.img.data[i * 4 + 3], rgba.img.data[i * 4 + 3]) << "alpha changed at " << i;
        ASSERT_EQ(std::memcmp(out_rgba.img.data + i * 4, out_rgb.img.data + i * 3, 3), 0) << i;
    }
}

TEST_F(Engine, RowStridesAreRespected) {
    const int w = 33, h = 21, pad = 7;
    Image     cover(w, h, STEG_FORMAT_RGB8), payload(w, h, STEG_FORMAT_GRAY8), hybrid(w, h, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(cover.img, 3);
    steg_test::fill_synthetic(payload.img, 4);
    // The same pixels in buffers with padded rows (as GIMP tiles and video frames have).
    std::vector<uint8_t> cbuf(size_t(h) * (w * 3 + pad), 0xAB), pbuf(size_t(h) * (w + pad), 0xCD),
        hbuf(size_t(h) * (w * 3 + pad), 0xEF);
    for (int y = 0; y < h; ++y) {
        std::memcpy(&cbuf[size_t(y) * (w * 3 + pad)], cover.px(0, y), w * 3);
        std::memcpy(&pbuf[size_t(y) * (w + pad)], payload.px(0, y), w);
    }
    steg_image cs{ w, h, STEG_FORMAT_RGB8, w * 3 + pad, cbuf.data() }, ps{ w, h, STEG_FORMAT_GRAY8, w + pad, pbuf.data() },
        hs{ w, h, STEG_FORMAT_RGB8, w * 3 + pad, hbuf.data() };
    Ctx c(model, 512);
    ASSERT_EQ(steg_hide(c.ctx, &cover.img, &payload.img, &hybrid.img), STEG_OK);
    ASSERT_EQ(steg_hide(c.ctx, &cs, &ps, &hs), STEG_OK);
    for (int y = 0; y < h; ++y) {
        ASSERT_EQ(std::memcmp(&hbuf[size_t(y) * (w * 3 + pad)], hybrid.px(0, y), w * 3), 0) << y;
        for (int k = 0; k < pad; ++k) {
            ASSERT_EQ(hbuf[size_t(y) * (w * 3 + pad) + w * 3 + k], 0xEF) << "padding written in row " << y;
        }
    }
}

TEST_F(Engine, ProgressReachesOneAndCanCancel) {
    Image cover(100, 100, STEG_FORMAT_RGB8), payload(100, 100, STEG_FORMAT_GRAY8), hybrid(100, 100, STEG_FORMAT_RGB8);
    std::vector<float> seen;
    auto               record = [](float f, void * ud) {
        static_cast<std::vector<float> *>(ud)->push_back(f);
        return true;
    };
    {
        Ctx c(model, 32, record, &seen);
        ASSERT_EQ(steg_hide(c.ctx, &cover.img, &payload.img, &hybrid.img), STEG_OK);
    }
    ASSERT_EQ(seen.size(), 16u);  // 4 x 4 tiles
    EXPECT_FLOAT_EQ(seen.back(), 1.0f);
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));

    // Cancelled in the third band of tiles: as steg.h says, the output holds whole rows
    // of the result from the top down (here the first band) and is untouched below.
    const std::vector<uint8_t> full(hybrid.img.data, hybrid.img.data + 100 * 100 * 3);
    std::memset(hybrid.img.data, 7, 100 * 100 * 3);
    int  calls  = 0;
    auto cancel = [](float, void * ud) { return ++*static_cast<int *>(ud) < 10; };
    Ctx  c(model, 32, cancel, &calls);
    EXPECT_EQ(steg_hide(c.ctx, &cover.img, &payload.img, &hybrid.img), STEG_ERR_CANCELLED);
    EXPECT_EQ(calls, 10);
    EXPECT_STREQ(steg_last_error(), "cancelled");
    int done_rows = 0;
    for (int y = 0; y < 100; ++y) {
        const uint8_t * row  = hybrid.img.data + y * 300;
        const bool      done = std::memcmp(row, full.data() + y * 300, 300) == 0;
        const bool      untouched = std::all_of(row, row + 300, [](uint8_t v) { return v == 7; });
        ASSERT_TRUE(done || untouched) << "row " << y << " is half written";
        ASSERT_TRUE(untouched || done_rows == y) << "row " << y << " written below an untouched row";
        done_rows += done && !untouched;
    }
    EXPECT_EQ(done_rows, 32);  // one band of 32-pixel tiles
}

TEST_F(Engine, BadArgumentsAreRefusedWithAReason) {
    Image cover(20, 20, STEG_FORMAT_RGB8), gray(20, 20, STEG_FORMAT_GRAY8), small(10, 20, STEG_FORMAT_GRAY8);
    Image hybrid(20, 20, STEG_FORMAT_RGB8), rgba(20, 20, STEG_FORMAT_RGBA8);
    Ctx   c(model, 512);
    EXPECT_EQ(steg_hide(nullptr, &cover.img, &gray.img, &hybrid.img), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(steg_hide(c.ctx, &gray.img, &gray.img, &hybrid.img), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(steg_last_error()).find("grayscale"), std::string::npos);
    EXPECT_EQ(steg_hide(c.ctx, &cover.img, &small.img, &hybrid.img), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(steg_last_error()).find("10x20"), std::string::npos);
    EXPECT_EQ(steg_hide(c.ctx, &cover.img, &cover.img, &hybrid.img), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(steg_last_error()).find("GRAY8"), std::string::npos);
    EXPECT_EQ(steg_hide(c.ctx, &cover.img, &gray.img, &rgba.img), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(steg_reveal(c.ctx, &gray.img, &gray.img), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(steg_reveal(c.ctx, &cover.img, &small.img), STEG_ERR_INVALID_ARGUMENT);
    steg_image empty{ 0, 0, STEG_FORMAT_RGB8, 0, nullptr };
    EXPECT_EQ(steg_hide(c.ctx, &empty, &gray.img, &hybrid.img), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(steg_last_error()).find("empty"), std::string::npos);
}

TEST_F(Engine, CudaRequestedWithoutCudaSaysSo) {
    if (torch::cuda::is_available()) {
        GTEST_SKIP() << "this machine has CUDA";
    }
    steg_context_params p = steg_context_default_params();
    p.device              = STEG_DEVICE_CUDA;
    EXPECT_EQ(steg_init_from_file(model.c_str(), p), nullptr);
    EXPECT_EQ(steg_last_status(), STEG_ERR_DEVICE);
    EXPECT_NE(std::string(steg_last_error()).find("CUDA"), std::string::npos);
    p.device = STEG_DEVICE_AUTO;
    steg_context * ctx = steg_init_from_file(model.c_str(), p);
    ASSERT_NE(ctx, nullptr);
    EXPECT_STREQ(steg_context_device(ctx), "cpu");
    steg_free(ctx);
}

TEST_F(Engine, MetadataIsReadable) {
    Ctx c(model, 0);
    EXPECT_STREQ(steg_model_meta(c.ctx, "architecture"), "rehman2017");
    EXPECT_EQ(steg_model_meta(c.ctx, "no such key"), nullptr);
    int n = 0;
    while (steg_model_meta_key(c.ctx, n)) {
        ++n;
    }
    EXPECT_GE(n, 4);
}

// The payload score is the share of pixels where the decoder's output stays within the
// pixel range (8 levels of slack), counted once per pixel whatever the tiling. A decoder
// built to output 2 R - 0.5 (zero-centred) leaves the range exactly where R is 255: with
// 29 of 70 columns red, the score is 1 - 29/70.
TEST_F(Engine, PayloadScoreIsTheShareOfDecoderOutputInsideThePixelRange) {
    steg::Model m = steg::new_model(steg::kArchitecture, 3);
    {
        torch::NoGradGuard g;
        auto               p = m.decoder->named_parameters();
        for (auto & kv : p) {
            kv.value().zero_();
        }
        for (const char * conv : { "net.0", "net.2", "net.4", "net.6", "net.8", "net.10" }) {
            p[std::string(conv) + ".weight"][0][0][1][1] = 1.0f;  // channel 0 passes through
        }
        p["net.0.bias"][0]      = 0.5f;  // R + 0.5 >= 0 survives the ReLUs
        p["net.12.weight"][0][0] = 2.0f;
        p["net.12.bias"][0]      = -0.5f;
    }
    steg::save_model(dir.file("s.safetensors"), m);
    Image hybrid(70, 40, STEG_FORMAT_RGB8), payload(70, 40, STEG_FORMAT_GRAY8);
    steg_test::fill_synthetic(hybrid.img, 25);
    for (int y = 0; y < 40; ++y) {
        for (int x = 0; x < 70; ++x) {
            hybrid.img.data[y * hybrid.img.stride + 3 * x] = x < 29 ? 255 : 0;
        }
    }
    for (const int tile : { 512, 32 }) {  // one tile; 3 x 2 tiles with halos
        Ctx   c(dir.file("s.safetensors"), tile);
        float score = -1;
        ASSERT_EQ(steg_reveal_scored(c.ctx, &hybrid.img, &payload.img, &score), STEG_OK) << steg_last_error();
        EXPECT_FLOAT_EQ(score, 1.0f - 29.0f / 70.0f) << "tile " << tile;
        // The payload itself is the clamped output: 255 where R was, 0 elsewhere.
        EXPECT_EQ(payload.img.data[0], 255);
        EXPECT_EQ(payload.img.data[69], 0);
        // Without a score (steg_reveal, stegreveal's path) the payload is byte for byte the same.
        const std::vector<uint8_t> scored(payload.img.data, payload.img.data + 70 * 40);
        std::fill(payload.img.data, payload.img.data + 70 * 40, uint8_t(7));
        ASSERT_EQ(steg_reveal_scored(c.ctx, &hybrid.img, &payload.img, nullptr), STEG_OK);
        EXPECT_TRUE(std::equal(scored.begin(), scored.end(), payload.img.data)) << "tile " << tile;
    }
    // A bias inside the slack (+7 levels) counts as in range; beyond it (+9), as outside.
    for (const auto & [levels, want] : { std::pair{ 7.0f, 1.0f }, std::pair{ 9.0f, 0.0f } }) {
        {
            torch::NoGradGuard g;
            m.decoder->named_parameters()["net.12.weight"].zero_();
            m.decoder->named_parameters()["net.12.bias"].fill_(0.5f + levels / 255.0f);
        }
        steg::save_model(dir.file("s.safetensors"), m);
        Ctx   c(dir.file("s.safetensors"), 32);
        float score = -1;
        ASSERT_EQ(steg_reveal_scored(c.ctx, &hybrid.img, &payload.img, &score), STEG_OK) << steg_last_error();
        EXPECT_EQ(score, want) << levels << " levels over";
    }
}

// A gray model changes brightness only: whatever its encoder outputs, each pixel of the
// hybrid differs from the cover by the same amount in R, G and B (where no channel hits
// 0 or 255), so no hue can shift. Its name comes from the file.
TEST_F(Engine, GrayModelChangesRedGreenAndBlueAlike) {
    Image cover(40, 30, STEG_FORMAT_RGBA8), payload(40, 30, STEG_FORMAT_GRAY8), hybrid(40, 30, STEG_FORMAT_RGBA8);
    steg_test::fill_synthetic(cover.img, 23);
    steg_test::fill_synthetic(payload.img, 24);
    steg::Model m = steg::new_model(steg::kArchitectureGray, 7);
    {
        torch::NoGradGuard g;  // a visible change: the random tail scaled up
        m.encoder->named_parameters()["tail.4.weight"].mul_(8);
    }
    steg::save_model(dir.file("g.safetensors"), m);
    Ctx c(dir.file("g.safetensors"), 512);
    ASSERT_EQ(steg_hide(c.ctx, &cover.img, &payload.img, &hybrid.img), STEG_OK) << steg_last_error();
    EXPECT_STREQ(steg_model_meta(c.ctx, "architecture"), "rehman2017-gray");
    int changed = 0, compared = 0;
    for (int p = 0; p < 40 * 30; ++p) {
        const uint8_t * cv = cover.img.data + 4 * p;
        const uint8_t * hy = hybrid.img.data + 4 * p;
        bool clamped = false;
        for (int k = 0; k < 3; ++k) {
            clamped = clamped || hy[k] == 0 || hy[k] == 255;
        }
        EXPECT_EQ(hy[3], cv[3]) << "alpha at pixel " << p;
        if (clamped) {
            continue;
        }
        ++compared;
        const int dr = hy[0] - cv[0], dg = hy[1] - cv[1], db = hy[2] - cv[2];
        // Rounding each channel to the 8-bit grid may differ by one step.
        ASSERT_LE(std::abs(dr - dg), 1) << "pixel " << p;
        ASSERT_LE(std::abs(dr - db), 1) << "pixel " << p;
        changed += dr != 0;
    }
    EXPECT_GT(compared, 40 * 30 / 2);
    EXPECT_GT(changed, compared / 4);  // it did change the cover
}

// rehman2017-bounded: however large the encoder's output, no pixel moves by more than the
// file's change_bound, and R, G and B move alike; the bound is read from the file.
TEST_F(Engine, BoundedModelNeverMovesAPixelByMoreThanItsBound) {
    Image cover(40, 30, STEG_FORMAT_RGB8), payload(40, 30, STEG_FORMAT_GRAY8), hybrid(40, 30, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(cover.img, 25);
    steg_test::fill_synthetic(payload.img, 26);
    for (const double bound : { 2.0, 6.5 }) {
        steg::Model m  = steg::new_model(steg::kArchitectureBounded, 7);
        m.change_bound = bound;
        {
            torch::NoGradGuard g;  // a change far past the bound: the random tail scaled up
            m.encoder->named_parameters()["tail.4.weight"].mul_(50);
        }
        steg::save_model(dir.file("b.safetensors"), m);
        Ctx c(dir.file("b.safetensors"), 512);
        ASSERT_EQ(steg_hide(c.ctx, &cover.img, &payload.img, &hybrid.img), STEG_OK) << steg_last_error();
        EXPECT_STREQ(steg_model_meta(c.ctx, "architecture"), "rehman2017-bounded");
        EXPECT_EQ(std::strtod(steg_model_meta(c.ctx, "change_bound"), nullptr), bound);
        int largest = 0;
        for (int p = 0; p < 40 * 30; ++p) {
            const uint8_t * cv = cover.img.data + 3 * p;
            const uint8_t * hy = hybrid.img.data + 3 * p;
            for (int k = 0; k < 3; ++k) {
                const int d = hy[k] - cv[k];
                ASSERT_LE(std::abs(d), int(std::ceil(bound))) << "pixel " << p << " bound " << bound;
                largest = std::max(largest, std::abs(d));
                if (hy[k] != 0 && hy[k] != 255 && hy[0] != 0 && hy[0] != 255) {
                    ASSERT_LE(std::abs(d - (hy[0] - cv[0])), 1) << "pixel " << p;  // rounding apart, alike
                }
            }
        }
        EXPECT_GE(largest, int(std::floor(bound)));  // the bound was reached: it is what held the change
    }
}

// The 8-bit hybrid (H x W x 3) that `model` makes of an RGB cover and a gray payload,
// run by hand on the whole image.
static torch::Tensor hybrid_by_hand(steg::Model & model, const steg_image & cover, const steg_image & payload) {
    torch::NoGradGuard g;
    auto host  = torch::from_blob(cover.data, { cover.height, cover.width, 3 }, torch::kUInt8).permute({ 2, 0, 1 }).unsqueeze(0);
    auto guest = torch::from_blob(payload.data, { 1, 1, payload.height, payload.width }, torch::kUInt8);
    auto h     = host.to(torch::kFloat32) / 255 - 0.5;
    auto gz    = guest.to(torch::kFloat32) / 255 - 0.5;
    auto oe    = model.hybrid(h, model.encoder->forward(h, gz), gz);
    return ((oe + 0.5) * 255).round().clamp(0, 255).to(torch::kUInt8)[0].permute({ 1, 2, 0 }).contiguous();
}

// rehman2017-coset's fixed layer: whatever the cover (extremes included), the hybrid's
// R + G + B is the symbol modulo the period, by the least move that stays in 0..255, in
// R, G and B alike (one level apart at most) unless a channel stops at 0 or 255.
TEST_F(Engine, CosetHybridCarriesEverySymbolOnAnyCover) {
    const int           m = 36;
    std::vector<float>  levels;
    std::mt19937        rng(5);
    for (int i = 0; i < 400; ++i) {  // random pixels, then the corners of the cube and their neighbours
        for (int k = 0; k < 3; ++k) levels.push_back(float(rng() % 256));
    }
    for (int v : { 0, 1, 2, 17, 128, 250, 254, 255 }) {
        for (int w : { 0, 5, 255 }) {
            levels.insert(levels.end(), { float(v), float(w), float(v) });
            levels.insert(levels.end(), { float(v), float(v), float(v) });
        }
    }
    const int64_t n     = int64_t(levels.size() / 3);
    torch::Tensor cover = torch::from_blob(levels.data(), { n, 3 }).t().reshape({ 1, 3, n, 1 }) / 255.0 - 0.5;
    torch::Tensor c     = ((cover + 0.5) * 255).round().to(torch::kInt32).reshape({ 3, n });
    torch::Tensor sum   = c.sum(0);
    for (int symbol = 0; symbol < m; ++symbol) {
        torch::Tensor s = torch::full({ 1, 1, n, 1 }, (symbol + 0.2) / m);  // anywhere in the symbol's step
        torch::Tensor h = steg::coset_hybrid(cover, s, m);
        torch::Tensor hl = ((h + 0.5) * 255).round();
        ASSERT_LT((((h + 0.5) * 255) - hl).abs().max().item<float>(), 1e-3) << "whole levels";
        torch::Tensor hi = hl.to(torch::kInt32).reshape({ 3, n });
        ASSERT_GE(hi.min().item<int>(), 0);
        ASSERT_LE(hi.max().item<int>(), 255);
        for (int64_t p = 0; p < n; ++p) {
            const int before = sum[p].item<int>(), after = hi.select(1, p).sum().item<int>();
            ASSERT_EQ(after % m, symbol) << "pixel " << p;
            const int move = after - before;
            // The nearest sum with that residue, unless it lies outside 0..765.
            const bool near_end = before < m || before > 765 - m;
            ASSERT_LE(std::abs(move), near_end ? m - 1 : m / 2) << "pixel " << p << " sum " << before;
            int lo = 255, hiwant = -255;
            bool clamped = false;
            for (int k = 0; k < 3; ++k) {
                const int d = hi[k][p].item<int>() - c[k][p].item<int>();
                lo = std::min(lo, d), hiwant = std::max(hiwant, d);
                clamped = clamped || hi[k][p].item<int>() == 0 || hi[k][p].item<int>() == 255;
            }
            if (!clamped) {
                ASSERT_LE(hiwant - lo, 1) << "pixel " << p << ": R, G and B move alike";
            }
        }
    }
}

// A rehman2017-coset model file: its period comes back from the file, a hide writes
// the coset layer's hybrid of the encoder's symbols (the same bytes as the model run by
// hand), and a period outside 3..255 is refused in words.
TEST_F(Engine, CosetModelReadsItsPeriodAndRefusesABadOne) {
    Image cover(40, 30, STEG_FORMAT_RGB8), payload(40, 30, STEG_FORMAT_GRAY8), hybrid(40, 30, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(cover.img, 27);
    steg_test::fill_synthetic(payload.img, 28);
    steg::Model model = steg::new_model(steg::kArchitectureCoset, 7, 30);
    steg::save_model(dir.file("c.safetensors"), model);
    {
        Ctx c(dir.file("c.safetensors"), 512);
        ASSERT_EQ(steg_hide(c.ctx, &cover.img, &payload.img, &hybrid.img), STEG_OK) << steg_last_error();
        EXPECT_STREQ(steg_model_meta(c.ctx, "architecture"), "rehman2017-coset");
        EXPECT_STREQ(steg_model_meta(c.ctx, "coset_period"), "30");
        const torch::Tensor expected = hybrid_by_hand(model, cover.img, payload.img);
        EXPECT_EQ(std::memcmp(expected.data_ptr<uint8_t>(), hybrid.img.data, 40 * 30 * 3), 0);
        EXPECT_FALSE(std::equal(cover.img.data, cover.img.data + 40 * 30 * 3, hybrid.img.data));
        Image revealed(40, 30, STEG_FORMAT_GRAY8);
        ASSERT_EQ(steg_reveal(c.ctx, &hybrid.img, &revealed.img), STEG_OK) << steg_last_error();
    }
    for (const int bad : { 2, 256 }) {
        model.coset_period = bad;
        steg::save_model(dir.file("bad.safetensors"), model);
        steg_context_params p = steg_context_default_params();
        p.device              = STEG_DEVICE_CPU;
        EXPECT_EQ(steg_init_from_file(dir.file("bad.safetensors").c_str(), p), nullptr) << bad;
        EXPECT_NE(std::string(steg_last_error()).find("coset_period"), std::string::npos) << steg_last_error();
    }
    for (const char * bad : { "2", "256", "36.5", "", "x" }) {
        try {
            steg::parse_coset_period(bad, "f");
            ADD_FAILURE() << bad;
        } catch (const steg::Error & e) {
            EXPECT_NE(std::string(e.what()).find("coset_period"), std::string::npos);
        }
    }
    EXPECT_EQ(steg::parse_coset_period("36", "f"), 36);
}

// rehman2017-phase's fixed layer: on any cover the hybrid's luma lies on the chosen phase
// modulo the period, reached by a change equal in R, G and B of at most half a period
// (a whole one the other way round where half would leave 0..255); a pixel is clamped
// only where neither way fits. The decoder's reading of it moves by at most 2 pi /
// period per level of gray noise on the circle (sin, cos), and by 4 / period on the
// line, which reads every phase the encoder uses, 0 to 2/3, as -4/3 to 4/3; a shift of
// the whole luma moves the pilots' offset by as much and the reading not at all.
TEST_F(Engine, PhaseHybridPutsTheLumaOnTheChosenPhase) {
    const double       period = 16;
    std::vector<float> levels;
    std::mt19937       rng(11);
    for (int i = 0; i < 400; ++i) {
        for (int k = 0; k < 3; ++k) levels.push_back(float(rng() % 256));
    }
    for (int v : { 0, 1, 7, 128, 248, 255 }) {
        for (int w : { 0, 5, 255 }) {
            levels.insert(levels.end(), { float(v), float(w), float(v) });
            levels.insert(levels.end(), { float(v), float(v), float(v) });
        }
    }
    const int64_t n     = int64_t(levels.size() / 3);
    torch::Tensor cover = torch::from_blob(levels.data(), { n, 3 }).t().reshape({ 1, 3, n, 1 }).clone() / 255.0 - 0.5;
    torch::Tensor c     = ((cover + 0.5) * 255).reshape({ 3, n });
    int           clamped = 0;
    for (double s : { 0.0, 0.1, 0.37, 0.5, 0.8, 1.0 }) {
        torch::Tensor h  = steg::phase_hybrid(cover, torch::full({ 1, 1, n, 1 }, s), period);
        torch::Tensor hl = ((h + 0.5) * 255).reshape({ 3, n });
        ASSERT_GE(hl.min().item<float>(), 0.f);
        ASSERT_LE(hl.max().item<float>(), 255.f);
        torch::Tensor luma = steg::luma_levels(h).reshape({ n });
        for (int64_t p = 0; p < n; ++p) {
            const float d[3] = { hl[0][p].item<float>() - c[0][p].item<float>(), hl[1][p].item<float>() - c[1][p].item<float>(),
                                 hl[2][p].item<float>() - c[2][p].item<float>() };
            const bool  same = std::abs(d[0] - d[1]) < 1e-3 && std::abs(d[1] - d[2]) < 1e-3;
            const float lo = std::min({ c[0][p].item<float>(), c[1][p].item<float>(), c[2][p].item<float>() });
            const float hi = std::max({ c[0][p].item<float>(), c[1][p].item<float>(), c[2][p].item<float>() });
            if (!same) {  // clamped: this pixel's colours span more than 255 - period levels
                ASSERT_GT(hi - lo, 255 - period) << "pixel " << p;
                ++clamped;
                continue;
            }
            double off = std::fmod(luma[p].item<double>() - s * period, period);
            off        = std::min(std::abs(off), period - std::abs(off));
            ASSERT_LT(off, 2e-3) << "pixel " << p << " phase " << s;
            const bool near_end = lo < period / 2 || hi > 255 - period / 2;
            ASSERT_LE(std::abs(d[0]), (near_end ? period : period / 2) + 1e-3) << "pixel " << p;
        }
    }
    EXPECT_GT(clamped, 0) << "the extremes of the cube were tried";
    // The decoder's planes read a hybrid whose pilots carry the middle phase, as the
    // model writes them (here every fourth pixel of the column). One level of gray noise
    // on the other pixels moves their reading by 2 sin(pi / period) on the circle and
    // 4 / period on the line; the same level on every pixel, pilots included (a
    // channel's shift of the luma), moves nothing: the pilots measure it.
    const torch::Tensor pilots = steg::phase_pilots(n, 1, {}, torch::kCPU);
    auto with_pilots = [&](double s) {
        return steg::phase_hybrid(cover, torch::full({ 1, 1, n, 1 }, s).masked_fill(pilots, steg::kPhaseSpan / 2), period);
    };
    torch::Tensor h     = with_pilots(0.3);
    torch::Tensor moved = steg::luma_phase(h + pilots.logical_not() / 255.0, period) - steg::luma_phase(h, period);
    torch::Tensor dist  = moved.narrow(1, 0, 2).pow(2).sum(1, true).sqrt().masked_select(pilots.logical_not());
    EXPECT_LE(dist.max().item<double>(), 2 * std::sin(std::numbers::pi / period) + 1e-4);
    EXPECT_GT(dist.min().item<double>(), 2 * std::sin(std::numbers::pi / period) - 1e-3);
    EXPECT_NEAR(moved.narrow(1, 2, 1).masked_select(pilots.logical_not()).abs().max().item<double>(), 4 / period, 1e-3);
    const int64_t random = 360;  // the random pixels, away from the cube's corners (whose pilots may clamp)
    for (double shift : { -7.0, -3.5, 2.0, 6.5 }) {
        const torch::Tensor o = steg::phase_offset(h + shift / 255, period, {}) - steg::phase_offset(h, period, {});
        EXPECT_NEAR(o.narrow(2, 0, random).median().item<double>(), shift / period, 1e-3) << shift;
        const torch::Tensor read = steg::phase_read(h + shift / 255, period) - steg::phase_read(h, period);
        EXPECT_LT(read.narrow(2, 0, random).abs().max().item<double>(), 1e-3) << shift;
    }
    for (double s : { 0.0, 0.25, 0.5, 2.0 / 3.0 }) {  // the line reads the phase linearly
        torch::Tensor line = steg::luma_phase(with_pilots(s), period).narrow(1, 2, 1);
        // (pixels clamped at 0 or 255 aside: their median is the phase's)
        EXPECT_NEAR(line.median().item<double>(), 4 * (s + 1.0 / 6) - 2, 1e-3) << s;
    }
}

// A rehman2017-phase model file: its period comes back from the file, a hide writes
// the phase layer's hybrid of the encoder's phases rounded to 8 bits (the same bytes as
// the model run by hand), and a period outside 2..255 is refused in words.
TEST_F(Engine, PhaseModelReadsItsPeriodAndRefusesABadOne) {
    Image cover(40, 30, STEG_FORMAT_RGB8), payload(40, 30, STEG_FORMAT_GRAY8), hybrid(40, 30, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(cover.img, 37);
    steg_test::fill_synthetic(payload.img, 38);
    steg::Model model = steg::new_model(steg::kArchitecturePhase, 7, 36, 12.5);
    steg::save_model(dir.file("p.safetensors"), model);
    {
        Ctx c(dir.file("p.safetensors"), 512);
        ASSERT_EQ(steg_hide(c.ctx, &cover.img, &payload.img, &hybrid.img), STEG_OK) << steg_last_error();
        EXPECT_STREQ(steg_model_meta(c.ctx, "architecture"), "rehman2017-phase");
        EXPECT_STREQ(steg_model_meta(c.ctx, "phase_period"), "12.5");
        const torch::Tensor expected = hybrid_by_hand(model, cover.img, payload.img);
        int                 differ   = 0;  // a sample exactly half-way between two levels may round either way
        for (int i = 0; i < 40 * 30 * 3; ++i) {
            const int e = expected.data_ptr<uint8_t>()[i], got = hybrid.img.data[i];
            ASSERT_LE(std::abs(e - got), 1) << i;
            differ += e != got;
        }
        EXPECT_LT(differ, 40 * 30 * 3 / 100);
        EXPECT_FALSE(std::equal(cover.img.data, cover.img.data + 40 * 30 * 3, hybrid.img.data));
        Image revealed(40, 30, STEG_FORMAT_GRAY8);
        ASSERT_EQ(steg_reveal(c.ctx, &hybrid.img, &revealed.img), STEG_OK) << steg_last_error();
        const steg::Model loaded = steg::load_model(dir.file("p.safetensors"));
        EXPECT_EQ(loaded.phase_period, 12.5);
        EXPECT_EQ(loaded.decoder->phase_period, 12.5) << "the decoder reads the phase on the file's circle";
    }
    for (const double bad : { 1.5, 256.0 }) {
        model.phase_period = bad;
        steg::save_model(dir.file("bad.safetensors"), model);
        steg_context_params p = steg_context_default_params();
        p.device              = STEG_DEVICE_CPU;
        EXPECT_EQ(steg_init_from_file(dir.file("bad.safetensors").c_str(), p), nullptr) << bad;
        EXPECT_NE(std::string(steg_last_error()).find("phase_period"), std::string::npos) << steg_last_error();
    }
    for (const char * bad : { "1", "300", "nan", "", "16x" }) {
        try {
            steg::parse_phase_period(bad, "f");
            ADD_FAILURE() << bad;
        } catch (const steg::Error & e) {
            EXPECT_NE(std::string(e.what()).find("phase_period"), std::string::npos);
        }
    }
    EXPECT_EQ(steg::parse_phase_period("16", "f"), 16.0);
}

// A residual model whose encoder outputs no change hides nothing: the hybrid is the
// cover, bit for bit, where the paper's architecture would output flat gray.
TEST_F(Engine, ResidualModelAddsItsOutputToTheCover) {
    Image cover(40, 30, STEG_FORMAT_RGBA8), payload(40, 30, STEG_FORMAT_GRAY8), hybrid(40, 30, STEG_FORMAT_RGBA8);
    steg_test::fill_synthetic(cover.img, 21);
    steg_test::fill_synthetic(payload.img, 22);
    for (const float shift : { 0.0f, 2.0f }) {
        steg::Model m = steg::new_model(steg::kArchitectureResidual);
        {
            torch::NoGradGuard g;
            m.encoder->named_parameters()["tail.4.weight"].zero_();
            m.encoder->named_parameters()["tail.4.bias"].fill_(shift / 255.0f);
        }
        steg::save_model(dir.file("r.safetensors"), m);
        Ctx c(dir.file("r.safetensors"), 512);
        ASSERT_EQ(steg_hide(c.ctx, &cover.img, &payload.img, &hybrid.img), STEG_OK) << steg_last_error();
        EXPECT_STREQ(steg_model_meta(c.ctx, "architecture"), "rehman2017-residual");
        for (int i = 0; i < 40 * 30 * 4; ++i) {
            const int want = (i % 4 == 3) ? cover.img.data[i] : std::min(255, cover.img.data[i] + int(shift));
            ASSERT_EQ(hybrid.img.data[i], want) << "sample " << i << " shift " << shift;
        }
    }
}

// ---- precision ----------------------------------------------------------------------

namespace {

// Whether a bf16 context opens (any valid model file will do).
bool cpu_has_bf16(const std::string & model) {
    steg_context_params p = steg_context_default_params();
    p.device              = STEG_DEVICE_CPU;
    p.precision           = STEG_PRECISION_BF16;
    steg_context * ctx    = steg_init_from_file(model.c_str(), p);
    steg_free(ctx);
    return ctx != nullptr;
}

double psnr_gray(const steg_image & a, const steg_image & b) {
    return steg_psnr(&a, &b);
}

}  // namespace

TEST_F(Engine, PrecisionChoicesSayWhatTheyRun) {
    const bool native = cpu_has_bf16(model);
    {
        Ctx c(model, 512, nullptr, nullptr, STEG_PRECISION_FP32);
        EXPECT_STREQ(steg_context_precision(c.ctx), "fp32");
    }
    {
        Ctx c(model, 512, nullptr, nullptr, STEG_PRECISION_AUTO);
        EXPECT_STREQ(steg_context_precision(c.ctx), "fp32");  // no bf16 within the bounds today
    }
    steg_context_params p = steg_context_default_params();
    p.device              = STEG_DEVICE_CPU;
    p.precision           = STEG_PRECISION_BF16;
    steg_context * ctx    = steg_init_from_file(model.c_str(), p);
    if (native) {
        ASSERT_NE(ctx, nullptr) << steg_last_error();
        EXPECT_STREQ(steg_context_precision(ctx), "bf16");
    } else {
        EXPECT_EQ(ctx, nullptr);
        EXPECT_EQ(steg_last_status(), STEG_ERR_DEVICE);
        EXPECT_NE(std::string(steg_last_error()).find("no native bf16"), std::string::npos);
    }
    steg_free(ctx);
    p.precision = STEG_PRECISION_FP16;  // CUDA's alone
    ctx         = steg_init_from_file(model.c_str(), p);
    EXPECT_EQ(ctx, nullptr);
    EXPECT_EQ(steg_last_status(), STEG_ERR_DEVICE);
    EXPECT_NE(std::string(steg_last_error()).find("fp16 runs on CUDA only"), std::string::npos) << steg_last_error();
    steg_free(ctx);
    std::memset(&p.precision, 0x7f, sizeof p.precision);  // a value no enum has
    EXPECT_EQ(steg_init_from_file(model.c_str(), p), nullptr);
    EXPECT_EQ(steg_last_status(), STEG_ERR_INVALID_ARGUMENT);
}

// The bounds docs/performance.md states, on the shipped model and two real photo pairs
// (measured on 50 BSDS pairs: bf16 decoder mean +0.005 dB, worst -0.28 dB; bf16
// encoder mean -0.74 dB, worst -1.85 dB, samples off by at most 5 levels). auto's
// hybrid is fp32's, bit for bit; a hybrid made in either precision reveals with the
// other's decoder.
TEST_F(Engine, Bf16StaysWithinItsBoundsOnPhotos) {
    const auto photos = steg_test::real_photos();
    if (photos.size() < 4 || steg_test::shipped_model().empty()) {
        GTEST_SKIP() << "needs python3-skimage's photos and the shipped model";
    }
    if (!cpu_has_bf16(steg_test::shipped_model())) {
        GTEST_SKIP() << "this CPU has no native bf16";
    }
    const std::string shipped = steg_test::shipped_model();
    Ctx fp32(shipped, 512, nullptr, nullptr, STEG_PRECISION_FP32), bf16(shipped, 512, nullptr, nullptr, STEG_PRECISION_BF16),
        autop(shipped, 512, nullptr, nullptr, STEG_PRECISION_AUTO);
    for (auto [ci, pi] : { std::pair{ 0, 3 }, std::pair{ 1, 2 } }) {  // astronaut <- camera, coffee <- chelsea
        Image cover, secret, payload;
        ASSERT_EQ(steg_image_load(photos[ci].c_str(), 0, &cover.img), STEG_OK);
        ASSERT_EQ(steg_image_load(photos[pi].c_str(), 0, &secret.img), STEG_OK);
        ASSERT_EQ(steg_payload_prepare(&secret.img, cover.img.width, cover.img.height, STEG_FIT_SCALE, STEG_CHANNEL_LUMA,
                                       &payload.img),
                  STEG_OK);
        const int w = cover.img.width, h = cover.img.height;
        Image     h32(w, h, cover.img.format), h16(w, h, cover.img.format), hauto(w, h, cover.img.format);
        ASSERT_EQ(steg_hide(fp32.ctx, &cover.img, &payload.img, &h32.img), STEG_OK);
        ASSERT_EQ(steg_hide(bf16.ctx, &cover.img, &payload.img, &h16.img), STEG_OK);
        ASSERT_EQ(steg_hide(autop.ctx, &cover.img, &payload.img, &hauto.img), STEG_OK);
        EXPECT_TRUE(same_pixels(h32.img, hauto.img)) << photos[ci] << ": auto's encoder is fp32";

        const size_t n      = size_t(w) * h * steg_format_channels(cover.img.format);
        int          max_d  = 0;
        size_t       differ = 0;
        for (size_t i = 0; i < n; ++i) {
            const int d = std::abs(int(h32.img.data[i]) - int(h16.img.data[i]));
            max_d       = std::max(max_d, d);
            differ += d != 0;
        }
        // A sample moves by at most 8 levels; with a coset model a symbol one step off
        // may take the other way round the coset (the sum's whole move, up to one period).
        const char * period = steg_model_meta(fp32.ctx, "coset_period");
        EXPECT_LE(max_d, period ? std::atoi(period) - 1 : 8) << photos[ci];
        EXPECT_LT(double(differ) / double(n), 0.7) << photos[ci];
        EXPECT_GT(steg_psnr(&cover.img, &h16.img), steg_psnr(&cover.img, &h32.img) - 0.5) << photos[ci];

        // Revealed PSNR for each encoder x decoder.
        double r[2][2];
        const steg_image * hybrids[2] = { &h32.img, &h16.img };
        steg_context *     decoders[2] = { fp32.ctx, bf16.ctx };
        for (int e = 0; e < 2; ++e) {
            for (int d = 0; d < 2; ++d) {
                Image out(w, h, STEG_FORMAT_GRAY8);
                ASSERT_EQ(steg_reveal(decoders[d], hybrids[e], &out.img), STEG_OK);
                r[e][d] = psnr_gray(payload.img, out.img);
            }
        }
        EXPECT_GT(r[0][1], r[0][0] - 0.5) << photos[ci] << ": the bf16 decoder";
        EXPECT_GT(r[1][0], r[0][0] - 2.5) << photos[ci] << ": the bf16 encoder";
        EXPECT_NEAR(r[1][1], r[1][0], 0.5) << photos[ci] << ": a bf16 hybrid, either decoder";
    }
}
