// SPDX-License-Identifier: MIT
#include "steg-image.h"

#include "steg-atomic-file.h"
#include "steg-error.h"
#include "steg-rows.h"

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#if STEG_HAVE_WEBP
#    include <webp/decode.h>
#    include <webp/encode.h>
#endif

#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>
#include <memory>
#include <vector>

namespace steg {

namespace {

// Decoders below use setjmp/longjmp (the error model of libpng and libjpeg). They hold
// only plain C data, so no C++ destructor is ever skipped by a longjmp; the C++ callers
// own the FILE and free the buffers on failure.
struct Decoded {
    int32_t   width    = 0;
    int32_t   height   = 0;
    int       channels = 0;
    uint8_t * pixels   = nullptr;  // malloc'd
    int64_t   file_size = -1;      // of the file being read, when known
    char      error[JMSG_LENGTH_MAX + 200] = { 0 };
};

// ---- PNG ------------------------------------------------------------------------

void png_on_error(png_structp png, png_const_charp msg) {
    auto * d = static_cast<Decoded *>(png_get_error_ptr(png));
    if (std::strcmp(msg, "Read Error") == 0) {  // libpng's words for running out of data
        snprintf(d->error, sizeof d->error, "the file ends early (truncated or damaged PNG)");
    } else {
        snprintf(d->error, sizeof d->error, "damaged PNG (%s)", msg);
    }
    png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

// Reads the header and sets the transformations that make any PNG 8-bit GRAY, RGB or
// RGBA, as steg_image_load promises; fills d's size and channels and returns the number
// of interlace passes. Call with png's error jump set.
int png_begin_read(png_structp png, png_infop info, int64_t max_pixels, Decoded * d) {
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    const png_uint_32 w = png_get_image_width(png, info);
    const png_uint_32 h = png_get_image_height(png, info);
    if (int64_t(w) * int64_t(h) > max_pixels || w > 0x7fffffff || h > 0x7fffffff) {
        snprintf(d->error, sizeof d->error, "declares %ux%u pixels, more than the limit of %lld", w, h,
                 (long long) max_pixels);
        png_longjmp(png, 1);
    }
    const int color = png_get_color_type(png, info);
    png_set_expand(png);     // palette -> RGB, low-bit gray -> 8 bits, tRNS -> alpha
    png_set_scale_16(png);   // 16 -> 8 bits, rounded
    if (color == PNG_COLOR_TYPE_GRAY_ALPHA || (color == PNG_COLOR_TYPE_GRAY && png_get_valid(png, info, PNG_INFO_tRNS))) {
        // There is no gray+alpha format: keep the alpha (or a transparent gray level,
        // which png_set_expand makes alpha) as RGBA.
        png_set_gray_to_rgb(png);
    }
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    d->width    = int32_t(w);
    d->height   = int32_t(h);
    d->channels = png_get_channels(png, info);
    if (d->channels == 2) {
        snprintf(d->error, sizeof d->error, "unsupported gray+alpha layout");
        png_longjmp(png, 1);
    }
    return passes;
}

bool decode_png(FILE * fp, int64_t max_pixels, Decoded * d) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, png_on_error, png_on_warning);
    png_infop   info = png ? png_create_info_struct(png) : nullptr;
    png_bytep * volatile rows = nullptr;  // volatile: read after a longjmp
    if (!info) {
        snprintf(d->error, sizeof d->error, "out of memory");
        png_destroy_read_struct(&png, nullptr, nullptr);
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        png_destroy_read_struct(&png, &info, nullptr);
        return false;
    }
    png_init_io(png, fp);
    png_begin_read(png, info, max_pixels, d);
    const size_t stride = size_t(d->width) * size_t(d->channels);
    d->pixels           = static_cast<uint8_t *>(malloc(stride * size_t(d->height)));
    rows                = static_cast<png_bytep *>(malloc(sizeof(png_bytep) * size_t(d->height)));
    if (!d->pixels || !rows) {
        snprintf(d->error, sizeof d->error, "out of memory for %dx%d pixels", d->width, d->height);
        png_longjmp(png, 1);
    }
    for (int32_t y = 0; y < d->height; ++y) {
        rows[y] = d->pixels + size_t(y) * stride;
    }
    png_read_image(png, rows);
    png_read_end(png, nullptr);
    free(rows);
    png_destroy_read_struct(&png, &info, nullptr);
    return true;
}

// ---- JPEG -----------------------------------------------------------------------

struct JpegError {
    jpeg_error_mgr mgr;
    jmp_buf        jump;
    Decoded *      decoded;
    bool           truncated;
};

void jpeg_on_error(j_common_ptr cinfo) {
    auto * e = reinterpret_cast<JpegError *>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, e->decoded->error);
    longjmp(e->jump, 1);
}

