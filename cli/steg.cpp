// SPDX-License-Identifier: MIT
// steg - hide an image in another, reveal it, compare images, describe a model.
// A host of libsteg: it speaks to the core only through steg.h.
#include "steg.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

// Exit codes, one per kind of failure, so scripts can tell them apart.
enum Exit : int {
    EXIT_OK_     = 0,
    EXIT_FAILURE_ = 1,  // anything else (internal error, out of memory)
    EXIT_USAGE   = 2,   // bad command line
    EXIT_INPUT   = 3,   // an input or output file is missing, unreadable, of the wrong kind or size
    EXIT_MODEL   = 4,   // the model file is missing or broken
    EXIT_DEVICE  = 5,   // the requested device is not available
    EXIT_CANCEL  = 130,
};

const char * const kExitHelp =
    "Exit status: 0 success, 2 usage error, 3 bad input or output file, 4 model error,\n"
    "5 device unavailable, 1 anything else.";

int exit_for(steg_status s) {
    switch (s) {
        case STEG_OK: return EXIT_OK_;
        case STEG_ERR_INVALID_ARGUMENT:
        case STEG_ERR_IO: return EXIT_INPUT;
        case STEG_ERR_MODEL: return EXIT_MODEL;
        case STEG_ERR_DEVICE: return EXIT_DEVICE;
        case STEG_ERR_CANCELLED: return EXIT_CANCEL;
        default: return EXIT_FAILURE_;
    }
}

int fail(steg_status s, const std::string & context = "") {
    std::fprintf(stderr, "steg: %s%s\n", context.c_str(), steg_last_error());
    return exit_for(s);
}

struct Image {  // owns a steg_image
    steg_image img{};
    ~Image() { steg_image_free(&img); }
};

struct Context {
    steg_context * ctx = nullptr;
    ~Context() { steg_free(ctx); }
};

// A progress bar on stderr, drawn only on a terminal and only once work has taken
// half a second, so quick runs and pipes stay quiet.
struct ProgressBar {
    const char *                          label;
    bool                                  enabled;
    bool                                  drawn = false;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

    static bool callback(float fraction, void * self) {
        static_cast<ProgressBar *>(self)->draw(fraction);
        return true;
    }

    void draw(float fraction) {
        using namespace std::chrono;
        const double elapsed = duration<double>(steady_clock::now() - start).count();
        if (!enabled || (elapsed < 0.5 && !drawn)) {
            return;
        }
        const int width = 30, filled = int(fraction * width + 0.5f);
        const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
        std::fprintf(stderr, "\r%s [%.*s%*s] %3d%%  %.1fs left ", label, filled, "##############################",
                     width - filled, "", int(fraction * 100 + 0.5f), eta);
        drawn = true;
    }

    ~ProgressBar() {
        if (drawn) {
            std::fprintf(stderr, "\n");
        }
    }
};

// Options shared by the subcommands that run a model; names, help, choices and
// defaults all come from libsteg's parameter table.
struct ModelOptions {
    std::string model;
    std::string device  = steg_param_get(STEG_PARAM_DEVICE)->choices[steg_param_get(STEG_PARAM_DEVICE)->default_value];
    int         threads = steg_param_get(STEG_PARAM_THREADS)->default_value;
    int         tile    = steg_param_get(STEG_PARAM_TILE)->default_value;
    std::string precision =
        steg_param_get(STEG_PARAM_PRECISION)->choices[steg_param_get(STEG_PARAM_PRECISION)->default_value];
    bool quiet = false;
};

std::vector<std::string> choices_of(steg_param p) {
    std::vector<std::string> v;
    for (const char * const * c = steg_param_get(p)->choices; *c; ++c) {
        v.emplace_back(*c);
    }
    return v;
}

std::string flag(steg_param p) {
    return std::string("--") + steg_param_get(p)->name;
}

