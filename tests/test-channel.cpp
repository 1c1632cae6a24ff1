// SPDX-License-Identifier: MIT
// The trainer's channel stand-ins (steg-channel.h) held to the real channels: JPEG to
// libjpeg-turbo, YUV 4:2:0 to GStreamer's videoconvert, the H.264-like quantiser to
// x264; and the mix's text, its draws and its gradients.
#include "steg-channel.h"
#include "steg-error.h"
#include "test-util.h"

#include <gtest/gtest.h>
#include <jpeglib.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

using steg_test::Image;
using steg_test::TempDir;

namespace {

// The test pictures: real photos where the system has them (python3-skimage, the
// datasets), and always two synthetic ones of odd sizes (edges that fill no block).
std::vector<Image> pictures() {
    std::vector<Image> out;
    for (const auto & p : steg_test::real_photos()) {
        Image img;
        if (steg_image_load(p.c_str(), 0, &img.img) == STEG_OK && img.img.format == STEG_FORMAT_RGB8) {
            out.push_back(std::move(img));
        }
        if (out.size() == 3) {
            break;
        }
    }
    for (uint32_t seed : { 3u, 4u }) {
        Image img(203 + int(seed), 149 + int(seed) * 2, STEG_FORMAT_RGB8);
        steg_test::fill_synthetic(img.img, seed);
        out.push_back(std::move(img));
    }
    return out;
}

at::Tensor to_tensor(const steg_image & img) {
    at::Tensor t = torch::from_blob(img.data, { img.height, img.width, 3 }, torch::kUInt8);
    return t.permute({ 2, 0, 1 }).unsqueeze(0).to(torch::kFloat32) / 255.0 - 0.5;
}

Image to_image(const at::Tensor & x) {
    at::Tensor hwc = ((x[0] + 0.5) * 255.0).round().clamp(0, 255).to(torch::kUInt8).permute({ 1, 2, 0 }).contiguous();
    Image      img(int(hwc.size(1)), int(hwc.size(0)), STEG_FORMAT_RGB8);
    std::memcpy(img.img.data, hwc.data_ptr<uint8_t>(), size_t(hwc.numel()));
    return img;
}

Image stand_in(const steg_image & img, const std::string & mix, double strength) {
    steg::ChannelDraw d;
    d.channel  = steg::parse_transport(mix).at(0);
    d.strength = strength;
    return to_image(steg::apply_channel(to_tensor(img), d));
}

// libjpeg-turbo at a quality with its default 4:2:0 chroma, compressed and decoded in memory.
Image real_jpeg(const steg_image & img, int quality) {
    jpeg_compress_struct c;
    jpeg_error_mgr       err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char * buf  = nullptr;
    unsigned long   size = 0;
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width      = JDIMENSION(img.width);
    c.image_height     = JDIMENSION(img.height);
    c.input_components = 3;
    c.in_color_space   = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = img.data + size_t(c.next_scanline) * size_t(img.width) * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);

    jpeg_decompress_struct d;
    d.err = jpeg_std_error(&err);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, buf, size);
    jpeg_read_header(&d, TRUE);
    jpeg_start_decompress(&d);
    Image out(int(d.output_width), int(d.output_height), STEG_FORMAT_RGB8);
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = out.img.data + size_t(d.output_scanline) * size_t(out.img.width) * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    std::free(buf);
    return out;
}

bool have_gst_elements(const std::vector<std::string> & names) {
    for (const auto & n : names) {
        if (std::system(("gst-inspect-1.0 --exists " + n + " >/dev/null 2>&1").c_str()) != 0) {
            return false;
        }
    }
    return true;
}

