// SPDX-License-Identifier: MIT
/*
 * steg.h - the plain C interface of libsteg: deep image steganography after
 * Rehman et al. 2017 ("End-to-end trained CNN encoder-decoder networks for image
 * steganography"). A CNN encoder hides a one-channel payload image (8 bits per
 * cover pixel) in an RGB cover of the same size; a CNN decoder recovers it.
 *
 * This header is the only door for hosts (the steg command, the GIMP filter, the
 * GStreamer elements, other languages). It includes no libtorch header and no
 * exception ever crosses it: every call reports failure through its return value
 * and steg_last_error().
 *
 * Basic usage:
 *
 *     struct steg_context_params cparams = steg_context_default_params();
 *     cparams.device = STEG_DEVICE_AUTO;
 *     struct steg_context * ctx = steg_init_from_file("default.safetensors", cparams);
 *     if (!ctx) { fprintf(stderr, "%s\n", steg_last_error()); return 1; }
 *
 *     struct steg_image cover, secret, payload, hybrid;
 *     steg_image_load("cover.png", 0, &cover);          // RGB8 or RGBA8
 *     steg_image_load("secret.jpg", 0, &secret);        // any format, any size
 *     steg_payload_prepare(&secret, cover.width, cover.height,
 *                          STEG_FIT_SCALE, STEG_CHANNEL_LUMA, &payload);  // GRAY8
 *     steg_image_alloc(&hybrid, cover.width, cover.height, cover.format);
 *     if (steg_hide(ctx, &cover, &payload, &hybrid) != STEG_OK) { ... }
 *     steg_image_save("hybrid.png", &hybrid, 0);        // lossless PNG
 *
 *     // later, from the saved PNG:
 *     steg_reveal(ctx, &hybrid, &payload);              // GRAY8 out
 *
 *     steg_image_free(&cover); ... steg_free(ctx);
 *
 * Thread safety: one context may be used by one thread at a time; distinct
 * contexts are independent. steg_last_error() is per thread.
 */
#ifndef STEG_H
#define STEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef STEG_SHARED
#    if defined(_WIN32) && !defined(__MINGW32__)
#        ifdef STEG_BUILD
#            define STEG_API __declspec(dllexport)
#        else
#            define STEG_API __declspec(dllimport)
#        endif
#    else
#        define STEG_API __attribute__((visibility("default")))
#    endif
#else
#    define STEG_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define STEG_VERSION_MAJOR 0
#define STEG_VERSION_MINOR 1
#define STEG_VERSION_PATCH 0

/* Pixels are zero-centred before they enter the networks: x / 255 - STEG_PIXEL_CENTER. */
#define STEG_PIXEL_CENTER 0.5f

/* Default cap on decoded pixels (width * height), against decompression bombs. */
#define STEG_DEFAULT_MAX_PIXELS ((int64_t) 1 << 28)

enum steg_status {
    STEG_OK                   = 0,
    STEG_ERR_INVALID_ARGUMENT = 1, /* a caller mistake: NULL pointer, wrong size or format */
    STEG_ERR_IO               = 2, /* a file could not be read or written, or is not an image */
    STEG_ERR_MODEL            = 3, /* a model file is missing, broken or of another kind */
    STEG_ERR_DEVICE           = 4, /* the requested device is not available */
    STEG_ERR_CANCELLED        = 5, /* the progress callback asked to stop */
    STEG_ERR_OUT_OF_MEMORY    = 6,
    STEG_ERR_INTERNAL         = 7,
};

enum steg_device {
    STEG_DEVICE_AUTO = 0, /* CUDA when libtorch has it and a GPU is present, else CPU */
    STEG_DEVICE_CPU  = 1,
    STEG_DEVICE_CUDA = 2,
};

enum steg_format {
    STEG_FORMAT_GRAY8 = 1, /* 1 byte per pixel */
    STEG_FORMAT_RGB8  = 3, /* 3 bytes per pixel: R, G, B */
    STEG_FORMAT_RGBA8 = 4, /* 4 bytes per pixel: R, G, B, A (alpha is never touched) */
};

/* How a payload of another size is made to fit the cover. */
enum steg_fit {
    STEG_FIT_SCALE     = 0, /* resize to the cover's size (antialiased), aspect not kept */
    STEG_FIT_LETTERBOX = 1, /* scale to fit inside, keep aspect, pad with black */
};

/* Which single channel of a colour payload is hidden. */
enum steg_channel {
    STEG_CHANNEL_LUMA = 0, /* BT.601 luma: 0.299 R + 0.587 G + 0.114 B */
    STEG_CHANNEL_R    = 1,
    STEG_CHANNEL_G    = 2,
    STEG_CHANNEL_B    = 3,
};

