// SPDX-License-Identifier: MIT
// test-gst.cpp - the GStreamer elements stegembed and stegreveal, driven through
// GstHarness and real pipelines. The oracle is libsteg itself: what the elements
// output must be what steg_hide / steg_reveal give for the same pixels.
//
// Each test process gets its own plugin registry (GST_REGISTRY in a temporary folder)
// and finds the plugin in the build tree (GST_PLUGIN_PATH, set by ctest).
#include "test-util.h"

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <atomic>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace steg_test;

namespace {

const std::string kPhotos = "/usr/lib/python3/dist-packages/skimage/data/";

struct Ctx {
    steg_context * ctx = nullptr;
    Ctx() { ctx = steg_init_from_file(shipped_model().c_str(), steg_context_default_params()); }
    ~Ctx() { steg_free(ctx); }
};

Image load(const std::string & path) {
    Image im;
    EXPECT_EQ(steg_image_load(path.c_str(), 0, &im.img), STEG_OK) << steg_last_error();
    return im;
}

// A w x h RGB8 crop of a real photo at (x0, y0).
Image crop(const Image & src, int x0, int y0, int w, int h) {
    Image out(w, h, STEG_FORMAT_RGB8);
    const int ch = steg_format_channels(src.img.format);
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            const uint8_t * p = src.img.data + (int64_t(y + y0) * src.img.width + x + x0) * ch;
            for (int c = 0; c < 3; ++c) {
                out.img.data[(y * w + x) * 3 + c] = p[ch >= 3 ? c : 0];
            }
        }
    }
    return out;
}

Image prepare(const Image & src, int w, int h) {
    Image out;
    EXPECT_EQ(steg_payload_prepare(&src.img, w, h, STEG_FIT_SCALE, STEG_CHANNEL_LUMA, &out.img), STEG_OK);
    return out;
}

uint8_t alpha_at(int x, int y) { return uint8_t((x * 7 + y * 13) % 251); }

// In a 4-byte RGB format, the offset of the byte that is not R, G or B.
int spare_byte(const GstVideoFormatInfo * finfo) {
    return 6 - GST_VIDEO_FORMAT_INFO_POFFSET(finfo, 0) - GST_VIDEO_FORMAT_INFO_POFFSET(finfo, 1) -
           GST_VIDEO_FORMAT_INFO_POFFSET(finfo, 2);
}

// An RGB8 image (GRAY8 for a GRAY8 buffer) as a buffer of `format`; alpha, where there
// is one, gets a pattern.
GstBuffer * to_buffer(const Image & rgb, GstVideoFormat format, GstClockTime pts) {
    GstVideoInfo info;
    gst_video_info_set_format(&info, format, rgb.img.width, rgb.img.height);
    GstBuffer *    buf = gst_buffer_new_allocate(nullptr, info.size, nullptr);
    GstVideoFrame  frame;
    const auto *   finfo = info.finfo;
    gst_video_frame_map(&frame, &info, buf, GST_MAP_WRITE);
    const int ps = GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, 0);
    for (int y = 0; y < rgb.img.height; ++y) {
        uint8_t * row = static_cast<uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)) +
                        y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
        for (int x = 0; x < rgb.img.width; ++x) {
            uint8_t * p = row + x * ps;
            if (format == GST_VIDEO_FORMAT_GRAY8) {
                p[0] = rgb.img.data[y * rgb.img.width + x];
                continue;
            }
            if (ps == 4) {  // the byte that is not R, G or B: alpha or padding
                p[spare_byte(finfo)] = alpha_at(x, y);
            }
            for (int c = 0; c < 3; ++c) {
                p[GST_VIDEO_FORMAT_INFO_POFFSET(finfo, c)] = rgb.img.data[(y * rgb.img.width + x) * 3 + c];
            }
        }
    }
    gst_video_frame_unmap(&frame);
    GST_BUFFER_PTS(buf)      = pts;
    GST_BUFFER_DURATION(buf) = GST_CLOCK_TIME_NONE;
    return buf;
}

