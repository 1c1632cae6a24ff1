// SPDX-License-Identifier: MIT
// Image files: every PNG layout and JPEG load into 8-bit buffers; damaged, empty,
// hostile and oversized files are refused with a reason; saving is atomic and refuses
// lossy formats unless asked.
#include "test-util.h"

#include <gtest/gtest.h>
#include <png.h>
#include <zlib.h>

#include <chrono>
#include <csignal>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using steg_test::Image;
using steg_test::TempDir;

namespace {

void put_be32(std::string & s, uint32_t v) {
    for (int i = 3; i >= 0; --i) {
        s.push_back(char((v >> (8 * i)) & 0xff));
    }
}

// A PNG holding only a (CRC-correct) IHDR and IEND: enough for a reader to see the size.
std::string png_header_only(uint32_t w, uint32_t h) {
    std::string body = "IHDR";
    put_be32(body, w);
    put_be32(body, h);
    body += std::string("\x08\x02\x00\x00\x00", 5);
    std::string png = "\x89PNG\r\n\x1a\n";
    put_be32(png, 13);
    png += body;
    put_be32(png, uint32_t(crc32(0, reinterpret_cast<const Bytef *>(body.data()), uInt(body.size()))));
    png += std::string("\0\0\0\0IEND\xae\x42\x60\x82", 12);
    return png;
}

std::string load_error(const std::string & path, int64_t max_pixels = 0) {
    steg_image img{};
    if (steg_image_load(path.c_str(), max_pixels, &img) == STEG_OK) {
        steg_image_free(&img);
        return "";
    }
    return steg_last_error();
}

bool only_file_in(const std::string & dir, const std::string & name) {
    int n = 0;
    for (const auto & e : std::filesystem::directory_iterator(dir)) {
        n += e.path().filename() == name ? 1 : 100;
    }
    return n == 1;
}

}  // namespace

TEST(ImageFile, PngRoundTripForEachFormat) {
    TempDir d;
    for (steg_format f : { STEG_FORMAT_GRAY8, STEG_FORMAT_RGB8, STEG_FORMAT_RGBA8 }) {
        Image a(23, 17, f);
        steg_test::fill_synthetic(a.img, 3);
        ASSERT_EQ(steg_image_save(d.file("a.png").c_str(), &a.img, 0), STEG_OK) << steg_last_error();
        Image b;
        ASSERT_EQ(steg_image_load(d.file("a.png").c_str(), 0, &b.img), STEG_OK) << steg_last_error();
        EXPECT_EQ(b.img.format, f);
        EXPECT_EQ(std::memcmp(a.img.data, b.img.data, 23 * 17 * steg_format_channels(f)), 0);
    }
}

TEST(ImageFile, SixteenBitPngIsRoundedToEightBits) {
    TempDir               d;
    std::vector<uint16_t> px(4 * 2 * 3);
    for (size_t i = 0; i < px.size(); ++i) {
        px[i] = uint16_t(i * 2801 + 77);
    }
    png_image pi{};
    pi.version = PNG_IMAGE_VERSION;
    pi.width = 4, pi.height = 2, pi.format = PNG_FORMAT_LINEAR_RGB;
    ASSERT_TRUE(png_image_write_to_file(&pi, d.file("16.png").c_str(), 0, px.data(), 0, nullptr));
    Image b;
    ASSERT_EQ(steg_image_load(d.file("16.png").c_str(), 0, &b.img), STEG_OK) << steg_last_error();
    ASSERT_EQ(b.img.format, STEG_FORMAT_RGB8);
    for (size_t i = 0; i < px.size(); ++i) {
        EXPECT_EQ(b.img.data[i], uint8_t(std::lround(px[i] / 257.0))) << i;
    }
}