// Runs `middle` between a PNG of `img` and a PNG of what comes out, with gst-launch-1.0.
Image through_gst(const steg_image & img, const std::string & middle) {
    TempDir d;
    EXPECT_EQ(steg_image_save(d.file("in.png").c_str(), &img, 0), STEG_OK);
    const std::string cmd = "GST_REGISTRY=" + d.file("registry.bin") + " gst-launch-1.0 -q filesrc location=" +
                            d.file("in.png") + " ! pngdec ! videoconvert ! video/x-raw,format=RGB ! " + middle +
                            " ! videoconvert ! video/x-raw,format=RGB ! pngenc ! filesink location=" + d.file("out.png") +
                            " >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Image out;
    EXPECT_EQ(steg_image_load(d.file("out.png").c_str(), 0, &out.img), STEG_OK) << cmd;
    return out;
}

// Compares a stand-in with the real channel over the pictures: how close their outputs
// are, and how far each moves the picture (the loss a payload would see).
struct Agreement {
    double worst_match  = 1e9;  // PSNR of the stand-in's output against the real one's
    double worst_offset = 0;    // |PSNR(in, stand-in) - PSNR(in, real)|, dB
    double most_gentle = -1e9, most_harsh = 1e9;  // PSNR(in, stand-in) - PSNR(in, real), dB
};

template <class Real>
Agreement compare(const std::string & mix, double strength, Real real, bool even = false) {
    Agreement a;
    for (auto & p : pictures()) {
        if (even && (p.img.width % 2 || p.img.height % 2)) {  // the real channel takes even sizes only
            Image cut(p.img.width & ~1, p.img.height & ~1, STEG_FORMAT_RGB8);
            for (int y = 0; y < cut.img.height; ++y) {
                std::memcpy(cut.px(0, y), p.px(0, y), size_t(cut.img.width) * 3);
            }
            p = std::move(cut);
        }
        Image r = real(p.img), s = stand_in(p.img, mix, strength);
        EXPECT_EQ(r.img.width, s.img.width);
        const double match = steg_psnr(&s.img, &r.img);
        const double off   = std::abs(steg_psnr(&p.img, &s.img) - steg_psnr(&p.img, &r.img));
        std::printf("%s at %g, %dx%d: stand-in vs real %.2f dB; channel loss %.2f dB (real) %.2f dB (stand-in)\n",
                    mix.c_str(), strength, p.img.width, p.img.height, match, steg_psnr(&p.img, &r.img),
                    steg_psnr(&p.img, &s.img));
        a.worst_match  = std::min(a.worst_match, match);
        a.worst_offset = std::max(a.worst_offset, off);
        const double signed_off = steg_psnr(&p.img, &s.img) - steg_psnr(&p.img, &r.img);
        a.most_gentle = std::max(a.most_gentle, signed_off);
        a.most_harsh  = std::min(a.most_harsh, signed_off);
    }
    return a;
}

}  // namespace

TEST(Channel, JpegTablesAreLibjpegs) {
    for (int q : { 1, 10, 50, 75, 90, 100 }) {
        jpeg_compress_struct c;
        jpeg_error_mgr       err;
        c.err = jpeg_std_error(&err);
        jpeg_create_compress(&c);
        c.in_color_space = JCS_RGB;
        jpeg_set_defaults(&c);
        jpeg_set_quality(&c, q, TRUE);
        for (int comp = 0; comp < 2; ++comp) {
            const auto ours = steg::jpeg_quant_table(comp, q);
            for (int i = 0; i < 64; ++i) {  // libjpeg keeps the table in natural order
                ASSERT_EQ(ours[size_t(i)], c.quant_tbl_ptrs[comp]->quantval[i]) << "quality " << q << " table " << comp;
            }
        }
        jpeg_destroy_compress(&c);
    }
}

TEST(Channel, JpegStandInMatchesLibjpegTurbo) {
    for (int q : { 50, 75, 90, 95 }) {
        const Agreement a = compare("jpeg", q, [q](const steg_image & img) { return real_jpeg(img, q); });
        EXPECT_GE(a.worst_match, 38.0) << "quality " << q;
        EXPECT_LE(a.worst_offset, 0.3) << "quality " << q;
    }
}