// A buffer of `format` back to RGB8 (or GRAY8); `alpha_ok` says whether the 4th byte
// (alpha or padding) still carries the pattern to_buffer wrote.
Image from_buffer(GstBuffer * buf, GstVideoFormat format, int w, int h, bool * alpha_ok = nullptr) {
    GstVideoInfo info;
    gst_video_info_set_format(&info, format, w, h);
    const bool    gray = format == GST_VIDEO_FORMAT_GRAY8;
    Image         out(w, h, gray ? STEG_FORMAT_GRAY8 : STEG_FORMAT_RGB8);
    GstVideoFrame frame;
    EXPECT_TRUE(gst_video_frame_map(&frame, &info, buf, GST_MAP_READ));
    const auto * finfo = info.finfo;
    const int    ps    = GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, 0);
    if (alpha_ok) {
        *alpha_ok = true;
    }
    for (int y = 0; y < h; ++y) {
        const uint8_t * row = static_cast<const uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)) +
                              y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
        for (int x = 0; x < w; ++x) {
            const uint8_t * p = row + x * ps;
            if (gray) {
                out.img.data[y * w + x] = p[0];
                continue;
            }
            for (int c = 0; c < 3; ++c) {
                out.img.data[(y * w + x) * 3 + c] = p[GST_VIDEO_FORMAT_INFO_POFFSET(finfo, c)];
            }
            if (alpha_ok && ps == 4 && p[spare_byte(finfo)] != alpha_at(x, y)) {
                *alpha_ok = false;
            }
        }
    }
    gst_video_frame_unmap(&frame);
    return out;
}

std::string caps_string(GstVideoFormat format, int w, int h, int fps = 25) {
    return std::string("video/x-raw,format=") + gst_video_format_to_string(format) + ",width=" + std::to_string(w) +
           ",height=" + std::to_string(h) + ",framerate=" + std::to_string(fps) + "/1";
}

// The caps a harness's element negotiated on its output.
GstVideoInfo output_info(GstHarness * h) {
    GstVideoInfo info;
    gst_video_info_init(&info);
    GstCaps * caps = gst_pad_get_current_caps(h->sinkpad);
    EXPECT_TRUE(caps && gst_video_info_from_caps(&info, caps));
    if (caps) {
        gst_caps_unref(caps);
    }
    return info;
}

bool same_pixels(const Image & a, const Image & b) {
    const size_t n = size_t(a.img.width) * a.img.height * steg_format_channels(a.img.format);
    return a.img.width == b.img.width && a.img.height == b.img.height && a.img.format == b.img.format &&
           std::memcmp(a.img.data, b.img.data, n) == 0;
}

Image hide_with_libsteg(steg_context * ctx, const Image & cover, const Image & payload) {
    Image out(cover.img.width, cover.img.height, cover.img.format);
    EXPECT_EQ(steg_hide(ctx, &cover.img, &payload.img, &out.img), STEG_OK) << steg_last_error();
    return out;
}

Image reveal_with_libsteg(steg_context * ctx, const Image & hybrid) {
    Image out(hybrid.img.width, hybrid.img.height, STEG_FORMAT_GRAY8);
    EXPECT_EQ(steg_reveal(ctx, &hybrid.img, &out.img), STEG_OK) << steg_last_error();
    return out;
}

// Runs a gst-launch style pipeline to its end; returns the first error message, or
// "" if it reached EOS. The text of each warning posted on the way goes to `warnings`.
std::string run_pipeline(const std::string & description, std::vector<std::string> * warnings = nullptr) {
    GError *     err      = nullptr;
    GstElement * pipeline = gst_parse_launch(description.c_str(), &err);
    if (!pipeline) {
        std::string m = err ? err->message : "parse failed";
        g_clear_error(&err);
        return "parse: " + m;
    }
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstBus *     bus = gst_element_get_bus(pipeline);
    GstMessage * msg = nullptr;
    while ((msg = gst_bus_timed_pop_filtered(
                bus, 120 * GST_SECOND, GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_WARNING))) &&
           GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
        GError * e     = nullptr;
        gchar *  debug = nullptr;
        gst_message_parse_warning(msg, &e, &debug);
        if (warnings) {
            warnings->push_back(std::string(e->message) + " | " + (debug ? debug : ""));
        }
        g_clear_error(&e);
        g_free(debug);
        gst_message_unref(msg);
    }
    std::string  result = msg ? "" : "timeout";
    if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError * e     = nullptr;
        gchar *  debug = nullptr;
        gst_message_parse_error(msg, &e, &debug);
        result = std::string(e->message) + " | " + (debug ? debug : "");
        g_clear_error(&e);
        g_free(debug);
    }
    if (msg) {
        gst_message_unref(msg);
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(bus);
    gst_object_unref(pipeline);
    return result;
}

