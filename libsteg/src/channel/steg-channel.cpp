// SPDX-License-Identifier: MIT
#include "steg-channel.h"

#include "steg-error.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace steg {

namespace {

namespace F = torch::nn::functional;


// `exact`'s value with `smooth`'s gradient (straight through).
at::Tensor straight_through(const at::Tensor & smooth, const at::Tensor & exact) {
    return smooth + (exact.to(smooth.scalar_type()) - smooth).detach();
}

// To a byte (0..255) as a codec stores a sample.
at::Tensor to_byte(const at::Tensor & t) {
    return straight_through(t, t.round().clamp(0, 255));
}

struct Luma {
    double kr, kb;
};

Luma luma_weights(YuvMatrix m) {
    return m == YuvMatrix::bt709 ? Luma{ 0.2126, 0.0722 } : Luma{ 0.299, 0.114 };
}

// Y'CbCr planes in levels (N x 1 x H x W each), before rounding. `limited`: Y in 16..235
// and chroma in 16..240 (video); otherwise all three span 0..255 (JFIF).
std::array<at::Tensor, 3> rgb_to_ycbcr(const at::Tensor & rgb, YuvMatrix m, bool limited) {
    const auto [kr, kb] = luma_weights(m);
    const double kg = 1.0 - kr - kb;
    at::Tensor   r = rgb.narrow(1, 0, 1), g = rgb.narrow(1, 1, 1), b = rgb.narrow(1, 2, 1);
    at::Tensor   ey = kr * r + kg * g + kb * b;
    at::Tensor   pb = (b - ey) / (2 * (1 - kb)), pr = (r - ey) / (2 * (1 - kr));
    if (limited) {
        return { 16 + ey * (219.0 / 255.0), 128 + pb * (224.0 / 255.0), 128 + pr * (224.0 / 255.0) };
    }
    return { ey, 128 + pb, 128 + pr };
}

at::Tensor ycbcr_to_rgb(const std::array<at::Tensor, 3> & p, YuvMatrix m, bool limited) {
    const auto [kr, kb] = luma_weights(m);
    const double kg = 1.0 - kr - kb;
    at::Tensor   ey = p[0], pb = p[1] - 128, pr = p[2] - 128;
    if (limited) {
        ey = (ey - 16) * (255.0 / 219.0);
        pb = pb * (255.0 / 224.0);
        pr = pr * (255.0 / 224.0);
    }
    at::Tensor r = ey + 2 * (1 - kr) * pr, b = ey + 2 * (1 - kb) * pb;
    at::Tensor g = (ey - kr * r - kb * b) / kg;
    return to_byte(torch::cat({ r, g, b }, 1));
}

// Pads a plane on the right and bottom by repeating its last row and column (what
// libjpeg and the video encoders do) up to multiples of `m`.
at::Tensor pad_to(const at::Tensor & p, int64_t m) {
    const int64_t h = p.size(2), w = p.size(3);
    const int64_t ph = (m - h % m) % m, pw = (m - w % m) % m;
    if (ph == 0 && pw == 0) {
        return p;
    }
    return F::pad(p, F::PadFuncOptions({ 0, pw, 0, ph }).mode(torch::kReplicate));
}

// libjpeg's 4:2:0: the mean of each 2x2 block, on the 8-bit grid.
at::Tensor chroma_down(const at::Tensor & c) {
    return to_byte(F::avg_pool2d(pad_to(c, 2), F::AvgPool2dFuncOptions(2)));
}

// Back to h x w by bilinear interpolation between the block centres (libjpeg's "fancy"
// upsampling; edges repeat), on the 8-bit grid.
at::Tensor chroma_up(const at::Tensor & c, int64_t h, int64_t w) {
    at::Tensor up = F::interpolate(c, F::InterpolateFuncOptions()
                                          .size(std::vector<int64_t>{ c.size(2) * 2, c.size(3) * 2 })
                                          .mode(torch::kBilinear)
                                          .align_corners(false));
    return to_byte(up.narrow(2, 0, h).narrow(3, 0, w));
}

// Back to h x w by repeating each sample over its 2x2 block (videoconvert's I420 to RGB).
at::Tensor chroma_repeat(const at::Tensor & c, int64_t h, int64_t w) {
    return c.repeat_interleave(2, 2).repeat_interleave(2, 3).narrow(2, 0, h).narrow(3, 0, w);
}

// Orthonormal n-point transforms: the DCT-II (JPEG) and H.264's 4x4 core transform with
// its rows scaled to unit length (the scaling H.264's quantiser folds in).
at::Tensor dct_matrix(int n) {
    at::Tensor d = torch::empty({ n, n });
    for (int k = 0; k < n; ++k) {
        for (int i = 0; i < n; ++i) {
            d[k][i] = (k == 0 ? std::sqrt(1.0 / n) : std::sqrt(2.0 / n)) * std::cos((2 * i + 1) * k * M_PI / (2.0 * n));
        }
    }
    return d;
}

at::Tensor h264_matrix() {
    const double a = 0.5, b = 1 / std::sqrt(10.0);
    return torch::tensor({ a, a, a, a, 2 * b, b, -b, -2 * b, a, -a, -a, a, b, -2 * b, 2 * b, -b }).view({ 4, 4 });
}

// Quantises the n x n block transform of a plane (N x 1 x H x W, H and W multiples of n)
// with `quant` (n x n steps) and returns the plane rebuilt from the kept levels. A level
// is sign(c) * floor(|c| / q + offset): 0.5 rounds to nearest (JPEG), less leaves a dead
// zone around 0 (H.264 encoders).
at::Tensor block_quantise(const at::Tensor & plane, const at::Tensor & t, const at::Tensor & quant, double offset) {
    const int64_t n = t.size(0), N = plane.size(0), h = plane.size(2), w = plane.size(3);
    at::Tensor    tt = t.to(plane.device()), q = quant.to(plane.device()).view({ 1, 1, n, 1, n });
    at::Tensor    blocks = plane.reshape({ N, h / n, n, w / n, n });
    at::Tensor    c      = torch::einsum("ki,nhiwj,lj->nhkwl", { tt, blocks, tt }) / q;
    at::Tensor    level  = offset == 0.5 ? c.round() : c.sign() * torch::floor(c.abs() + offset);
    c                    = straight_through(c, level) * q;
    return torch::einsum("ki,nhkwl,lj->nhiwj", { tt, c, tt }).reshape({ N, 1, h, w });
}

// JPEG's quantisation tables (ITU-T T.81 Annex K), natural order.
constexpr int kJpegBase[2][64] = {
    { 16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,  14, 13, 16, 24, 40,  57,
      69, 56, 14, 17, 22,  29,  51,  87,  80, 62, 18, 22, 37,  56,  68,  109, 103, 77, 24, 35, 55,  64,
      81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99 },
    { 17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99,
      99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
      99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99 },
};

at::Tensor jpeg(const at::Tensor & rgb, int quality) {
    const int64_t h = rgb.size(2), w = rgb.size(3);
    auto          p = rgb_to_ycbcr(rgb, YuvMatrix::bt601, false);
    // The encoder's planes: whole MCUs of 16x16 (luma) and 8x8 (each chroma).
    at::Tensor y  = pad_to(to_byte(p[0]), 16);
    at::Tensor cb = chroma_down(pad_to(to_byte(p[1]), 16)), cr = chroma_down(pad_to(to_byte(p[2]), 16));
    static const at::Tensor dct = dct_matrix(8);
    auto table = [&](int c) {
        auto v = jpeg_quant_table(c, quality);
        return torch::tensor(std::vector<float>(v.begin(), v.end())).view({ 8, 8 });
    };
    at::Tensor ql = table(0), qc = table(1);
    auto       code = [&](const at::Tensor & plane, const at::Tensor & q) {
        return to_byte(block_quantise(plane - 128, dct, q, 0.5) + 128);
    };
    y  = code(y, ql).narrow(2, 0, h).narrow(3, 0, w);
    cb = chroma_up(code(cb, qc), h, w);
    cr = chroma_up(code(cr, qc), h, w);
    return ycbcr_to_rgb({ y, cb, cr }, YuvMatrix::bt601, false);
}

// 4:2:0 as GStreamer's videoconvert makes it and takes it back, to the byte (fitted on
// GStreamer 1.22 until every byte of 16,384 random triples each way matched; held to
// 1.22 and 1.26 by tests/test-channel.cpp): its
// integer conversions, whose value the stand-in computes exactly, while the gradient
// flows through the exact real-valued conversion (straight through).
//  - RGB to Y'CbCr: each plane (a R + b G + c B) >> 8 plus 16 or 128, the integer
//    weights below, truncated;
//  - 4:2:0: each chroma sample the rounded-up mean of its block's two rows' rounded-up
//    means, ((a + c + 1) >> 1 for each column, then the same across);
//  - back: each chroma sample repeated over its block, then with Y' - 128, Cb - 128 and
//    Cr - 128 as signed bytes widened to 16 bits by repeating the byte (x * 257), each
//    product with the weights below kept as its high 16 bits, summed and saturated. Y'
//    loses its offset of 16 on this path, so a picture comes back about 2.4 levels
//    darker, and G, the sum of two truncated products, half a level more; a colourful
//    picture's chroma, averaged upwards, leaves it another level or two lower in G than
//    in R and B.
struct VideoconvertWeights {
    int to[3][3];               // Y', Cb, Cr from R, G, B, in 1/256
    int y, v_r, u_b, u_g, v_g;  // back: the high-16-bit multipliers
};

const VideoconvertWeights & videoconvert_weights(YuvMatrix m) {
    static const VideoconvertWeights bt601{ { { 66, 129, 25 }, { -38, -74, 112 }, { 112, -94, -18 } }, 298, 409, 516, -100, -208 };
    static const VideoconvertWeights bt709{ { { 47, 157, 16 }, { -26, -87, 112 }, { 112, -102, -10 } }, 298, 459, 541, -55, -136 };
    return m == YuvMatrix::bt709 ? bt709 : bt601;
}

// videoconvert's rounded-up mean of two samples.
at::Tensor mean_up(const at::Tensor & a, const at::Tensor & b) {
    return torch::floor((a + b + 1) * 0.5);
}

std::array<at::Tensor, 3> to_yuv420(const at::Tensor & rgb, YuvMatrix m) {
    const auto &              k      = videoconvert_weights(m);
    auto                      smooth = rgb_to_ycbcr(rgb, m, true);
    at::Tensor                bytes  = rgb.detach().round().clamp(0, 255).to(torch::kFloat64);  // exact in doubles
    std::array<at::Tensor, 3> p;
    for (int c = 0; c < 3; ++c) {
        at::Tensor sum = k.to[c][0] * bytes.narrow(1, 0, 1) + k.to[c][1] * bytes.narrow(1, 1, 1) +
                         k.to[c][2] * bytes.narrow(1, 2, 1);
        at::Tensor exact = (torch::floor(sum / 256.0) + (c == 0 ? 16 : 128)).clamp(0, 255);
        if (c == 0) {
            p[c] = straight_through(smooth[c], exact);
            continue;
        }
        at::Tensor e = pad_to(exact, 2), s = F::avg_pool2d(pad_to(smooth[c], 2), F::AvgPool2dFuncOptions(2));
        const int64_t h = e.size(2), w = e.size(3);
        at::Tensor cols = mean_up(e.slice(2, 0, h, 2), e.slice(2, 1, h, 2));  // the two rows of each block
        p[c]            = straight_through(s, mean_up(cols.slice(3, 0, w, 2), cols.slice(3, 1, w, 2)));
    }
    return p;
}

at::Tensor from_yuv420(const std::array<at::Tensor, 3> & p, YuvMatrix m) {
    const auto &  k = videoconvert_weights(m);
    const int64_t h = p[0].size(2), w = p[0].size(3);
    std::array<at::Tensor, 3> planes = { p[0], chroma_repeat(p[1], h, w), chroma_repeat(p[2], h, w) };
    // The way back's value: bytes less 128 widened as x * 257 (+ 256 below zero), times
    // a weight, high 16 bits (an arithmetic shift: floor).
    std::array<at::Tensor, 3> wide;
    for (int c = 0; c < 3; ++c) {
        at::Tensor b = planes[c].detach().round().clamp(0, 255).to(torch::kFloat64) - 128;
        wide[c]      = b * 257 + (b < 0).to(torch::kFloat64) * 256;
    }
    auto       high = [](const at::Tensor & x, int weight) { return torch::floor(x * weight / 65536.0); };
    at::Tensor y    = high(wide[0], k.y);
    at::Tensor r = y + high(wide[2], k.v_r), b = y + high(wide[1], k.u_b);
    at::Tensor g = y + high(wide[1], k.u_g) + high(wide[2], k.v_g);
    at::Tensor exact = torch::cat({ r, g, b }, 1).clamp(-128, 127) + 128;
    return straight_through(ycbcr_to_rgb(planes, m, true), exact);
}

// H.264's quantiser step at QP (doubling every 6), and the chroma QP of a luma QP.
double h264_qstep(int qp) {
    constexpr double base[6] = { 0.625, 0.6875, 0.8125, 0.875, 1.0, 1.125 };
    return base[qp % 6] * double(1 << (qp / 6));
}

int h264_chroma_qp(int qp) {
    constexpr int table[22] = { 29, 30, 31, 32, 32, 33, 34, 34, 35, 35, 36, 36, 37, 37, 37, 38, 38, 38, 39, 39, 39, 39 };
    return qp < 30 ? qp : table[qp - 30];
}

// An intra-coded H.264 frame without prediction: each 4x4 block of the 4:2:0 planes
// quantised at the QP with the dead zone of an intra block (rounding offset 1/3, the
// reference encoder's). Prediction does not change the noise a quantiser leaves; it
// only moves which coefficients are large.
at::Tensor h264(const at::Tensor & rgb, int qp) {
    constexpr YuvMatrix m = YuvMatrix::bt709;
    auto                p = to_yuv420(rgb, m);
    static const at::Tensor t = h264_matrix();
    for (int c = 0; c < 3; ++c) {
        const int64_t h = p[c].size(2), w = p[c].size(3);
        const double  q = h264_qstep(c == 0 ? qp : h264_chroma_qp(qp));
        p[c] = to_byte(block_quantise(pad_to(p[c], 4), t, torch::full({ 4, 4 }, q), 1.0 / 3.0))
                   .narrow(2, 0, h)
                   .narrow(3, 0, w);
    }
    return from_yuv420(p, m);
}

at::Tensor resize(const at::Tensor & rgb, double factor) {
    const int64_t h = rgb.size(2), w = rgb.size(3);
    const int64_t sh = std::max<int64_t>(1, std::lround(h * factor)), sw = std::max<int64_t>(1, std::lround(w * factor));
    auto opts = [](int64_t a, int64_t b) {
        return F::InterpolateFuncOptions().size(std::vector<int64_t>{ a, b }).mode(torch::kBilinear).align_corners(false);
    };
    at::Tensor small = to_byte(F::interpolate(rgb, opts(sh, sw)));
    return to_byte(F::interpolate(small, opts(h, w)));
}

uint64_t splitmix64(uint64_t & s) {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z          = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z          = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

const char * kind_name(ChannelKind k) {
    switch (k) {
        case ChannelKind::none:
            return "none";
        case ChannelKind::yuv420:
            return "yuv420";
        case ChannelKind::jpeg:
            return "jpeg";
        case ChannelKind::h264:
            return "h264";
        case ChannelKind::noise:
            return "noise";
        case ChannelKind::resize:
            return "resize";
        case ChannelKind::cast:
            return "cast";
    }
    return "?";
}

std::string number_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

Error bad_transport(const std::string & item, const std::string & why) {
    return Error(STEG_ERR_INVALID_ARGUMENT,
                 "--transport: '" + item + "': " + why +
                     " (a comma-separated mix of none, yuv420[:bt601|bt709], jpeg[:QUALITY or LO-HI, 1..100], "
                     "h264[:QP or LO-HI, 0..51], noise[:SIGMA or LO-HI, levels, up to 64], resize[:F or LO-HI, "
                     "0.25..1], cast[:LEVELS or LO-HI, up to 32]; e.g. none,yuv420,jpeg:50-95)");
}

// "A" or "A-B" as a range within [min, max].
void parse_range(const std::string & item, const std::string & text, double min, double max, Channel & c) {
    const size_t dash = text.find('-', 1);
    auto         num  = [&](const std::string & s) {
        char *       end = nullptr;
        const double v   = s.empty() ? NAN : std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0' || !std::isfinite(v) || v < min || v > max) {
            throw bad_transport(item, "'" + s + "' is not a number from " + number_text(min) + " to " + number_text(max));
        }
        return v;
    };
    c.lo = num(text.substr(0, dash));
    c.hi = dash == std::string::npos ? c.lo : num(text.substr(dash + 1));
    if (c.hi < c.lo) {
        throw bad_transport(item, "the range runs backwards");
    }
}

}  // namespace

