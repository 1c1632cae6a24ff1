// SPDX-License-Identifier: MIT
// Model files: safetensors written and read back bit-exactly; every kind of damage is
// refused with a message that says what is wrong.
#include "steg-error.h"
#include "steg-model.h"
#include "steg-safetensors.h"
#include "test-util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstring>

using steg_test::TempDir;

namespace {

std::string error_of(const std::string & path) {
    try {
        steg::load_model(path);
    } catch (const steg::Error & e) {
        EXPECT_EQ(e.status(), STEG_ERR_MODEL);
        return e.what();
    }
    return "";
}

// A safetensors file from a header object and a data area, for hand-made damage.
std::string make_file(const nlohmann::json & header, const std::string & data) {
    std::string h = header.dump();
    std::string out(8, '\0');
    uint64_t    n = h.size();
    for (int i = 0; i < 8; ++i) {
        out[size_t(i)] = char(n >> (8 * i));
    }
    return out + h + data;
}

nlohmann::json meta() {
    return { { "format_version", "1" }, { "architecture", "rehman2017" } };
}

}  // namespace

TEST(ModelFile, RoundTripIsBitExact) {
    TempDir d;
    torch::manual_seed(7);
    steg::Model m = steg::new_model();
    m.metadata["training"] = "{\"epochs\": 3}";
    steg::save_model(d.file("m.safetensors"), m);
    steg::Model back = steg::load_model(d.file("m.safetensors"));
    auto        a = m.encoder->parameters(), b = back.encoder->parameters();
    for (auto & p : m.decoder->parameters()) {
        a.push_back(p);
    }
    for (auto & p : back.decoder->parameters()) {
        b.push_back(p);
    }
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
    }
    EXPECT_EQ(back.metadata.at("training"), "{\"epochs\": 3}");
    EXPECT_EQ(back.metadata.at("architecture"), "rehman2017");
    EXPECT_EQ(back.metadata.at("payload_channels"), "1");
}

// Trained weights hold subnormal floats. A model file is read as it is (a training run
// resumed from it starts from the very weights), and inference zeroes them
// (flush_subnormals, which the engine calls): exactly those, every other weight kept.
TEST(ModelFile, SubnormalWeightsAreReadAsTheyAreAndFlushedForInference) {
    TempDir d;
    torch::manual_seed(8);
    steg::Model m = steg::new_model();
    {
        torch::NoGradGuard no_grad;
        auto               w = m.encoder->parameters()[0].view(-1);
        w[0]                 = 1e-39f;   // subnormal
        w[1]                 = -3e-42f;  // subnormal
        w[2]                 = 2e-38f;   // the smallest normals and above stay
        m.decoder->parameters()[0].view(-1)[0] = 5e-40f;
    }
    steg::save_model(d.file("m.safetensors"), m);
    steg::Model back = steg::load_model(d.file("m.safetensors"));
    EXPECT_EQ(back.encoder->parameters()[0].view(-1)[0].item<float>(), 1e-39f);
    const torch::Tensor before = back.encoder->parameters()[0].clone();
    steg::flush_subnormals(back);
    const torch::Tensor after = back.encoder->parameters()[0].view(-1);
    EXPECT_EQ(after[0].item<float>(), 0.0f);
    EXPECT_EQ(after[1].item<float>(), 0.0f);
    EXPECT_EQ(after[2].item<float>(), 2e-38f);
    EXPECT_TRUE(torch::equal(after.narrow(0, 2, after.numel() - 2), before.view(-1).narrow(0, 2, after.numel() - 2)));
    EXPECT_EQ(back.decoder->parameters()[0].view(-1)[0].item<float>(), 0.0f);
}