void add_enum(CLI::App * app, steg_param p, std::string & target) {
    app->add_option(flag(p), target, steg_param_get(p)->help)
        ->check(CLI::IsMember(choices_of(p)))
        ->capture_default_str();
}

void add_int(CLI::App * app, steg_param p, int & target) {
    const steg_param_spec * s = steg_param_get(p);
    app->add_option(flag(p), target, s->help)->check(CLI::Range(s->min_value, s->max_value))->capture_default_str();
}

void add_model_options(CLI::App * app, ModelOptions & o) {
    app->add_option(flag(STEG_PARAM_MODEL), o.model, steg_param_get(STEG_PARAM_MODEL)->help);
    add_enum(app, STEG_PARAM_DEVICE, o.device);
    add_int(app, STEG_PARAM_THREADS, o.threads);
    add_int(app, STEG_PARAM_TILE, o.tile);
    add_enum(app, STEG_PARAM_PRECISION, o.precision);
    app->add_flag("-q,--quiet", o.quiet, "no progress bar or summary");
}

int open_model(const ModelOptions & o, ProgressBar & bar, Context & c) {
    std::string path = o.model;
    if (path.empty()) {
        const char * def = steg_default_model_path();
        if (!def) {
            std::fprintf(stderr, "steg: no model given and no default model found: pass --model FILE or set STEG_MODEL\n");
            return EXIT_MODEL;
        }
        path = def;
    }
    steg_context_params p = steg_context_default_params();
    p.device              = steg_device(steg_param_choice(STEG_PARAM_DEVICE, o.device.c_str()));
    p.n_threads           = o.threads;
    p.tile_size           = o.tile;
    p.precision           = steg_precision(steg_param_choice(STEG_PARAM_PRECISION, o.precision.c_str()));
    p.progress            = ProgressBar::callback;
    p.progress_user_data  = &bar;
    c.ctx                 = steg_init_from_file(path.c_str(), p);
    if (!c.ctx) {
        std::fprintf(stderr, "steg: %s\n", steg_last_error());
        return exit_for(steg_last_status());
    }
    return EXIT_OK_;
}

int load(const std::string & path, int64_t max_pixels, Image & out) {
    steg_status s = steg_image_load(path.c_str(), max_pixels, &out.img);
    return s == STEG_OK ? EXIT_OK_ : fail(s);
}

int check_output(const std::string & path, bool allow_lossy, const char * what) {
    if (steg_path_is_lossy(path.c_str()) && !allow_lossy) {
        std::fprintf(stderr,
                     "steg: refusing to save the %s as '%s': lossy compression destroys the hidden\n"
                     "      payload (the default model writes it into the exact 8-bit values: saved as JPEG\n"
                     "      at quality 95, the revealed image is noise, about 10 dB). Save as .png or .webp\n"
                     "      (both lossless), or pass --allow-lossy to write it anyway.\n",
                     what, path.c_str());
        return EXIT_USAGE;
    }
    // Everything else that would make the save fail (a folder, an unknown format, a
    // missing or read-only folder), before any work is done.
    if (steg_image_save_check(path.c_str(), STEG_SAVE_ALLOW_LOSSY) != STEG_OK) {
        return fail(steg_last_status());
    }
    return EXIT_OK_;
}

// A file named on the command line, with the role it plays ("cover", "-o").
struct Named {
    std::string role, path;
};