std::vector<int> jpeg_quant_table(int component, int quality) {
    quality         = std::clamp(quality, 1, 100);
    const int scale = quality < 50 ? 5000 / quality : 200 - quality * 2;
    std::vector<int> t(64);
    for (int i = 0; i < 64; ++i) {
        t[size_t(i)] = std::clamp((kJpegBase[component ? 1 : 0][i] * scale + 50) / 100, 1, 255);
    }
    return t;
}

std::vector<Channel> parse_transport(const std::string & spec) {
    std::vector<Channel> mix;
    size_t               at = 0;
    while (at <= spec.size()) {
        const size_t      comma = std::min(spec.find(',', at), spec.size());
        const std::string item  = spec.substr(at, comma - at);
        at                      = comma + 1;
        const size_t      colon = item.find(':');
        const std::string name  = item.substr(0, colon);
        const std::string arg   = colon == std::string::npos ? "" : item.substr(colon + 1);
        Channel           c;
        if (name == "none" || name == "yuv420") {
            c.kind = name == "none" ? ChannelKind::none : ChannelKind::yuv420;
            if (c.kind == ChannelKind::none && colon != std::string::npos) {
                throw bad_transport(item, "none takes no parameter");
            }
            if (arg == "bt709") {
                c.matrix = YuvMatrix::bt709;
            } else if (!arg.empty() && arg != "bt601") {
                throw bad_transport(item, "the matrix is bt601 or bt709");
            }
        } else if (name == "jpeg") {
            c.kind = ChannelKind::jpeg;
            parse_range(item, arg.empty() ? "50-95" : arg, 1, 100, c);
        } else if (name == "h264") {
            c.kind   = ChannelKind::h264;
            c.matrix = YuvMatrix::bt709;
            parse_range(item, arg.empty() ? "18-30" : arg, 0, 51, c);
        } else if (name == "noise") {
            c.kind = ChannelKind::noise;
            parse_range(item, arg.empty() ? "2" : arg, 0, 64, c);
        } else if (name == "resize") {
            c.kind = ChannelKind::resize;
            parse_range(item, arg.empty() ? "0.7-1" : arg, 0.25, 1, c);
        } else if (name == "cast") {
            c.kind = ChannelKind::cast;
            parse_range(item, arg.empty() ? "3" : arg, 0, 32, c);
        } else {
            throw bad_transport(item, name.empty() ? "an empty channel" : "unknown channel '" + name + "'");
        }
        if ((c.kind == ChannelKind::jpeg || c.kind == ChannelKind::h264) &&
            (c.lo != std::floor(c.lo) || c.hi != std::floor(c.hi))) {
            throw bad_transport(item, "the quality or QP is a whole number");
        }
        mix.push_back(c);
    }
    return mix;
}

