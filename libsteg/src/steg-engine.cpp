#include "steg-engine.h"

#include "steg-error.h"
#include "steg-model.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

namespace steg {

namespace {

struct Rect {
    int x, y, w, h;
};

int64_t row_stride(const steg_image & img) {
    return img.stride ? img.stride : int64_t(img.width) * steg_format_channels(img.format);
}

// Zero-centred float planes of `img` over rect r: one plane per colour channel (alpha skipped).
torch::Tensor to_planes(const steg_image & img, const Rect & r, int planes) {
    const int     ch = steg_format_channels(img.format);
    torch::Tensor t  = torch::empty({ 1, planes, r.h, r.w }, torch::kFloat32);
    float *       p  = t.data_ptr<float>();
    const int64_t n  = int64_t(r.w) * r.h;
    for (int y = 0; y < r.h; ++y) {
        const uint8_t * src = img.data + (r.y + y) * row_stride(img) + int64_t(r.x) * ch;
        for (int c = 0; c < planes; ++c) {
            float * dst = p + c * n + int64_t(y) * r.w;
            for (int x = 0; x < r.w; ++x) {
                dst[x] = src[x * ch + c] * (1.0f / 255.0f) - STEG_PIXEL_CENTER;
            }
        }
    }
    return t;
}

// Network output (zero-centred floats) back to the 8-bit grid: the same clamp and
// rounding (half to even) that training applies to the hybrid.
torch::Tensor to_u8(const torch::Tensor & out) {
    return ((out + STEG_PIXEL_CENTER) * 255.0f).round_().clamp_(0, 255).to(torch::kCPU, torch::kUInt8).contiguous();
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
            const Rect outer = { std::max(0, x0 - halo), std::max(0, y0 - halo), 0, 0 };
            const Rect r     = { outer.x, outer.y, std::min(width, x0 + cols + halo) - outer.x,
                                 std::min(height, y0 + rows + halo) - outer.y };
            torch::Tensor  out = net(r);  // [1, out_planes, r.h, r.w] uint8
            const uint8_t * o   = out.data_ptr<uint8_t>();
            const int64_t   n   = int64_t(r.w) * r.h;
            for (int y = 0; y < rows; ++y) {
                uint8_t *     dst = band.data() + (size_t(y) * width + x0) * out_planes;
                const int64_t row = int64_t(y0 - r.y + y) * r.w + (x0 - r.x);
                for (int x = 0; x < cols; ++x) {
                    for (int c = 0; c < out_planes; ++c) {
                        dst[x * out_planes + c] = o[c * n + row + x];
                    }
                }
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

}  // namespace

void set_cpu_threads(int n_threads) {
    const int n = n_threads > 0 ? n_threads : int(std::max(1u, std::thread::hardware_concurrency()));
    if (torch::get_num_threads() != n) {
        torch::set_num_threads(n);
    }
}

struct Engine::Impl {
    Model         model;
    torch::Device device = torch::kCPU;
    int           tile   = kDefaultTileSize;
};

Engine::Engine(const std::string & model_path, const EngineOptions & options) : impl_(std::make_unique<Impl>()) {
    impl_->model = load_model(model_path);
    impl_->tile  = options.tile_size > 0 ? options.tile_size : kDefaultTileSize;
    const bool has_cuda = torch::cuda::is_available();
    if (options.device == STEG_DEVICE_CUDA && !has_cuda) {
        throw Error(STEG_ERR_DEVICE,
                    "CUDA was requested, but this libtorch has no CUDA support or sees no GPU; use device 'cpu' or 'auto'");
    }
    if (options.device != STEG_DEVICE_CPU && has_cuda) {
        impl_->device = torch::kCUDA;
    }
    set_cpu_threads(options.n_threads);
    impl_->model.encoder->to(impl_->device);
    impl_->model.decoder->to(impl_->device);
    impl_->model.encoder->eval();
    impl_->model.decoder->eval();
}

Engine::~Engine() = default;

const std::map<std::string, std::string> & Engine::metadata() const {
    return impl_->model.metadata;
}

const char * Engine::device_name() const {
    return impl_->device.is_cuda() ? "cuda" : "cpu";
}

void Engine::hide(const steg_image & cover, const steg_image & payload, steg_image & hybrid, const Progress & progress) {
    c10::InferenceMode guard;
    auto &             m  = *impl_;
    const int          ch = steg_format_channels(cover.format);
    auto net = [&](const Rect & r) {
        torch::Tensor host  = to_planes(cover, r, 3).to(m.device);
        torch::Tensor guest = to_planes(payload, r, 1).to(m.device);
        return to_u8(m.model.encoder->forward(host, guest));
    };
    auto write = [&](int y0, int rows, const uint8_t * band) {
        for (int y = 0; y < rows; ++y) {
            const uint8_t * src = band + size_t(y) * cover.width * 3;
            uint8_t *       dst = hybrid.data + (y0 + y) * row_stride(hybrid);
            const uint8_t * cov = cover.data + (y0 + y) * row_stride(cover);
            for (int x = 0; x < cover.width; ++x) {
                dst[x * ch + 0] = src[x * 3 + 0];
                dst[x * ch + 1] = src[x * 3 + 1];
                dst[x * ch + 2] = src[x * 3 + 2];
                if (ch == 4) {
                    dst[x * ch + 3] = cov[x * ch + 3];  // alpha passes through untouched
                }
            }
        }
    };
    run_tiled(cover.width, cover.height, m.tile, kEncoderRadius, 3, net, write, progress);
}

void Engine::reveal(const steg_image & hybrid, steg_image & payload, const Progress & progress) {
    c10::InferenceMode guard;
    auto &             m   = *impl_;
    auto               net = [&](const Rect & r) {
        return to_u8(m.model.decoder->forward(to_planes(hybrid, r, 3).to(m.device)));
    };
    auto write = [&](int y0, int rows, const uint8_t * band) {
        for (int y = 0; y < rows; ++y) {
            std::memcpy(payload.data + (y0 + y) * row_stride(payload), band + size_t(y) * hybrid.width,
                        size_t(hybrid.width));
        }
    };
    run_tiled(hybrid.width, hybrid.height, m.tile, kDecoderRadius, 1, net, write, progress);
}

}  // namespace steg
