// SPDX-License-Identifier: MIT
// steg-api.cpp - the C API of steg.h. Every entry point catches every exception and turns
// it into a status and a message for steg_last_error(): nothing crosses the C boundary.
#include "steg-channel.h"
#include "steg-engine.h"
#include "steg-error.h"
#include "steg-image.h"
#include "steg-metrics.h"
#include "steg-payload.h"
#include "steg-rows.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <new>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

struct steg_context {
    std::unique_ptr<steg::Engine> engine;
    steg_progress_callback        progress  = nullptr;
    void *                        user_data = nullptr;
    std::vector<std::string>      keys;  // metadata keys, for steg_model_meta_key
};

namespace steg {

namespace {

thread_local std::string g_last_error;
thread_local steg_status g_last_status = STEG_OK;

// Runs f and maps what it throws onto a status. Library failures (torch, the C++
// runtime) keep their first line: enough to report, short enough to read.
template <class F> steg_status guarded(F && f) {
    try {
        g_last_error.clear();
        f();
        g_last_status = STEG_OK;
    } catch (const Error & e) {
        g_last_error  = e.what();
        g_last_status = e.status();
    } catch (const std::bad_alloc &) {
        g_last_error  = "out of memory";
        g_last_status = STEG_ERR_OUT_OF_MEMORY;
    } catch (const std::exception & e) {
        std::string what = e.what();
        g_last_error     = "internal error: " + what.substr(0, what.find('\n'));
        g_last_status    = STEG_ERR_INTERNAL;
    } catch (...) {
        g_last_error  = "internal error";
        g_last_status = STEG_ERR_INTERNAL;
    }
    return g_last_status;
}

void check_context(const steg_context * ctx) {
    if (!ctx || !ctx->engine) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "context is NULL");
    }
}

void check_same_size(const steg_image & a, const steg_image & b, const char * what) {
    if (a.width != b.width || a.height != b.height) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, std::string(what) + " is " + std::to_string(b.width) + "x" +
                                                   std::to_string(b.height) + " but must be " + std::to_string(a.width) +
                                                   "x" + std::to_string(a.height) + " (fit it with steg_payload_prepare)");
    }
}

void check_colour(steg_format format, const std::string & what) {
    if (format == STEG_FORMAT_GRAY8) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, what +
                                                   " is grayscale, but a hybrid needs three colour channels: convert "
                                                   "it to RGB first");
    }
}

// The integer a C enum argument holds, read without loading it as the enum type: a
// caller may pass any int (a cast from a config file, a mistake), and loading an
// out-of-range value as the enum is undefined behaviour in C++.
template <class E> int32_t enum_value(const E & e) {
    static_assert(sizeof(E) == sizeof(int32_t), "steg.h's enums are int-sized");
    int32_t v;
    std::memcpy(&v, &e, sizeof v);
    return v;
}

void check_range(int32_t v, int32_t lo, int32_t hi, const char * what) {
    if (v < lo || v > hi) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "unknown " + std::string(what) + " " + std::to_string(v) + " (valid: " +
                                                   std::to_string(lo) + " to " + std::to_string(hi) + ")");
    }
}

Progress progress_of(steg_context * ctx) {
    if (!ctx->progress) {
        return {};
    }
    return [ctx](float f) { return ctx->progress(f, ctx->user_data); };
}

// A metric of two images, NaN (and steg_last_error) if they cannot be compared.
double metric(const steg_image * a, const steg_image * b, double (*fn)(const steg_image &, const steg_image &)) {
    double v = std::nan("");
    guarded([&] {
        if (!a || !b) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "image is NULL");
        }
        v = fn(*a, *b);
    });
    return v;
}

bool is_file(const std::string & path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Where shipped models live, in the order they are searched: beside $STEG_MODEL, beside
// an installed library (<prefix>/lib/libsteg.so -> <prefix>/share/steg/models), the
// configured install folder, then the source tree's models/ (unless built without it).
std::vector<std::string> model_folders() {
    std::vector<std::string> dirs;
    if (const char * env = std::getenv("STEG_MODEL"); env && *env) {
        const std::string m = env;
        dirs.push_back(m.find('/') == std::string::npos ? "." : m.substr(0, m.find_last_of('/')));
    }
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&steg_default_model_path), &info) && info.dli_fname) {
        const std::filesystem::path lib = std::filesystem::path(info.dli_fname).parent_path();
        dirs.push_back((lib / "../share/steg/models").lexically_normal().string());
        dirs.push_back((lib / "../../share/steg/models").lexically_normal().string());  // lib/<multiarch>/
    }
    dirs.push_back(STEG_INSTALL_MODEL_DIR);
