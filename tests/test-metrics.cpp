// SPDX-License-Identifier: MIT
// PSNR, SSIM and capacity against values computed by hand and by an independent
// implementation (scikit-image 0.19, structural_similarity with gaussian_weights=True,
// sigma=1.5, use_sample_covariance=False, data_range=255: Wang et al.'s settings).
#include "steg-metrics.h"
#include "test-util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

using steg_test::Image;

namespace {

// The patterns the reference values were computed on (see the header comment).
uint8_t pat_a(int x, int y) { return uint8_t((x * 7 + y * 13) % 256); }
uint8_t pat_b(int x, int y) { return uint8_t((x * x + 3 * y) % 256); }
uint8_t pat_c(int x, int y) { return uint8_t(std::clamp(pat_a(x, y) + (x + y) % 5 - 2, 0, 255)); }

void fill(Image & img, uint8_t (*f)(int, int)) {
    for (int y = 0; y < img.img.height; ++y) {
        for (int x = 0; x < img.img.width; ++x) {
            *img.px(x, y) = f(x, y);
        }
    }
}

}  // namespace

TEST(Metrics, PsnrOfAConstantOffsetIsTheFormula) {
    Image a(16, 16, STEG_FORMAT_RGB8), b(16, 16, STEG_FORMAT_RGB8);
    std::memset(a.img.data, 100, 16 * 16 * 3);
    std::memset(b.img.data, 104, 16 * 16 * 3);  // error 4 everywhere: MSE 16
    EXPECT_NEAR(steg_psnr(&a.img, &b.img), 10 * std::log10(255.0 * 255.0 / 16.0), 1e-9);
    EXPECT_TRUE(std::isinf(steg_psnr(&a.img, &a.img)));
}

TEST(Metrics, PsnrIgnoresAlpha) {
    Image a(8, 8, STEG_FORMAT_RGBA8), b(8, 8, STEG_FORMAT_RGB8);
    for (int i = 0; i < 64; ++i) {
        a.img.data[i * 4 + 3] = uint8_t(i);  // alpha differs wildly, colour is equal
        b.img.data[i * 3]     = 0;
    }
    EXPECT_TRUE(std::isinf(steg_psnr(&a.img, &b.img)));
}

TEST(Metrics, PsnrAgainstIndependentImplementation) {
    Image a(32, 24, STEG_FORMAT_GRAY8), c(32, 24, STEG_FORMAT_GRAY8);
    fill(a, pat_a);
    fill(c, pat_c);
    EXPECT_NEAR(steg_psnr(&a.img, &c.img), 45.1460254384, 1e-6);
}

TEST(Metrics, SsimOfConstantImagesIsTheLuminanceTerm) {
    // No variance: SSIM = (2 a b + C1) / (a^2 + b^2 + C1), with C1 = (0.01 * 255)^2.
    Image a(20, 20, STEG_FORMAT_GRAY8), b(20, 20, STEG_FORMAT_GRAY8);
    std::memset(a.img.data, 50, 400);
    std::memset(b.img.data, 80, 400);
    const double c1 = (0.01 * 255) * (0.01 * 255);
    EXPECT_NEAR(steg_ssim(&a.img, &b.img), (2 * 50.0 * 80 + c1) / (50.0 * 50 + 80.0 * 80 + c1), 1e-9);
    EXPECT_NEAR(steg_ssim(&a.img, &a.img), 1.0, 1e-12);
}

TEST(Metrics, SsimAgainstIndependentImplementation) {
    Image a(32, 24, STEG_FORMAT_GRAY8), b(32, 24, STEG_FORMAT_GRAY8), c(32, 24, STEG_FORMAT_GRAY8);
    fill(a, pat_a);
    fill(b, pat_b);
    fill(c, pat_c);
    EXPECT_NEAR(steg_ssim(&a.img, &b.img), 0.0947459823, 1e-6);
    EXPECT_NEAR(steg_ssim(&a.img, &c.img), 0.9989613842, 1e-6);
}

TEST(Metrics, ColourSsimIsTheMeanOverChannels) {
    Image x(32, 24, STEG_FORMAT_RGB8), y(32, 24, STEG_FORMAT_RGB8);
    for (int j = 0; j < 24; ++j) {
        for (int i = 0; i < 32; ++i) {
            uint8_t * p = x.px(i, j);
            uint8_t * q = y.px(i, j);
            p[0] = pat_a(i, j), p[1] = pat_b(i, j), p[2] = pat_c(i, j);
            q[0] = pat_c(i, j), q[1] = pat_a(i, j), q[2] = pat_b(i, j);
        }
    }
    EXPECT_NEAR(steg_ssim(&x.img, &y.img), 0.3961001137, 1e-6);
    EXPECT_NEAR(steg_psnr(&x.img, &y.img), 9.9608728246, 1e-6);
}

TEST(Metrics, MismatchedImagesAreRefused) {
    Image a(20, 20, STEG_FORMAT_GRAY8), b(21, 20, STEG_FORMAT_GRAY8), c(20, 20, STEG_FORMAT_RGB8), t(8, 8, STEG_FORMAT_GRAY8);
    EXPECT_TRUE(std::isnan(steg_psnr(&a.img, &b.img)));
    EXPECT_NE(std::string(steg_last_error()).find("differ in size"), std::string::npos);
    EXPECT_TRUE(std::isnan(steg_ssim(&a.img, &c.img)));
    EXPECT_NE(std::string(steg_last_error()).find("grayscale"), std::string::npos);
    EXPECT_TRUE(std::isnan(steg_ssim(&t.img, &t.img)));  // smaller than the 11x11 window
    EXPECT_NE(std::string(steg_last_error()).find("11x11"), std::string::npos);
}