TEST(Channel, Yuv420StandInMatchesVideoconvert) {
    if (!have_gst_elements({ "pngdec", "pngenc", "videoconvert" })) {
        GTEST_SKIP() << "gst-launch-1.0 with pngdec, pngenc and videoconvert is needed (gstreamer1.0-plugins-good)";
    }
    for (const char * m : { "bt601", "bt709" }) {
        const Agreement a = compare(std::string("yuv420:") + m, 0, [m](const steg_image & img) {
            return through_gst(img, std::string("videoconvert ! video/x-raw,format=I420,colorimetry=") + m);
        });
        // Byte for byte on GStreamer 1.22 (inf dB); 60 dB leaves room for another
        // release rounding a few samples its own way, not for a wrong constant or cast.
        EXPECT_GE(a.worst_match, 60.0) << m;
        EXPECT_LE(a.worst_offset, 0.05) << m;
    }
}

TEST(Channel, H264StandInMatchesX264) {
    if (!have_gst_elements({ "pngdec", "pngenc", "videoconvert", "x264enc", "avdec_h264" })) {
        GTEST_SKIP() << "x264enc (gstreamer1.0-plugins-ugly) and avdec_h264 (gstreamer1.0-libav) are needed";
    }
    // One frame, an I frame at the QP asked for (ip-factor 1: x264 otherwise codes I
    // frames about 3 QP finer), of even size as 4:2:0 encoders need.
    for (int qp : { 18, 24, 30 }) {
        const Agreement a = compare("h264", qp, [qp](const steg_image & img) {
            return through_gst(img, "videocrop right=" + std::to_string(img.width % 2) + " bottom=" +
                                        std::to_string(img.height % 2) +
                                        " ! videoconvert ! video/x-raw,format=I420,colorimetry=bt709 ! x264enc "
                                        "pass=quant ip-factor=1 quantizer=" + std::to_string(qp) +
                                        " key-int-max=1 ! avdec_h264");
        }, true);
        // No intra prediction, trellis or adaptive quantisation: the stand-in leaves more
        // noise than x264 at the same QP, never much less (a conservative stand-in).
        EXPECT_LE(a.most_gentle, 0.3) << "QP " << qp;
        EXPECT_GE(a.most_harsh, -3.5) << "QP " << qp;
    }
}

TEST(Channel, MixTextRoundTrips) {
    const auto mix = steg::parse_transport("none,yuv420,yuv420:bt709,jpeg:50-95,h264:24,noise:1.5,resize:0.5-1,cast");
    ASSERT_EQ(mix.size(), 8u);
    EXPECT_EQ(steg::transport_text(mix),
              "none,yuv420:bt601,yuv420:bt709,jpeg:50-95,h264:24,noise:1.5,resize:0.5-1,cast:3");
    EXPECT_EQ(steg::transport_text(steg::parse_transport(steg::transport_text(mix))), steg::transport_text(mix));
    EXPECT_EQ(steg::transport_text(steg::parse_transport("jpeg")), "jpeg:50-95");  // the defaults are written out
    EXPECT_TRUE(steg::transport_covers_yuv420(mix));
    EXPECT_FALSE(steg::transport_covers_yuv420(steg::parse_transport("none,jpeg:90,noise:2,cast:2")));
}

TEST(Channel, BadMixesAreRefusedInWords) {
    for (const char * bad : { "", "jpeg,", "jpg:90", "jpeg:0", "jpeg:95-50", "jpeg:90.5", "h264:52", "noise:x",
                              "resize:2", "yuv420:bt2020", "none:1", "jpeg:-5", "cast:33", "cast:-1" }) {
        try {
            steg::parse_transport(bad);
            ADD_FAILURE() << "'" << bad << "' was accepted";
        } catch (const steg::Error & e) {
            EXPECT_EQ(e.status(), STEG_ERR_INVALID_ARGUMENT);
            EXPECT_NE(std::string(e.what()).find("--transport"), std::string::npos) << e.what();
        }
    }
}