class Gst : public ::testing::Test {
  protected:
    void SetUp() override {
        if (shipped_model().empty() || !file_exists(kPhotos + "astronaut.png")) {
            GTEST_SKIP() << "needs models/default.safetensors and python3-skimage's photos";
        }
        astronaut = load(kPhotos + "astronaut.png");
        camera    = load(kPhotos + "camera.png");
        ASSERT_NE(lib.ctx, nullptr) << steg_last_error();
    }
    Ctx   lib;
    Image astronaut, camera;
};

// ---- negotiation and pixels, format by format -------------------------------------

class GstFormats : public Gst, public ::testing::WithParamInterface<const char *> {};

TEST_P(GstFormats, EmbedAndRevealMatchLibstegInEveryRgbFormat) {
    const GstVideoFormat format = gst_video_format_from_string(GetParam());
    const int            w = 64, h = 48;
    const Image          cover    = crop(astronaut, 200, 100, w, h);
    const Image          payload  = prepare(camera, w, h);
    const Image          expected = hide_with_libsteg(lib.ctx, cover, payload);

    GstHarness * embed = gst_harness_new("stegembed");
    gst_harness_set(embed, "stegembed", "payload", (kPhotos + "camera.png").c_str(), nullptr);
    gst_harness_set_src_caps_str(embed, caps_string(format, w, h).c_str());
    GstBuffer * out = gst_harness_push_and_pull(embed, to_buffer(cover, format, 0));
    ASSERT_NE(out, nullptr);

    GstVideoInfo out_info = output_info(embed);
    EXPECT_EQ(GST_VIDEO_INFO_FORMAT(&out_info), format) << "the output keeps the input's format";

    bool  alpha_ok = false;
    Image hybrid   = from_buffer(out, format, w, h, &alpha_ok);
    EXPECT_TRUE(alpha_ok) << "alpha must pass through untouched";
    EXPECT_TRUE(same_pixels(hybrid, expected)) << "stegembed must hide exactly as steg_hide does";

    GstHarness * reveal = gst_harness_new("stegreveal");
    gst_harness_set_src_caps_str(reveal, caps_string(format, w, h).c_str());
    GstBuffer * revealed_buf = gst_harness_push_and_pull(reveal, gst_buffer_ref(out));
    ASSERT_NE(revealed_buf, nullptr);
    out_info = output_info(reveal);
    EXPECT_EQ(GST_VIDEO_INFO_FORMAT(&out_info), GST_VIDEO_FORMAT_GRAY8);
    EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&out_info), w);
    Image revealed = from_buffer(revealed_buf, GST_VIDEO_FORMAT_GRAY8, w, h);
    EXPECT_TRUE(same_pixels(revealed, reveal_with_libsteg(lib.ctx, expected)));

    gst_buffer_unref(revealed_buf);
    gst_buffer_unref(out);
    gst_harness_teardown(reveal);
    gst_harness_teardown(embed);
}

INSTANTIATE_TEST_SUITE_P(Rgb, GstFormats,
                         ::testing::Values("RGB", "BGR", "RGBx", "BGRx", "xRGB", "xBGR", "RGBA", "BGRA", "ARGB",
                                           "ABGR"));

TEST_F(Gst, PluginDeclaresItsLicence) {
    GstPlugin * plugin = gst_registry_find_plugin(gst_registry_get(), "steg");
    ASSERT_NE(plugin, nullptr);
    EXPECT_STREQ(gst_plugin_get_license(plugin), "MIT/X11");  // what gst-inspect-1.0 shows
    gst_object_unref(plugin);
}

