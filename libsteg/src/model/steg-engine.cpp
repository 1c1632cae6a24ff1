// SPDX-License-Identifier: MIT
#include "steg-engine.h"

#include "steg-autocast.h"
#include "steg-error.h"
#include "steg-model.h"
#include "steg-rows.h"
#include "steg-runtime.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace steg {

namespace {

struct Rect {
    int x, y, w, h;
};

int64_t row_stride(const steg_image & img) {
    return img.stride ? img.stride : int64_t(img.width) * steg_format_channels(img.format);
}

// Zero-centred floats of `img` over rect r as a 1 x planes x h x w tensor in
// channels-last memory: the 8-bit pixels are already interleaved that way, so this is
// one vectorised conversion, and oneDNN runs these small-channel convs fastest on it.
torch::Tensor to_planes(const steg_image & img, const Rect & r, int planes) {
    const int64_t ch  = steg_format_channels(img.format);
    uint8_t *     ptr = img.data + r.y * row_stride(img) + r.x * ch;
    torch::Tensor u8  = torch::from_blob(ptr, { r.h, r.w, planes }, { row_stride(img), ch, 1 }, torch::kUInt8);
    return u8.to(torch::kFloat32).mul_(1.0f / 255.0f).sub_(STEG_PIXEL_CENTER).permute({ 2, 0, 1 }).unsqueeze(0);
}

// Network output (zero-centred floats) back to the 8-bit grid, as h x w x planes bytes:
// the same clamp and rounding (half to even) that training applies to the hybrid.
torch::Tensor to_u8(const torch::Tensor & out) {
    return ((out[0] + STEG_PIXEL_CENTER) * 255.0f)
        .round_()
        .clamp_(0, 255)
        .permute({ 1, 2, 0 })
        .to(torch::kCPU, torch::kUInt8)
        .contiguous();
}

// Runs `net` tile by tile over a width x height image. Each tile's inner part comes
// from the network applied to the tile plus `halo` pixels of context (clipped at the
// image border, where the network's own zero padding applies, as it would on the whole
// image). Results of one band of tiles are written only after the next band has read
// its input, so the destination may be the source (in-place hide).
void run_tiled(int width, int height, int tile, int halo, int out_planes,
               const std::function<torch::Tensor(const Rect &)> &                         net,
               const std::function<void(int y0, int rows, const uint8_t * band)> &        write_band,
               const Progress &                                                           progress) {
    const int tiles_x = (width + tile - 1) / tile;
    const int tiles_y = (height + tile - 1) / tile;
    const int total   = tiles_x * tiles_y;
    int       done    = 0;

    std::vector<uint8_t> band, pending;  // HWC, out_planes per pixel
    int                  pending_y = 0, pending_rows = 0;
    for (int ty = 0; ty < tiles_y; ++ty) {
        const int y0   = ty * tile;
        const int rows = std::min(tile, height - y0);
        band.assign(size_t(rows) * width * out_planes, 0);
        for (int tx = 0; tx < tiles_x; ++tx) {
            const int  x0    = tx * tile;
            const int  cols  = std::min(tile, width - x0);
            const int  ox    = std::max(0, x0 - halo), oy = std::max(0, y0 - halo);  // clipped at the border
            const Rect r     = { ox, oy, std::min(width, x0 + cols + halo) - ox, std::min(height, y0 + rows + halo) - oy };
            torch::Tensor   out = net(r);  // r.h x r.w x out_planes bytes
            const uint8_t * o   = out.data_ptr<uint8_t>();
            for (int y = 0; y < rows; ++y) {
                const uint8_t * src = o + (int64_t(y0 - r.y + y) * r.w + (x0 - r.x)) * out_planes;
                std::memcpy(band.data() + (size_t(y) * width + x0) * out_planes, src, size_t(cols) * out_planes);
            }
            ++done;
            if (progress && !progress(float(done) / float(total))) {
                throw Error(STEG_ERR_CANCELLED, "cancelled");
            }
        }
        if (pending_rows) {
            write_band(pending_y, pending_rows, pending.data());
        }
        std::swap(band, pending);
        pending_y    = y0;
        pending_rows = rows;
    }
    if (pending_rows) {
        write_band(pending_y, pending_rows, pending.data());
    }
}

// The rows of a RowSource that the tiles of a band need, read as they are first asked
// for and dropped once the band above has been written: what keeps a streamed image's
// memory to a few bands.
class RowWindow {
  public:
    explicit RowWindow(RowSource & src) : src_(src), row_size_(src.row_size()) {}

    // Rows [y0, y1) as an image (row 0 is y0), valid until the next call.
    steg_image view(int y0, int y1) {
        if (y0 < base_) {
            throw Error(STEG_ERR_INTERNAL, "a row was asked for after it was dropped");
        }
        if (y1 > base_ + count_) {
            const int more = y1 - (base_ + count_);
            buf_.resize(size_t(y1 - base_) * row_size_);
            src_.read(buf_.data() + size_t(count_) * row_size_, more);
            count_ += more;
        }
        return { src_.width(), y1 - y0, src_.format(), row_size_, buf_.data() + size_t(y0 - base_) * row_size_ };
    }