void jpeg_on_message(j_common_ptr cinfo, int level) {
    auto * e = reinterpret_cast<JpegError *>(cinfo->err);
    // libjpeg only warns about damaged data (a file that ends early, or whose data
    // stops before an end marker), fills what is missing with gray, and goes on. An
    // image with missing parts is an error for us: every warning is, except stray bytes
    // between markers, which cost no pixel.
    if (level < 0 && cinfo->err->msg_code != JWRN_EXTRANEOUS_DATA && !e->truncated) {
        e->truncated = true;
        (*cinfo->err->format_message)(cinfo, e->decoded->error);
    }
}

bool decode_jpeg(FILE * fp, int64_t max_pixels, Decoded * d) {
    jpeg_decompress_struct cinfo;
    JpegError              err;
    cinfo.err            = jpeg_std_error(&err.mgr);
    err.mgr.error_exit   = jpeg_on_error;
    err.mgr.emit_message = jpeg_on_message;
    err.decoded          = d;
    err.truncated        = false;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, fp);
    jpeg_read_header(&cinfo, TRUE);
    if (int64_t(cinfo.image_width) * int64_t(cinfo.image_height) > max_pixels) {
        snprintf(d->error, sizeof d->error, "declares %ux%u pixels, more than the limit of %lld", cinfo.image_width,
                 cinfo.image_height, (long long) max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    // Every 8x8 block of the first component costs at least one bit even in the most
    // compressible JPEG (its DC code), so a file far smaller than blocks / 8 bytes cannot
    // hold the picture it declares: refuse it before allocating and decoding garbage
    // (a 6 KB file declaring 16000x16000 pixels would take a minute and 2 GB).
    const int64_t blocks = ((int64_t(cinfo.image_width) + 7) / 8) * ((int64_t(cinfo.image_height) + 7) / 8);
    if (d->file_size >= 0 && d->file_size < blocks / 16) {
        snprintf(d->error, sizeof d->error,
                 "declares %ux%u pixels but holds only %lld bytes: a damaged or hostile JPEG",
                 cinfo.image_width, cinfo.image_height, (long long) d->file_size);
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        snprintf(d->error, sizeof d->error, "CMYK JPEG is not supported: convert it to RGB first");
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    d->width       = int32_t(cinfo.output_width);
    d->height      = int32_t(cinfo.output_height);
    d->channels    = cinfo.output_components;
    const size_t stride = size_t(d->width) * size_t(d->channels);
    d->pixels      = static_cast<uint8_t *>(malloc(stride * size_t(d->height)));
    if (!d->pixels) {
        snprintf(d->error, sizeof d->error, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = d->pixels + size_t(cinfo.output_scanline) * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
        if (err.truncated) {
            break;
        }
    }
    if (err.truncated) {
        const std::string why = d->error;
        snprintf(d->error, sizeof d->error, "damaged or truncated JPEG data (libjpeg: %s)", why.c_str());
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return true;
}

bool encode_jpeg(FILE * fp, const steg_image * img, int quality, Decoded * scratch) {
    jpeg_compress_struct cinfo;
    JpegError            err;
    cinfo.err          = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_on_error;
    err.decoded        = scratch;  // receives the message of a failure
    const int ch       = steg_format_channels(img->format);
    JSAMPLE * rgb      = static_cast<JSAMPLE *>(malloc(size_t(img->width) * 3));
    if (!rgb) {
        snprintf(scratch->error, sizeof scratch->error, "out of memory");
        return false;
    }
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(rgb);
        return false;
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, fp);
    cinfo.image_width      = JDIMENSION(img->width);
    cinfo.image_height     = JDIMENSION(img->height);
    cinfo.input_components = ch == 1 ? 1 : 3;
    cinfo.in_color_space   = ch == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (ch != 1) {  // full-resolution chroma (4:4:4): 4:2:0 would cost a hybrid's payload far more
        for (int c = 0; c < 3; ++c) {
            cinfo.comp_info[c].h_samp_factor = 1;
            cinfo.comp_info[c].v_samp_factor = 1;
        }
    }
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        const uint8_t * src = img->data + int64_t(cinfo.next_scanline) * row_bytes(*img);
        JSAMPROW        row = const_cast<JSAMPROW>(src);
        if (ch == 4) {  // JPEG has no alpha: drop it
            for (int x = 0; x < img->width; ++x) {
                std::memcpy(rgb + x * 3, src + x * 4, 3);
            }
            row = rgb;
        }
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(rgb);
    return true;
}

#if STEG_HAVE_WEBP
// ---- WebP ---------------------------------------------------------------------------

// libwebp decodes from memory. The header is read first so that the pixel limit is
// checked before the rest of the file is; the file's bytes are then bounded by the file
// itself (a RIFF chunk declares at most 4 GiB).
bool decode_webp(FILE * fp, int64_t max_pixels, Decoded * d) {
    std::vector<uint8_t> data(64);
    data.resize(fread(data.data(), 1, data.size(), fp));
    WebPBitstreamFeatures features;
    const VP8StatusCode head = WebPGetFeatures(data.data(), data.size(), &features);
    if (head == VP8_STATUS_NOT_ENOUGH_DATA) {
        snprintf(d->error, sizeof d->error, "the file ends early (truncated or damaged WebP)");
        return false;
    }
    if (head != VP8_STATUS_OK) {
        snprintf(d->error, sizeof d->error, "damaged WebP (its header cannot be read)");
        return false;
    }
    if (features.width <= 0 || features.height <= 0) {
        snprintf(d->error, sizeof d->error, "declares %dx%d pixels (zero)", features.width, features.height);
        return false;
    }
    if (int64_t(features.width) * features.height > max_pixels) {
        snprintf(d->error, sizeof d->error, "declares %dx%d pixels, more than the limit of %lld", features.width,
                 features.height, (long long) max_pixels);
        return false;
    }
    if (features.has_animation) {
        snprintf(d->error, sizeof d->error, "an animated WebP (steg reads still images only)");
        return false;
    }
    const uint64_t declared = 8 + (uint64_t(data[4]) | uint64_t(data[5]) << 8 | uint64_t(data[6]) << 16 |
                                   uint64_t(data[7]) << 24);
    while (data.size() < declared) {
        const size_t have = data.size();
        data.resize(std::min<uint64_t>(declared, have + (size_t(1) << 22)));
        const size_t got = fread(data.data() + have, 1, data.size() - have, fp);
        data.resize(have + got);
        if (got == 0) {
            snprintf(d->error, sizeof d->error, "the file ends early (truncated or damaged WebP)");
            return false;
        }
    }
    d->width    = features.width;
    d->height   = features.height;
    d->channels = features.has_alpha ? 4 : 3;
    const size_t stride = size_t(d->width) * size_t(d->channels);
    const size_t bytes  = stride * size_t(d->height);
    d->pixels           = static_cast<uint8_t *>(malloc(bytes));
    if (!d->pixels) {
        snprintf(d->error, sizeof d->error, "out of memory");
        return false;
    }
    const uint8_t * ok = features.has_alpha
                             ? WebPDecodeRGBAInto(data.data(), data.size(), d->pixels, bytes, int(stride))
                             : WebPDecodeRGBInto(data.data(), data.size(), d->pixels, bytes, int(stride));
    if (!ok) {
        snprintf(d->error, sizeof d->error, "damaged WebP (its image data cannot be decoded)");
        return false;
    }
    return true;
}

int webp_write_to_file(const uint8_t * data, size_t size, const WebPPicture * pic) {
    return fwrite(data, 1, size, static_cast<FILE *>(pic->custom_ptr)) == size;
}

// Lossless (VP8L), with the colour under transparent pixels kept exactly: a hybrid
// read back from it is bit-identical to one read back from PNG. WebP has no gray
// format, so a gray image is stored as RGB with R = G = B.
bool encode_webp_lossless(FILE * fp, const steg_image & img, std::string & error) {
    WebPConfig config;
    if (!WebPConfigInit(&config) || !WebPConfigLosslessPreset(&config, 4)) {
        error = "this libwebp cannot encode lossless WebP";
        return false;
    }
    config.exact = 1;
    WebPPicture pic;
    if (!WebPPictureInit(&pic)) {
        error = "this libwebp cannot encode lossless WebP";
        return false;
    }
    pic.use_argb   = 1;
    pic.width      = img.width;
    pic.height     = img.height;
    pic.writer     = webp_write_to_file;
    pic.custom_ptr = fp;
    const int stride = int(row_bytes(img));
    bool      ok;
    if (img.format == STEG_FORMAT_GRAY8) {
        ok = WebPPictureAlloc(&pic);
        for (int y = 0; ok && y < img.height; ++y) {
            const uint8_t * src = img.data + int64_t(y) * stride;
            uint32_t *      dst = pic.argb + int64_t(y) * pic.argb_stride;
            for (int x = 0; x < img.width; ++x) {
                dst[x] = 0xff000000u | uint32_t(src[x]) * 0x010101u;
            }
        }
    } else if (img.format == STEG_FORMAT_RGB8) {
        ok = WebPPictureImportRGB(&pic, img.data, stride);
    } else {
        ok = WebPPictureImportRGBA(&pic, img.data, stride);
    }
    if (ok) {
        ok = WebPEncode(&config, &pic);
    }
    if (!ok) {
        error = pic.error_code == VP8_ENC_ERROR_OUT_OF_MEMORY || pic.error_code == VP8_ENC_OK ? "out of memory"
                : pic.error_code == VP8_ENC_ERROR_BAD_WRITE ? std::string("write error: ") + std::strerror(errno)
                : pic.error_code == VP8_ENC_ERROR_BAD_DIMENSION
                    ? "WebP holds at most 16383x16383 pixels (save as .png)"
                    : "the WebP encoder failed (error " + std::to_string(int(pic.error_code)) + ")";
    }
    WebPPictureFree(&pic);
    return ok;
}
#endif  // STEG_HAVE_WEBP

std::string lower_extension(const std::string & path) {
    const auto slash = path.find_last_of('/');
    const auto dot   = path.find_last_of('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
        return "";
    }
    std::string ext = path.substr(dot + 1);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext;
}

struct FileCloser {
    void operator()(FILE * f) const { fclose(f); }
};

}  // namespace

int64_t row_bytes(const steg_image & img) {
    return img.stride ? img.stride : int64_t(img.width) * steg_format_channels(img.format);
}

}  // namespace steg

// Part of the C API, defined here with the image code (which the torch-free fuzz
// targets link without the rest of libsteg).
int32_t steg_format_channels(steg_format format) {
    int32_t f;  // read as an int: a caller may pass any value
    std::memcpy(&f, &format, sizeof f);
    switch (f) {
        case STEG_FORMAT_GRAY8: return 1;
        case STEG_FORMAT_RGB8: return 3;
        case STEG_FORMAT_RGBA8: return 4;
    }
    return 0;
}

namespace steg {

void check_image(const steg_image * img, const char * what) {
    const std::string w = what;
    if (!img) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, w + " is NULL");
    }
    int32_t format;  // read as an int: a caller may have put any value there
    std::memcpy(&format, &img->format, sizeof format);
    if (format != STEG_FORMAT_GRAY8 && format != STEG_FORMAT_RGB8 && format != STEG_FORMAT_RGBA8) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, w + " has an unknown pixel format (" + std::to_string(format) + ")");
    }
    if (img->width <= 0 || img->height <= 0) {
        throw Error(STEG_ERR_INVALID_ARGUMENT,
                    w + " is empty (" + std::to_string(img->width) + "x" + std::to_string(img->height) + ")");
    }
    if (!img->data) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, w + " has no pixel data");
    }
    if (img->stride != 0 && img->stride < int64_t(img->width) * steg_format_channels(img->format)) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, w + " has a row stride smaller than its width");
    }
}