TEST_F(Gst, InspectSaysWhatAUserNeeds) {
    // gst-inspect-1.0's page: the RGB-and-lossless rule with a launch line, where the
    // documentation is, the default model as a path, and choices that explain themselves.
    for (const char * name : { "stegembed", "stegreveal" }) {
        GstElementFactory * f = gst_element_factory_find(name);
        ASSERT_NE(f, nullptr);
        const std::string desc = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_DESCRIPTION);
        EXPECT_NE(desc.find("lossless"), std::string::npos) << desc;
        EXPECT_NE(desc.find(" ! "), std::string::npos) << desc;  // an example pipeline
        const gchar * doc = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_DOC_URI);
        ASSERT_NE(doc, nullptr) << name;
        EXPECT_NE(std::string(doc).find("gstreamer.md"), std::string::npos) << doc;
        gst_object_unref(f);
    }
    GstElement * e     = gst_element_factory_make("stegembed", nullptr);
    GParamSpec * model = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "model");
    ASSERT_NE(model, nullptr);
    ASSERT_NE(steg_default_model_path(), nullptr);
    EXPECT_STREQ(G_PARAM_SPEC_STRING(model)->default_value, steg_default_model_path());
    gchar * value = nullptr;
    g_object_get(e, "model", &value, nullptr);  // unset: the file it will load
    EXPECT_STREQ(value, steg_default_model_path());
    g_free(value);
    GParamSpec * fit  = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "fit");
    GEnumValue * lbox = g_enum_get_value_by_nick(G_PARAM_SPEC_ENUM(fit)->enum_class, "letterbox");
    ASSERT_NE(lbox, nullptr);
    EXPECT_NE(std::string(lbox->value_name).find("aspect"), std::string::npos) << lbox->value_name;
    gst_object_unref(e);
}

TEST_F(Gst, RefusesYuvInput) {
    GstHarness * h = gst_harness_new("stegembed");
    GstCaps *    yuv = gst_caps_from_string("video/x-raw,format=I420,width=64,height=48,framerate=25/1");
    GstPad *     sink = gst_element_get_static_pad(h->element, "sink");
    EXPECT_FALSE(gst_pad_query_accept_caps(sink, yuv)) << "YUV would destroy the payload: RGB only";
    gst_object_unref(sink);
    gst_caps_unref(yuv);
    gst_harness_teardown(h);
}

// A copy of the shipped model whose metadata says it was trained through 4:2:0
// (`transport`), as steg-trainer --transport writes it: the elements then take YUV.
std::string model_marked_for_yuv(const TempDir & d) {
    const std::string bytes = read_file(shipped_model());
    uint64_t          n     = 0;
    std::memcpy(&n, bytes.data(), 8);
    std::string       header = bytes.substr(8, n);
    const std::string key    = "\"__metadata__\":{";
    const size_t      at     = header.find(key);
    EXPECT_NE(at, std::string::npos);
    header.insert(at + key.size(), "\"transport\":\"yuv420:bt601,jpeg:60-95\",");
    while (header.size() % 8) {
        header += ' ';  // safetensors pads its header with spaces
    }
    const uint64_t m = header.size();
    std::string    out(8, '\0');
    std::memcpy(out.data(), &m, 8);
    write_file(d.file("yuv.safetensors"), out + header + bytes.substr(8 + n));
    return d.file("yuv.safetensors");
}

TEST_F(Gst, AModelTrainedThrough420TakesYuvFramesBothWays) {
    TempDir           d;
    const std::string model = model_marked_for_yuv(d);
    ASSERT_EQ(steg_image_save(d.file("cover.png").c_str(), &astronaut.img, 0), STEG_OK);
    for (const char * format : { "I420", "NV12", "YUY2" }) {
        // Hide in the YUV frames themselves (no RGB caps anywhere near stegembed) ...
        ASSERT_EQ(run_pipeline("filesrc location=" + d.file("cover.png") + " ! pngdec ! videoconvert ! video/x-raw,format=" +
                               format + " ! stegembed model=" + model + " payload=" + kPhotos + "camera.png" +
                               " ! video/x-raw,format=" + format + " ! videoconvert ! pngenc ! filesink location=" +
                               d.file("hybrid.png")),
                  "")
            << format;
        // ... the frame comes back whole: the cover through 4:2:0 and the model's change
        // (a stride or plane mix-up would leave noise).
        Image hybrid = load(d.file("hybrid.png"));
        ASSERT_EQ(hybrid.img.width, astronaut.img.width);
        EXPECT_GT(steg_psnr(&astronaut.img, &hybrid.img), 30.0) << format;
        // ... and stegreveal reads YUV hybrids too.
        ASSERT_EQ(run_pipeline("filesrc location=" + d.file("hybrid.png") + " ! pngdec ! videoconvert ! video/x-raw,format=" +
                               format + " ! stegreveal model=" + model + " ! pngenc ! filesink location=" +
                               d.file("revealed.png")),
                  "")
            << format;
        Image revealed = load(d.file("revealed.png"));
        EXPECT_EQ(revealed.img.width, astronaut.img.width) << format;
        EXPECT_EQ(revealed.img.format, STEG_FORMAT_GRAY8) << format;
    }
    // The shipped default is not made for 4:2:0: the same YUV stream does not negotiate.
    EXPECT_NE(run_pipeline("filesrc location=" + d.file("cover.png") +
                           " ! pngdec ! videoconvert ! video/x-raw,format=I420 ! stegembed payload=" + kPhotos +
                           "camera.png ! fakesink"),
              "");
}