bool same_file(const struct stat & a, const struct stat & b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The folder an output will be written in, and its name there: two spellings of one
// output that does not exist yet (out.png, ./out.png, dir/../out.png) agree on both.
bool same_destination(const std::string & a, const std::string & b) {
    auto split = [](const std::string & p, struct stat & dir_st, std::string & base) {
        const auto slash = p.find_last_of('/');
        base             = slash == std::string::npos ? p : p.substr(slash + 1);
        const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : p.substr(0, slash);
        return stat(dir.c_str(), &dir_st) == 0;
    };
    struct stat da, db, fa, fb;
    std::string ba, bb;
    if (stat(a.c_str(), &fa) == 0 && stat(b.c_str(), &fb) == 0) {
        return same_file(fa, fb);
    }
    return split(a, da, ba) && split(b, db, bb) && same_file(da, db) && ba == bb;
}

// Refuses an output that is one of the inputs (by device and inode, so that links and
// other spellings are caught) unless --force, and two outputs naming one file always.
int check_not_clobbering(const std::vector<Named> & inputs, const std::vector<Named> & outputs, bool force) {
    for (size_t i = 0; i < outputs.size(); ++i) {
        struct stat out_st;
        if (stat(outputs[i].path.c_str(), &out_st) == 0) {
            for (const auto & in : inputs) {
                struct stat in_st;
                if (!force && stat(in.path.c_str(), &in_st) == 0 && same_file(in_st, out_st)) {
                    std::fprintf(stderr,
                                 "steg: %s '%s' is the %s '%s' itself: writing it would destroy the %s.\n"
                                 "      Choose another name, or pass --force to overwrite it anyway.\n",
                                 outputs[i].role.c_str(), outputs[i].path.c_str(), in.role.c_str(), in.path.c_str(),
                                 in.role.c_str());
                    return EXIT_USAGE;
                }
            }
        }
        for (size_t j = 0; j < i; ++j) {
            if (same_destination(outputs[i].path, outputs[j].path)) {
                std::fprintf(stderr, "steg: %s '%s' and %s '%s' name the same file: give each output its own name\n",
                             outputs[j].role.c_str(), outputs[j].path.c_str(), outputs[i].role.c_str(),
                             outputs[i].path.c_str());
                return EXIT_USAGE;
            }
        }
    }
    return EXIT_OK_;
}

int cmd_hide(const ModelOptions & mo, const std::string & cover_path, const std::string & payload_path,
             const std::string & out_path, const std::string & payload_out, const std::string & fit,
             const std::string & channel, bool fit_chosen, bool allow_lossy, bool force, int64_t max_pixels) {
    if (int rc = check_output(out_path, allow_lossy, "hybrid")) {
        return rc;
    }
    if (!payload_out.empty()) {
        if (int rc = check_output(payload_out, true, "payload")) {
            return rc;
        }
    }
    std::vector<Named> outputs = { { "-o", out_path } };
    if (!payload_out.empty()) {
        outputs.push_back({ "--payload-out", payload_out });
    }
    if (int rc = check_not_clobbering({ { "cover", cover_path }, { "payload", payload_path } }, outputs, force)) {
        return rc;
    }
    // The cover is read band by band while the hybrid is written (steg_hide_file), so
    // that its size is bounded by the disk, not by memory; here only its header.
    int32_t     cover_w = 0, cover_h = 0;
    steg_format cover_format;
    if (steg_image_probe(cover_path.c_str(), max_pixels, &cover_w, &cover_h, &cover_format) != STEG_OK) {
        return fail(steg_last_status());
    }
    if (cover_format == STEG_FORMAT_GRAY8) {
        std::fprintf(stderr,
                     "steg: the cover '%s' is grayscale, but a hybrid needs three colour channels.\n"
                     "      Convert it to RGB first (for example: convert in.png -type TrueColor out.png).\n",
                     cover_path.c_str());
        return EXIT_INPUT;
    }
    Image secret;
    if (int rc = load(payload_path, max_pixels, secret)) {
        return rc;
    }
    // Scaling to the cover stretches a payload of another shape; say so, unless the
    // user asked for it by name.
    const double stretch = (double(secret.img.width) / secret.img.height) / (double(cover_w) / cover_h);
    if (fit == "scale" && !fit_chosen && (stretch > 1.1 || stretch < 1 / 1.1)) {
        std::fprintf(stderr,
                     "steg: warning: the payload (%dx%d) is stretched to the cover's shape (%dx%d);\n"
                     "      --fit letterbox keeps its shape (black bars), --fit scale silences this.\n",
                     secret.img.width, secret.img.height, cover_w, cover_h);
    }
    ProgressBar bar{ "hiding   ", !mo.quiet && isatty(STDERR_FILENO) };
    Context     c;
    if (int rc = open_model(mo, bar, c)) {
        return rc;
    }
    // The payload as hidden and the hybrid: both written, or neither.
    double      psnr = 0;
    steg_status s    = steg_hide_file(c.ctx, cover_path.c_str(), &secret.img,
                                      steg_fit(steg_param_choice(STEG_PARAM_FIT, fit.c_str())),
                                      steg_channel(steg_param_choice(STEG_PARAM_CHANNEL, channel.c_str())),
                                      out_path.c_str(), payload_out.empty() ? nullptr : payload_out.c_str(),
                                      allow_lossy ? STEG_SAVE_ALLOW_LOSSY : 0, max_pixels, &psnr);
    if (s != STEG_OK) {
        return fail(s);
    }
    if (!mo.quiet) {
        std::printf("cover %s (%dx%d) + payload %s (%dx%d, %s, %s) -> %s: %.0f bpp, payload %.1f%%, "
                    "hybrid PSNR %.2f dB\n",
                    cover_path.c_str(), cover_w, cover_h, payload_path.c_str(), secret.img.width,
                    secret.img.height, channel.c_str(), fit.c_str(), out_path.c_str(), steg_bits_per_pixel(1),
                    steg_payload_percent(1, 3), psnr);
    }
    return EXIT_OK_;
}

int cmd_reveal(const ModelOptions & mo, const std::string & hybrid_path, const std::string & out_path, bool force,
               bool json, int64_t max_pixels) {
    if (int rc = check_output(out_path, true, "revealed image")) {
        return rc;
    }
    if (int rc = check_not_clobbering({ { "hybrid", hybrid_path } }, { { "-o", out_path } }, force)) {
        return rc;
    }
    // Read and written band by band (steg_reveal_file): any size the disk holds.
    int32_t     width = 0, height = 0;
    steg_format format;
    if (steg_image_probe(hybrid_path.c_str(), max_pixels, &width, &height, &format) != STEG_OK) {
        return fail(steg_last_status());
    }
    if (format == STEG_FORMAT_GRAY8) {
        std::fprintf(stderr, "steg: '%s' is grayscale, so it cannot be a hybrid (hybrids are RGB or RGBA)\n",
                     hybrid_path.c_str());
        return EXIT_INPUT;
    }
    ProgressBar bar{ "revealing", !mo.quiet && isatty(STDERR_FILENO) };
    Context     c;
    if (int rc = open_model(mo, bar, c)) {
        return rc;
    }
    // The revealed payload is an ordinary picture: any format the user names is fine.
    float       score = 0;
    steg_status s     = steg_reveal_file(c.ctx, hybrid_path.c_str(), out_path.c_str(), STEG_SAVE_ALLOW_LOSSY,
                                         max_pixels, &score);
    if (s != STEG_OK) {
        return fail(s);
    }
    // A verdict only from a model calibrated for it (steg_reveal_scored in steg.h).
    const char * threshold_text = steg_model_meta(c.ctx, "payload_score_threshold");
    const double threshold      = threshold_text ? std::strtod(threshold_text, nullptr) : std::nan("");
    const bool   calibrated     = std::isfinite(threshold);
    const bool   present        = calibrated && score >= threshold;
    if (calibrated && !present) {
        std::fprintf(stderr,
                     "steg: warning: '%s' probably carries no payload of this model (payload score %.4f, below %.4g): "
                     "the revealed image is likely noise. Was it made by 'steg hide' with this model, and kept "
                     "lossless (PNG)?\n",
                     hybrid_path.c_str(), score, threshold);
    }
    if (json) {
        const nlohmann::json j = { { "hybrid", hybrid_path },
                                   { "output", out_path },
                                   { "width", width },
                                   { "height", height },
                                   { "payload_score", std::round(double(score) * 1e6) / 1e6 },
                                   { "payload_threshold", calibrated ? nlohmann::json(threshold) : nlohmann::json() },
                                   { "payload_present", calibrated ? nlohmann::json(present) : nlohmann::json() } };
        std::printf("%s\n", j.dump().c_str());
    } else if (!mo.quiet) {
        std::printf("revealed %dx%d payload from %s: wrote %s (payload score %.4f: %s)\n", width, height,
                    hybrid_path.c_str(), out_path.c_str(), score,
                    !calibrated ? "no threshold for this model" : present ? "a payload of this model" : "probably no payload");
    }
    return EXIT_OK_;
}

int cmd_compare(const std::string & a_path, const std::string & b_path, bool json, int64_t max_pixels) {
    Image a, b;
    if (int rc = load(a_path, max_pixels, a)) {
        return rc;
    }
    if (int rc = load(b_path, max_pixels, b)) {
        return rc;
    }
    const double psnr = steg_psnr(&a.img, &b.img);
    if (std::isnan(psnr)) {
        return fail(STEG_ERR_INVALID_ARGUMENT);
    }
    const double ssim = steg_ssim(&a.img, &b.img);
    if (std::isnan(ssim)) {
        return fail(STEG_ERR_INVALID_ARGUMENT);
    }
    // Colour pictures also get the colour difference a person would see (CIEDE2000).
    const bool colour = a.img.format != STEG_FORMAT_GRAY8;
    double     de_mean = 0, de_p99 = 0;
    if (colour) {
        if (steg_status s = steg_colour_difference(&a.img, &b.img, &de_mean, &de_p99); s != STEG_OK) {
            return fail(s);
        }
    }
    char psnr_text[32];  // identical images have an infinite PSNR
    std::snprintf(psnr_text, sizeof psnr_text, "%.2f", psnr);
    if (json) {
        std::printf("{\"psnr_db\": %s, \"ssim\": %.6f", std::isinf(psnr) ? "null" : psnr_text, ssim);
        if (colour) {
            std::printf(", \"ciede2000_mean\": %.4f, \"ciede2000_p99\": %.4f", de_mean, de_p99);
        }
        std::printf("}\n");
    } else {
        std::printf("PSNR %s dB  SSIM %.4f", std::isinf(psnr) ? "inf" : psnr_text, ssim);
        if (colour) {
            std::printf("  CIEDE2000 mean %.2f  p99 %.2f", de_mean, de_p99);
        }
        std::printf("\n");
    }
    return EXIT_OK_;
}

int cmd_info(const ModelOptions & mo) {
    ProgressBar bar{ "", false };
    Context     c;
    if (int rc = open_model(mo, bar, c)) {
        return rc;
    }
    std::printf("model:  %s\n", steg_model_path(mo.model.c_str()));  // a shipped model's name, resolved
    std::printf("device: %s\n", steg_context_device(c.ctx));
    std::printf("precision: %s\n", steg_context_precision(c.ctx));
    for (int i = 0; const char * key = steg_model_meta_key(c.ctx, i); ++i) {
        std::printf("%s: %s\n", key, steg_model_meta(c.ctx, key));
    }
    return EXIT_OK_;
}

}  // namespace

