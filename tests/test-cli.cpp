// SPDX-License-Identifier: MIT
// The steg command end to end: real photos through hide, a saved PNG, and reveal; every
// bad input gets a clear message, its own exit code and no output file.
#include "test-util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sys/wait.h>
#include <zlib.h>

using steg_test::Image;
using steg_test::TempDir;

namespace {

struct Result {
    int         code;
    std::string out, err;
};

class Cli : public ::testing::Test {
  protected:
    void SetUp() override {
        model = dir.file("m.safetensors");
        steg_test::write_random_model(model, 5);
        Image cover(96, 64, STEG_FORMAT_RGB8), rgba(96, 64, STEG_FORMAT_RGBA8), gray(96, 64, STEG_FORMAT_GRAY8),
            big(200, 150, STEG_FORMAT_RGB8);
        steg_test::fill_synthetic(cover.img, 1);
        steg_test::fill_synthetic(rgba.img, 2);
        steg_test::fill_synthetic(gray.img, 3);
        steg_test::fill_synthetic(big.img, 4);
        steg_image_save(dir.file("cover.png").c_str(), &cover.img, 0);
        steg_image_save(dir.file("rgba.png").c_str(), &rgba.img, 0);
        steg_image_save(dir.file("gray.png").c_str(), &gray.img, 0);
        steg_image_save(dir.file("big.png").c_str(), &big.img, 0);
        steg_image_save(dir.file("big.jpg").c_str(), &big.img, STEG_SAVE_ALLOW_LOSSY);
    }

    // Runs `steg ARGS` with `env` (VAR=value ...) in front; captures both streams.
    Result run(const std::string & args, const std::string & env = "") {
        const std::string cmd = "env " + env + " " STEG_CLI " " + args + " >" + dir.file("stdout") + " 2>" + dir.file("stderr");
        const int         rc  = std::system(cmd.c_str());
        return { WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, steg_test::read_file(dir.file("stdout")),
                 steg_test::read_file(dir.file("stderr")) };
    }

    std::string m() const { return " --model " + model; }

    TempDir     dir;
    std::string model;
};

}  // namespace

TEST_F(Cli, HelpOnEverySubcommand) {
    for (const char * sub : { "", "hide ", "reveal ", "compare ", "info " }) {
        Result r = run(std::string(sub) + "--help");
        EXPECT_EQ(r.code, 0) << sub;
        EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub;
        EXPECT_NE(r.out.find("Exit status"), std::string::npos) << sub;
    }
    EXPECT_NE(run("hide --help").out.find("letterbox"), std::string::npos);
}

TEST_F(Cli, VersionNamesTheLicence) {
    Result r = run("--version");
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find(std::string("steg ") + steg_version()), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("MIT licence"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("research-only"), std::string::npos) << r.out;  // the models' data terms
    EXPECT_TRUE(std::filesystem::exists(STEG_SOURCE_DIR "/LICENSE"));
}

// --precision reaches the engine: info says what the networks compute in.
TEST_F(Cli, PrecisionIsChosenAndReported) {
    Result r = run("info " + model + " --precision fp32");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("precision: fp32\n"), std::string::npos) << r.out;
    r = run("info " + model + " --precision bf16");
    if (r.code == 0) {  // a CPU with native bf16
        EXPECT_NE(r.out.find("precision: bf16\n"), std::string::npos) << r.out;
    } else {
        EXPECT_EQ(r.code, 5) << r.err;
        EXPECT_NE(r.err.find("no native bf16"), std::string::npos) << r.err;
    }
    EXPECT_NE(run("info " + model).out.find("precision: fp32\n"), std::string::npos);  // auto, today
    // fp16 is CUDA's: on the CPU it is refused in words, as a device that is not there.
    r = run("hide " + dir.file("cover.png") + " " + dir.file("gray.png") + " -o " + dir.file("h.png") +
            " --precision fp16 --device cpu" + m());
    EXPECT_EQ(r.code, 5) << r.err;
    EXPECT_NE(r.err.find("fp16 runs on CUDA only"), std::string::npos) << r.err;
    EXPECT_FALSE(steg_test::file_exists(dir.file("h.png")));
    EXPECT_EQ(run("hide " + dir.file("cover.png") + " " + dir.file("gray.png") + " -o " + dir.file("h.png") +
                  " --precision fp8" + m())
                  .code,
              2);
}