// ---- a still payload through embed and reveal, on a full photo ---------------------

TEST_F(Gst, StillPayloadRevealsAsWellAsLibsteg) {
    const int   w = astronaut.img.width, h = astronaut.img.height;
    const Image payload  = prepare(camera, w, h);
    const Image expected = hide_with_libsteg(lib.ctx, astronaut, payload);
    const Image  lib_revealed = reveal_with_libsteg(lib.ctx, expected);

    GstHarness * embed = gst_harness_new("stegembed");
    gst_harness_set(embed, "stegembed", "payload", (kPhotos + "camera.png").c_str(), nullptr);
    gst_harness_set_src_caps_str(embed, caps_string(GST_VIDEO_FORMAT_RGB, w, h).c_str());
    GstHarness * reveal = gst_harness_new("stegreveal");
    gst_harness_set_src_caps_str(reveal, caps_string(GST_VIDEO_FORMAT_RGB, w, h).c_str());

    GstBuffer * hybrid   = gst_harness_push_and_pull(embed, to_buffer(astronaut, GST_VIDEO_FORMAT_RGB, 0));
    GstBuffer * revealed = gst_harness_push_and_pull(reveal, hybrid);
    ASSERT_NE(revealed, nullptr);
    Image        got  = from_buffer(revealed, GST_VIDEO_FORMAT_GRAY8, w, h);
    const double psnr = steg_psnr(&payload.img, &got.img);
    EXPECT_TRUE(std::equal(got.img.data, got.img.data + w * h, lib_revealed.img.data)) << "differs from libsteg";
    EXPECT_GT(psnr, 20.0) << "the shipped model recovers a recognisable payload";

    gst_buffer_unref(revealed);
    gst_harness_teardown(reveal);
    gst_harness_teardown(embed);
}

// ---- the payload pad: a second video at another frame rate ------------------------

TEST_F(Gst, AGrayCoverIsRefusedWhenLinkingNotLeftWaitingForever) {
    // gst-launch links "GRAY8 ! stegembed" automatically; the cover pad refuses GRAY8,
    // and the payload pad must not take it instead (the pipeline then hung in PREROLL).
    GError *     err = nullptr;
    GstElement * p   = gst_parse_launch("videotestsrc num-buffers=1 ! video/x-raw,format=GRAY8,width=32,height=32"
                                        " ! stegembed ! fakesink", &err);
    ASSERT_NE(err, nullptr) << "a GRAY8 cover was linked";
    EXPECT_NE(std::string(err->message).find("GRAY8"), std::string::npos) << err->message;  // names the caps
    g_clear_error(&err);
    if (p) gst_object_unref(p);
    // The payload pad, asked for by name, still links and carries the payload.
    EXPECT_EQ(run_pipeline("videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=32,height=32,framerate=5/1"
                           " ! stegembed name=e ! fakesink"
                           " videotestsrc num-buffers=2 pattern=ball ! video/x-raw,format=GRAY8,width=32,height=32,framerate=5/1"
                           " ! e.payload"), "");
}

