// SPDX-License-Identifier: MIT
// Hide and reveal from file to file, band by band (steg_hide_file, steg_reveal_file): the
// same pixels, payload, PSNR and score as loading whole and calling steg_hide and
// steg_reveal_scored; a file that turns out damaged half-way leaves no output behind.
#include "test-util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

using steg_test::Image;
using steg_test::TempDir;

namespace {

class Stream : public ::testing::Test {
  protected:
    void SetUp() override {
        steg_test::write_random_model(model = dir.file("m.safetensors"), 5);
        steg_context_params p = steg_context_default_params();
        p.device              = STEG_DEVICE_CPU;
        p.tile_size           = 48;  // many bands and tiles on a small image
        ctx                   = steg_init_from_file(model.c_str(), p);
        ASSERT_NE(ctx, nullptr) << steg_last_error();
    }
    void TearDown() override { steg_free(ctx); }

    Image load(const std::string & path) {
        Image img;
        EXPECT_EQ(steg_image_load(path.c_str(), 0, &img.img), STEG_OK) << steg_last_error();
        return img;
    }

    TempDir        dir;
    std::string    model;
    steg_context * ctx = nullptr;
};

bool same_pixels(const steg_image & a, const steg_image & b) {
    return a.width == b.width && a.height == b.height && a.format == b.format &&
           std::memcmp(a.data, b.data, size_t(a.width) * a.height * steg_format_channels(a.format)) == 0;
}

}  // namespace

TEST_F(Stream, FileCallsEqualTheInMemoryCalls) {
    // A payload of another shape and size, so that it is resized band by band.
    Image secret(157, 211, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(secret.img, 3);
    struct Case {
        steg_format format;
        const char *name;
        steg_fit    fit;
    };
    for (const Case & k : { Case{ STEG_FORMAT_RGB8, "cover.png", STEG_FIT_SCALE },
                            Case{ STEG_FORMAT_RGBA8, "cover-rgba.png", STEG_FIT_LETTERBOX },
                            Case{ STEG_FORMAT_RGB8, "cover.jpg", STEG_FIT_LETTERBOX } }) {  // read whole
        SCOPED_TRACE(k.name);
        Image cover_src(301, 203, k.format);
        steg_test::fill_synthetic(cover_src.img, 4);
        const std::string cover_path = dir.file(k.name);
        ASSERT_EQ(steg_image_save(cover_path.c_str(), &cover_src.img, STEG_SAVE_ALLOW_LOSSY), STEG_OK);

        // In memory.
        Image cover = load(cover_path), payload, hybrid(301, 203, cover.img.format), revealed(301, 203, STEG_FORMAT_GRAY8);
        ASSERT_EQ(steg_payload_prepare(&secret.img, 301, 203, k.fit, STEG_CHANNEL_LUMA, &payload.img), STEG_OK);
        ASSERT_EQ(steg_hide(ctx, &cover.img, &payload.img, &hybrid.img), STEG_OK) << steg_last_error();
        float score = 0;
        ASSERT_EQ(steg_reveal_scored(ctx, &hybrid.img, &revealed.img, &score), STEG_OK);

        // File to file.
        double psnr = 0;
        ASSERT_EQ(steg_hide_file(ctx, cover_path.c_str(), &secret.img, k.fit, STEG_CHANNEL_LUMA,
                                 dir.file("h.png").c_str(), dir.file("p.png").c_str(), 0, 0, &psnr),
                  STEG_OK)
            << steg_last_error();
        EXPECT_TRUE(same_pixels(load(dir.file("h.png")).img, hybrid.img));
        EXPECT_TRUE(same_pixels(load(dir.file("p.png")).img, payload.img));
        EXPECT_EQ(psnr, steg_psnr(&cover.img, &hybrid.img));
        float file_score = 0;
        ASSERT_EQ(steg_reveal_file(ctx, dir.file("h.png").c_str(), dir.file("r.png").c_str(), 0, 0, &file_score),
                  STEG_OK)
            << steg_last_error();
        EXPECT_TRUE(same_pixels(load(dir.file("r.png")).img, revealed.img));
        EXPECT_EQ(file_score, score);

        int32_t     w = 0, h = 0;
        steg_format f = STEG_FORMAT_GRAY8;
        ASSERT_EQ(steg_image_probe(cover_path.c_str(), 0, &w, &h, &f), STEG_OK);
        EXPECT_EQ(w, 301);
        EXPECT_EQ(h, 203);
        EXPECT_EQ(f, cover.img.format);
    }
}

TEST_F(Stream, DamageFoundHalfWayLeavesNoOutput) {
    Image cover(300, 400, STEG_FORMAT_RGB8), secret(64, 64, STEG_FORMAT_GRAY8);
    steg_test::fill_synthetic(cover.img, 7);
    steg_test::fill_synthetic(secret.img, 8);
    ASSERT_EQ(steg_image_save(dir.file("cover.png").c_str(), &cover.img, 0), STEG_OK);
    // Cut in the middle of the pixel data: the first bands decode, then the file ends.
    const std::string bytes = steg_test::read_file(dir.file("cover.png"));
    steg_test::write_file(dir.file("cut.png"), bytes.substr(0, bytes.size() * 2 / 3));
    std::filesystem::create_directories(dir.file("out"));
    EXPECT_EQ(steg_hide_file(ctx, dir.file("cut.png").c_str(), &secret.img, STEG_FIT_SCALE, STEG_CHANNEL_LUMA,
                             dir.file("out/h.png").c_str(), dir.file("out/p.png").c_str(), 0, 0, nullptr),
              STEG_ERR_IO);
    EXPECT_NE(std::string(steg_last_error()).find("truncated"), std::string::npos) << steg_last_error();
    EXPECT_EQ(steg_reveal_file(ctx, dir.file("cut.png").c_str(), dir.file("out/r.png").c_str(), 0, 0, nullptr),
              STEG_ERR_IO);
    EXPECT_TRUE(std::filesystem::is_empty(dir.file("out")));

    // Refused before any work: a gray cover, a missing one, a JPEG hybrid without leave.
    Image gray(32, 32, STEG_FORMAT_GRAY8);
    steg_test::fill_synthetic(gray.img, 9);
    ASSERT_EQ(steg_image_save(dir.file("gray.png").c_str(), &gray.img, 0), STEG_OK);
    EXPECT_EQ(steg_hide_file(ctx, dir.file("gray.png").c_str(), &secret.img, STEG_FIT_SCALE, STEG_CHANNEL_LUMA,
                             dir.file("out/h.png").c_str(), nullptr, 0, 0, nullptr),
              STEG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(steg_last_error()).find("grayscale"), std::string::npos) << steg_last_error();
    EXPECT_EQ(steg_hide_file(ctx, dir.file("none.png").c_str(), &secret.img, STEG_FIT_SCALE, STEG_CHANNEL_LUMA,
                             dir.file("out/h.png").c_str(), nullptr, 0, 0, nullptr),
              STEG_ERR_IO);
    EXPECT_EQ(steg_hide_file(ctx, dir.file("cover.png").c_str(), &secret.img, STEG_FIT_SCALE, STEG_CHANNEL_LUMA,
                             dir.file("out/h.jpg").c_str(), nullptr, 0, 0, nullptr),
              STEG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(steg_hide_file(ctx, dir.file("cover.png").c_str(), &secret.img, STEG_FIT_SCALE, STEG_CHANNEL_LUMA,
                             dir.file("out/h.png").c_str(), nullptr, 0, 1000, nullptr),
              STEG_ERR_IO);  // over max_pixels
    EXPECT_TRUE(std::filesystem::is_empty(dir.file("out")));
}