#ifdef STEG_SOURCE_MODEL_DIR  // not in package builds (STEG_SOURCE_MODELS=OFF)
    dirs.push_back(STEG_SOURCE_MODEL_DIR);
#endif
    return dirs;
}

// A shipped model's name ("robust"), not a path: letters, digits, '-' and '_' only.
bool is_model_name(const std::string & s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

}  // namespace

void set_last_error(const std::string & message) {
    g_last_error = message;
}

}  // namespace steg

using namespace steg;

extern "C" {

const char * steg_version(void) {
    return STEG_VERSION_STRING;
}

const char * steg_last_error(void) {
    return g_last_error.c_str();
}

steg_status steg_last_status(void) {
    return g_last_status;
}

steg_context_params steg_context_default_params(void) {
    steg_context_params p{};
    p.device             = STEG_DEVICE_AUTO;
    p.n_threads          = 0;
    p.tile_size          = 0;
    p.progress           = nullptr;
    p.progress_user_data = nullptr;
    p.precision          = STEG_PRECISION_AUTO;
    return p;
}

steg_context * steg_init_from_file(const char * model_path, steg_context_params params) {
    steg_context * ctx    = nullptr;
    steg_status    status = guarded([&] {
        if (!model_path || !*model_path) {
            throw Error(STEG_ERR_MODEL, "no model file given and no default model found (set STEG_MODEL)");
        }
        const char * resolved = steg_model_path(model_path);
        if (!resolved) {
            throw Error(STEG_ERR_MODEL, std::string("no model named '") + model_path + "' is installed (" +
                                            "a model is a .safetensors file or the name of a shipped one, such as " +
                                            "'default' or 'robust'; they live in share/steg/models)");
        }
        const std::string path = resolved;
        check_range(enum_value(params.device), STEG_DEVICE_AUTO, STEG_DEVICE_CUDA, "device");
        check_range(enum_value(params.precision), STEG_PRECISION_AUTO, STEG_PRECISION_FP16, "precision");
        for (auto [param, value] : { std::pair{ STEG_PARAM_TILE, params.tile_size },
                                     std::pair{ STEG_PARAM_THREADS, params.n_threads } }) {
            const steg_param_spec * spec = steg_param_get(param);
            if (value != 0 && (value < spec->min_value || value > spec->max_value)) {
                // 0 takes the default; a tile smaller than the networks' reach would make
                // an in-place hide read pixels it has already written.
                throw Error(STEG_ERR_INVALID_ARGUMENT, std::string(spec->name) + " " + std::to_string(value) +
                                                           " is out of range (0 for the default, or " +
                                                           std::to_string(spec->min_value) + " to " +
                                                           std::to_string(spec->max_value) + ")");
            }
        }
        auto c       = std::make_unique<steg_context>();
        c->engine    = std::make_unique<Engine>(path,
                                                 EngineOptions{ params.device, params.n_threads, params.tile_size, params.precision });
        c->progress  = params.progress;
        c->user_data = params.progress_user_data;
        for (const auto & kv : c->engine->metadata()) {
            c->keys.push_back(kv.first);
        }
        ctx = c.release();
    });
    return status == STEG_OK ? ctx : nullptr;
}

void steg_free(steg_context * ctx) {
    delete ctx;
}

void steg_set_progress(steg_context * ctx, steg_progress_callback cb, void * user_data) {
    if (ctx) {
        ctx->progress  = cb;
        ctx->user_data = user_data;
    }
}

const char * steg_context_device(const steg_context * ctx) {
    return ctx && ctx->engine ? ctx->engine->device_name() : "";
}

const char * steg_context_precision(const steg_context * ctx) {
    return ctx && ctx->engine ? ctx->engine->precision_name() : "";
}

const char * steg_model_meta(const steg_context * ctx, const char * key) {
    if (!ctx || !ctx->engine || !key) {
        return nullptr;
    }
    const auto & m  = ctx->engine->metadata();
    auto         it = m.find(key);
    return it == m.end() ? nullptr : it->second.c_str();
}

bool steg_model_survives_yuv420(const steg_context * ctx) {
    const char * transport = steg_model_meta(ctx, "transport");
    if (!transport) {
        return false;
    }
    try {
        return steg::transport_covers_yuv420(steg::parse_transport(transport));
    } catch (const std::exception &) {
        return false;  // a mix this libsteg cannot read promises nothing
    }
}

const char * steg_model_meta_key(const steg_context * ctx, int32_t i) {
    if (!ctx || i < 0 || size_t(i) >= ctx->keys.size()) {
        return nullptr;
    }
    return ctx->keys[size_t(i)].c_str();
}

steg_status steg_hide(steg_context * ctx, const steg_image * cover, const steg_image * payload, steg_image * hybrid) {
    return guarded([&] {
        check_context(ctx);
        check_image(cover, "cover");
        check_image(payload, "payload");
        check_image(hybrid, "hybrid");
        check_colour(cover->format, "the cover");
        if (payload->format != STEG_FORMAT_GRAY8) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "payload must be GRAY8 (prepare it with steg_payload_prepare)");
        }
        check_same_size(*cover, *payload, "payload");
        check_same_size(*cover, *hybrid, "hybrid");
        if (hybrid->format != cover->format) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "hybrid must have the cover's pixel format");
        }
        ctx->engine->hide(*cover, *payload, *hybrid, progress_of(ctx));
    });
}