TEST(ImageFile, PaletteAndGrayAlphaPngs) {
    TempDir d;
    // Palette: four colours, indices 0..3.
    png_image pi{};
    pi.version = PNG_IMAGE_VERSION;
    pi.width = 4, pi.height = 1, pi.format = PNG_FORMAT_RGB_COLORMAP, pi.colormap_entries = 4;
    const uint8_t map[12] = { 255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30 }, idx[4] = { 3, 2, 1, 0 };
    ASSERT_TRUE(png_image_write_to_file(&pi, d.file("p.png").c_str(), 0, idx, 0, map));
    Image p;
    ASSERT_EQ(steg_image_load(d.file("p.png").c_str(), 0, &p.img), STEG_OK) << steg_last_error();
    ASSERT_EQ(p.img.format, STEG_FORMAT_RGB8);
    EXPECT_EQ(std::vector<uint8_t>(p.img.data, p.img.data + 12),
              (std::vector<uint8_t>{ 10, 20, 30, 0, 0, 255, 0, 255, 0, 255, 0, 0 }));
    // Gray + alpha becomes RGBA with the gray in each colour channel.
    png_image ga{};
    ga.version = PNG_IMAGE_VERSION;
    ga.width = 2, ga.height = 1, ga.format = PNG_FORMAT_GA;
    const uint8_t gapx[4] = { 40, 200, 90, 10 };
    ASSERT_TRUE(png_image_write_to_file(&ga, d.file("ga.png").c_str(), 0, gapx, 0, nullptr));
    Image g;
    ASSERT_EQ(steg_image_load(d.file("ga.png").c_str(), 0, &g.img), STEG_OK) << steg_last_error();
    ASSERT_EQ(g.img.format, STEG_FORMAT_RGBA8);
    EXPECT_EQ(std::vector<uint8_t>(g.img.data, g.img.data + 8), (std::vector<uint8_t>{ 40, 40, 40, 200, 90, 90, 90, 10 }));
}