std::string transport_text(const std::vector<Channel> & mix) {
    std::string out;
    for (const auto & c : mix) {
        out += out.empty() ? "" : ",";
        out += kind_name(c.kind);
        if (c.kind == ChannelKind::yuv420) {
            out += c.matrix == YuvMatrix::bt709 ? ":bt709" : ":bt601";
        } else if (c.kind != ChannelKind::none) {
            out += ":";
            out += number_text(c.lo);
            if (c.hi != c.lo) {
                out += "-";
                out += number_text(c.hi);
            }
        }
    }
    return out;
}

bool transport_covers_yuv420(const std::vector<Channel> & mix) {
    return std::any_of(mix.begin(), mix.end(),
                       [](const Channel & c) { return c.kind == ChannelKind::yuv420 || c.kind == ChannelKind::h264; });
}

ChannelDraw draw_channel(const std::vector<Channel> & mix, uint64_t key) {
    ChannelDraw d;
    if (mix.empty()) {
        return d;
    }
    uint64_t s   = key;
    d.channel    = mix[size_t(splitmix64(s) % mix.size())];
    const double u = double(splitmix64(s) >> 11) / double(1ULL << 53);  // [0, 1)
    d.strength     = d.channel.lo + (d.channel.hi - d.channel.lo) * u;
    if (d.channel.kind == ChannelKind::jpeg || d.channel.kind == ChannelKind::h264) {
        d.strength = std::floor(d.channel.lo + (d.channel.hi - d.channel.lo + 1) * u);
    }
    d.noise_seed = splitmix64(s);
    return d;
}