void alloc_image(steg_image & img, int32_t width, int32_t height, steg_format format) {
    const int ch = steg_format_channels(format);
    if (width <= 0 || height <= 0 || ch == 0) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "cannot allocate a " + std::to_string(width) + "x" +
                                                   std::to_string(height) + " image of that format");
    }
    auto * data = static_cast<uint8_t *>(calloc(size_t(width) * size_t(height), size_t(ch)));
    if (!data) {
        throw Error(STEG_ERR_OUT_OF_MEMORY,
                    "out of memory for a " + std::to_string(width) + "x" + std::to_string(height) + " image");
    }
    img = { width, height, format, int64_t(width) * ch, data };
}

void free_image(steg_image & img) {
    free(img.data);
    img = { 0, 0, STEG_FORMAT_GRAY8, 0, nullptr };
}

void load_image(const std::string & path, int64_t max_pixels, steg_image & out) {
    struct stat st;
    const bool  have_stat = stat(path.c_str(), &st) == 0;
    if (have_stat && S_ISDIR(st.st_mode)) {
        throw Error(STEG_ERR_IO, "'" + path + "' is a folder, not an image file");
    }
    std::unique_ptr<FILE, FileCloser> fp(fopen(path.c_str(), "rb"));
    if (!fp) {
        throw Error(STEG_ERR_IO, "cannot open '" + path + "': " + std::strerror(errno));
    }
    load_image_stream(fp.get(), have_stat && S_ISREG(st.st_mode) ? int64_t(st.st_size) : -1, path, max_pixels, out);
}