/* The number format the networks compute in. bf16 runs their 3x3 convolutions in
 * bfloat16 with fp32 accumulation (oneDNN on CPUs with AVX512-BF16 or AMX; CUDA); the
 * last 1x1 layers, the hybrid and its rounding to the 8-bit grid stay fp32. Measured
 * (docs/performance.md): on an AVX-512 Xeon without AMX, bf16 is 2.6-3.2x slower than
 * fp32, which runs in rows of libsteg's own; with the default model a bf16 encoder
 * changes 0.5 % of the hybrid's samples and moves the revealed payload by -0.06 dB on
 * average (-0.15 dB on the worst of 50 photo pairs); a bf16 decoder by +0.05 dB. */
enum steg_precision {
    STEG_PRECISION_AUTO = 0, /* bf16 where it stays within the documented bounds: today
                                nowhere, so fp32 */
    STEG_PRECISION_FP32 = 1,
    STEG_PRECISION_BF16 = 2, /* both networks; refused (STEG_ERR_DEVICE) on a CPU
                                without native bf16 */
    STEG_PRECISION_FP16 = 3, /* both networks in IEEE half (autocast, the same layers
                                as bf16); CUDA only: refused (STEG_ERR_DEVICE) on the CPU */
};

/* An 8-bit image. steg_image_load and steg_image_alloc own `data` (free it with
 * steg_image_free); a caller may also point `data` at its own memory (a GIMP tile,
 * a GStreamer frame) and set `stride` to its row pitch. */
struct steg_image {
    int32_t          width;
    int32_t          height;
    enum steg_format format;
    int64_t          stride; /* bytes from one row to the next; 0 means width * channels */
    uint8_t *        data;
};

/* Return false to cancel the running call (it then fails with STEG_ERR_CANCELLED).
 * The call stops between tiles; its output then holds whole rows of the result from
 * the top down and is untouched below them (a cancelled in-place hide leaves the cover
 * partly hidden: keep a copy, as the GIMP filter's shadow buffer does, to undo it). */
typedef bool (*steg_progress_callback)(float fraction, void * user_data);

struct steg_context_params {
    enum steg_device       device;
    int32_t                n_threads; /* CPU threads; 0 = all cores */
    int32_t                tile_size; /* inner tile edge in pixels; 0 = default (512 on the
                                         CPU; 4096 on CUDA, so that frames up to 4K run
                                         whole, in one pass and one copy back) */
    steg_progress_callback progress;  /* may be NULL */
    void *                 progress_user_data;
    enum steg_precision    precision; /* STEG_PRECISION_AUTO by default */
};

struct steg_context;

STEG_API const char * steg_version(void);

/* The message and the status of the last failure on this thread ("" and STEG_OK if
 * the last call succeeded). The status tells why steg_init_from_file returned NULL.
 * The string belongs to libsteg and stays valid, unchanged, until this thread's next
 * call of a steg_ function that reports a status (any call that can fail), or until the
 * thread ends: copy it to keep it longer. */
STEG_API const char *     steg_last_error(void);
STEG_API enum steg_status steg_last_status(void);

STEG_API struct steg_context_params steg_context_default_params(void);

/* Loads a model file (.safetensors). Returns NULL on failure; see steg_last_error(). */
STEG_API struct steg_context * steg_init_from_file(const char * model_path, struct steg_context_params params);
STEG_API void                  steg_free(struct steg_context * ctx);

/* Replaces the progress callback of a live context (NULL removes it). */
STEG_API void steg_set_progress(struct steg_context * ctx, steg_progress_callback cb, void * user_data);

/* "cpu" or "cuda": where the context runs. */
STEG_API const char * steg_context_device(const struct steg_context * ctx);

/* The number format the context's networks compute in: "fp32", "bf16" or "fp16". */
STEG_API const char * steg_context_precision(const struct steg_context * ctx);

/* A metadata value of the loaded model file, or NULL if the key is absent. Keys
 * include "format_version", "architecture", "payload_channels", "normalization",
 * "training", "metrics". steg_model_meta_key enumerates them (NULL past the end). */
STEG_API const char * steg_model_meta(const struct steg_context * ctx, const char * key);
STEG_API const char * steg_model_meta_key(const struct steg_context * ctx, int32_t i);

/* True when the loaded model was trained to survive YUV 4:2:0 chroma subsampling: its
 * "transport" metadata (steg-trainer --transport) names a yuv420 or h264 channel. Hosts
 * then accept YUV frames (the GStreamer elements' I420, NV12, YUY2); with other models
 * they keep RGB, where the payload lives. False for NULL or an unreadable transport. */
STEG_API bool steg_model_survives_yuv420(const struct steg_context * ctx);

/* Hides `payload` (GRAY8, same size as the cover) in `cover` (RGB8 or RGBA8).
 * `hybrid` must be allocated by the caller with the cover's size and format; it may
 * be the cover itself (in place). Alpha is copied from the cover unchanged. */
