// SPDX-License-Identifier: MIT
// Payload preparation: one channel (BT.601 luma or a chosen channel), fitted to the
// cover by antialiased scaling or letterboxing.
#include "test-util.h"

#include <gtest/gtest.h>

#include <cstring>

using steg_test::Image;

namespace {

Image prepared(const steg_image & src, int w, int h, steg_fit fit, steg_channel ch) {
    Image out;
    EXPECT_EQ(steg_payload_prepare(&src, w, h, fit, ch, &out.img), STEG_OK) << steg_last_error();
    return out;
}

}  // namespace

TEST(Payload, LumaAndChannels) {
    Image src(2, 1, STEG_FORMAT_RGB8);
    const uint8_t px[6] = { 200, 100, 50, 0, 255, 0 };
    std::memcpy(src.img.data, px, 6);
    auto luma = prepared(src.img, 2, 1, STEG_FIT_SCALE, STEG_CHANNEL_LUMA);
    EXPECT_EQ(luma.img.format, STEG_FORMAT_GRAY8);
    EXPECT_EQ(luma.img.data[0], 124);  // 0.299*200 + 0.587*100 + 0.114*50 = 124.2
    EXPECT_EQ(luma.img.data[1], 150);  // 0.587*255 = 149.7
    EXPECT_EQ(prepared(src.img, 2, 1, STEG_FIT_SCALE, STEG_CHANNEL_R).img.data[0], 200);
    EXPECT_EQ(prepared(src.img, 2, 1, STEG_FIT_SCALE, STEG_CHANNEL_G).img.data[0], 100);
    EXPECT_EQ(prepared(src.img, 2, 1, STEG_FIT_SCALE, STEG_CHANNEL_B).img.data[0], 50);
}

TEST(Payload, SameSizeGrayIsCopiedExactly) {
    Image src(31, 19, STEG_FORMAT_GRAY8);
    steg_test::fill_synthetic(src.img, 4);
    auto out = prepared(src.img, 31, 19, STEG_FIT_LETTERBOX, STEG_CHANNEL_B);
    EXPECT_EQ(std::memcmp(out.img.data, src.img.data, 31 * 19), 0);
}

TEST(Payload, ShrinkingIsAntialiased) {
    // A one-pixel checkerboard shrunk 4x must become even gray, not a pattern of 0 and 255.
    Image src(64, 64, STEG_FORMAT_GRAY8);
    for (int y = 0; y < 64; ++y) {
        for (int x = 0; x < 64; ++x) {
            *src.px(x, y) = ((x + y) % 2) ? 255 : 0;
        }
    }
    auto out = prepared(src.img, 16, 16, STEG_FIT_SCALE, STEG_CHANNEL_LUMA);
    for (int i = 0; i < 16 * 16; ++i) {
        EXPECT_NEAR(out.img.data[i], 127.5, 12) << i;
    }
}

TEST(Payload, ScalingKeepsFlatAreasFlat) {
    Image src(40, 30, STEG_FORMAT_RGB8);
    std::memset(src.img.data, 90, 40 * 30 * 3);
    for (auto [w, h] : { std::pair{ 100, 75 }, std::pair{ 13, 7 }, std::pair{ 40, 300 } }) {
        auto out = prepared(src.img, w, h, STEG_FIT_SCALE, STEG_CHANNEL_LUMA);
        for (int i = 0; i < w * h; ++i) {
            ASSERT_EQ(out.img.data[i], 90) << w << "x" << h << " at " << i;
        }
    }
}

TEST(Payload, LetterboxKeepsAspectWithBlackBars) {
    Image src(100, 50, STEG_FORMAT_GRAY8);
    std::memset(src.img.data, 255, 100 * 50);
    auto out = prepared(src.img, 80, 80, STEG_FIT_LETTERBOX, STEG_CHANNEL_LUMA);  // content 80x40 at y 20
    for (int y = 0; y < 80; ++y) {
        const uint8_t expected = (y >= 20 && y < 60) ? 255 : 0;
        for (int x = 0; x < 80; ++x) {
            ASSERT_EQ(*out.px(x, y), expected) << x << "," << y;
        }
    }
}

TEST(Payload, BadArgumentsAreRefused) {
    Image src(4, 4, STEG_FORMAT_GRAY8), out;
    EXPECT_EQ(steg_payload_prepare(&src.img, 0, 4, STEG_FIT_SCALE, STEG_CHANNEL_LUMA, &out.img), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(steg_payload_prepare(&src.img, 4, 4, steg_fit(7), STEG_CHANNEL_LUMA, &out.img), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(steg_payload_prepare(&src.img, 4, 4, STEG_FIT_SCALE, steg_channel(9), &out.img), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(steg_payload_prepare(nullptr, 4, 4, STEG_FIT_SCALE, STEG_CHANNEL_LUMA, &out.img), STEG_ERR_INVALID_ARGUMENT);
}

TEST(Params, OneDefinitionPerParameter) {
    for (int p = 0; p < STEG_PARAM_COUNT; ++p) {
        const steg_param_spec * s = steg_param_get(steg_param(p));
        ASSERT_NE(s, nullptr);
        EXPECT_TRUE(s->name && *s->name && s->help && *s->help) << p;
        if (s->kind == STEG_PARAM_KIND_ENUM) {
            ASSERT_NE(s->choices, nullptr);
            EXPECT_EQ(steg_param_choice(steg_param(p), s->choices[s->default_value]), s->default_value);
            // Every choice says what it does, for the hosts' menus (GStreamer's enum names).
            ASSERT_NE(s->choice_help, nullptr) << s->name;
            int n = 0;
            for (; s->choices[n]; ++n) {
                ASSERT_NE(s->choice_help[n], nullptr) << s->name << " " << s->choices[n];
                EXPECT_GT(std::strlen(s->choice_help[n]), 6u) << s->name << " " << s->choices[n];
            }
            EXPECT_EQ(s->choice_help[n], nullptr) << s->name;  // parallel to the choices
        } else {
            EXPECT_EQ(s->choice_help, nullptr) << s->name;
        }
    }
    // Enum choices follow the C enums' order.
    EXPECT_EQ(steg_param_choice(STEG_PARAM_DEVICE, "cuda"), STEG_DEVICE_CUDA);
    EXPECT_EQ(steg_param_choice(STEG_PARAM_FIT, "letterbox"), STEG_FIT_LETTERBOX);
    EXPECT_EQ(steg_param_choice(STEG_PARAM_CHANNEL, "b"), STEG_CHANNEL_B);
    EXPECT_EQ(steg_param_choice(STEG_PARAM_CHANNEL, "alpha"), -1);
    EXPECT_EQ(steg_param_get(STEG_PARAM_COUNT), nullptr);
}