TEST_F(Gst, PayloadVideoFramesFollowRunningTime) {
    const int          w = 48, h = 32, n_cover = 12, n_payload = 5;
    const GstClockTime cover_step = GST_SECOND / 25, payload_step = GST_SECOND / 10;

    std::vector<Image> covers, payloads;
    for (int i = 0; i < n_cover; ++i) {
        covers.push_back(crop(astronaut, 100 + 20 * i, 150, w, h));
    }
    for (int k = 0; k < n_payload; ++k) {
        payloads.push_back(prepare(crop(camera, 60 * k, 40 * k, 96, 64), w, h));
    }

    GstHarness * embed = gst_harness_new_with_padnames("stegembed", "sink", "src");
    GstHarness * pay   = gst_harness_new_with_element(embed->element, "payload", nullptr);
    gst_harness_set_src_caps_str(embed, caps_string(GST_VIDEO_FORMAT_RGB, w, h, 25).c_str());
    gst_harness_set_src_caps_str(pay, caps_string(GST_VIDEO_FORMAT_GRAY8, w, h, 10).c_str());

    // The payload stream runs in its own thread, as it would behind a queue.
    std::thread feeder([&] {
        for (int k = 0; k < n_payload; ++k) {
            gst_harness_push(pay, to_buffer(payloads[k], GST_VIDEO_FORMAT_GRAY8, k * payload_step));
        }
        gst_harness_push_event(pay, gst_event_new_eos());
    });

    for (int i = 0; i < n_cover; ++i) {
        GstBuffer * out = gst_harness_push_and_pull(embed, to_buffer(covers[i], GST_VIDEO_FORMAT_RGB, i * cover_step));
        ASSERT_NE(out, nullptr);
        // The latest payload frame at or before the cover's time (the last after EOS).
        const int k = std::min<int>(n_payload - 1, int((i * cover_step) / payload_step));
        Image     got = from_buffer(out, GST_VIDEO_FORMAT_RGB, w, h);
        EXPECT_TRUE(same_pixels(got, hide_with_libsteg(lib.ctx, covers[i], payloads[k])))
            << "cover frame " << i << " should carry payload frame " << k;
        gst_buffer_unref(out);
    }
    feeder.join();
    gst_harness_teardown(pay);
    gst_harness_teardown(embed);
}

TEST_F(Gst, StoppingWhileWaitingForThePayloadStreamDoesNotHang) {
    GstHarness * embed = gst_harness_new_with_padnames("stegembed", "sink", "src");
    GstHarness * pay   = gst_harness_new_with_element(embed->element, "payload", nullptr);
    gst_harness_set_src_caps_str(embed, caps_string(GST_VIDEO_FORMAT_RGB, 32, 32).c_str());
    gst_harness_set_src_caps_str(pay, caps_string(GST_VIDEO_FORMAT_GRAY8, 32, 32).c_str());
    const Image  cover = crop(astronaut, 0, 0, 32, 32);
    GstFlowReturn flow  = GST_FLOW_OK;
    // The element logs when a cover frame starts waiting: stop it only once it does.
    std::atomic<bool> waiting{ false };
    const GstLogFunction watch = [](GstDebugCategory * cat, GstDebugLevel, const gchar *, const gchar *, gint,
                          GObject *, GstDebugMessage * m, gpointer flag) {
        if (std::string(gst_debug_category_get_name(cat)) == "stegembed" &&
            std::string(gst_debug_message_get(m)).find("waits for the payload") != std::string::npos) {
            static_cast<std::atomic<bool> *>(flag)->store(true);
        }
    };
    gst_debug_add_log_function(watch, &waiting, nullptr);
    gst_debug_set_threshold_for_name("stegembed", GST_LEVEL_LOG);
    std::thread  pusher([&] { flow = gst_harness_push(embed, to_buffer(cover, GST_VIDEO_FORMAT_RGB, 0)); });
    for (int i = 0; i < 30000 && !waiting; ++i) {
        g_usleep(1000);
    }
    EXPECT_TRUE(waiting) << "the cover frame never waited for the payload stream";
    gst_element_set_state(embed->element, GST_STATE_NULL);
    pusher.join();
    gst_debug_remove_log_function(watch);
    gst_debug_unset_threshold_for_name("stegembed");
    EXPECT_EQ(flow, GST_FLOW_FLUSHING);
    gst_harness_teardown(pay);
    gst_harness_teardown(embed);
}

// ---- renegotiation, latency ---------------------------------------------------------