TEST(ModelFile, IsStandardSafetensors) {
    // Python's safetensors reads what this checks: 8-byte length, JSON header, tensors
    // tiling the data area in F32 with names a PyTorch state_dict can take.
    TempDir d;
    steg_test::write_random_model(d.file("m.safetensors"));
    const std::string bytes = steg_test::read_file(d.file("m.safetensors"));
    uint64_t          n     = 0;
    std::memcpy(&n, bytes.data(), 8);
    EXPECT_EQ((8 + n) % 8, 0u);  // header padded to 8 bytes, as the reference writer does
    auto h = nlohmann::json::parse(bytes.substr(8, n));
    EXPECT_EQ(h["encoder.host.0.weight"]["dtype"], "F32");
    EXPECT_EQ(h["encoder.host.0.weight"]["shape"], nlohmann::json({ 16, 3, 3, 3 }));
    EXPECT_EQ(h["decoder.net.12.bias"]["shape"], nlohmann::json({ 1 }));
    EXPECT_EQ(h["__metadata__"]["normalization"], "x / 255 - 0.5 for cover, payload and hybrid pixels");
    uint64_t total = 0;
    for (auto & [k, v] : h.items()) {
        if (k != "__metadata__") {
            total += v["data_offsets"][1].get<uint64_t>() - v["data_offsets"][0].get<uint64_t>();
        }
    }
    EXPECT_EQ(total, (36051u + 4819u) * 4);
    EXPECT_EQ(bytes.size(), 8 + n + total);
}

TEST(ModelFile, MissingFile) {
    EXPECT_NE(error_of("/nonexistent/model.safetensors").find("cannot open"), std::string::npos);
}

TEST(ModelFile, EveryTruncationIsRefused) {
    TempDir d;
    steg_test::write_random_model(d.file("m.safetensors"));
    const std::string bytes = steg_test::read_file(d.file("m.safetensors"));
    for (size_t len : { size_t(0), size_t(4), size_t(8), size_t(100), bytes.size() / 2, bytes.size() - 1 }) {
        steg_test::write_file(d.file("t.safetensors"), bytes.substr(0, len));
        const std::string e = error_of(d.file("t.safetensors"));
        EXPECT_FALSE(e.empty()) << len;
        EXPECT_TRUE(e.find("too short") != std::string::npos || e.find("truncated") != std::string::npos ||
                    e.find("not valid JSON") != std::string::npos)
            << len << ": " << e;
    }
}

TEST(ModelFile, NotAModelFile) {
    TempDir d;
    steg_test::write_file(d.file("x.safetensors"), std::string("\x89PNG\r\n\x1a\n") + std::string(100, 'x'));
    EXPECT_NE(error_of(d.file("x.safetensors")).find("header"), std::string::npos);
}

TEST(ModelFile, HugeHeaderLengthIsRefusedBeforeReading) {
    TempDir     d;
    std::string f(16, '\xff');
    steg_test::write_file(d.file("h.safetensors"), f);
    EXPECT_NE(error_of(d.file("h.safetensors")).find("header"), std::string::npos);
}