int main(int argc, char ** argv) {
    CLI::App app{ "steg: hide an image inside another with a trained CNN, and reveal it again\n"
                  "(Rehman et al. 2017: a gray payload of 8 bits per pixel in an RGB cover)" };
    app.footer(std::string("Examples:\n"
                           "  steg hide cover.jpg secret.png -o hybrid.png\n"
                           "  steg reveal hybrid.png -o revealed.png\n"
                           "  steg compare cover.jpg hybrid.png\n"
                           "  steg info\n\n") +
               kExitHelp);
    app.require_subcommand(1);
    // A file-size limit (ulimit -f) fails the write (EFBIG), which libsteg reports and
    // cleans up after, instead of killing the process.
    std::signal(SIGXFSZ, SIG_IGN);
    app.set_version_flag("--version", std::string("steg ") + steg_version() +
                                          "\nCopyright (c) 2026 the steg authors. MIT licence (the LICENSE file).\n"
                                          "The shipped models were trained on research-only photos (ImageNet, BSDS500):\n"
                                          "their cards (models/README.md) give the terms.");

    ModelOptions mo;
    std::string  a, b, out, payload_out;
    std::string  fit     = steg_param_get(STEG_PARAM_FIT)->choices[steg_param_get(STEG_PARAM_FIT)->default_value];
    std::string  channel = steg_param_get(STEG_PARAM_CHANNEL)->choices[steg_param_get(STEG_PARAM_CHANNEL)->default_value];
    bool         allow_lossy = false, json = false, force = false;
    int64_t      max_pixels  = STEG_DEFAULT_MAX_PIXELS;

    auto * hide = app.add_subcommand("hide", "hide PAYLOAD inside COVER and save the hybrid image");
    hide->add_option("COVER", a, "cover image (PNG, JPEG or WebP; RGB or RGBA)")->required();
    hide->add_option("PAYLOAD", b, "image to hide (any size and colour; made gray and fitted to the cover)")->required();
    hide->add_option("-o,--output", out, "hybrid image to write (.png)")->required();
    hide->add_option("--payload-out", payload_out, "also save the payload as hidden (gray, fitted to the cover)");
    add_enum(hide, STEG_PARAM_FIT, fit);
    add_enum(hide, STEG_PARAM_CHANNEL, channel);
    hide->add_flag("--allow-lossy", allow_lossy, "allow a JPEG hybrid (the default model's payload does not survive it)");
    hide->add_flag("--force", force, "overwrite an output that is also an input (the cover or the payload)");
    add_model_options(hide, mo);

    auto * reveal = app.add_subcommand("reveal", "recover the hidden image from a hybrid");
    reveal->add_option("HYBRID", a, "hybrid image made by 'steg hide' (PNG)")->required();
    reveal->add_option("-o,--output", out, "revealed image to write (.png or .jpg)")->required();
    reveal->add_flag("--force", force, "overwrite the output even if it is the hybrid itself");
    reveal->add_flag("--json", json, "print the result as JSON, with the payload score (payload_score, payload_present)");
    add_model_options(reveal, mo);

    auto * compare = app.add_subcommand("compare", "print PSNR, SSIM and (colour images) the CIEDE2000 colour difference between two images of the same size");
    compare->add_option("A", a, "first image")->required();
    compare->add_option("B", b, "second image")->required();
    compare->add_flag("--json", json, "print JSON");

    auto * info = app.add_subcommand("info", "describe a model file (default: the shipped default model)");
    info->add_option("MODEL", mo.model, "model file (.safetensors)");
    add_enum(info, STEG_PARAM_DEVICE, mo.device);
    add_enum(info, STEG_PARAM_PRECISION, mo.precision);

    for (auto * sub : { hide, reveal, compare }) {
        sub->add_option("--max-pixels", max_pixels, "refuse input images with more pixels than this (a guard against "
                                                   "decompression bombs; at most 2^40)")
            ->check(CLI::Range(int64_t(1), int64_t(1) << 40))
            ->capture_default_str();
    }
    for (auto * sub : { hide, reveal, compare, info }) {
        sub->footer(kExitHelp);
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError & e) {
        const int rc = app.exit(e);
        return rc == 0 ? EXIT_OK_ : EXIT_USAGE;
    }
    if (*hide) {
        return cmd_hide(mo, a, b, out, payload_out, fit, channel, hide->get_option("--fit")->count() > 0,
                        allow_lossy, force, max_pixels);
    }
    if (*reveal) {
        return cmd_reveal(mo, a, out, force, json, max_pixels);
    }
    if (*compare) {
        return cmd_compare(a, b, json, max_pixels);
    }
    return cmd_info(mo);
}
