// SPDX-License-Identifier: MIT
// steg-trainer end to end on a tiny generated dataset: it trains, logs, checkpoints,
// exports a model that steg can use, evaluates in the paper's columns, and refuses bad data.
#include "steg-runtime.h"
#include "steg-train.h"
#include "test-util.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <sys/wait.h>

using steg_test::TempDir;

namespace {

int run(const std::string & cmd, const TempDir & d, std::string * out = nullptr, std::string * err = nullptr) {
    const int rc = std::system((cmd + " >" + d.file("o") + " 2>" + d.file("e")).c_str());
    if (out) *out = steg_test::read_file(d.file("o"));
    if (err) *err = steg_test::read_file(d.file("e"));
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Every weight of a model file, in the trainer's order.
std::vector<float> model_weights(const std::string & path) {
    steg::TrainOptions o;
    o.device = STEG_DEVICE_CPU;
    steg::Trainer t(o);
    t.import_model(path);
    return t.parameters_flat();
}

}  // namespace

TEST(TrainerCli, TrainsExportsAndEvaluates) {
    TempDir d;
    std::filesystem::create_directories(d.file("data"));
    for (int i = 0; i < 8; ++i) {
        steg_test::Image img(24, 24, STEG_FORMAT_RGB8);
        steg_test::fill_synthetic(img.img, uint32_t(i));
        steg_image_save(d.file("data/" + std::to_string(i) + ".png").c_str(), &img.img, 0);
    }
    std::string out, err;
    ASSERT_EQ(run(STEG_TRAINER " --help", d, &out), 0);
    EXPECT_NE(out.find("train"), std::string::npos);
    ASSERT_EQ(run(STEG_TRAINER " train --help", d, &out), 0);
    EXPECT_NE(out.find("--float-hybrid"), std::string::npos);

    const std::string train = STEG_TRAINER " train --covers " + d.file("data") +
                              " --size 16 --batch 2 --epochs 2 --val-fraction 0.25 --threads 1 -o " + d.file("m.safetensors");
    ASSERT_EQ(run(train, d, &out, &err), 0) << err;
    EXPECT_NE(err.find("epoch 2/2"), std::string::npos) << err;
    EXPECT_NE(err.find("val hybrid"), std::string::npos) << err;
    EXPECT_TRUE(steg_test::file_exists(d.file("m.safetensors.ckpt")));
    // The best validated epoch is kept beside the final model, as a usable model file.
    ASSERT_EQ(run(STEG_CLI " info " + d.file("m.best.safetensors"), d, &out, &err), 0) << err;
    EXPECT_NE(out.find("\"epoch\":"), std::string::npos) << out;
    std::istringstream log(steg_test::read_file(d.file("m.safetensors.log.jsonl")));
    int                lines = 0;
    for (std::string l; std::getline(log, l);) ++lines;
    EXPECT_EQ(lines, 2);

    // The exported model is an ordinary model file, with its training summary.
    ASSERT_EQ(run(STEG_CLI " info " + d.file("m.safetensors"), d, &out, &err), 0) << err;
    EXPECT_NE(out.find("\"epochs\":2"), std::string::npos) << out;
    EXPECT_NE(out.find("metrics: {"), std::string::npos) << out;
    EXPECT_NE(out.find("-o m.safetensors"), std::string::npos) << out;  // no machine path in the summary
    const std::string training = out.substr(out.find("training:"));
    EXPECT_EQ(training.find(d.path), std::string::npos) << training;

    ASSERT_EQ(run(STEG_TRAINER " eval --model " + d.file("m.safetensors") + " --covers " + d.file("data") + " --size 16 --json " +
                      d.file("r.json"),
                  d, &out, &err),
              0)
        << err;
    EXPECT_NE(out.find("| cover set | payload set | epochs | bpp | encoder PSNR (dB) | decoder PSNR (dB) | payload % |"),
              std::string::npos)
        << out;
    EXPECT_NE(steg_test::read_file(d.file("r.json")).find("\"bpp\": 8.0"), std::string::npos);
    EXPECT_NE(steg_test::read_file(d.file("r.json")).find("\"pairs\": 4"), std::string::npos);  // 8 images, paired

    // Only the images train held out: 8 images, test fraction 0.25 -> 2 images, 1 pair.
    ASSERT_EQ(run(STEG_TRAINER " eval --model " + d.file("m.safetensors") + " --covers " + d.file("data") +
                      " --size 16 --test-fraction 0.25 --val-fraction 0.25 --split-seed 1 --json " + d.file("t.json"),
                  d, &out, &err),
              0)
        << err;
    EXPECT_NE(steg_test::read_file(d.file("t.json")).find("\"pairs\": 1"), std::string::npos)
        << steg_test::read_file(d.file("t.json"));

    // Any checkpoint becomes a model file.
    ASSERT_EQ(run(STEG_TRAINER " export --checkpoint " + d.file("m.safetensors.ckpt") + " -o " + d.file("e.safetensors"), d,
                  &out, &err),
              0)
        << err;
    ASSERT_EQ(run(STEG_CLI " info " + d.file("e.safetensors"), d, &out, &err), 0) << err;
    EXPECT_NE(out.find("\"checkpoint_epoch\":2"), std::string::npos) << out;

    // Resuming a finished run has nothing left to do, and says where it resumed.
    ASSERT_EQ(run(train + " --resume", d, &out, &err), 0) << err;
    EXPECT_NE(err.find("resumed"), std::string::npos) << err;
}

TEST(TrainerCli, SpeedAndScheduleFlagsReachTheRun) {
    // --amp, --no-channels-last, --warmup and --data-workers are taken, the run trains,
    // and the training summary records what it ran with.
    TempDir d;
    std::filesystem::create_directories(d.file("data"));
    for (int i = 0; i < 4; ++i) {
        steg_test::Image img(20, 20, STEG_FORMAT_RGB8);
        steg_test::fill_synthetic(img.img, uint32_t(i + 20));
        steg_image_save(d.file("data/" + std::to_string(i) + ".png").c_str(), &img.img, 0);
    }
    std::string out, err;
    const std::string train = STEG_TRAINER " train --covers " + d.file("data") +
                              " --size 16 --batch 2 --epochs 1 --val-fraction 0 --threads 1 --data-workers 0";
    // --amp only where the CPU computes bf16 natively; elsewhere it is refused in words
    // (emulated, it trains many times slower) and nothing is written.
    const bool        amp_ok = steg::cpu_has_native_bf16();
    const std::string amp    = amp_ok ? " --amp" : "";
    if (!amp_ok) {
        EXPECT_EQ(run(train + " --amp -o " + d.file("refused.safetensors"), d, &out, &err), 5);
        EXPECT_NE(err.find("--amp needs native bf16"), std::string::npos) << err;
        EXPECT_FALSE(steg_test::file_exists(d.file("refused.safetensors")));
    }
    ASSERT_EQ(run(train + amp + " --no-channels-last --warmup 1.5 -o " + d.file("m.safetensors"), d, &out, &err), 0)
        << err;
    // They change the training, not only the summary: the same run (same seed, same
    // batches) without --amp, and without --warmup, ends with other weights.
    ASSERT_EQ(run(train + " -o " + d.file("plain.safetensors"), d, &out, &err), 0) << err;
    ASSERT_EQ(run(train + " --warmup 1.5 -o " + d.file("warm.safetensors"), d, &out, &err), 0) << err;
    auto weights = [&](const std::string & name) { return model_weights(d.file(name)); };
    const auto plain = weights("plain.safetensors");
    if (amp_ok) {
        ASSERT_EQ(run(train + " --amp -o " + d.file("amp.safetensors"), d, &out, &err), 0) << err;
        EXPECT_NE(weights("amp.safetensors"), plain) << "--amp changed nothing";
    }
    EXPECT_NE(weights("warm.safetensors"), plain) << "--warmup changed nothing";
    // ... which is their doing: the plain run, repeated, ends with the same weights.
    ASSERT_EQ(run(train + " -o " + d.file("again.safetensors"), d, &out, &err), 0) << err;
    EXPECT_EQ(weights("again.safetensors"), plain);
    ASSERT_EQ(run(STEG_CLI " info " + d.file("m.safetensors"), d, &out, &err), 0) << err;
    EXPECT_NE(out.find(amp_ok ? "\"amp\":true" : "\"amp\":false"), std::string::npos) << out;
    EXPECT_NE(out.find("\"channels_last\":false"), std::string::npos) << out;
    EXPECT_NE(out.find("\"warmup\":1.5"), std::string::npos) << out;
    ASSERT_NE(run(STEG_TRAINER " train --covers " + d.file("data") + " --warmup -1 -o " + d.file("x.safetensors"), d, &out,
                  &err),
              0);
    EXPECT_NE(err.find("--warmup"), std::string::npos) << err;
}

TEST(TrainerCli, BadDataAndModelsGetClearErrors) {
    TempDir d;
    std::filesystem::create_directories(d.file("empty"));
    std::string err;
    EXPECT_EQ(run(STEG_TRAINER " train --covers " + d.file("empty") + " -o " + d.file("m.safetensors"), d, nullptr, &err), 3);
    EXPECT_NE(err.find("no PNG, JPEG or WebP"), std::string::npos) << err;
    steg_test::write_file(d.file("junk.safetensors"), "junk");
    EXPECT_EQ(run(STEG_TRAINER " eval --model " + d.file("junk.safetensors") + " --covers " + d.file("empty"), d, nullptr, &err), 4);
    EXPECT_NE(err.find("junk.safetensors"), std::string::npos) << err;
    EXPECT_EQ(run(STEG_TRAINER " train --covers x -o y --size 3", d, nullptr, &err), 2);
    EXPECT_FALSE(steg_test::file_exists(d.file("m.safetensors")));
}

TEST(TrainerCli, ResidualRunsExportResumeAndEvaluateWithSpread) {
    // A rehman2017-residual run with a chroma weight and colour augmentation: the model
    // file says what it is, a checkpoint exports and resumes as the same architecture,
    // and eval prints mean, worst pair and percentile.
    TempDir d;
    std::filesystem::create_directories(d.file("data"));
    for (int i = 0; i < 8; ++i) {
        steg_test::Image img(20, 20, STEG_FORMAT_RGB8);
        steg_test::fill_synthetic(img.img, uint32_t(i + 40));
        steg_image_save(d.file("data/" + std::to_string(i) + ".png").c_str(), &img.img, 0);
    }
    std::string       out, err;
    const std::string train = STEG_TRAINER " train --covers " + d.file("data") +
                              " --size 16 --batch 2 --epochs 2 --val-fraction 0.25 --threads 1"
                              " --architecture rehman2017-residual --alpha 2 --chroma-weight 4 --colour-augment 0.5 -o " +
                              d.file("r.safetensors");
    ASSERT_EQ(run(train, d, &out, &err), 0) << err;
    EXPECT_NE(err.find("CIEDE2000"), std::string::npos) << err;  // validation reports the colour difference
    ASSERT_EQ(run(STEG_CLI " info " + d.file("r.safetensors"), d, &out, &err), 0) << err;
    EXPECT_NE(out.find("architecture: rehman2017-residual"), std::string::npos) << out;
    for (const char * key : { "\"alpha\":2.0", "\"chroma_weight\":4.0",
                              "\"colour_augment\":0.5", "\"architecture\":\"rehman2017-residual\"" }) {
        EXPECT_NE(out.find(key), std::string::npos) << key << " in " << out;
    }
    ASSERT_EQ(run(STEG_TRAINER " export --checkpoint " + d.file("r.safetensors.ckpt") + " -o " + d.file("e.safetensors"), d,
                  &out, &err),
              0)
        << err;
    ASSERT_EQ(run(STEG_CLI " info " + d.file("e.safetensors"), d, &out, &err), 0) << err;
    EXPECT_NE(out.find("architecture: rehman2017-residual"), std::string::npos) << out;
    // --resume continues as the checkpoint's architecture without being told.
    const std::string plain = STEG_TRAINER " train --covers " + d.file("data") +
                              " --size 16 --batch 2 --epochs 3 --val-fraction 0.25 --threads 1 -o " + d.file("r.safetensors");
    ASSERT_EQ(run(plain + " --resume", d, &out, &err), 0) << err;
    EXPECT_NE(err.find("epoch 3/3"), std::string::npos) << err;
    // Fine-tuning a residual model as the paper's architecture is refused.
    EXPECT_EQ(run(STEG_TRAINER " train --covers " + d.file("data") + " --size 16 --architecture rehman2017 --init " +
                      d.file("e.safetensors") + " -o " + d.file("x.safetensors"),
                  d, &out, &err),
              3);
    EXPECT_NE(err.find("rehman2017-residual"), std::string::npos) << err;

    ASSERT_EQ(run(STEG_TRAINER " eval --model " + d.file("r.safetensors") + " --covers " + d.file("data") +
                      " --size 16 --json " + d.file("r.json"),
                  d, &out, &err),
              0)
        << err;
    for (const char * line : { "hybrid PSNR", "revealed PSNR", "CIEDE2000 cover-hybrid", "CIEDE2000 p99" }) {
        EXPECT_NE(out.find(line), std::string::npos) << line << " in " << out;
    }
    EXPECT_NE(out.find("5th percentile"), std::string::npos) << out;
    const std::string j = steg_test::read_file(d.file("r.json"));
    for (const char * key : { "\"hybrid_psnr\"", "\"worst_pair\"", "\"p5\"", "\"ciede2000_mean\"", "\"p95\"" }) {
        EXPECT_NE(j.find(key), std::string::npos) << key << " in " << j;
    }
}

TEST(TrainerCli, OptionsAndOutputsAreCheckedBeforeTraining) {
    TempDir d;
    std::filesystem::create_directories(d.file("data"));
    for (int i = 0; i < 6; ++i) {
        steg_test::Image img(20, 20, STEG_FORMAT_RGB8);
        steg_test::fill_synthetic(img.img, uint32_t(i + 60));
        steg_image_save(d.file("data/" + std::to_string(i) + ".png").c_str(), &img.img, 0);
    }
    const std::string base = STEG_TRAINER " train --covers " + d.file("data") + " --size 16 --batch 2 --epochs 1 --threads 1";
    std::string       err;
    // Values that make no sense are usage errors naming the option, not internal errors.
    for (const char * bad : { "--val-fraction -0.5", "--lr nan", "--lr -1", "--repeat -3", "--alpha inf",
                              "--test-fraction 0.5 --val-fraction 0.5" }) {
        const int rc = run(base + " " + bad + " -o " + d.file("m.safetensors"), d, nullptr, &err);
        EXPECT_TRUE(rc == 2 || rc == 3) << bad << ": " << rc << " " << err;
        EXPECT_EQ(err.find("internal error"), std::string::npos) << bad << ": " << err;
        const std::string opt = std::string(bad).substr(0, std::string(bad).find(' '));
        EXPECT_NE(err.find(opt.substr(2)), std::string::npos) << bad << ": " << err;
    }
    // Outputs that cannot be written fail at once, before any epoch.
    EXPECT_EQ(run(base + " -o " + d.file("missing/m.safetensors"), d, nullptr, &err), 3);
    EXPECT_NE(err.find("does not exist"), std::string::npos) << err;
    EXPECT_EQ(run(base + " -o " + d.file("m.safetensors") + " --log " + d.file("nolog/x.jsonl"), d, nullptr, &err), 3);
    EXPECT_NE(err.find("--log"), std::string::npos) << err;
    EXPECT_FALSE(steg_test::file_exists(d.file("m.safetensors.ckpt")));
}

TEST(TrainerCli, ResumeKeepsTheRunItsOptionsAndItsBest) {
    TempDir d;
    std::filesystem::create_directories(d.file("data"));
    for (int i = 0; i < 8; ++i) {
        steg_test::Image img(20, 20, STEG_FORMAT_RGB8);
        steg_test::fill_synthetic(img.img, uint32_t(i + 80));
        steg_image_save(d.file("data/" + std::to_string(i) + ".png").c_str(), &img.img, 0);
    }
    const std::string base = STEG_TRAINER " train --covers " + d.file("data") +
                             " --size 16 --val-fraction 0.25 --threads 1 -o " + d.file("m.safetensors");
    const std::string train = base + " --batch 2";
    std::string       err;
    ASSERT_EQ(run(train + " --epochs 2", d, nullptr, &err), 0) << err;
    // A finished run resumed has nothing to do and leaves its model (and its figures) alone.
    const std::string model = steg_test::read_file(d.file("m.safetensors"));
    ASSERT_EQ(run(train + " --epochs 2 --resume", d, nullptr, &err), 0) << err;
    EXPECT_NE(err.find("nothing to do"), std::string::npos) << err;
    EXPECT_EQ(steg_test::read_file(d.file("m.safetensors")), model);
    // Resuming with options that change the batches is refused, naming the option.
    EXPECT_EQ(run(base + " --epochs 3 --resume --batch 3", d, nullptr, &err), 3);
    EXPECT_NE(err.find("--batch 2, not 3"), std::string::npos) << err;
    EXPECT_EQ(run(train + " --epochs 3 --resume --seed 5", d, nullptr, &err), 3);
    EXPECT_NE(err.find("--seed"), std::string::npos) << err;
    // The best validation score travels in the checkpoint: a resumed run's later, worse
    // epochs do not replace the best model.
    const std::string best = steg_test::read_file(d.file("m.best.safetensors"));
    steg::TrainOptions o;
    o.size = 16, o.batch = 2, o.threads = 1, o.device = STEG_DEVICE_CPU;
    steg::Trainer t(o);
    t.load_checkpoint(d.file("m.safetensors.ckpt"));
    EXPECT_GT(t.best_score(), 0.0);  // the score of the best epoch, not -inf
    t.set_best_score(1e9);           // as if the run had validated far better
    t.save_checkpoint(d.file("m.safetensors.ckpt"));
    ASSERT_EQ(run(train + " --epochs 3 --resume", d, nullptr, &err), 0) << err;
    EXPECT_EQ(steg_test::read_file(d.file("m.best.safetensors")), best);
}

TEST(TrainerCli, TransportTrainsThroughTheChannelsAndIsRecorded) {
    TempDir d;
    std::filesystem::create_directories(d.file("data"));
    for (int i = 0; i < 4; ++i) {
        steg_test::Image img(24, 24, STEG_FORMAT_RGB8);
        steg_test::fill_synthetic(img.img, uint32_t(i + 40));
        steg_image_save(d.file("data/" + std::to_string(i) + ".png").c_str(), &img.img, 0);
    }
    std::string       out, err;
    const std::string train = STEG_TRAINER " train --covers " + d.file("data") +
                              " --size 16 --batch 2 --epochs 1 --val-fraction 0 --threads 1 --data-workers 0";
    ASSERT_EQ(run(train + " --transport jpeg:70-90,yuv420 -o " + d.file("r.safetensors"), d, &out, &err), 0) << err;
    // The model file says what it was trained to survive, in the canonical words.
    ASSERT_EQ(run(STEG_CLI " info " + d.file("r.safetensors"), d, &out, &err), 0) << err;
    EXPECT_NE(out.find("transport: jpeg:70-90,yuv420:bt601"), std::string::npos) << out;
    // The channel changes the training: the same run without it ends elsewhere.
    ASSERT_EQ(run(train + " -o " + d.file("p.safetensors"), d, &out, &err), 0) << err;
    auto weights = [&](const std::string & name) { return model_weights(d.file(name)); };
    EXPECT_NE(weights("r.safetensors"), weights("p.safetensors"));
    ASSERT_EQ(run(STEG_CLI " info " + d.file("p.safetensors"), d, &out, &err), 0) << err;
    EXPECT_EQ(out.find("transport:"), std::string::npos) << out;
    // eval reveals after a channel when asked, and says so.
    ASSERT_EQ(run(STEG_TRAINER " eval --model " + d.file("r.safetensors") + " --covers " + d.file("data") +
                      " --size 16 --transport jpeg:50 --json " + d.file("j.json"),
                  d, &out, &err),
              0)
        << err;
    EXPECT_NE(steg_test::read_file(d.file("j.json")).find("\"revealed_after\": \"jpeg:50"), std::string::npos);
    // A bad mix is refused before any data is read, with what is accepted.
    ASSERT_EQ(run(train + " --transport jpeg:500 -o " + d.file("x.safetensors"), d, &out, &err), 2) << err;
    EXPECT_NE(err.find("jpeg[:QUALITY or LO-HI"), std::string::npos) << err;
    EXPECT_EQ(err.find("--transport: --transport"), std::string::npos) << "the option named once: " << err;
    EXPECT_FALSE(steg_test::file_exists(d.file("x.safetensors")));
}