namespace {

enum class FileKind { png, jpeg, webp };

// What the file holds, from its first bytes (the stream is rewound): a PNG's signature
// and its IHDR's width and height (the PNG spec puts IHDR first), a JPEG's SOI marker,
// or WebP's RIFF header. A PNG that declares more than max_pixels is refused here,
// before libpng reads anything more.
FileKind sniff(FILE * fp, const std::string & name, int64_t max_pixels) {
    unsigned char head[24] = { 0 };
    const size_t  n        = fread(head, 1, sizeof head, fp);
    rewind(fp);
    if (n >= 8 && png_sig_cmp(head, 0, 8) == 0) {
        const uint64_t w = png_get_uint_32(head + 16), h = png_get_uint_32(head + 20);
        if (n == 24 && std::memcmp(head + 12, "IHDR", 4) == 0 && w * h > uint64_t(max_pixels)) {
            throw Error(STEG_ERR_IO, "cannot read '" + name + "': declares " + std::to_string(w) + "x" +
                                         std::to_string(h) + " pixels, more than the limit of " +
                                         std::to_string(max_pixels));
        }
        return FileKind::png;
    }
    if (n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) {
        return FileKind::jpeg;
    }
    if (n >= 12 && std::memcmp(head, "RIFF", 4) == 0 && std::memcmp(head + 8, "WEBP", 4) == 0) {
#if STEG_HAVE_WEBP
        return FileKind::webp;
#else
        throw Error(STEG_ERR_IO, "cannot read '" + name + "': a WebP image, and this build of steg has no WebP "
                                 "support (libwebp); convert it to PNG");
#endif
    }
    throw Error(STEG_ERR_IO, "'" + name + "' is " + (n == 0 ? "empty" : "not a PNG, JPEG or WebP image"));
}

steg_format format_of(int channels) {
    return channels == 1 ? STEG_FORMAT_GRAY8 : channels == 3 ? STEG_FORMAT_RGB8 : STEG_FORMAT_RGBA8;
}

}  // namespace