STEG_API enum steg_status steg_hide(struct steg_context * ctx, const struct steg_image * cover,
                                    const struct steg_image * payload, struct steg_image * hybrid);

/* Recovers the payload (GRAY8, caller-allocated, same size) from a hybrid (RGB8 or RGBA8). */
STEG_API enum steg_status steg_reveal(struct steg_context * ctx, const struct steg_image * hybrid,
                                      struct steg_image * payload);

/* steg_reveal, and in *payload_score (if not NULL) how likely it is that the image
 * carries a payload of this model: the share of pixels, 0 to 1, where the decoder's
 * output stayed within the pixel range (up to 8 levels beyond 0 or 255). Reading a
 * payload it hid, a trained decoder outputs pixel values; on an image that carries none,
 * it may drift far outside them. How well that separates the two depends on the model,
 * so a model file calibrated for it names its threshold in the metadata key
 * "payload_score_threshold" (steg_model_meta): below it, treat the image as carrying no
 * payload. The default model's threshold (0.9967) missed 5 % of hybrids and took 7 % of
 * clean photos for hybrids on BSDS500 test photos; a model without the key has no
 * verdict (the CIFAR-10 models' scores do not separate). Meaningful only for a lossless
 * hybrid of the same model. */
STEG_API enum steg_status steg_reveal_scored(struct steg_context * ctx, const struct steg_image * hybrid,
                                             struct steg_image * payload, float * payload_score);

/* Hide and reveal from file to file, a band of rows at a time: with a PNG cover (not
 * interlaced) and a PNG output, memory grows with the image's width times the tile, not
 * with its area, so covers far larger than memory work (other formats are read or
 * written whole). The results are bit-identical to steg_image_load + steg_hide (or
 * steg_reveal_scored) + steg_image_save.
 *
 * steg_hide_file hides `payload` (any image, any size: it is held whole, and fitted to
 * the cover band by band as steg_payload_prepare fits it, with `fit` and `channel`) in
 * the image file `cover_path` and writes the hybrid to `hybrid_path` (flags as for
 * steg_image_save). `payload_out_path` (may be NULL) receives the payload as hidden.
 * Nothing is written unless everything is: on failure no file is left, whole or part.
 * `hybrid_psnr` (may be NULL): the hybrid's PSNR against the cover, as steg_psnr.
 * max_pixels: as for steg_image_load. */
STEG_API enum steg_status steg_hide_file(struct steg_context * ctx, const char * cover_path,
                                         const struct steg_image * payload, enum steg_fit fit,
                                         enum steg_channel channel, const char * hybrid_path,
                                         const char * payload_out_path, uint32_t flags, int64_t max_pixels,
                                         double * hybrid_psnr);

/* Reveals the payload of the image file `hybrid_path` into `payload_path` (GRAY8; flags
 * as for steg_image_save). `payload_score` (may be NULL): as for steg_reveal_scored. */
STEG_API enum steg_status steg_reveal_file(struct steg_context * ctx, const char * hybrid_path,
                                           const char * payload_path, uint32_t flags, int64_t max_pixels,
                                           float * payload_score);

/* The size and format steg_image_load would give the file at `path`, from its header
 * where it can (PNG; JPEG and WebP are decoded). */
STEG_API enum steg_status steg_image_probe(const char * path, int64_t max_pixels, int32_t * width,
                                           int32_t * height, enum steg_format * format);

/* Turns any image into a GRAY8 payload of width x height: one channel (luma or a
 * chosen channel) fitted by `fit`. Allocates `out`. */
STEG_API enum steg_status steg_payload_prepare(const struct steg_image * src, int32_t width, int32_t height,
                                               enum steg_fit fit, enum steg_channel channel,
                                               struct steg_image * out);

/* Images. */
STEG_API enum steg_status steg_image_alloc(struct steg_image * img, int32_t width, int32_t height,
                                           enum steg_format format);
STEG_API void             steg_image_free(struct steg_image * img);
STEG_API int32_t          steg_format_channels(enum steg_format format);

/* Reads a PNG (8/16-bit; gray, gray+alpha, palette, RGB, RGBA), JPEG or still WebP
 * (lossy or lossless) file into GRAY8, RGB8 or RGBA8 (WebP: RGB8 or RGBA8). Files that declare more than max_pixels (0 = default cap)
 * are refused before any pixel is decoded. */
STEG_API enum steg_status steg_image_load(const char * path, int64_t max_pixels, struct steg_image * out);

#define STEG_SAVE_ALLOW_LOSSY 1u /* allow JPEG output */