// A cast moves each image's R, G and B by its own whole amounts, within the strength,
// and every pixel of an image alike (away from 0 and 255, where the grid clips).
TEST(Channel, CastShiftsEachImagesColoursByItsOwnAmounts) {
    Image a(40, 30, STEG_FORMAT_RGB8), b(40, 30, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(a.img, 3);
    steg_test::fill_synthetic(b.img, 4);
    at::Tensor x = torch::cat({ to_tensor(a.img), to_tensor(b.img) }, 0).clamp(-0.45, 0.45);
    x            = ((x + 0.5) * 255.0).round() / 255.0 - 0.5;  // away from the ends, on the grid
    std::set<std::vector<int>> shifts;
    for (uint64_t key = 0; key < 20; ++key) {
        const steg::ChannelDraw d = steg::draw_channel(steg::parse_transport("cast:2-4"), key);
        ASSERT_EQ(int(d.channel.kind), int(steg::ChannelKind::cast));
        const at::Tensor moved = ((steg::apply_channel(x, d) - x) * 255.0).round();
        for (int64_t n = 0; n < 2; ++n) {
            std::vector<int> s;
            for (int64_t c = 0; c < 3; ++c) {
                const at::Tensor plane = moved[n][c];
                EXPECT_EQ(plane.min().item<double>(), plane.max().item<double>()) << "one shift per image and colour";
                EXPECT_LE(std::abs(plane.min().item<double>()), std::ceil(d.strength));
                s.push_back(int(plane.min().item<double>()));
            }
            shifts.insert(s);
        }
    }
    EXPECT_GE(shifts.size(), 20u) << "each image of each draw has its own shifts (40 drawn)";
}

TEST(Channel, DrawsAreReproducibleAndCoverTheMix) {
    const auto               mix = steg::parse_transport("none,jpeg:50-95,noise:1-3");
    std::set<int>            kinds;
    std::set<double>         qualities;
    for (uint64_t k = 0; k < 300; ++k) {
        const auto d = steg::draw_channel(mix, k), again = steg::draw_channel(mix, k);
        EXPECT_EQ(int(d.channel.kind), int(again.channel.kind));
        EXPECT_EQ(d.strength, again.strength);
        EXPECT_EQ(d.noise_seed, again.noise_seed);
        EXPECT_GE(d.strength, d.channel.lo);
        EXPECT_LE(d.strength, d.channel.hi);
        kinds.insert(int(d.channel.kind));
        if (d.channel.kind == steg::ChannelKind::jpeg) {
            EXPECT_EQ(d.strength, std::floor(d.strength));
            qualities.insert(d.strength);
        }
    }
    EXPECT_EQ(kinds.size(), 3u);
    EXPECT_TRUE(qualities.count(50) && qualities.count(95)) << "both ends of the quality range are drawn";
}

TEST(Channel, EveryStandInPassesAGradientAndStaysOnTheGrid) {
    Image img(37, 29, STEG_FORMAT_RGB8);
    steg_test::fill_synthetic(img.img, 7);
    for (const char * mix : { "yuv420", "jpeg:60", "h264:26", "noise:2", "resize:0.6", "cast:3" }) {
        steg::ChannelDraw d = steg::draw_channel(steg::parse_transport(mix), 1);
        at::Tensor        x = to_tensor(img.img).requires_grad_(true);
        at::Tensor        y = steg::apply_channel(x, d);
        ASSERT_EQ(y.sizes(), x.sizes()) << mix;
        at::Tensor levels = (y.detach() + 0.5) * 255.0;
        EXPECT_LT((levels - levels.round()).abs().max().item<double>(), 1e-3) << mix << ": off the 8-bit grid";
        EXPECT_GT((y.detach() - x.detach()).abs().max().item<double>(), 0) << mix << ": changed nothing";
        y.sum().backward();
        const at::Tensor g = x.grad();
        ASSERT_TRUE(g.defined()) << mix;
        EXPECT_TRUE(g.isfinite().all().item<bool>()) << mix;
        EXPECT_GT(g.abs().mean().item<double>(), 0.5) << mix << ": the gradient does not reach the hybrid";
    }
}