void load_image_stream(FILE * fp, int64_t file_size, const std::string & name, int64_t max_pixels, steg_image & out) {
    if (max_pixels <= 0) {
        max_pixels = STEG_DEFAULT_MAX_PIXELS;
    }
    Decoded d;
    d.file_size = file_size;
    bool ok     = false;
    switch (sniff(fp, name, max_pixels)) {
        case FileKind::png: ok = decode_png(fp, max_pixels, &d); break;
        case FileKind::jpeg: ok = decode_jpeg(fp, max_pixels, &d); break;
        case FileKind::webp:
#if STEG_HAVE_WEBP
            ok = decode_webp(fp, max_pixels, &d);
#endif
            break;
    }
    if (!ok) {
        free(d.pixels);
        throw Error(STEG_ERR_IO, "cannot read '" + name + "': " + d.error);
    }
    out = { d.width, d.height, format_of(d.channels), int64_t(d.width) * d.channels, d.pixels };
}

bool path_is_lossy(const std::string & path) {
    const std::string ext = lower_extension(path);
    // .webp is not here: steg writes WebP lossless.
    for (const char * lossy : { "jpg", "jpeg", "jpe", "jfif", "avif", "heic", "heif", "jxl", "gif" }) {
        if (ext == lossy) {
            return true;
        }
    }
    return false;
}