TEST_F(Gst, KeepsWorkingAcrossASizeChange) {
    GstHarness * embed = gst_harness_new("stegembed");
    gst_harness_set(embed, "stegembed", "payload", (kPhotos + "camera.png").c_str(), nullptr);
    for (auto [w, h] : { std::pair{ 64, 48 }, std::pair{ 40, 72 } }) {
        gst_harness_set_src_caps_str(embed, caps_string(GST_VIDEO_FORMAT_BGRx, w, h).c_str());
        const Image cover = crop(astronaut, 120, 80, w, h);
        GstBuffer * out   = gst_harness_push_and_pull(embed, to_buffer(cover, GST_VIDEO_FORMAT_BGRx, 0));
        ASSERT_NE(out, nullptr);
        const GstVideoInfo info = output_info(embed);
        EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&info), w);
        EXPECT_EQ(GST_VIDEO_INFO_HEIGHT(&info), h);
        Image got = from_buffer(out, GST_VIDEO_FORMAT_BGRx, w, h);
        EXPECT_TRUE(same_pixels(got, hide_with_libsteg(lib.ctx, cover, prepare(camera, w, h))))
            << "at " << w << "x" << h;
        gst_buffer_unref(out);
    }
    gst_harness_teardown(embed);
}

TEST_F(Gst, FitAndChannelPropertiesShapeThePayload) {
    const int   w = 64, h = 40;  // another aspect than coffee.png's 400x600
    const Image cover = crop(astronaut, 150, 150, w, h);
    const Image coffee = load(kPhotos + "coffee.png");
    Image       payload;
    ASSERT_EQ(steg_payload_prepare(&coffee.img, w, h, STEG_FIT_LETTERBOX, STEG_CHANNEL_G, &payload.img), STEG_OK);

    GstHarness * embed = gst_harness_new("stegembed");
    gst_harness_set(embed, "stegembed", "payload", (kPhotos + "coffee.png").c_str(), nullptr);
    gst_util_set_object_arg(G_OBJECT(embed->element), "fit", "letterbox");
    gst_util_set_object_arg(G_OBJECT(embed->element), "payload-channel", "g");
    gst_harness_set_src_caps_str(embed, caps_string(GST_VIDEO_FORMAT_RGB, w, h).c_str());
    GstBuffer * out = gst_harness_push_and_pull(embed, to_buffer(cover, GST_VIDEO_FORMAT_RGB, 0));
    ASSERT_NE(out, nullptr);
    EXPECT_TRUE(same_pixels(from_buffer(out, GST_VIDEO_FORMAT_RGB, w, h), hide_with_libsteg(lib.ctx, cover, payload)));
    gst_buffer_unref(out);
    gst_harness_teardown(embed);
}

TEST_F(Gst, ANewPayloadFileTakesEffectWhilePlaying) {
    const int    w = 48, h = 48;
    const Image  cover = crop(astronaut, 200, 200, w, h);
    GstHarness * embed = gst_harness_new("stegembed");
    gst_harness_set(embed, "stegembed", "payload", (kPhotos + "camera.png").c_str(), nullptr);
    gst_harness_set_src_caps_str(embed, caps_string(GST_VIDEO_FORMAT_RGB, w, h).c_str());
    for (const char * name : { "camera.png", "coffee.png" }) {
        gst_harness_set(embed, "stegembed", "payload", (kPhotos + name).c_str(), nullptr);
        GstBuffer * out = gst_harness_push_and_pull(embed, to_buffer(cover, GST_VIDEO_FORMAT_RGB, 0));
        ASSERT_NE(out, nullptr);
        EXPECT_TRUE(same_pixels(from_buffer(out, GST_VIDEO_FORMAT_RGB, w, h),
                                hide_with_libsteg(lib.ctx, cover, prepare(load(kPhotos + name), w, h))))
            << "payload " << name;
        gst_buffer_unref(out);
    }
    gst_harness_teardown(embed);
}