at::Tensor apply_channel(const at::Tensor & x, const ChannelDraw & d) {
    if (x.dim() != 4 || x.size(1) != 3) {
        throw Error(STEG_ERR_INTERNAL, "apply_channel: the hybrid is N x 3 x H x W");
    }
    at::Tensor rgb = (x.to(torch::kFloat32) + 0.5) * 255.0;  // levels
    at::Tensor out;
    switch (d.channel.kind) {
        case ChannelKind::none:
            return x;
        case ChannelKind::yuv420:
            out = from_yuv420(to_yuv420(rgb, d.channel.matrix), d.channel.matrix);
            break;
        case ChannelKind::jpeg:
            out = jpeg(rgb, int(d.strength));
            break;
        case ChannelKind::h264:
            out = h264(rgb, int(d.strength));
            break;
        case ChannelKind::noise: {
            auto       gen = at::make_generator<at::CPUGeneratorImpl>(d.noise_seed);
            at::Tensor n   = torch::randn(x.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat32));
            out            = to_byte(rgb + d.strength * n.to(x.device()));
            break;
        }
        case ChannelKind::resize:
            out = resize(rgb, d.strength);
            break;
        case ChannelKind::cast: {
            // Each image's own shift of R, G and B, uniform in +-strength levels: what a
            // converter's integer constants do to a colourful picture (videoconvert's
            // round trip leaves a hybrid about 2.5, 4.3 and 2 levels lower in R, G and B).
            auto       gen   = at::make_generator<at::CPUGeneratorImpl>(d.noise_seed);
            at::Tensor shift = torch::rand({ x.size(0), 3, 1, 1 }, gen, torch::TensorOptions().dtype(torch::kFloat32));
            out              = to_byte(rgb + (2 * shift - 1).to(x.device()) * d.strength);
            break;
        }
    }
    return out / 255.0 - 0.5;
}

}  // namespace steg