TEST_F(Cli, UsageErrorsExitWithTwo) {
    EXPECT_EQ(run("").code, 2);
    EXPECT_EQ(run("frobnicate").code, 2);
    EXPECT_EQ(run("hide " + dir.file("cover.png") + " " + dir.file("gray.png")).code, 2);  // no -o
    EXPECT_EQ(run("hide a.png b.png -o c.png --fit diagonal").code, 2);
    EXPECT_EQ(run("hide a.png b.png -o c.png --threads -1").code, 2);
}

TEST_F(Cli, EndToEndOnRealPhotosMatchesTheLibrary) {
    std::vector<std::string> photos = steg_test::real_photos();
    if (photos.size() < 2) {  // no package photos and no ../shared: generated pictures still exercise the path
        photos = { dir.file("big.png"), dir.file("gray.png") };
    }
    const std::string shipped = steg_test::shipped_model();
    for (const std::string & mdl : { model, shipped }) {
        if (mdl.empty()) {
            continue;
        }
        const std::string cover = photos[0], secret = photos[1];
        Result h = run("hide " + cover + " " + secret + " -o " + dir.file("hybrid.png") + " --payload-out " +
                       dir.file("hidden.png") + " --model " + mdl);
        ASSERT_EQ(h.code, 0) << h.err;
        EXPECT_NE(h.out.find("8 bpp, payload 33.3%"), std::string::npos) << h.out;
        Result r = run("reveal " + dir.file("hybrid.png") + " -o " + dir.file("revealed.png") + " --model " + mdl);
        ASSERT_EQ(r.code, 0) << r.err;

        // The library, given the same files, reveals exactly what the command wrote.
        Image c, s, payload, hybrid, revealed, mine;
        ASSERT_EQ(steg_image_load(cover.c_str(), 0, &c.img), STEG_OK);
        ASSERT_EQ(steg_image_load(secret.c_str(), 0, &s.img), STEG_OK);
        ASSERT_EQ(steg_image_load(dir.file("hybrid.png").c_str(), 0, &hybrid.img), STEG_OK);
        ASSERT_EQ(steg_image_load(dir.file("revealed.png").c_str(), 0, &revealed.img), STEG_OK);
        EXPECT_EQ(hybrid.img.width, c.img.width);
        EXPECT_EQ(hybrid.img.height, c.img.height);
        ASSERT_EQ(steg_payload_prepare(&s.img, c.img.width, c.img.height, STEG_FIT_SCALE, STEG_CHANNEL_LUMA, &payload.img),
                  STEG_OK);
        steg_context * ctx = steg_init_from_file(mdl.c_str(), steg_context_default_params());
        ASSERT_NE(ctx, nullptr);
        ASSERT_EQ(steg_image_alloc(&mine.img, c.img.width, c.img.height, STEG_FORMAT_GRAY8), STEG_OK);
        ASSERT_EQ(steg_reveal(ctx, &hybrid.img, &mine.img), STEG_OK);
        steg_free(ctx);
        EXPECT_EQ(std::memcmp(mine.img.data, revealed.img.data, size_t(c.img.width) * c.img.height), 0);
        // --payload-out saved exactly the payload that was hidden.
        Image hidden;
        ASSERT_EQ(steg_image_load(dir.file("hidden.png").c_str(), 0, &hidden.img), STEG_OK);
        EXPECT_EQ(std::memcmp(hidden.img.data, payload.img.data, size_t(c.img.width) * c.img.height), 0);

        // steg compare prints what the library computes.
        Result cmp = run("compare " + cover + " " + dir.file("hybrid.png") + " --json");
        ASSERT_EQ(cmp.code, 0) << cmp.err;
        const double psnr = steg_psnr(&c.img, &hybrid.img);
        EXPECT_NEAR(std::stod(cmp.out.substr(cmp.out.find(':') + 1)), psnr, 0.01) << cmp.out;
        if (mdl == shipped) {
            // What a user relies on: the hybrid looks like the cover and the payload comes back.
            EXPECT_GT(psnr, 24.0);
            EXPECT_GT(steg_psnr(&payload.img, &revealed.img), 24.0);
            EXPECT_GT(steg_ssim(&payload.img, &revealed.img), 0.75);
        }
    }
}