/* Writes PNG, lossless WebP or JPEG, chosen by the extension (.png, .webp, .jpg/.jpeg).
 * WebP is always lossless (VP8L, exact colour under transparency; at most 16383 pixels
 * a side; GRAY8 is stored as R = G = B), so it needs no flag. The file is written
 * to a temporary name beside `path` and renamed into place, so a failure never leaves
 * a partial file. JPEG (quality 95, full-resolution 4:4:4 chroma) is refused without
 * STEG_SAVE_ALLOW_LOSSY. */
STEG_API enum steg_status steg_image_save(const char * path, const struct steg_image * img, uint32_t flags);

/* Checks, without writing anything, that steg_image_save(path, ..., flags) could write
 * `path`: a file name (not a folder) with a format it writes, JPEG only with
 * STEG_SAVE_ALLOW_LOSSY, in an existing folder this process may write to. Hosts call it
 * before long work so that a bad output name fails at once. */
STEG_API enum steg_status steg_image_save_check(const char * path, uint32_t flags);

/* True if the path's extension names a lossy format (.jpg, .jpeg, .avif, .gif, ...).
 * .webp is not one: steg_image_save writes it lossless. */
STEG_API bool steg_path_is_lossy(const char * path);

/* Metrics on 8-bit images of the same size and format (alpha is ignored).
 * PSNR in dB over all colour samples (peak 255; +inf for identical images).
 * SSIM after Wang et al. 2004 (11x11 Gaussian, sigma 1.5, K1 0.01, K2 0.03, L 255),
 * computed per colour channel over the windows that fit inside the image and
 * averaged over channels. Both return NaN on error (see steg_last_error). */
STEG_API double steg_psnr(const struct steg_image * a, const struct steg_image * b);
STEG_API double steg_ssim(const struct steg_image * a, const struct steg_image * b);

/* Colour difference a person sees between two colour images of the same size:
 * CIEDE2000 (Sharma, Wu, Dalal 2005) per pixel, from 8-bit sRGB through CIELAB (D65),
 * its mean and 99th percentile over the pixels (about 2 is where people start to notice
 * a difference side by side). Alpha is ignored; gray images are refused. */
STEG_API enum steg_status steg_colour_difference(const struct steg_image * a, const struct steg_image * b,
                                                 double * mean, double * p99);

/* Capacity as the paper reports it: payload bits per cover pixel, and payload bits
 * as a percentage of cover bits (a GRAY8 payload in an RGB cover: 8 bpp, 33.3 %). */
STEG_API double steg_bits_per_pixel(int32_t payload_channels);
STEG_API double steg_payload_percent(int32_t payload_channels, int32_t cover_channels);

/* One definition per user-visible parameter: the steg command's flags, the GStreamer
 * properties and the GIMP arguments are all derived from this table. */
enum steg_param {
    STEG_PARAM_MODEL = 0,
    STEG_PARAM_DEVICE,
    STEG_PARAM_THREADS,
    STEG_PARAM_FIT,
    STEG_PARAM_CHANNEL,
    STEG_PARAM_TILE,
    STEG_PARAM_PRECISION,
    STEG_PARAM_COUNT,
};

enum steg_param_kind {
    STEG_PARAM_KIND_STRING = 0, /* a path */
    STEG_PARAM_KIND_INT    = 1, /* min_value .. max_value */
    STEG_PARAM_KIND_ENUM   = 2, /* one of choices */
};

struct steg_param_spec {
    enum steg_param_kind kind;
    const char *         name;          /* "device", "fit", ... */
    const char *         nick;          /* a short human title */
    const char *         help;          /* one sentence */
    const char * const * choices;       /* NULL-terminated names for enum params, else NULL */
    int32_t              default_value; /* index into choices, or the integer default */
    int32_t              min_value;     /* integer params only */
    int32_t              max_value;
    const char * const * choice_help;   /* enum params: a phrase for each choice, parallel to choices */
};

STEG_API const struct steg_param_spec * steg_param_get(enum steg_param param);

/* The index of `name` in the param's choices, or -1. */
STEG_API int32_t steg_param_choice(enum steg_param param, const char * name);

/* The default model: $STEG_MODEL if set, else the first existing of the install
 * tree's and the build tree's default model. Returns NULL if none exists. */
STEG_API const char * steg_default_model_path(void);

/* The model file a name stands for: `name_or_path` itself when it is a path (it has a
 * '/' or a '.', or a file of that name exists), else NAME.safetensors in the folders
 * where shipped models live (beside $STEG_MODEL, the install tree's share/steg/models,
 * the build tree's models/), e.g. "robust" or "default"; NULL or "" gives the default
 * model. Returns NULL if no such model is installed. steg_init_from_file takes names
 * too. The string is valid until the next call from the same thread. */
STEG_API const char * steg_model_path(const char * name_or_path);

#ifdef __cplusplus
}
#endif

#endif /* STEG_H */