TEST(ModelFile, OverlapGapAndBadLengthsAreRefused) {
    auto parse = [](const std::string & bytes) -> std::string {
        try {
            steg::parse_safetensors(std::vector<uint8_t>(bytes.begin(), bytes.end()), "f");
        } catch (const steg::Error & e) {
            return e.what();
        }
        return "";
    };
    nlohmann::json h = { { "__metadata__", meta() },
                         { "a", { { "dtype", "F32" }, { "shape", { 2 } }, { "data_offsets", { 0, 8 } } } },
                         { "b", { { "dtype", "F32" }, { "shape", { 2 } }, { "data_offsets", { 4, 12 } } } } };
    EXPECT_NE(parse(make_file(h, std::string(12, '\0'))).find("overlaps"), std::string::npos);
    h["b"]["data_offsets"] = { 12, 20 };
    EXPECT_NE(parse(make_file(h, std::string(20, '\0'))).find("gap"), std::string::npos);
    h["b"]["data_offsets"] = { 8, 16 };
    EXPECT_NE(parse(make_file(h, std::string(12, '\0'))).find("truncated"), std::string::npos);
    EXPECT_NE(parse(make_file(h, std::string(24, '\0'))).find("unexplained"), std::string::npos);
    EXPECT_EQ(parse(make_file(h, std::string(16, '\0'))), "");
    h["b"]["shape"] = { 3 };
    EXPECT_NE(parse(make_file(h, std::string(16, '\0'))).find("need"), std::string::npos);
    h["b"]["shape"] = { 4294967296ull, 4294967296ull };
    EXPECT_NE(parse(make_file(h, std::string(16, '\0'))).find("more elements"), std::string::npos);
    h["b"]["shape"] = { -2 };
    EXPECT_NE(parse(make_file(h, std::string(16, '\0'))).find("non-negative"), std::string::npos);
    h["b"] = { { "dtype", "Q4" }, { "shape", { 2 } }, { "data_offsets", { 8, 16 } } };
    EXPECT_NE(parse(make_file(h, std::string(16, '\0'))).find("unknown dtype"), std::string::npos);
    h["b"] = { { "dtype", "F32" }, { "shape", { 2 } }, { "data_offsets", { 16, 8 } } };
    EXPECT_NE(parse(make_file(h, std::string(16, '\0'))).find("ends before"), std::string::npos);
    h["b"] = 5;
    EXPECT_NE(parse(make_file(h, std::string(16, '\0'))).find("not an object"), std::string::npos);
    EXPECT_NE(parse(make_file(nlohmann::json::array(), "")).find("not a JSON object"), std::string::npos);
    EXPECT_NE(parse(make_file({ { "__metadata__", { { "k", 1 } } } }, "")).find("not a string"), std::string::npos);
}

TEST(ModelFile, WrongArchitectureShapesDtypesAndValuesAreRefused) {
    TempDir d;
    torch::manual_seed(1);
    steg::Model m = steg::new_model();
    m.metadata["architecture"] = "other";
    // save_model always stamps our architecture; write by hand to test the reader.
    std::vector<torch::Tensor>    keep;
    std::vector<steg::TensorBlob> blobs;
    auto add = [&](const std::string & name, torch::Tensor t, const std::string & dtype = "F32") {
        keep.push_back(t.contiguous());
        blobs.push_back({ name, dtype, t.sizes().vec(), keep.back().data_ptr(), uint64_t(t.nbytes()) });
    };
    auto all = [&](auto && tweak) {
        keep.clear();
        blobs.clear();
        for (auto & p : m.encoder->named_parameters()) {
            add("encoder." + p.key(), p.value().detach().clone());
        }
        for (auto & p : m.decoder->named_parameters()) {
            add("decoder." + p.key(), p.value().detach().clone());
        }
        tweak();
    };
    std::map<std::string, std::string> md = { { "format_version", "1" }, { "architecture", "rehman2017" } };

    all([] {});
    steg::write_safetensors(d.file("ok.safetensors"), md, blobs);
    EXPECT_EQ(error_of(d.file("ok.safetensors")), "");

    auto other = md;
    other["architecture"] = "wide2019";
    steg::write_safetensors(d.file("a.safetensors"), other, blobs);
    EXPECT_NE(error_of(d.file("a.safetensors")).find("unknown architecture 'wide2019'"), std::string::npos);

    // rehman2017-bounded names its bound, in 8-bit levels above 0 and at most 255.
    auto bounded = md;
    bounded["architecture"] = "rehman2017-bounded";
    steg::write_safetensors(d.file("b.safetensors"), bounded, blobs);
    EXPECT_NE(error_of(d.file("b.safetensors")).find("needs its change_bound"), std::string::npos);
    for (const char * bad : { "", "0", "-3", "nan", "inf", "300", "4x" }) {
        bounded["change_bound"] = bad;
        steg::write_safetensors(d.file("b.safetensors"), bounded, blobs);
        EXPECT_NE(error_of(d.file("b.safetensors")).find("it has '" + std::string(bad) + "'"), std::string::npos) << bad;
    }
    bounded["change_bound"] = "3.5";
    steg::write_safetensors(d.file("b.safetensors"), bounded, blobs);
    EXPECT_EQ(error_of(d.file("b.safetensors")), "");
    EXPECT_EQ(steg::load_model(d.file("b.safetensors")).change_bound, 3.5);

    auto version = md;
    version["format_version"] = "9";
    steg::write_safetensors(d.file("v.safetensors"), version, blobs);
    EXPECT_NE(error_of(d.file("v.safetensors")).find("format version '9'"), std::string::npos);

    all([&] { blobs.pop_back(); });
    steg::write_safetensors(d.file("m.safetensors"), md, blobs);
    EXPECT_NE(error_of(d.file("m.safetensors")).find("is missing"), std::string::npos);

    all([&] { add("decoder.extra", torch::zeros({ 1 })); });
    steg::write_safetensors(d.file("e.safetensors"), md, blobs);
    EXPECT_NE(error_of(d.file("e.safetensors")).find("unexpected tensor 'decoder.extra'"), std::string::npos);

    all([&] {
        keep[0]  = torch::zeros({ 16, 1, 5, 1 });
        blobs[0] = { blobs[0].name, "F32", { 16, 1, 5, 1 }, keep[0].data_ptr(), uint64_t(keep[0].nbytes()) };
    });
    steg::write_safetensors(d.file("s.safetensors"), md, blobs);
    EXPECT_NE(error_of(d.file("s.safetensors")).find("has shape [16, 1, 5, 1], expected"), std::string::npos);

    all([&] {
        keep[0]        = keep[0].to(torch::kFloat64);
        blobs[0].data  = keep[0].data_ptr();
        blobs[0].dtype = "F64";
        blobs[0].nbytes *= 2;
    });
    steg::write_safetensors(d.file("d.safetensors"), md, blobs);
    EXPECT_NE(error_of(d.file("d.safetensors")).find("dtype F64, expected F32"), std::string::npos);

    all([&] { keep[0].view(-1)[3] = std::nanf(""); });
    steg::write_safetensors(d.file("n.safetensors"), md, blobs);
    EXPECT_NE(error_of(d.file("n.safetensors")).find("NaN"), std::string::npos);
}