// steg reveal's payload score: always in --json; a verdict (and a warning below it) only
// from a model whose file names its threshold.
TEST_F(Cli, RevealScoresThePayloadAndWarnsBelowTheModelsThreshold) {
    ASSERT_EQ(run("hide " + dir.file("cover.png") + " " + dir.file("gray.png") + " -o " + dir.file("h.png") + m()).code, 0);
    auto json_field = [](const std::string & out, const std::string & key) {
        const size_t at = out.find("\"" + key + "\":");
        EXPECT_NE(at, std::string::npos) << key << " in " << out;
        return at == std::string::npos ? std::string() : out.substr(at + key.size() + 3, out.find_first_of(",}", at) - at - key.size() - 3);
    };
    // No threshold in the file: a score, no verdict, no warning.
    Result r = run("reveal " + dir.file("h.png") + " -o " + dir.file("r.png") + " --json" + m());
    ASSERT_EQ(r.code, 0) << r.err;
    const double score = std::stod(json_field(r.out, "payload_score"));
    EXPECT_GE(score, 0.0);
    EXPECT_LE(score, 1.0);
    EXPECT_EQ(json_field(r.out, "payload_present"), "null");
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
    r = run("reveal " + dir.file("h.png") + " -o " + dir.file("r.png") + m());
    EXPECT_NE(r.out.find("no threshold for this model"), std::string::npos) << r.out;
    // A threshold the score reaches: present; one it cannot reach: absent, and a warning
    // that says what to check. The same score either way.
    for (const auto & [threshold, present] : { std::pair{ "0", "true" }, std::pair{ "1.5", "false" } }) {
        const std::string mdl = dir.file(std::string("t") + threshold + ".safetensors");
        steg_test::write_random_model(mdl, 5, { { "payload_score_threshold", threshold } });
        r = run("reveal " + dir.file("h.png") + " -o " + dir.file("r.png") + " --json --model " + mdl);
        ASSERT_EQ(r.code, 0) << r.err;  // a warning, not a failure: the image is still written
        EXPECT_EQ(json_field(r.out, "payload_present"), present) << r.out;
        EXPECT_DOUBLE_EQ(std::stod(json_field(r.out, "payload_score")), score);
        EXPECT_DOUBLE_EQ(std::stod(json_field(r.out, "payload_threshold")), std::stod(threshold));
        EXPECT_EQ(r.err.find("probably carries no payload") != std::string::npos, std::string(present) == "false") << r.err;
        EXPECT_TRUE(std::filesystem::exists(dir.file("r.png")));
    }
}

TEST_F(Cli, RgbaCoverKeepsItsAlpha) {
    Result h = run("hide " + dir.file("rgba.png") + " " + dir.file("gray.png") + " -o " + dir.file("h.png") + m());
    ASSERT_EQ(h.code, 0) << h.err;
    Image a, b;
    ASSERT_EQ(steg_image_load(dir.file("rgba.png").c_str(), 0, &a.img), STEG_OK);
    ASSERT_EQ(steg_image_load(dir.file("h.png").c_str(), 0, &b.img), STEG_OK);
    ASSERT_EQ(b.img.format, STEG_FORMAT_RGBA8);
    for (int i = 0; i < 96 * 64; ++i) {
        ASSERT_EQ(a.img.data[i * 4 + 3], b.img.data[i * 4 + 3]) << i;
    }
}

TEST_F(Cli, PayloadLargerThanTheCoverIsFitted) {
    // --fit and --channel take effect: the payload hidden (--payload-out) is the one
    // steg_payload_prepare makes with them, and each choice gives another payload.
    Image big;
    ASSERT_EQ(steg_image_load(dir.file("big.jpg").c_str(), 0, &big.img), STEG_OK);
    std::vector<std::string> hidden;
    for (const auto & [fit, f] : { std::pair{ "scale", STEG_FIT_SCALE }, std::pair{ "letterbox", STEG_FIT_LETTERBOX } }) {
        for (const auto & [channel, c] : { std::pair{ "luma", STEG_CHANNEL_LUMA }, std::pair{ "g", STEG_CHANNEL_G } }) {
            const std::string args = std::string(" --fit ") + fit + " --channel " + channel;
            Result h = run("hide " + dir.file("cover.png") + " " + dir.file("big.jpg") + " -o " + dir.file("h.png") +
                           " --payload-out " + dir.file("p.png") + args + m());
            ASSERT_EQ(h.code, 0) << h.err;
            Image out, payload, want;
            ASSERT_EQ(steg_image_load(dir.file("h.png").c_str(), 0, &out.img), STEG_OK);
            EXPECT_EQ(out.img.width, 96);
            EXPECT_EQ(out.img.height, 64);
            ASSERT_EQ(steg_image_load(dir.file("p.png").c_str(), 0, &payload.img), STEG_OK);
            ASSERT_EQ(steg_payload_prepare(&big.img, 96, 64, f, c, &want.img), STEG_OK);
            EXPECT_TRUE(std::equal(want.img.data, want.img.data + 96 * 64, payload.img.data)) << args;
            hidden.push_back(steg_test::read_file(dir.file("p.png")));
        }
    }
    for (size_t i = 0; i < hidden.size(); ++i) {
        for (size_t j = i + 1; j < hidden.size(); ++j) {
            EXPECT_NE(hidden[i], hidden[j]) << "choices " << i << " and " << j << " hid the same payload";
        }
    }
}