TEST_F(Gst, ReportsItsProcessingTimeAsLatency) {
    GstHarness * reveal = gst_harness_new("stegreveal");
    gst_harness_set_upstream_latency(reveal, 5 * GST_MSECOND);
    gst_harness_set_src_caps_str(reveal, caps_string(GST_VIDEO_FORMAT_RGB, 128, 96).c_str());
    const Image cover = crop(astronaut, 0, 0, 128, 96);
    gint64      t0    = g_get_monotonic_time();
    GstBuffer * out   = gst_harness_push_and_pull(reveal, to_buffer(cover, GST_VIDEO_FORMAT_RGB, 0));
    const GstClockTime spent = GstClockTime(g_get_monotonic_time() - t0) * GST_USECOND;
    ASSERT_NE(out, nullptr);
    gst_buffer_unref(out);
    GstQuery * q = gst_query_new_latency();
    ASSERT_TRUE(gst_pad_peer_query(reveal->sinkpad, q));
    gboolean     live = FALSE;
    GstClockTime min = 0, max = 0;
    gst_query_parse_latency(q, &live, &min, &max);
    gst_query_unref(q);
    EXPECT_GT(min, 5 * GST_MSECOND) << "upstream's latency plus the time a frame takes";
    EXPECT_LE(min, 5 * GST_MSECOND + 2 * spent);
    gst_harness_teardown(reveal);
}

// ---- errors a user meets ------------------------------------------------------------

// The most obvious pipeline converts the hybrid to I420 right after stegembed and loses
// the payload: stegembed warns once, naming the converter and what to pin. Pinned RGB
// (BGRx into FFV1) or a direct reveal gets no warning.
TEST_F(Gst, WarnsOnceWhenTheHybridIsConvertedToYuvDownstream) {
    const std::string src = "videotestsrc num-buffers=4 ! video/x-raw,format=RGB,width=32,height=32,framerate=5/1 ! "
                            "stegembed payload=" + kPhotos + "camera.png ! ";
    std::vector<std::string> w;
    ASSERT_EQ(run_pipeline(src + "videoconvert name=conv ! avenc_ffv1 ! fakesink", &w), "");
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("'conv' converts it to"), std::string::npos) << w[0];
    EXPECT_NE(w[0].find("format=BGRx"), std::string::npos) << w[0];  // says what to pin
    w.clear();
    ASSERT_EQ(run_pipeline(src + "videoconvert ! video/x-raw,format=I420 ! fakesink", &w), "");
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("I420"), std::string::npos) << w[0];
    w.clear();
    ASSERT_EQ(run_pipeline(src + "videoconvert ! video/x-raw,format=BGRx ! avenc_ffv1 ! fakesink", &w), "");
    ASSERT_EQ(run_pipeline(src + "stegreveal ! fakesink", &w), "");
    ASSERT_EQ(run_pipeline(src + "fakesink", &w), "");
    EXPECT_TRUE(w.empty()) << w[0];
}

TEST_F(Gst, MissingPayloadFilePostsAnErrorThatNamesIt) {
    const std::string err = run_pipeline(
        "videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=32,height=32 ! "
        "stegembed payload=/nonexistent/secret.png ! fakesink");
    EXPECT_NE(err.find("payload"), std::string::npos) << err;
    EXPECT_NE(err.find("/nonexistent/secret.png"), std::string::npos) << err;
}

TEST_F(Gst, BrokenModelPostsAnErrorThatSaysWhatToDo) {
    TempDir           dir;
    const std::string broken = dir.file("broken.safetensors");
    write_file(broken, "this is not a model");
    for (const std::string element : { "stegembed payload=" + kPhotos + "camera.png", std::string("stegreveal") }) {
        const std::string err = run_pipeline(
            "videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=32,height=32 ! " + element + " model=" + broken +
            " ! fakesink");
        EXPECT_NE(err.find("model"), std::string::npos) << element << ": " << err;
        EXPECT_NE(err.find(broken), std::string::npos) << element << ": " << err;
    }
}

TEST_F(Gst, NothingToHidePostsAnError) {
    const std::string err =
        run_pipeline("videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=32,height=32 ! stegembed ! fakesink");
    EXPECT_NE(err.find("Nothing to hide"), std::string::npos) << err;
}

}  // namespace

int main(int argc, char ** argv) {
    // A registry of this process's own, so tests never share or pollute one.
    TempDir registry;
    g_setenv("GST_REGISTRY", registry.file("registry.bin").c_str(), TRUE);
    gst_init(&argc, &argv);
    ::testing::InitGoogleTest(&argc, argv);
    const int rc = RUN_ALL_TESTS();
    gst_deinit();
    return rc;
}