    void release_below(int y) {
        const int n = std::min(y - base_, count_);
        if (n > 0) {
            std::memmove(buf_.data(), buf_.data() + size_t(n) * row_size_, size_t(count_ - n) * row_size_);
            base_ += n;
            count_ -= n;
        }
    }

  private:
    RowSource &          src_;
    int64_t              row_size_;
    std::vector<uint8_t> buf_;  // rows [base_, base_ + count_), packed; never shrinks
    int                  base_ = 0, count_ = 0;
};

}  // namespace

struct Engine::Impl {
    Model         model;
    torch::Device device = torch::kCPU;
    int           tile   = kDefaultTileSize;
    int           threads = 0;
    // Each network's 3x3 layers in bf16 or fp16 (autocast to `half`); its last 1x1
    // layers stay fp32.
    bool           encoder_bf16 = false, decoder_bf16 = false;
    at::ScalarType half         = at::kBFloat16;

    // A network's layers in `half` when `reduced`; the result in fp32.
    template <class F> torch::Tensor run(bool reduced, F && forward) const {
        AutocastBf16 amp(reduced, device.type(), half);
        return forward().to(torch::kFloat32);
    }
};

Engine::Engine(const std::string & model_path, const EngineOptions & options) : impl_(std::make_unique<Impl>()) {
    impl_->model = load_model(model_path);
    flush_subnormals(impl_->model);
    const bool has_cuda = torch::cuda::is_available();
    if (options.device == STEG_DEVICE_CUDA && !has_cuda) {
        throw Error(STEG_ERR_DEVICE,
                    "CUDA was requested, but this libtorch has no CUDA support or sees no GPU; use device 'cpu' or 'auto'");
    }
    if (options.device != STEG_DEVICE_CPU && has_cuda) {
        impl_->device = torch::kCUDA;
    }
    // On CUDA a frame runs whole where it fits: one pass and one copy back instead of a
    // pass and a host sync per tile. A 4096x4096 tile needs about 3 GiB of activations.
    impl_->tile = options.tile_size > 0          ? options.tile_size
                  : impl_->device.is_cuda()      ? kDefaultCudaTileSize
                                                 : kDefaultTileSize;
    if (options.precision == STEG_PRECISION_FP16 && !impl_->device.is_cuda()) {
        throw Error(STEG_ERR_DEVICE, "fp16 runs on CUDA only (on the CPU, oneDNN has no fast fp16 convolutions); "
                                     "use precision 'bf16', 'fp32' or 'auto'");
    }
    // bf16 only where it is native: elsewhere oneDNN emulates it, slower than fp32.
    const bool native_bf16 = impl_->device.is_cuda() || cpu_has_native_bf16();
    if (options.precision == STEG_PRECISION_BF16 && !native_bf16) {
        throw Error(STEG_ERR_DEVICE, "bf16 was requested, but this CPU has no native bf16 (AVX512-BF16 or AMX); "
                                     "use precision 'fp32' or 'auto'");
    }
    // auto: bf16 only where it stays within the bounds of docs/performance.md. It does
    // not today: with the default model a bf16 hybrid revealed in fp32 lost 0.15 dB on
    // one photo pair, and on the one native-bf16 CPU measured (no AMX) bf16 is slower
    // than fp32's rows, so auto runs fp32.
    const bool reduced  = options.precision == STEG_PRECISION_BF16 || options.precision == STEG_PRECISION_FP16;
    impl_->encoder_bf16 = reduced;
    impl_->decoder_bf16 = reduced;
    impl_->half         = options.precision == STEG_PRECISION_FP16 ? at::kHalf : at::kBFloat16;
    impl_->threads = options.n_threads;
    set_cpu_threads(options.n_threads);
    tune_malloc_once();
    impl_->model.encoder->to(impl_->device);
    impl_->model.decoder->to(impl_->device);
    impl_->model.encoder->eval();
    impl_->model.decoder->eval();
    to_channels_last(impl_->model);
}

Engine::~Engine() = default;

const std::map<std::string, std::string> & Engine::metadata() const {
    return impl_->model.metadata;
}

const char * Engine::device_name() const {
    return impl_->device.is_cuda() ? "cuda" : "cpu";
}

const char * Engine::precision_name() const {
    return !impl_->encoder_bf16 ? "fp32" : impl_->half == at::kHalf ? "fp16" : "bf16";
}

void Engine::hide(const steg_image & cover, const steg_image & payload, steg_image & hybrid, const Progress & progress) {
    auto cover_rows = memory_rows(cover), payload_rows = memory_rows(payload);
    auto out        = memory_sink(hybrid);
    hide_rows(*cover_rows, *payload_rows, *out, progress, nullptr);
}