TEST(ModelFile, BrokenModelThroughTheCApi) {
    TempDir d;
    steg_test::write_file(d.file("bad.safetensors"), "not a model at all");
    EXPECT_EQ(steg_init_from_file(d.file("bad.safetensors").c_str(), steg_context_default_params()), nullptr);
    EXPECT_NE(std::string(steg_last_error()).find("bad.safetensors"), std::string::npos);
    EXPECT_EQ(steg_last_status(), STEG_ERR_MODEL);
    EXPECT_EQ(steg_init_from_file(nullptr, steg_context_default_params()), nullptr);
    EXPECT_NE(std::string(steg_last_error()).find("no model"), std::string::npos);
}

// The hosts take YUV frames only from a model whose transport says it survives 4:2:0.
TEST(ModelFile, SurvivesYuv420FollowsTheRecordedTransport) {
    TempDir d;
    const std::pair<const char *, bool> cases[] = {
        { "none,yuv420:bt601,jpeg:50-95", true },
        { "h264:16-30", true },
        { "none,jpeg:90,noise:2", false },  // JPEG's own 4:2:0 is not a video path's
        { "yuv420:bt2020", false },         // a mix this libsteg cannot read promises nothing
        { "", false },
    };
    int i = 0;
    for (const auto & [transport, survives] : cases) {
        const std::string path = d.file("m" + std::to_string(i++) + ".safetensors");
        steg_test::write_random_model(path, 1, { { "transport", transport } });
        steg_context * ctx = steg_init_from_file(path.c_str(), steg_context_default_params());
        ASSERT_NE(ctx, nullptr) << steg_last_error();
        EXPECT_EQ(steg_model_survives_yuv420(ctx), survives) << transport;
        steg_free(ctx);
    }
    steg_test::write_random_model(d.file("plain.safetensors"));
    steg_context * ctx = steg_init_from_file(d.file("plain.safetensors").c_str(), steg_context_default_params());
    ASSERT_NE(ctx, nullptr);
    EXPECT_FALSE(steg_model_survives_yuv420(ctx));
    steg_free(ctx);
    EXPECT_FALSE(steg_model_survives_yuv420(nullptr));
}