TEST_F(Cli, SummaryNamesCoverThenPayloadAndAStretchIsWarnedOf) {
    // cover.png is 96x64 (landscape); a 40x90 portrait payload would be stretched.
    Image tall(40, 90, STEG_FORMAT_GRAY8), wide(150, 100, STEG_FORMAT_GRAY8);
    steg_test::fill_synthetic(tall.img, 7);
    steg_test::fill_synthetic(wide.img, 8);
    steg_image_save(dir.file("tall.png").c_str(), &tall.img, 0);
    steg_image_save(dir.file("wide.png").c_str(), &wide.img, 0);
    const std::string hide = "hide " + dir.file("cover.png") + " ";
    Result r = run(hide + dir.file("tall.png") + " -o " + dir.file("h.png") + m());
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_LT(r.out.find("cover.png"), r.out.find("tall.png")) << r.out;  // COVER, then PAYLOAD, as typed
    EXPECT_NE(r.out.find("(96x64)"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("stretched"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--fit letterbox"), std::string::npos) << r.err;
    // Asked for by name, or of the cover's shape (150x100 is 96x64's 3:2), it is not.
    for (const std::string & args : { dir.file("tall.png") + " --fit letterbox", dir.file("tall.png") + " --fit scale",
                                      dir.file("wide.png") }) {
        r = run(hide + args + " -o " + dir.file("h.png") + m());
        ASSERT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.err.find("stretched"), std::string::npos) << args << ": " << r.err;
    }
}

TEST_F(Cli, BadInputsGetAMessageAnExitCodeAndNoOutput) {
    const std::string out = dir.file("out.png");
    const std::string png = steg_test::read_file(dir.file("cover.png"));
    const std::string jpg = steg_test::read_file(dir.file("big.jpg"));
    steg_test::write_file(dir.file("trunc.png"), png.substr(0, png.size() / 2));
    steg_test::write_file(dir.file("trunc.jpg"), jpg.substr(0, jpg.size() / 2));
    steg_test::write_file(dir.file("empty.png"), "");
    steg_test::write_file(dir.file("model.png"), png);

    struct Case {
        std::string args;
        int         code;
        std::string says;
    };
    const std::string c = dir.file("cover.png"), g = dir.file("gray.png");
    const std::vector<Case> cases = {
        { "hide " + dir.file("missing.png") + " " + g + " -o " + out + m(), 3, "missing.png" },
        { "hide " + c + " " + dir.file("missing.png") + " -o " + out + m(), 3, "missing.png" },
        { "hide " + dir.file("trunc.png") + " " + g + " -o " + out + m(), 3, "trunc.png" },
        { "hide " + c + " " + dir.file("trunc.jpg") + " -o " + out + m(), 3, "truncated" },
        { "hide " + dir.file("empty.png") + " " + g + " -o " + out + m(), 3, "empty" },
        { "hide " + c + " " + g + " -o " + out + " --max-pixels 100" + m(), 3, "more than the limit" },
        { "hide " + g + " " + c + " -o " + out + m(), 3, "grayscale" },
        { "hide " + c + " " + g + " -o " + out + " --model " + dir.file("model.png"), 4, "model.png" },
        { "hide " + c + " " + g + " -o " + out + " --model " + dir.file("nope.safetensors"), 4, "nope.safetensors" },
        { "hide " + c + " " + g + " -o " + dir.file("out.jpg") + m(), 2, "lossy compression destroys the hidden" },
        { "hide " + c + " " + g + " -o " + dir.file("no/dir/out.png") + m(), 3, "no/dir/out.png" },
        { "reveal " + g + " -o " + out + m(), 3, "grayscale" },
        { "reveal " + dir.file("trunc.png") + " -o " + out + m(), 3, "trunc.png" },
        { "reveal " + c + " -o " + out + " --model " + dir.file("model.png"), 4, "model.png" },
        { "compare " + c + " " + dir.file("big.png"), 3, "differ in size" },
        { "compare " + c + " " + g, 3, "grayscale" },
        { "info " + dir.file("model.png"), 4, "model.png" },
    };
    for (const auto & k : cases) {
        Result r = run(k.args);
        EXPECT_EQ(r.code, k.code) << k.args << "\n" << r.err;
        EXPECT_NE(r.err.find(k.says), std::string::npos) << k.args << "\n" << r.err;
        EXPECT_FALSE(steg_test::file_exists(out)) << k.args;
        EXPECT_FALSE(steg_test::file_exists(dir.file("out.jpg"))) << k.args;
    }
    EXPECT_EQ(run("hide " + c + " " + g + " -o " + dir.file("ok.jpg") + " --allow-lossy" + m()).code, 0);
}

// Lossless WebP needs no --allow-lossy, and a hybrid kept as WebP reveals exactly what
// the same hybrid kept as PNG does.
TEST_F(Cli, LosslessWebpHybridRevealsAsPngDoes) {
    if (!STEG_HAVE_WEBP) {
        GTEST_SKIP() << "built without libwebp";
    }
    const std::string c = dir.file("cover.png"), g = dir.file("gray.png");
    Result            h = run("hide " + c + " " + g + " -o " + dir.file("h.webp") + m());
    ASSERT_EQ(h.code, 0) << h.err;
    ASSERT_EQ(run("hide " + c + " " + g + " -o " + dir.file("h.png") + m()).code, 0);
    Image a, b;
    ASSERT_EQ(steg_image_load(dir.file("h.webp").c_str(), 0, &a.img), STEG_OK) << steg_last_error();
    ASSERT_EQ(steg_image_load(dir.file("h.png").c_str(), 0, &b.img), STEG_OK) << steg_last_error();
    ASSERT_EQ(a.img.width * a.img.height, b.img.width * b.img.height);
    EXPECT_EQ(std::memcmp(a.img.data, b.img.data, size_t(a.img.width) * a.img.height * 3), 0);
    ASSERT_EQ(run("reveal " + dir.file("h.webp") + " -o " + dir.file("r1.png") + m()).code, 0);
    ASSERT_EQ(run("reveal " + dir.file("h.png") + " -o " + dir.file("r2.webp") + m()).code, 0);
    Image r1, r2;
    ASSERT_EQ(steg_image_load(dir.file("r1.png").c_str(), 0, &r1.img), STEG_OK);
    ASSERT_EQ(steg_image_load(dir.file("r2.webp").c_str(), 0, &r2.img), STEG_OK);
    ASSERT_EQ(r1.img.format, STEG_FORMAT_GRAY8);
    ASSERT_EQ(r2.img.format, STEG_FORMAT_RGB8);  // WebP has no gray: R = G = B
    ASSERT_EQ(r1.img.width * r1.img.height, r2.img.width * r2.img.height);
    int differ = 0;
    for (int i = 0; i < r1.img.width * r1.img.height; ++i) {
        for (int k = 0; k < 3; ++k) {
            differ += r2.img.data[i * 3 + k] != r1.img.data[i];
        }
    }
    EXPECT_EQ(differ, 0);
}

TEST_F(Cli, DefaultModelComesFromTheEnvironment) {
    Result r = run("info", "STEG_MODEL=" + model);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("architecture: rehman2017"), std::string::npos);
    EXPECT_NE(r.out.find(model), std::string::npos);
    EXPECT_EQ(run("info", "STEG_MODEL=" + dir.file("none.safetensors")).code, 4);
    EXPECT_EQ(run("hide " + dir.file("cover.png") + " " + dir.file("gray.png") + " -o " + dir.file("h.png"),
                  "STEG_MODEL=" + model)
                  .code,
              0);
}

TEST_F(Cli, ShippedModelsAreChosenByName) {
    // A name (no '/', no '.') is NAME.safetensors where the shipped models live, here
    // beside $STEG_MODEL as in the build tree.
    steg_test::write_random_model(dir.file("robust.safetensors"), 6);
    const std::string env = "STEG_MODEL=" + model;
    Result            r   = run("info robust", env);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("model:  " + dir.file("robust.safetensors")), std::string::npos) << r.out;
    r = run("hide " + dir.file("cover.png") + " " + dir.file("gray.png") + " -o " + dir.file("h.png") + " --model robust",
            env);
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("hide " + dir.file("cover.png") + " " + dir.file("gray.png") + " -o " + dir.file("n.png") + " --model nosuch",
            env);
    EXPECT_EQ(r.code, 4);
    EXPECT_NE(r.err.find("no model named 'nosuch'"), std::string::npos) << r.err;
    EXPECT_FALSE(steg_test::file_exists(dir.file("n.png")));
    // The C API resolves the same way, and leaves paths alone.
    setenv("STEG_MODEL", model.c_str(), 1);
    ASSERT_NE(steg_model_path("robust"), nullptr);
    EXPECT_EQ(std::string(steg_model_path("robust")), dir.file("robust.safetensors"));
    EXPECT_EQ(std::string(steg_model_path("some/where.safetensors")), "some/where.safetensors");
    EXPECT_EQ(std::string(steg_model_path(nullptr)), model);
    EXPECT_EQ(steg_model_path("nosuch"), nullptr);
    unsetenv("STEG_MODEL");
}