void check_save_path(const std::string & path, uint32_t flags) {
    struct stat st;
    if (path.empty() || path.back() == '/' || (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "cannot write '" + path + "': it names a folder, not a file "
                                               "(give a file name ending in .png)");
    }
    const std::string ext  = lower_extension(path);
    const bool        jpeg = ext == "jpg" || ext == "jpeg";
    if (ext != "png" && !(ext == "webp" && STEG_HAVE_WEBP) && !jpeg) {
        throw Error(STEG_ERR_INVALID_ARGUMENT,
                    "cannot write '" + path + "': " +
                        (ext.empty() ? std::string("the name has no extension") : "unsupported format '." + ext + "'") +
                        (STEG_HAVE_WEBP ? " (steg writes .png and lossless .webp, and .jpg where lossy output is allowed)"
                                        : " (steg writes .png, and .jpg where lossy output is allowed; this build has no "
                                          "WebP support)"));
    }
    if (jpeg && !(flags & STEG_SAVE_ALLOW_LOSSY)) {
        throw Error(STEG_ERR_INVALID_ARGUMENT,
                    "refusing to write '" + path + "' as JPEG: lossy compression destroys the hidden payload");
    }
    const auto        slash = path.find_last_of('/');
    const std::string dir   = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        throw Error(STEG_ERR_IO, "cannot write '" + path + "': the folder '" + dir + "' does not exist");
    }
    if (access(dir.c_str(), W_OK) != 0) {
        throw Error(STEG_ERR_IO, "cannot write '" + path + "': no permission to write in the folder '" + dir + "'");
    }
}

namespace {

void check_save_size(const std::string & path, int32_t width, int32_t height) {
#if STEG_HAVE_WEBP
    if (lower_extension(path) == "webp" && (width > WEBP_MAX_DIMENSION || height > WEBP_MAX_DIMENSION)) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "cannot write '" + path + "': WebP holds at most " +
                                                   std::to_string(WEBP_MAX_DIMENSION) + " pixels a side, this image is " +
                                                   std::to_string(width) + "x" + std::to_string(height) +
                                                   " (save it as .png)");
    }
#else
    (void) path, (void) width, (void) height;
#endif
}

// ---- Rows -------------------------------------------------------------------------

// A non-interlaced PNG, decoded a row at a time.
class PngRows final : public RowSource {
  public:
    // Takes `fp` (closed here). After the constructor, interlaced() says whether rows can
    // be read one by one; an interlaced PNG must be read whole instead.
    PngRows(FILE * fp, std::string name, int64_t max_pixels) : fp_(fp), name_(std::move(name)) {
        png_  = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d_, png_on_error, png_on_warning);
        info_ = png_ ? png_create_info_struct(png_) : nullptr;
        if (!info_) {
            release();
            throw Error(STEG_ERR_OUT_OF_MEMORY, "cannot read '" + name_ + "': out of memory");
        }
        if (setjmp(png_jmpbuf(png_))) {
            fail();
        }
        png_init_io(png_, fp_);
        interlaced_ = png_begin_read(png_, info_, max_pixels, &d_) > 1;
        width_      = d_.width;
        height_     = d_.height;
        format_     = format_of(d_.channels);
    }
    ~PngRows() override { release(); }

    bool interlaced() const { return interlaced_; }

    void read(uint8_t * dst, int rows) override {
        if (rows < 0 || next_ + rows > height_ || !png_) {
            throw Error(STEG_ERR_INTERNAL, "read past the last row of '" + name_ + "'");
        }
        if (setjmp(png_jmpbuf(png_))) {
            fail();
        }
        for (int i = 0; i < rows; ++i) {
            png_read_row(png_, dst + i * row_size(), nullptr);
        }
        next_ += rows;
        if (next_ == height_) {
            png_read_end(png_, nullptr);  // a file cut after its pixels is damaged too
            release();
        }
    }

  private:
    [[noreturn]] void fail() {
        const std::string why = d_.error;
        release();
        throw Error(STEG_ERR_IO, "cannot read '" + name_ + "': " + why);
    }
    void release() {
        if (png_) {
            png_destroy_read_struct(&png_, info_ ? &info_ : nullptr, nullptr);
        }
        png_  = nullptr;
        info_ = nullptr;
        if (fp_) {
            fclose(fp_);
            fp_ = nullptr;
        }
    }

    FILE *      fp_;
    std::string name_;
    png_structp png_       = nullptr;
    png_infop   info_      = nullptr;
    Decoded     d_;
    bool        interlaced_ = false;
    int32_t     next_       = 0;
};