TEST(ImageFile, JpegRoundTripIsClose) {
    TempDir d;
    Image   a(64, 48, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(a.img, 8);
    ASSERT_EQ(steg_image_save(d.file("a.jpg").c_str(), &a.img, STEG_SAVE_ALLOW_LOSSY), STEG_OK) << steg_last_error();
    Image b;
    ASSERT_EQ(steg_image_load(d.file("a.jpg").c_str(), 0, &b.img), STEG_OK) << steg_last_error();
    EXPECT_EQ(b.img.width, 64);
    EXPECT_EQ(b.img.format, STEG_FORMAT_RGB8);
    EXPECT_GT(steg_psnr(&a.img, &b.img), 30.0);
}

// A colour JPEG keeps full-resolution chroma (4:4:4): with libjpeg's default 4:2:0 a
// hybrid's revealed payload came back 5-8 dB worse instead of 2-4 (docs, --allow-lossy).
// The frame header (SOF0: FF C0, length, precision, height, width, component count, then
// per component its id, sampling factors H << 4 | V and table) must say 1x1 for all three.
TEST(ImageFile, JpegKeepsFullResolutionColour) {
    TempDir d;
    Image   a(64, 48, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(a.img, 9);
    ASSERT_EQ(steg_image_save(d.file("a.jpg").c_str(), &a.img, STEG_SAVE_ALLOW_LOSSY), STEG_OK) << steg_last_error();
    const std::string bytes = steg_test::read_file(d.file("a.jpg"));
    const size_t      sof   = bytes.find("\xFF\xC0");
    ASSERT_NE(sof, std::string::npos);
    ASSERT_GT(bytes.size(), sof + 19);
    ASSERT_EQ(static_cast<unsigned char>(bytes[sof + 9]), 3);  // Y, Cb, Cr
    for (int c = 0; c < 3; ++c) {
        EXPECT_EQ(static_cast<unsigned char>(bytes[sof + 11 + 3 * c]), 0x11) << "component " << c;
    }
}

TEST(ImageFile, DamagedAndHostileFilesAreRefused) {
    TempDir d;
    Image   a(64, 64, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(a.img, 2);
    ASSERT_EQ(steg_image_save(d.file("a.png").c_str(), &a.img, 0), STEG_OK);
    ASSERT_EQ(steg_image_save(d.file("a.jpg").c_str(), &a.img, STEG_SAVE_ALLOW_LOSSY), STEG_OK);
    const std::string png = steg_test::read_file(d.file("a.png")), jpg = steg_test::read_file(d.file("a.jpg"));

    EXPECT_NE(load_error(d.file("missing.png")).find("cannot open"), std::string::npos);
    steg_test::write_file(d.file("empty.png"), "");
    EXPECT_NE(load_error(d.file("empty.png")).find("empty"), std::string::npos);
    steg_test::write_file(d.file("text.png"), "hello, I am not an image");
    EXPECT_NE(load_error(d.file("text.png")).find("not a PNG, JPEG or WebP"), std::string::npos);

    steg_test::write_file(d.file("t.png"), png.substr(0, png.size() / 2));
    EXPECT_NE(load_error(d.file("t.png")).find("t.png"), std::string::npos);
    steg_test::write_file(d.file("t.jpg"), jpg.substr(0, jpg.size() / 2));
    EXPECT_NE(load_error(d.file("t.jpg")).find("truncated"), std::string::npos);

    steg_test::write_file(d.file("zero.png"), png_header_only(0, 10));
    EXPECT_NE(load_error(d.file("zero.png")).find("zero"), std::string::npos);
    steg_test::write_file(d.file("huge.png"), png_header_only(100000, 100000));
    EXPECT_NE(load_error(d.file("huge.png")).find("more than the limit"), std::string::npos);

    // A JPEG whose frame header claims 65000 x 65000 pixels.
    std::string big = jpg;
    const auto  sof = big.find("\xff\xc0");
    ASSERT_NE(sof, std::string::npos);
    big[sof + 5] = big[sof + 7] = char(0xfd);
    big[sof + 6] = big[sof + 8] = char(0xe8);
    steg_test::write_file(d.file("huge.jpg"), big);
    EXPECT_NE(load_error(d.file("huge.jpg")).find("more than the limit"), std::string::npos);

    // The pixel cap is the caller's to lower.
    EXPECT_NE(load_error(d.file("a.png"), 64 * 63).find("more than the limit"), std::string::npos);
    EXPECT_EQ(load_error(d.file("a.png"), 64 * 64), "");
}

TEST(ImageFile, LossyOutputNeedsConsent) {
    TempDir d;
    Image   a(16, 16, STEG_FORMAT_RGB8);
    EXPECT_EQ(steg_image_save(d.file("h.jpg").c_str(), &a.img, 0), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(steg_last_error()).find("lossy"), std::string::npos);
    EXPECT_FALSE(steg_test::file_exists(d.file("h.jpg")));
    EXPECT_EQ(steg_image_save(d.file("h.gif").c_str(), &a.img, STEG_SAVE_ALLOW_LOSSY), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(steg_last_error()).find("unsupported format '.gif'"), std::string::npos);
    EXPECT_TRUE(steg_path_is_lossy("x/Y.JPEG"));
    EXPECT_FALSE(steg_path_is_lossy("x.jpg/y.png"));
    EXPECT_FALSE(steg_path_is_lossy("h.webp"));  // written lossless
    if (STEG_HAVE_WEBP) {
        EXPECT_EQ(steg_image_save(d.file("h.webp").c_str(), &a.img, 0), STEG_OK) << steg_last_error();
    } else {
        EXPECT_EQ(steg_image_save(d.file("h.webp").c_str(), &a.img, 0), STEG_ERR_INVALID_ARGUMENT);
        EXPECT_NE(std::string(steg_last_error()).find("no WebP support"), std::string::npos) << steg_last_error();
    }
}

// WebP is written lossless (VP8L): every sample comes back as it was, colour under
// fully transparent pixels included; gray is stored as R = G = B.
TEST(ImageFile, WebpIsLossless) {
    if (!STEG_HAVE_WEBP) {
        GTEST_SKIP() << "built without libwebp";
    }
    TempDir d;
    for (steg_format f : { STEG_FORMAT_RGB8, STEG_FORMAT_RGBA8, STEG_FORMAT_GRAY8 }) {
        Image a(67, 45, f);
        steg_test::fill_synthetic(a.img, 11);
        if (f == STEG_FORMAT_RGBA8) {
            for (int i = 0; i < 67 * 45; i += 7) {
                a.img.data[i * 4 + 3] = 0;  // transparent, with colour under it
            }
        }
        ASSERT_EQ(steg_image_save(d.file("a.webp").c_str(), &a.img, 0), STEG_OK) << steg_last_error();
        const std::string bytes = steg_test::read_file(d.file("a.webp"));
        ASSERT_GT(bytes.size(), 16u);
        EXPECT_EQ(bytes.substr(12, 4), "VP8L") << "not the lossless bitstream";
        Image b;
        ASSERT_EQ(steg_image_load(d.file("a.webp").c_str(), 0, &b.img), STEG_OK) << steg_last_error();
        ASSERT_EQ(b.img.width, 67);
        ASSERT_EQ(b.img.height, 45);
        const int ch = steg_format_channels(f);
        ASSERT_EQ(b.img.format, f == STEG_FORMAT_GRAY8 ? STEG_FORMAT_RGB8 : f);
        const int bch = steg_format_channels(b.img.format);
        int       differ = 0;
        for (int i = 0; i < 67 * 45; ++i) {
            for (int c = 0; c < bch; ++c) {
                differ += b.img.data[i * bch + c] != a.img.data[i * ch + (ch == 1 ? 0 : c)];
            }
        }
        EXPECT_EQ(differ, 0) << "format " << int(f);
    }
}

TEST(ImageFile, DamagedAndHostileWebpsAreRefused) {
    if (!STEG_HAVE_WEBP) {
        GTEST_SKIP() << "built without libwebp";
    }
    TempDir d;
    Image   a(64, 48, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(a.img, 12);
    ASSERT_EQ(steg_image_save(d.file("a.webp").c_str(), &a.img, 0), STEG_OK) << steg_last_error();
    const std::string webp = steg_test::read_file(d.file("a.webp"));

    steg_test::write_file(d.file("t.webp"), webp.substr(0, webp.size() / 2));
    EXPECT_NE(load_error(d.file("t.webp")).find("truncated"), std::string::npos);
    steg_test::write_file(d.file("h.webp"), webp.substr(0, 14));
    EXPECT_NE(load_error(d.file("h.webp")).find("truncated"), std::string::npos);
    std::string bad = webp;
    for (size_t i = 40; i < bad.size(); i += 3) {
        bad[i] = char(bad[i] ^ 0x5a);
    }
    steg_test::write_file(d.file("bad.webp"), bad);
    EXPECT_NE(load_error(d.file("bad.webp")).find("damaged WebP"), std::string::npos);
    // The pixel limit is checked from the header, before the image data is read.
    EXPECT_NE(load_error(d.file("a.webp"), 64 * 47).find("more than the limit"), std::string::npos);
    EXPECT_EQ(load_error(d.file("a.webp"), 64 * 48), "");

    // Beyond WebP's 16383 pixels a side: refused before anything is written.
    Image wide(16384, 1, STEG_FORMAT_RGB8);
    EXPECT_EQ(steg_image_save(d.file("wide.webp").c_str(), &wide.img, 0), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(steg_last_error()).find("save it as .png"), std::string::npos);
    EXPECT_FALSE(steg_test::file_exists(d.file("wide.webp")));
}

TEST(ImageFile, AFailedSaveLeavesNothingBehind) {
    TempDir d;
    steg_test::write_file(d.file("out.png"), "previous content");
    steg_image broken{ 16, 16, STEG_FORMAT_RGB8, 0, nullptr };
    EXPECT_NE(steg_image_save(d.file("out.png").c_str(), &broken, 0), STEG_OK);
    EXPECT_EQ(steg_test::read_file(d.file("out.png")), "previous content");
    EXPECT_TRUE(only_file_in(d.path, "out.png"));  // no temporary left over
    Image a(16, 16, STEG_FORMAT_RGB8);
    EXPECT_EQ(steg_image_save(d.file("no/such/dir/x.png").c_str(), &a.img, 0), STEG_ERR_IO);
    EXPECT_TRUE(only_file_in(d.path, "out.png"));
}

// A save that fails in the middle of writing (the file-size limit is hit after 1 KB, as
// a full disk would) keeps the old file and leaves no temporary file behind.
TEST(ImageFile, ASaveFailingMidWriteKeepsTheOldFileAndLeavesNothing) {
    TempDir d;
    steg_test::write_file(d.file("out.png"), "previous content");
    const pid_t pid = fork();
    if (pid == 0) {
        std::signal(SIGXFSZ, SIG_IGN);  // writes past the limit fail with EFBIG instead of killing
        rlimit lim{ 1024, 1024 };
        setrlimit(RLIMIT_FSIZE, &lim);
        Image big(300, 300, STEG_FORMAT_RGB8);
        steg_test::fill_synthetic(big.img, 3);  // noise: far more than 1 KB compressed
        const steg_status s = steg_image_save(d.file("out.png").c_str(), &big.img, 0);
        _exit(s == STEG_ERR_IO && std::strstr(steg_last_error(), "out.png") ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the save did not fail with an I/O error";
    EXPECT_EQ(steg_test::read_file(d.file("out.png")), "previous content");
    EXPECT_TRUE(only_file_in(d.path, "out.png"));
}

// A process killed while it writes leaves nothing: the data has no name until commit.
TEST(ImageFile, AKilledSaveLeavesNoTemporaryFile) {
    TempDir d;
    const pid_t pid = fork();
    if (pid == 0) {
        Image big(4000, 4000, STEG_FORMAT_RGB8);
        steg_test::fill_synthetic(big.img, 4);
        for (;;) {
            steg_image_save(d.file("out.png").c_str(), &big.img, 0);
        }
    }
    usleep(300 * 1000);  // mid-save (one takes well over a second)
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    for (const auto & e : std::filesystem::directory_iterator(d.path)) {
        EXPECT_EQ(e.path().filename(), "out.png") << "left behind: " << e.path();
    }
}

TEST(ImageFile, SavedFilesFollowTheUmaskAndKeepAnExistingFilesMode) {
    TempDir      d;
    Image        a(8, 8, STEG_FORMAT_RGB8);
    const mode_t old = umask(077);
    ASSERT_EQ(steg_image_save(d.file("secret.png").c_str(), &a.img, 0), STEG_OK);
    umask(old);
    struct stat st;
    ASSERT_EQ(stat(d.file("secret.png").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);  // a revealed secret is not world-readable under umask 077
    chmod(d.file("secret.png").c_str(), 0640);
    ASSERT_EQ(steg_image_save(d.file("secret.png").c_str(), &a.img, 0), STEG_OK);
    ASSERT_EQ(stat(d.file("secret.png").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);  // overwriting keeps the file's own mode
}

TEST(ImageFile, LongestFileNamesAndFoldersAsOutputs) {
    TempDir           d;
    Image             a(8, 8, STEG_FORMAT_RGB8);
    const std::string name = std::string(250, 'n') + ".png";  // 254 bytes: legal on every Linux file system
    EXPECT_EQ(steg_image_save(d.file(name).c_str(), &a.img, 0), STEG_OK) << steg_last_error();
    EXPECT_TRUE(std::filesystem::exists(d.file(name)));
    std::filesystem::create_directories(d.file("dir.png"));
    EXPECT_EQ(steg_image_save(d.file("dir.png").c_str(), &a.img, 0), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(steg_last_error()).find("folder"), std::string::npos) << steg_last_error();
}

TEST(ImageFile, ProblemsAreNamedInWords) {
    TempDir d;
    Image   a(256, 256, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(a.img, 12);
    ASSERT_EQ(steg_image_save(d.file("a.png").c_str(), &a.img, 0), STEG_OK);
    ASSERT_EQ(steg_image_save(d.file("a.jpg").c_str(), &a.img, STEG_SAVE_ALLOW_LOSSY), STEG_OK);
    const std::string png = steg_test::read_file(d.file("a.png")), jpg = steg_test::read_file(d.file("a.jpg"));

    // A truncated PNG says so (libpng's own words are "Read Error").
    steg_test::write_file(d.file("t.png"), png.substr(0, png.size() * 2 / 3));
    EXPECT_NE(load_error(d.file("t.png")).find("ends early"), std::string::npos) << load_error(d.file("t.png"));
    // A folder is not an "empty" image.
    std::filesystem::create_directories(d.file("dir.png"));
    EXPECT_NE(load_error(d.file("dir.png")).find("is a folder"), std::string::npos) << load_error(d.file("dir.png"));
    // A JPEG whose data stops early but which ends with a proper end marker: libjpeg only
    // warns and fills the rest with gray; it is refused.
    const auto sos = jpg.find("\xff\xda");
    ASSERT_NE(sos, std::string::npos);
    steg_test::write_file(d.file("cut.jpg"), jpg.substr(0, sos + (jpg.size() - sos) / 3) + "\xff\xd9");
    EXPECT_NE(load_error(d.file("cut.jpg")).find("damaged or truncated"), std::string::npos) << load_error(d.file("cut.jpg"));
    // A small JPEG whose frame header declares 16000 x 16000 pixels (under the pixel
    // limit) is refused at once: it cannot hold that picture.
    std::string big = jpg;
    const auto  sof = big.find("\xff\xc0");
    ASSERT_NE(sof, std::string::npos);
    big[sof + 5] = big[sof + 7] = char(0x3e);
    big[sof + 6] = big[sof + 8] = char(0x80);
    steg_test::write_file(d.file("bomb.jpg"), big);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_NE(load_error(d.file("bomb.jpg")).find("hostile"), std::string::npos) << load_error(d.file("bomb.jpg"));
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
}

TEST(ImageFile, GrayPngWithATransparentLevelLoadsAsRgba) {
    // PngSuite's tbbn0g04 and friends: gray with a tRNS chunk naming one transparent level.
    TempDir     d;
    FILE *      fp  = fopen(d.file("trns.png").c_str(), "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop   info = png_create_info_struct(png);
    png_init_io(png, fp);
    png_set_IHDR(png, info, 4, 2, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_color_16 transparent{};
    transparent.gray = 50;
    png_set_tRNS(png, info, nullptr, 0, &transparent);
    png_write_info(png, info);
    uint8_t rows[2][4] = { { 0, 50, 100, 255 }, { 50, 50, 7, 8 } };
    for (auto & r : rows) png_write_row(png, r);
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    fclose(fp);
    Image img;
    ASSERT_EQ(steg_image_load(d.file("trns.png").c_str(), 0, &img.img), STEG_OK) << steg_last_error();
    ASSERT_EQ(img.img.format, STEG_FORMAT_RGBA8);
    EXPECT_EQ(img.px(2, 0)[0], 100);
    EXPECT_EQ(img.px(2, 0)[2], 100);
    EXPECT_EQ(img.px(2, 0)[3], 255);  // opaque
    EXPECT_EQ(img.px(1, 0)[3], 0);    // the transparent level
    EXPECT_EQ(img.px(0, 1)[3], 0);
}

TEST(CApi, OutOfRangeEnumsAndTilesAreRefused) {
    TempDir d;
    steg_test::write_random_model(d.file("m.safetensors"), 3);
    Image src(8, 8, STEG_FORMAT_RGB8), out;
    int   bad = 7;
    steg_fit     fit;
    steg_channel channel;
    std::memcpy(&fit, &bad, sizeof bad);  // what a C caller can pass
    std::memcpy(&channel, &bad, sizeof bad);
    EXPECT_EQ(steg_payload_prepare(&src.img, 8, 8, fit, STEG_CHANNEL_LUMA, &out.img), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(steg_last_error()).find("unknown fit 7"), std::string::npos) << steg_last_error();
    EXPECT_EQ(steg_payload_prepare(&src.img, 8, 8, STEG_FIT_SCALE, channel, &out.img), STEG_ERR_INVALID_ARGUMENT);
    steg_format format;
    bad = 2;  // between GRAY8 (1) and RGB8 (3)
    std::memcpy(&format, &bad, sizeof bad);
    Image x;
    EXPECT_EQ(steg_image_alloc(&x.img, 4, 4, format), STEG_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(steg_format_channels(format), 0);
    steg_image odd = src.img;
    odd.format     = format;
    EXPECT_EQ(steg_payload_prepare(&odd, 8, 8, STEG_FIT_SCALE, STEG_CHANNEL_LUMA, &out.img), STEG_ERR_INVALID_ARGUMENT);
    steg_context_params p = steg_context_default_params();
    bad                   = 9;
    std::memcpy(&p.device, &bad, sizeof bad);
    EXPECT_EQ(steg_init_from_file(d.file("m.safetensors").c_str(), p), nullptr);
    EXPECT_NE(std::string(steg_last_error()).find("unknown device 9"), std::string::npos) << steg_last_error();
    for (int tile : { 1, 6, 31, 20000 }) {
        p           = steg_context_default_params();
        p.tile_size = tile;
        EXPECT_EQ(steg_init_from_file(d.file("m.safetensors").c_str(), p), nullptr) << tile;
        EXPECT_NE(std::string(steg_last_error()).find("tile"), std::string::npos) << steg_last_error();
    }
    std::filesystem::create_directories(d.file("models"));
    EXPECT_EQ(steg_init_from_file(d.file("models").c_str(), steg_context_default_params()), nullptr);
    EXPECT_NE(std::string(steg_last_error()).find("is a folder"), std::string::npos) << steg_last_error();
}