TEST_F(Cli, CompareIdenticalImages) {
    Result r = run("compare " + dir.file("cover.png") + " " + dir.file("cover.png"));
    ASSERT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("PSNR inf dB  SSIM 1.0000  CIEDE2000 mean 0.00  p99 0.00"), std::string::npos) << r.out;
}

TEST_F(Cli, CompareReportsTheColourDifferenceOfColourImages) {
    Image a, b;
    ASSERT_EQ(steg_image_load(dir.file("cover.png").c_str(), 0, &a.img), STEG_OK);
    ASSERT_EQ(steg_image_load(dir.file("cover.png").c_str(), 0, &b.img), STEG_OK);
    for (int i = 0; i < 96 * 64 * 3; i += 3) {
        b.img.data[i] = uint8_t(b.img.data[i] ^ 0x1f);  // red shifted in each pixel
    }
    ASSERT_EQ(steg_image_save(dir.file("tinted.png").c_str(), &b.img, 0), STEG_OK);
    double mean = 0, p99 = 0;
    ASSERT_EQ(steg_colour_difference(&a.img, &b.img, &mean, &p99), STEG_OK);
    ASSERT_GT(mean, 1.0);
    Result r = run("compare " + dir.file("cover.png") + " " + dir.file("tinted.png") + " --json");
    ASSERT_EQ(r.code, 0) << r.err;
    auto value = [&](const std::string & key) {
        const size_t at = r.out.find("\"" + key + "\": ");
        EXPECT_NE(at, std::string::npos) << key << " in " << r.out;
        return at == std::string::npos ? -1.0 : std::stod(r.out.substr(at + key.size() + 4));
    };
    EXPECT_NEAR(value("ciede2000_mean"), mean, 1e-4);
    EXPECT_NEAR(value("ciede2000_p99"), p99, 1e-4);
    // Gray pictures have no colour to compare: PSNR and SSIM only.
    Result g = run("compare " + dir.file("gray.png") + " " + dir.file("gray.png"));
    ASSERT_EQ(g.code, 0) << g.err;
    EXPECT_EQ(g.out.find("CIEDE2000"), std::string::npos) << g.out;
}