// Rows of an image held in memory: owned (a file read whole) or borrowed.
class MemoryRows final : public RowSource {
  public:
    MemoryRows(const steg_image & img, bool owned) : img_(img), owned_(owned) {
        width_  = img.width;
        height_ = img.height;
        format_ = img.format;
    }
    ~MemoryRows() override {
        if (owned_) {
            free_image(img_);
        }
    }
    void read(uint8_t * dst, int rows) override {
        if (rows < 0 || next_ + rows > height_) {
            throw Error(STEG_ERR_INTERNAL, "read past the last row of an image");
        }
        for (int i = 0; i < rows; ++i, ++next_) {
            std::memcpy(dst + i * row_size(), img_.data + next_ * row_bytes(img_), size_t(row_size()));
        }
    }

  private:
    steg_image img_;
    bool       owned_;
    int32_t    next_ = 0;
};

void png_on_write_error(png_structp png, png_const_charp msg) {
    snprintf(static_cast<char *>(png_get_error_ptr(png)), 256, "%s", msg);
    png_longjmp(png, 1);
}

// A PNG written a row at a time (8-bit, sRGB, libpng's default compression).
class PngSink final : public RowSink {
  public:
    PngSink(const std::string & path, int32_t width, int32_t height, steg_format format)
        : path_(path), out_(path), row_size_(int64_t(width) * steg_format_channels(format)), height_(height) {
        png_  = png_create_write_struct(PNG_LIBPNG_VER_STRING, error_, png_on_write_error, png_on_warning);
        info_ = png_ ? png_create_info_struct(png_) : nullptr;
        if (!info_) {
            release();
            throw Error(STEG_ERR_OUT_OF_MEMORY, "cannot write '" + path_ + "': out of memory");
        }
        if (setjmp(png_jmpbuf(png_))) {
            fail();
        }
        png_init_io(png_, out_.stream());
        png_set_IHDR(png_, info_, png_uint_32(width), png_uint_32(height), 8,
                     format == STEG_FORMAT_GRAY8  ? PNG_COLOR_TYPE_GRAY
                     : format == STEG_FORMAT_RGB8 ? PNG_COLOR_TYPE_RGB
                                                  : PNG_COLOR_TYPE_RGB_ALPHA,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_set_sRGB(png_, info_, PNG_sRGB_INTENT_PERCEPTUAL);
        png_write_info(png_, info_);
    }
    ~PngSink() override { release(); }

    void write(const uint8_t * src, int rows) override {
        if (rows < 0 || next_ + rows > height_ || !png_) {
            throw Error(STEG_ERR_INTERNAL, "write past the last row of '" + path_ + "'");
        }
        if (setjmp(png_jmpbuf(png_))) {
            fail();
        }
        for (int i = 0; i < rows; ++i) {
            png_write_row(png_, src + i * row_size_);
        }
        next_ += rows;
    }
    void commit() override {
        if (next_ != height_ || !png_) {
            throw Error(STEG_ERR_INTERNAL, "'" + path_ + "' is incomplete");
        }
        if (setjmp(png_jmpbuf(png_))) {
            fail();
        }
        png_write_end(png_, nullptr);
        release();
        out_.commit();
    }

  private:
    [[noreturn]] void fail() {
        const std::string why = error_;
        release();
        // libpng says "Write Error" when fwrite fails (a full disk): errno says why.
        throw Error(STEG_ERR_IO, "cannot write '" + path_ + "': " +
                                     (why == "Write Error" ? std::string(std::strerror(errno)) : why));
    }
    void release() {
        if (png_) {
            png_destroy_write_struct(&png_, info_ ? &info_ : nullptr);
        }
        png_  = nullptr;
        info_ = nullptr;
    }

    std::string path_;
    AtomicFile  out_;
    int64_t     row_size_;
    int32_t     height_;
    int32_t     next_ = 0;
    png_structp png_  = nullptr;
    png_infop   info_ = nullptr;
    char        error_[256] = { 0 };
};

class MemorySink final : public RowSink {
  public:
    explicit MemorySink(steg_image & img) : img_(img) {}
    void write(const uint8_t * src, int rows) override {
        if (rows < 0 || next_ + rows > img_.height) {
            throw Error(STEG_ERR_INTERNAL, "write past the last row of an image");
        }
        const int64_t n = int64_t(img_.width) * steg_format_channels(img_.format);
        for (int i = 0; i < rows; ++i, ++next_) {
            std::memcpy(img_.data + next_ * row_bytes(img_), src + i * n, size_t(n));
        }
    }
    void commit() override {}