double Engine::reveal(const steg_image & hybrid, steg_image & payload, const Progress & progress, bool score) {
    auto in  = memory_rows(hybrid);
    auto out = memory_sink(payload);
    return reveal_rows(*in, *out, progress, score);
}

void Engine::hide_rows(RowSource & cover, RowSource & payload, RowSink & hybrid, const Progress & progress,
                       double * squared_error) {
    c10::InferenceMode guard;
    auto &             m  = *impl_;
    set_cpu_threads(m.threads);  // the thread count is per calling thread (a host's worker thread)
    const int width = cover.width(), ch = steg_format_channels(cover.format());
    RowWindow covers(cover), payloads(payload);
    auto      net = [&](const Rect & r) {
        torch::Tensor host  = to_planes(covers.view(r.y, r.y + r.h), { r.x, 0, r.w, r.h }, 3).to(m.device);
        torch::Tensor guest = to_planes(payloads.view(r.y, r.y + r.h), { r.x, 0, r.w, r.h }, 1).to(m.device);
        // In fp32 the whole network (on the CPU, a row at a time); in bf16 or fp16 the
        // branches, with the 1x1 tail, which forms the hybrid's values (2 % of the
        // work), in fp32.
        auto          features = [&] { return m.model.encoder->features(host, guest); };
        torch::Tensor oe       = m.encoder_bf16 ? m.model.encoder->tail->forward(m.run(true, features))
                                                : m.model.encoder->forward(host, guest, { r.y, r.x });
        return to_u8(m.model.hybrid(host, oe, guest, { r.y, r.x }));
    };
    std::vector<uint8_t> rows_out;
    double               se = 0;
    auto write = [&](int y0, int rows, const uint8_t * band) {
        const steg_image cov = covers.view(y0, y0 + rows);
        rows_out.resize(size_t(rows) * width * ch);
        for (int y = 0; y < rows; ++y) {
            const uint8_t * src = band + size_t(y) * width * 3;
            uint8_t *       dst = rows_out.data() + size_t(y) * width * ch;
            const uint8_t * c   = cov.data + y * cov.stride;
            for (int x = 0; x < width; ++x) {
                for (int k = 0; k < 3; ++k) {
                    dst[x * ch + k] = src[x * 3 + k];
                }
                if (ch == 4) {
                    dst[x * ch + 3] = c[x * ch + 3];  // alpha passes through untouched
                }
            }
            for (int i = 0; squared_error && i < width * 3; ++i) {  // only when asked: not per frame
                const double d = double(c[(i / 3) * ch + i % 3]) - double(src[i]);  // as steg_psnr sums it
                se += d * d;
            }
        }
        hybrid.write(rows_out.data(), rows);
        covers.release_below(y0 + rows);
        payloads.release_below(y0 + rows);
    };
    run_tiled(width, cover.height(), m.tile, kEncoderRadius, 3, net, write, progress);
    if (squared_error) {
        *squared_error = se;
    }
}

double Engine::reveal_rows(RowSource & hybrid, RowSink & payload, const Progress & progress, bool score) {
    c10::InferenceMode guard;
    auto &             m   = *impl_;
    set_cpu_threads(m.threads);
    // With `score`, two planes a pixel: the payload byte, and 1 where the decoder's
    // output lay more than kPayloadScoreSlack levels outside 0..255 (counted over the
    // tiles' inner parts only, as the bytes are). Without, the byte alone (stegreveal's
    // per-frame path does not pay for the count).
    const int   width  = hybrid.width();
    const int   planes = score ? 2 : 1;
    const float limit  = STEG_PIXEL_CENTER + kPayloadScoreSlack / 255.0f;
    RowWindow   in(hybrid);
    auto        net = [&](const Rect & r) {
        torch::Tensor x   = to_planes(in.view(r.y, r.y + r.h), { r.x, 0, r.w, r.h }, 3).to(m.device);
        const Origin  at{ r.y, r.x };
        torch::Tensor out = m.model.decoder->head(m.run(m.decoder_bf16, [&] { return m.model.decoder->features(x, at); }), x, at);
        if (!score) {
            return to_u8(out);
        }
        torch::Tensor far = out.abs().gt(limit).to(torch::kUInt8)[0].permute({ 1, 2, 0 }).to(torch::kCPU);
        return torch::cat({ to_u8(out), far }, 2).contiguous();
    };
    int64_t              outside = 0;
    std::vector<uint8_t> rows_out;
    auto                 write = [&](int y0, int rows, const uint8_t * band) {
        if (planes == 1) {
            payload.write(band, rows);
        } else {
            rows_out.resize(size_t(rows) * width);
            for (size_t i = 0; i < rows_out.size(); ++i) {
                rows_out[i] = band[2 * i];
                outside += band[2 * i + 1];
            }
            payload.write(rows_out.data(), rows);
        }
        in.release_below(y0 + rows);
    };
    run_tiled(width, hybrid.height(), m.tile, m.model.decoder->reach(), planes, net, write, progress);
    return 1.0 - double(outside) / (double(width) * hybrid.height());
}

}  // namespace steg