TEST_F(Cli, NeverOverwritesAnInputOrWritesTwoOutputsToOneFile) {
    const std::string c = dir.file("cover.png"), g = dir.file("gray.png");
    const std::string before_c = steg_test::read_file(c), before_g = steg_test::read_file(g);
    std::filesystem::create_hard_link(c, dir.file("link.png"));
    struct Case {
        std::string args, words;
    } cases[] = {
        { "hide " + c + " " + g + " -o " + c, "is the cover" },
        { "hide " + c + " " + g + " -o " + dir.path + "/./gray.png", "is the payload" },  // another spelling
        { "hide " + c + " " + g + " -o " + dir.file("link.png"), "is the cover" },         // a hard link
        { "hide " + c + " " + g + " -o " + dir.file("h.png") + " --payload-out " + dir.path + "/../" +
              std::filesystem::path(dir.path).filename().string() + "/h.png",
          "name the same file" },
    };
    for (const auto & k : cases) {
        Result r = run(k.args + m());
        EXPECT_EQ(r.code, 2) << k.args;
        EXPECT_NE(r.err.find(k.words), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("--force") + r.err.find("own name"), 2 * std::string::npos) << r.err;
    }
    EXPECT_EQ(steg_test::read_file(c), before_c);
    EXPECT_EQ(steg_test::read_file(g), before_g);
    EXPECT_FALSE(steg_test::file_exists(dir.file("h.png")));
    // reveal -o onto its only carrier is refused too
    ASSERT_EQ(run("hide " + c + " " + g + " -o " + dir.file("h.png") + m()).code, 0);
    const std::string hybrid = steg_test::read_file(dir.file("h.png"));
    Result            r      = run("reveal " + dir.file("h.png") + " -o " + dir.file("h.png") + m());
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(steg_test::read_file(dir.file("h.png")), hybrid);
    // ... unless the user insists. The output is a new file renamed over the name, so
    // the hard link's other name (the cover) keeps its content.
    EXPECT_EQ(run("hide " + c + " " + g + " -o " + dir.file("link.png") + " --force" + m()).code, 0);
    EXPECT_NE(steg_test::read_file(dir.file("link.png")), before_c);
    EXPECT_EQ(steg_test::read_file(c), before_c);
}