  private:
    steg_image & img_;
    int32_t      next_ = 0;
};

// JPEG and WebP: the rows are gathered, and the image is encoded whole on commit().
class WholeImageSink final : public RowSink {
  public:
    WholeImageSink(std::string path, int32_t width, int32_t height, steg_format format, uint32_t flags)
        : path_(std::move(path)), flags_(flags) {
        alloc_image(img_, width, height, format);
    }
    ~WholeImageSink() override { free_image(img_); }
    void write(const uint8_t * src, int rows) override {
        if (rows < 0 || next_ + rows > img_.height) {
            throw Error(STEG_ERR_INTERNAL, "write past the last row of '" + path_ + "'");
        }
        std::memcpy(img_.data + next_ * row_bytes(img_), src, size_t(rows) * size_t(row_bytes(img_)));
        next_ += rows;
    }
    void commit() override { save_image(path_, img_, flags_); }

  private:
    std::string path_;
    uint32_t    flags_;
    steg_image  img_{};
    int32_t     next_ = 0;
};

}  // namespace

std::unique_ptr<RowSource> open_rows(const std::string & path, int64_t max_pixels) {
    if (max_pixels <= 0) {
        max_pixels = STEG_DEFAULT_MAX_PIXELS;
    }
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        throw Error(STEG_ERR_IO, "'" + path + "' is a folder, not an image file");
    }
    std::unique_ptr<FILE, FileCloser> fp(fopen(path.c_str(), "rb"));
    if (!fp) {
        throw Error(STEG_ERR_IO, "cannot open '" + path + "': " + std::strerror(errno));
    }
    if (sniff(fp.get(), path, max_pixels) == FileKind::png) {
        auto png = std::make_unique<PngRows>(fp.release(), path, max_pixels);
        if (!png->interlaced()) {
            return png;
        }
    }
    steg_image img{};
    load_image(path, max_pixels, img);
    return std::make_unique<MemoryRows>(img, true);
}

std::unique_ptr<RowSource> memory_rows(const steg_image & img) {
    check_image(&img, "image");
    return std::make_unique<MemoryRows>(img, false);
}

std::unique_ptr<RowSink> memory_sink(steg_image & img) {
    check_image(&img, "image");
    return std::make_unique<MemorySink>(img);
}

std::unique_ptr<RowSink> create_rows(const std::string & path, int32_t width, int32_t height, steg_format format,
                                     uint32_t flags) {
    check_save_path(path, flags);
    check_save_size(path, width, height);
    if (width <= 0 || height <= 0 || steg_format_channels(format) == 0) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "cannot write a " + std::to_string(width) + "x" +
                                                   std::to_string(height) + " image of that format");
    }
    if (lower_extension(path) == "png") {
        return std::make_unique<PngSink>(path, width, height, format);
    }
    return std::make_unique<WholeImageSink>(path, width, height, format, flags);
}

void save_image(const std::string & path, const steg_image & img, uint32_t flags) {
    check_image(&img, "image to save");
    check_save_path(path, flags);
    check_save_size(path, img.width, img.height);
    const std::string ext  = lower_extension(path);
    const bool        jpeg = ext == "jpg" || ext == "jpeg";
    if (ext == "png") {
        PngSink out(path, img.width, img.height, img.format);
        for (int32_t y = 0; y < img.height; ++y) {
            out.write(img.data + y * row_bytes(img), 1);
        }
        out.commit();
        return;
    }
    AtomicFile out(path);
    if (jpeg) {
        Decoded scratch;
        if (!encode_jpeg(out.stream(), &img, 95, &scratch)) {
            throw Error(STEG_ERR_IO, "cannot write '" + path + "': " + scratch.error);
        }
#if STEG_HAVE_WEBP
    } else if (ext == "webp") {
        std::string why;
        if (!encode_webp_lossless(out.stream(), img, why)) {
            throw Error(STEG_ERR_IO, "cannot write '" + path + "': " + why);
        }
#endif
    }
    out.commit();
}

}  // namespace steg