TEST(Metrics, CapacityAsThePaperReportsIt) {
    EXPECT_DOUBLE_EQ(steg_bits_per_pixel(1), 8.0);
    EXPECT_NEAR(steg_payload_percent(1, 3), 33.333, 1e-3);
    EXPECT_DOUBLE_EQ(steg_payload_percent(3, 3), 100.0);
}

// CIEDE2000 against the test data published with the formula (Sharma, Wu, Dalal 2005,
// Table 1: pairs 1, 7, 17, 25 and two more); skimage's deltaE_ciede2000 agrees.
TEST(ColourDifference, Ciede2000MatchesSharmasTestData) {
    struct Case {
        steg::Lab x, y;
        double    de;
    } cases[] = {
        { { 50.0, 2.6772, -79.7751 }, { 50.0, 0.0, -82.7485 }, 2.0425 },
        { { 50.0, 0.0, 0.0 }, { 50.0, -1.0, 2.0 }, 2.3669 },
        { { 50.0, 2.5, 0.0 }, { 73.0, 25.0, -18.0 }, 27.1492 },
        { { 60.2574, -34.0099, 36.2677 }, { 60.4626, -34.1751, 39.4387 }, 1.2644 },
        { { 50.0, 2.5, 0.0 }, { 50.0, 0.0, -2.5 }, 4.3065 },
        { { 22.7233, 20.0904, -46.6940 }, { 23.0331, 14.9730, -42.5619 }, 2.0373 },
    };
    for (const auto & c : cases) {
        EXPECT_NEAR(steg::ciede2000(c.x, c.y), c.de, 5e-5) << c.x.l << " " << c.x.a << " " << c.x.b;
        EXPECT_NEAR(steg::ciede2000(c.y, c.x), c.de, 5e-5);  // symmetric
        EXPECT_EQ(steg::ciede2000(c.x, c.x), 0.0);
    }
}

TEST(ColourDifference, SrgbToLabMatchesScikitImage) {
    const uint8_t rgb[3] = { 200, 30, 90 };
    // skimage.color.rgb2lab (D65, 2 degrees) uses a sRGB -> XYZ matrix rounded to six
    // digits, ours seven: the two agree to a few thousandths.
    const auto lab = steg::srgb_to_lab(rgb);
    EXPECT_NEAR(lab.l, 44.16089, 5e-3);
    EXPECT_NEAR(lab.a, 65.80664, 5e-3);
    EXPECT_NEAR(lab.b, 10.61500, 5e-3);
    const uint8_t white[3] = { 255, 255, 255 };
    EXPECT_NEAR(steg::srgb_to_lab(white).l, 100.0, 1e-4);
    EXPECT_NEAR(steg::srgb_to_lab(white).a, 0.0, 1e-4);
}

TEST(ColourDifference, ImageMeanAndPercentileMatchScikitImage) {
    // Reference: skimage deltaE_ciede2000(rgb2lab(A), rgb2lab(B)), mean and
    // np.percentile(..., 99, method='inverted_cdf') over the pixels.
    Image a(24, 16, STEG_FORMAT_RGB8), b(24, 16, STEG_FORMAT_RGBA8);
    for (int y = 0; y < 16; ++y) {
        for (int x = 0; x < 24; ++x) {
            uint8_t * p = a.px(x, y);
            uint8_t * q = b.px(x, y);
            p[0] = pat_a(x, y), p[1] = pat_b(x, y), p[2] = pat_c(x, y);
            q[0] = uint8_t(std::clamp(p[0] + x % 3 - 1, 0, 255));
            q[1] = p[1];
            q[2] = uint8_t(std::clamp(p[2] + 2 * ((y % 2) * 2 - 1), 0, 255));
            q[3] = uint8_t(x * 10);  // alpha is not part of the colour
        }
    }
    double mean = -1, p99 = -1;
    ASSERT_EQ(steg_colour_difference(&a.img, &b.img, &mean, &p99), STEG_OK) << steg_last_error();
    EXPECT_NEAR(mean, 0.5561642, 5e-4);  // tolerance: skimage's six-digit matrix (above)
    EXPECT_NEAR(p99, 1.4140597, 5e-4);
    ASSERT_EQ(steg_colour_difference(&a.img, &a.img, &mean, &p99), STEG_OK);
    EXPECT_EQ(mean, 0.0);
    EXPECT_EQ(p99, 0.0);
}

TEST(ColourDifference, RefusesGrayAndMismatchedImages) {
    Image g1(8, 8, STEG_FORMAT_GRAY8), g2(8, 8, STEG_FORMAT_GRAY8), c(8, 8, STEG_FORMAT_RGB8), big(9, 8, STEG_FORMAT_RGB8);
    double mean = 0, p99 = 0;
    EXPECT_EQ(steg_colour_difference(&g1.img, &g2.img, &mean, &p99), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(steg_last_error()).find("colour images"), std::string::npos) << steg_last_error();
    EXPECT_EQ(steg_colour_difference(&c.img, &big.img, &mean, &p99), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(steg_colour_difference(&c.img, &c.img, nullptr, &p99), STEG_ERR_INVALID_ARGUMENT);
}