TEST_F(Cli, BadOutputNamesFailBeforeAnyWork) {
    const std::string c = dir.file("cover.png"), g = dir.file("gray.png");
    std::filesystem::create_directories(dir.file("folder"));
    struct Case {
        std::string out, words;
    } cases[] = {
        { dir.file("out.bmp"), "unsupported format '.bmp'" },
        { dir.file("folder"), "folder, not a file" },
        { dir.file("folder") + "/", "folder, not a file" },
        { dir.file("missing/out.png"), "does not exist" },
    };
    for (const auto & k : cases) {
        // A broken model would fail the run later: failing on the name first proves the
        // check comes before any work.
        steg_test::write_file(dir.file("broken.safetensors"), "x");
        Result r = run("hide " + c + " " + g + " -o " + k.out + " --model " + dir.file("broken.safetensors"));
        EXPECT_EQ(r.code, 3) << k.out << ": " << r.err;
        EXPECT_NE(r.err.find(k.words), std::string::npos) << r.err;
        r = run("hide " + c + " " + g + " -o " + dir.file("ok.png") + " --payload-out " + k.out + " --model " +
                dir.file("broken.safetensors"));
        EXPECT_EQ(r.code, 3) << k.out << ": " << r.err;
        EXPECT_NE(r.err.find(k.words), std::string::npos) << r.err;
    }
    EXPECT_FALSE(steg_test::file_exists(dir.file("ok.png")));
}

TEST_F(Cli, AllOutputsOrNone) {
    // The payload is written before the hybrid; a file-size limit between their sizes
    // makes the hybrid fail after the payload is written: neither may be left in place,
    // and no temporary either. A photo through the shipped model gives a hybrid several
    // times the size of its gray payload.
    const auto photos = steg_test::real_photos();
    const std::string shipped = steg_test::shipped_model();
    if (photos.size() < 2 || shipped.empty()) {
        GTEST_SKIP() << "needs two real photos and the shipped model";
    }
    const std::string c = photos[0], g = photos[1];
    model = shipped;
    ASSERT_EQ(run("hide " + c + " " + g + " -o " + dir.file("h.png") + " --payload-out " + dir.file("p.png") + m()).code, 0);
    const auto hybrid_kb  = std::filesystem::file_size(dir.file("h.png")) / 1024;
    const auto payload_kb = std::filesystem::file_size(dir.file("p.png")) / 1024;
    ASSERT_GT(hybrid_kb, payload_kb + 1);
    std::filesystem::create_directories(dir.file("out"));
    const std::string cmd = "bash -c 'ulimit -f " + std::to_string(payload_kb + 1) + "; exec " STEG_CLI " hide " + c +
                            " " + g + " -o " + dir.file("out/h.png") + " --payload-out " + dir.file("out/p.png") + m() +
                            "' 2>" + dir.file("err");
    const int rc = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 3) << steg_test::read_file(dir.file("err"));
    EXPECT_TRUE(std::filesystem::is_empty(dir.file("out")));
}

TEST_F(Cli, MaxPixelsIsARangeNotAWayAroundTheLimit) {
    for (const char * v : { "0", "-5", "99999999999999999999", "2000000000000" }) {
        Result r = run("compare " + dir.file("cover.png") + " " + dir.file("cover.png") + " --max-pixels " + v);
        EXPECT_EQ(r.code, 2) << v << ": " << r.err;
        EXPECT_LT(r.err.size(), 300u) << r.err;  // a sentence, not a 309-digit range
    }
    Result r = run("compare " + dir.file("cover.png") + " " + dir.file("cover.png") + " --max-pixels 6000");
    EXPECT_EQ(r.code, 3) << r.err;  // 96x64 = 6144 pixels: over the limit
    EXPECT_NE(r.err.find("more than the limit"), std::string::npos) << r.err;
}