steg_status steg_reveal(steg_context * ctx, const steg_image * hybrid, steg_image * payload) {
    return steg_reveal_scored(ctx, hybrid, payload, nullptr);
}

steg_status steg_reveal_scored(steg_context * ctx, const steg_image * hybrid, steg_image * payload, float * payload_score) {
    return guarded([&] {
        check_context(ctx);
        check_image(hybrid, "hybrid");
        check_image(payload, "payload");
        check_colour(hybrid->format, "the hybrid");
        if (payload->format != STEG_FORMAT_GRAY8) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "revealed payload must be GRAY8");
        }
        check_same_size(*hybrid, *payload, "payload");
        const double score = ctx->engine->reveal(*hybrid, *payload, progress_of(ctx), payload_score != nullptr);
        if (payload_score) {
            *payload_score = float(score);
        }
    });
}

steg_status steg_payload_prepare(const steg_image * src, int32_t width, int32_t height, steg_fit fit,
                                 steg_channel channel, steg_image * out) {
    return guarded([&] {
        if (!out) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "output image is NULL");
        }
        check_range(enum_value(fit), STEG_FIT_SCALE, STEG_FIT_LETTERBOX, "fit");
        check_range(enum_value(channel), STEG_CHANNEL_LUMA, STEG_CHANNEL_B, "payload channel");
        check_image(src, "payload");
        prepare_payload(*src, width, height, fit, channel, *out);
    });
}

namespace {

// The payload rows the encoder reads, also written to a file as they pass (--payload-out).
class TeeRows final : public steg::RowSource {
  public:
    TeeRows(steg::RowSource & src, steg::RowSink * copy) : src_(src), copy_(copy) {
        width_  = src.width();
        height_ = src.height();
        format_ = src.format();
    }
    void read(uint8_t * dst, int rows) override {
        src_.read(dst, rows);
        if (copy_) {
            copy_->write(dst, rows);
        }
    }

  private:
    steg::RowSource & src_;
    steg::RowSink *   copy_;
};

}  // namespace

steg_status steg_hide_file(steg_context * ctx, const char * cover_path, const steg_image * payload, steg_fit fit,
                           steg_channel channel, const char * hybrid_path, const char * payload_out_path,
                           uint32_t flags, int64_t max_pixels, double * hybrid_psnr) {
    return guarded([&] {
        check_context(ctx);
        if (!cover_path || !hybrid_path) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "cover or hybrid path is NULL");
        }
        check_range(enum_value(fit), STEG_FIT_SCALE, STEG_FIT_LETTERBOX, "fit");
        check_range(enum_value(channel), STEG_CHANNEL_LUMA, STEG_CHANNEL_B, "payload channel");
        check_image(payload, "payload");
        check_save_path(hybrid_path, flags);
        if (payload_out_path) {
            check_save_path(payload_out_path, STEG_SAVE_ALLOW_LOSSY);
        }
        auto cover = open_rows(cover_path, max_pixels);
        check_colour(cover->format(), "the cover '" + std::string(cover_path) + "'");
        PayloadRows fitted(*payload, cover->width(), cover->height(), fit, channel);
        std::unique_ptr<RowSink> copy;
        if (payload_out_path) {
            copy = create_rows(payload_out_path, cover->width(), cover->height(), STEG_FORMAT_GRAY8,
                               STEG_SAVE_ALLOW_LOSSY);
        }
        TeeRows guest(fitted, copy.get());
        auto    out = create_rows(hybrid_path, cover->width(), cover->height(), cover->format(), flags);
        double  se  = 0;
        ctx->engine->hide_rows(*cover, guest, *out, progress_of(ctx), &se);
        if (copy) {
            copy->commit();
        }
        try {
            out->commit();
        } catch (...) {
            if (copy) {
                unlink(payload_out_path);  // both files, or neither
            }
            throw;
        }
        if (hybrid_psnr) {
            const double mse = se / (double(cover->width()) * cover->height() * 3);
            *hybrid_psnr     = mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(255.0 * 255.0 / mse);
        }
    });
}