namespace {

std::string read_bytes(const std::string & path) {
    return steg_test::read_file(path);
}

void write_bytes(const std::string & path, const std::string & bytes) {
    FILE * f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr) << path;
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
}

// A PNG whose header declares width x height (a valid CRC) over a tiny image.
std::string png_declaring(const std::string & png, uint32_t width, uint32_t height) {
    std::string s = png;  // signature (8), IHDR length (4), "IHDR" (4), width, height at 16 and 20
    for (int i = 0; i < 4; ++i) {
        s[size_t(16 + i)] = char((width >> (24 - 8 * i)) & 0xff);
        s[size_t(20 + i)] = char((height >> (24 - 8 * i)) & 0xff);
    }
    const uint32_t crc = uint32_t(crc32(0, reinterpret_cast<const Bytef *>(s.data() + 12), 17));
    for (int i = 0; i < 4; ++i) {
        s[size_t(29 + i)] = char((crc >> (24 - 8 * i)) & 0xff);
    }
    return s;
}

// A JPEG whose frame header declares width x height.
std::string jpeg_declaring(const std::string & jpg, uint16_t width, uint16_t height) {
    std::string  s   = jpg;
    const size_t sof = s.find("\xff\xc0");
    if (sof == std::string::npos || sof + 9 > s.size()) return s;
    s[sof + 5] = char(height >> 8), s[sof + 6] = char(height & 0xff);
    s[sof + 7] = char(width >> 8), s[sof + 8] = char(width & 0xff);
    return s;
}

}  // namespace

TEST_F(Cli, HostileImagesWorkOrExitThreeWithAMessageAndNoOutput) {
    // Truncations at many offsets, flipped bytes, and headers declaring far more pixels
    // than the file holds, as the cover of hide and the carrier of reveal: every run
    // either works (and writes its output) or exits 3 with a message and writes nothing.
    const std::string png = read_bytes(dir.file("cover.png")), jpg = read_bytes(dir.file("big.jpg"));
    ASSERT_GT(png.size(), 200u);
    ASSERT_GT(jpg.size(), 200u);
    std::vector<std::pair<std::string, std::string>> hostile;  // name, bytes
    for (const auto & [ext, bytes] : { std::pair{ std::string("png"), png }, std::pair{ std::string("jpg"), jpg } }) {
        for (int k = 0; k < 8; ++k) {  // cut after 0, 1/8, 2/8 ... 7/8 of the file, and one byte short
            const size_t at = k == 0 ? bytes.size() - 1 : bytes.size() * size_t(k - 1) / 7;
            hostile.push_back({ "cut" + std::to_string(k) + "." + ext, bytes.substr(0, at) });
        }
        for (int k = 0; k < 6; ++k) {  // a flipped byte in the headers, early and late in the data
            std::string  s  = bytes;
            const size_t at = std::vector<size_t>{ 3, 13, 18, 40, s.size() / 2, s.size() - 20 }[size_t(k)];
            s[at]           = char(~s[at]);
            hostile.push_back({ "flip" + std::to_string(k) + "." + ext, s });
        }
    }
    hostile.push_back({ "bomb.png", png_declaring(png, 60000, 60000) });
    hostile.push_back({ "wide.png", png_declaring(png, 0x7fffffff, 1) });
    hostile.push_back({ "bomb.jpg", jpeg_declaring(jpg, 60000, 60000) });

    const std::string out = dir.file("out.png");
    int               refused = 0, i = 0;
    for (const auto & [name, bytes] : hostile) {
        const std::string path = dir.file(name);
        write_bytes(path, bytes);
        // hide and reveal in turn (both read the file the same way; a process each costs)
        for (const std::string & cmd : { ++i % 2 ? "hide " + path + " " + dir.file("gray.png") + " -o " + out + m()
                                                 : "reveal " + path + " -o " + out + m() }) {
            std::filesystem::remove(out);
            Result r = run(cmd);
            if (r.code == 0) {
                EXPECT_TRUE(steg_test::file_exists(out)) << cmd;
                continue;
            }
            ++refused;
            EXPECT_EQ(r.code, 3) << cmd << "\n" << r.err;  // bad input, never a crash or "internal error"
            EXPECT_NE(r.err.find(name), std::string::npos) << cmd << "\n" << r.err;  // names the file
            EXPECT_FALSE(steg_test::file_exists(out)) << cmd;
        }
    }
    EXPECT_GT(refused, int(hostile.size()) / 2);  // most of them are refused, not silently read
}