steg_status steg_reveal_file(steg_context * ctx, const char * hybrid_path, const char * payload_path, uint32_t flags,
                             int64_t max_pixels, float * payload_score) {
    return guarded([&] {
        check_context(ctx);
        if (!hybrid_path || !payload_path) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "hybrid or payload path is NULL");
        }
        check_save_path(payload_path, flags);
        auto in = open_rows(hybrid_path, max_pixels);
        check_colour(in->format(), "the hybrid '" + std::string(hybrid_path) + "'");
        auto         out   = create_rows(payload_path, in->width(), in->height(), STEG_FORMAT_GRAY8, flags);
        const double score = ctx->engine->reveal_rows(*in, *out, progress_of(ctx), payload_score != nullptr);
        out->commit();
        if (payload_score) {
            *payload_score = float(score);
        }
    });
}

steg_status steg_image_probe(const char * path, int64_t max_pixels, int32_t * width, int32_t * height,
                             steg_format * format) {
    return guarded([&] {
        if (!path || !width || !height || !format) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "path or result pointer is NULL");
        }
        auto rows = open_rows(path, max_pixels);
        *width    = rows->width();
        *height   = rows->height();
        *format   = rows->format();
    });
}

steg_status steg_image_alloc(steg_image * img, int32_t width, int32_t height, steg_format format) {
    return guarded([&] {
        if (!img) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "image is NULL");
        }
        const int32_t f = enum_value(format);
        if (f != STEG_FORMAT_GRAY8 && f != STEG_FORMAT_RGB8 && f != STEG_FORMAT_RGBA8) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "unknown pixel format " + std::to_string(f));
        }
        alloc_image(*img, width, height, format);
    });
}

void steg_image_free(steg_image * img) {
    if (img) {
        free_image(*img);
    }
}

steg_status steg_image_load(const char * path, int64_t max_pixels, steg_image * out) {
    return guarded([&] {
        if (!path || !out) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "path or output image is NULL");
        }
        load_image(path, max_pixels, *out);
    });
}

steg_status steg_image_save(const char * path, const steg_image * img, uint32_t flags) {
    return guarded([&] {
        if (!path || !img) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "path or image is NULL");
        }
        save_image(path, *img, flags);
    });
}

steg_status steg_image_save_check(const char * path, uint32_t flags) {
    return guarded([&] {
        if (!path) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "path is NULL");
        }
        check_save_path(path, flags);
    });
}

bool steg_path_is_lossy(const char * path) {
    return path && path_is_lossy(path);
}

double steg_psnr(const steg_image * a, const steg_image * b) {
    return metric(a, b, psnr);
}

double steg_ssim(const steg_image * a, const steg_image * b) {
    return metric(a, b, ssim);
}

steg_status steg_colour_difference(const steg_image * a, const steg_image * b, double * mean, double * p99) {
    return guarded([&] {
        if (!a || !b || !mean || !p99) {
            throw Error(STEG_ERR_INVALID_ARGUMENT, "image or result pointer is NULL");
        }
        const ColourDifference d = colour_difference(*a, *b);
        *mean                    = d.mean;
        *p99                     = d.p99;
    });
}

double steg_bits_per_pixel(int32_t payload_channels) {
    return 8.0 * payload_channels;
}

double steg_payload_percent(int32_t payload_channels, int32_t cover_channels) {
    return cover_channels > 0 ? 100.0 * payload_channels / cover_channels : 0.0;
}

const char * steg_default_model_path(void) {
    static thread_local std::string found;
    if (const char * env = std::getenv("STEG_MODEL"); env && *env) {
        found = env;  // an explicit choice wins, even if it is broken: the loader says why
        return found.c_str();
    }
    for (const auto & dir : model_folders()) {
        if (is_file(dir + "/" STEG_DEFAULT_MODEL_NAME)) {
            found = dir + "/" STEG_DEFAULT_MODEL_NAME;
            return found.c_str();
        }
    }
    return nullptr;
}

const char * steg_model_path(const char * name_or_path) {
    static thread_local std::string found;
    if (!name_or_path || !*name_or_path) {
        return steg_default_model_path();
    }
    found = name_or_path;
    if (!is_model_name(found) || is_file(found)) {
        return found.c_str();  // a path, existing or not: the loader says what is wrong
    }
    for (const auto & dir : model_folders()) {
        if (is_file(dir + "/" + found + ".safetensors")) {
            found = dir + "/" + found + ".safetensors";
            return found.c_str();
        }
    }
    return nullptr;
}

}  // extern "C"
