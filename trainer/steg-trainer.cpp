// SPDX-License-Identifier: MIT
// steg-trainer - train models with the paper's joint loss (Eq. 1) and evaluate them in
// the terms of the paper's tables. A thin main() over libsteg's C++ training API.
#include "steg-channel.h"
#include "steg-data.h"
#include "steg-error.h"
#include "steg-runtime.h"
#include "steg-train.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

using json = nlohmann::json;

namespace {

std::atomic<bool> g_stop{ false };

// A mix of channel stand-ins (steg-channel.h), refused with parse_transport's words.
const CLI::Validator transport_mix(
    [](std::string & text) -> std::string {
        try {
            steg::parse_transport(text);
        } catch (const steg::Error & e) {
            const std::string why = e.what(), own = "--transport: ";  // CLI11 names the option itself
            return why.rfind(own, 0) == 0 ? why.substr(own.size()) : why;
        }
        return "";
    },
    "MIX");

// A finite number >= 0 (> 0 with `positive`): NaN and infinities are refused by name.
CLI::Validator finite_number(bool positive) {
    return CLI::Validator(
        [positive](std::string & text) -> std::string {
            char *       end = nullptr;
            const double v   = std::strtod(text.c_str(), &end);
            if (text.empty() || *end != '\0' || !std::isfinite(v) || v < 0 || (positive && v == 0)) {
                return "'" + text + "' is not a finite number " + (positive ? "above 0" : "of 0 or more");
            }
            return "";
        },
        positive ? "POSITIVE" : "NONNEGATIVE");
}

void on_signal(int) {
    g_stop = true;  // finish the running step, write a checkpoint, exit
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C stops at once
}

std::string now_utc() {
    char        buf[32];
    std::time_t t = std::time(nullptr);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

std::string hms(double s) {
    char buf[32];
    const int t = int(s);
    std::snprintf(buf, sizeof buf, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    return buf;
}

// A path as a model's training summary records it: relative paths as given, absolute
// ones cut to their last two parts, so no machine's folders end up in a shipped file.
std::string recorded_path(const std::string & p) {
    const std::filesystem::path path = p;
    return path.is_absolute() ? ".../" + (path.parent_path().filename() / path.filename()).string() : p;
}

std::vector<std::string> recorded_paths(const std::vector<std::string> & ps) {
    std::vector<std::string> out;
    for (const auto & p : ps) {
        out.push_back(recorded_path(p));
    }
    return out;
}

steg::ImageSet load_all(const std::vector<std::string> & paths, int min_side, int pad_to) {
    steg::ImageSet all;
    for (const auto & p : paths) {
        auto set = steg::load_dataset(p, min_side, pad_to);
        std::fprintf(stderr, "loaded %zu images from %s\n", set.size(), p.c_str());
        for (auto & img : set) {
            all.push_back(std::move(img));
        }
    }
    return all;
}

void check_sizes(const steg::ImageSet & set, int size, const char * role) {
    for (const auto & img : set) {
        if (img.width < size || img.height < size) {
            throw steg::Error(STEG_ERR_INVALID_ARGUMENT, std::string(role) + " image '" + img.name + "' is " +
                                                             std::to_string(img.width) + "x" + std::to_string(img.height) +
                                                             ", smaller than --size " + std::to_string(size));
        }
    }
}

// Throws (exit 3) unless `path` can be written: its folder exists and may be written,
// and it is not itself a folder.
void check_writable(const std::string & path, const char * option) {
    namespace fs = std::filesystem;
    const fs::path  p   = path;
    const fs::path  dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
        throw steg::Error(STEG_ERR_INVALID_ARGUMENT, option + std::string(" '") + path + "' is a folder: give a file name");
    }
    if (!fs::is_directory(dir, ec)) {
        throw steg::Error(STEG_ERR_IO, option + std::string(" '") + path + "': the folder '" + dir.string() +
                                           "' does not exist");
    }
    if (access(dir.c_str(), W_OK) != 0) {
        throw steg::Error(STEG_ERR_IO, option + std::string(" '") + path + "': no permission to write in '" +
                                           dir.string() + "'");
    }
}

std::vector<int> pick(const std::vector<int> & idx, size_t max) {
    return std::vector<int>(idx.begin(), idx.begin() + long(std::min(max, idx.size())));
}

json eval_json(const steg::EvalStats & e) {
    return { { "images", e.images },
             { "hybrid_psnr_db", e.hybrid_psnr },
             { "hybrid_ssim", e.hybrid_ssim },
             { "revealed_psnr_db", e.revealed_psnr },
             { "revealed_ssim", e.revealed_ssim },
             { "hybrid_ciede2000_mean", e.colour_mean },
             { "hybrid_ciede2000_p99", e.colour_p99 } };
}

// Mean, worst pair and 5th percentile of one figure over the pairs. `lower_is_worse`:
// PSNR and SSIM (the worst is the lowest); colour difference: the worst is the highest.
json spread_json(const steg::EvalStats & e, double steg::PairScore::*field, bool lower_is_worse) {
    std::vector<double> v;
    size_t              worst = 0;
    for (size_t i = 0; i < e.pairs.size(); ++i) {
        v.push_back(e.pairs[i].*field);
        const double w = e.pairs[worst].*field, x = e.pairs[i].*field;
        if (lower_is_worse ? x < w : x > w) {
            worst = i;
        }
    }
    if (v.empty()) {
        return json::object();
    }
    const auto & p = e.pairs[worst];
    return { { "mean", std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()) },
             { "worst", p.*field },
             { "worst_pair", p.cover + " + " + p.payload },
             { lower_is_worse ? "p5" : "p95", steg::quantile(v, lower_is_worse ? 0.05 : 0.95) } };
}

struct TrainArgs {
    steg::TrainOptions       o;
    std::vector<std::string> covers, payloads;
    std::string              out, checkpoint, log, init, device = "auto", payload_mode = "gray", schedule = "constant";
    bool                     resume = false, no_channels_last = false, architecture_given = false;
    int                      world_size = 0, rank = -1;  // 0 / -1: from the environment (torchrun), else 1 / 0
    std::string              master;                     // HOST:PORT
    double                   dist_timeout = 300;
    double                   val_fraction = 0.05, test_fraction = 0.0;
    int                      val_every = 1, val_size = 0, val_max = 64;
    std::string              command;
};

// The environment as a map, for steg::dist_options_from_env.
std::map<std::string, std::string> environment() {
    std::map<std::string, std::string> env;
    for (char ** e = environ; *e; ++e) {
        const std::string kv = *e;
        const size_t      eq = kv.find('=');
        if (eq != std::string::npos) {
            env[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
    }
    return env;
}

// torchrun's environment first, then the explicit options over it.
void resolve_distributed(TrainArgs & a) {
    const auto env = environment();
    a.o.dist       = steg::dist_options_from_env(env, a.o.dist);
    if (a.world_size > 0) {
        a.o.dist.world_size = a.world_size;
    }
    if (a.rank >= 0) {
        a.o.dist.rank = a.rank;
    }
    if (!a.master.empty()) {
        steg::parse_master(a.master, a.o.dist);
    }
    a.o.dist.timeout_s = a.dist_timeout;
    if (a.o.dist.world_size > 1 && a.o.threads == 0) {
        // Ranks that share a machine share its cores (torchrun says how many share it).
        auto it         = env.find("LOCAL_WORLD_SIZE");
        const int local = it != env.end() ? std::max(1, std::atoi(it->second.c_str())) : 1;
        a.o.threads     = std::max(1, int(std::thread::hardware_concurrency()) / local);
    }
}

int train(TrainArgs & a) {
    a.o.device       = a.device == "cuda" ? STEG_DEVICE_CUDA : a.device == "cpu" ? STEG_DEVICE_CPU : STEG_DEVICE_AUTO;
    resolve_distributed(a);
    const bool lead = a.o.dist.rank == 0;  // rank 0 validates, logs, checkpoints and exports
    a.o.channels_last = !a.no_channels_last;
    a.o.payload_mode = a.payload_mode == "channel" ? steg::PayloadMode::Channel : steg::PayloadMode::Gray;
    a.o.cosine       = a.schedule == "cosine";
    if (a.checkpoint.empty()) {
        a.checkpoint = a.out + ".ckpt";
    }
    if (a.log.empty()) {
        a.log = a.out + ".log.jsonl";
    }
    if (a.val_fraction + a.test_fraction >= 0.95) {
        throw steg::Error(STEG_ERR_INVALID_ARGUMENT, "--val-fraction and --test-fraction together hold out " +
                                                         std::to_string(int(100 * (a.val_fraction + a.test_fraction))) +
                                                         " % of the images: leave at least 5 % to train on");
    }
    if (lead) {  // every file rank 0 will write, before the data is loaded and an epoch is spent
        check_writable(a.out, "-o");
        check_writable(a.checkpoint, "--checkpoint");
        check_writable(a.log, "--log");
    }
    const bool     same     = a.payloads.empty();
    steg::ImageSet covers   = load_all(a.covers, a.o.size, a.o.size);
    steg::ImageSet payloads = same ? steg::ImageSet() : load_all(a.payloads, a.o.size, a.o.size);
    const steg::ImageSet & pay = same ? covers : payloads;
    check_sizes(covers, a.o.size, "cover");
    check_sizes(pay, a.o.size, "payload");
    const steg::Split cs = steg::split_indices(covers.size(), a.val_fraction, a.test_fraction, a.o.seed);
    const steg::Split ps = same ? cs : steg::split_indices(payloads.size(), a.val_fraction, a.test_fraction, a.o.seed + 1);
    const int         val_size = a.val_size > 0 ? a.val_size : a.o.size;
    auto val_pairs = steg::epoch_pairs(pick(cs.val, size_t(a.val_max) * (same ? 2 : 1)), pick(ps.val, size_t(a.val_max)),
                                       same, 1, a.o.seed, -1);

    if (a.resume) {  // the run continues as the architecture it started with
        const std::string arch = steg::Trainer::checkpoint_architecture(a.checkpoint);
        if (a.architecture_given && arch != a.o.architecture) {
            throw steg::Error(STEG_ERR_INVALID_ARGUMENT, "--resume: " + a.checkpoint + " holds a '" + arch +
                                                             "' model, not '" + a.o.architecture + "'");
        }
        a.o.architecture = arch;
    }
    if (a.o.dist.world_size > 1) {
        std::fprintf(stderr, "rank %d of %d: joining the job at %s:%d (timeout %.0f s)\n", a.o.dist.rank,
                     a.o.dist.world_size, a.o.dist.master_addr.c_str(), a.o.dist.master_port, a.o.dist.timeout_s);
    }
    steg::Trainer t(a.o);
    if (a.o.amp && std::string(t.device_name()) == "cpu" && !steg::cpu_has_native_bf16()) {
        // Emulated bf16 trains about 15 times slower than fp32 (measured on an AMD EPYC
        // without AVX512): refused, as the engine refuses --precision bf16 there.
        throw steg::Error(STEG_ERR_DEVICE, "--amp needs native bf16 on the CPU (AVX512-BF16 or AMX), which this one "
                                           "lacks: emulated, it trains many times slower than fp32; leave --amp out");
    }
    if (!a.init.empty() && !a.resume) {
        t.import_model(a.init);
        if (t.options().architecture != a.o.architecture && a.architecture_given) {
            throw steg::Error(STEG_ERR_INVALID_ARGUMENT,
                              "--init " + a.init + " is a '" + t.options().architecture + "' model, not '" +
                                  a.o.architecture +
                                  "': leave --architecture out to continue its own (to move a model to another "
                                  "architecture, distil it: --teacher)");
        }
        a.o.architecture = t.options().architecture;
        std::fprintf(stderr, "starting from the weights of %s (%s)\n", a.init.c_str(), a.o.architecture.c_str());
    }
    if (a.resume) {
        t.load_checkpoint(a.checkpoint);
        std::fprintf(stderr, "resumed from %s after epoch %d\n", a.checkpoint.c_str(), t.epoch());
        if (t.epoch() >= a.o.epochs) {
            // Finished: its model was written when it ended; writing it again here would
            // replace the run's figures with those of no validation at all.
            std::fprintf(stderr, "the run has finished all %d epochs: nothing to do (%s was written when it ended; "
                                 "raise --epochs to train on)\n", a.o.epochs, a.out.c_str());
            return 0;
        }
    }
    if (a.o.change_bound_start > 0 && a.o.architecture != "rehman2017-bounded") {
        throw steg::Error(STEG_ERR_INVALID_ARGUMENT, "--change-bound-start shrinks the bound of a rehman2017-bounded "
                                                     "model; this run trains '" + a.o.architecture + "'");
    }
    std::fprintf(stderr, "training on %s: %zu cover and %zu payload training images, %zu validation pairs\n",
                 t.device_name(), cs.train.size(), same ? cs.train.size() : ps.train.size(), val_pairs.size());
    if (t.world_size() > 1) {
        std::fprintf(stderr, "rank %d of %d: %d pairs a step (%d here), %d threads%s\n", t.rank(), t.world_size(),
                     a.o.batch * t.world_size(), a.o.batch, a.o.threads,
                     lead ? "" : "; rank 0 validates and writes the checkpoints, the log and the model");
    }
    std::ofstream log;
    if (lead) {
        log.open(a.log, std::ios::app);
    }
    const bool    tty   = isatty(STDERR_FILENO) && lead;
    const auto    start = std::chrono::steady_clock::now();
    steg::EvalStats   last{};
    int               steps_total = 0;

    const std::string best_path   = a.out.substr(0, a.out.rfind(".safetensors")) + ".best.safetensors";
    while (t.epoch() < a.o.epochs) {
        auto pairs = steg::epoch_pairs(cs.train, ps.train, same, a.o.repeat, a.o.seed, t.epoch());
        auto on_step = [&](int epoch, int step, int steps, double loss, double ips) {
            if (tty) {
                const double done = (epoch - 1 + double(step) / steps) / a.o.epochs;
                const double el   = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                std::fprintf(stderr, "\repoch %d/%d  step %d/%d  loss %.4f  %.0f img/s  ETA %s   ", epoch, a.o.epochs,
                             step, steps, loss, ips, hms(done > 0 ? el * (1 - done) / done : 0).c_str());
            }
        };
        steg::EpochStats s = t.train_epoch(covers, pay, pairs, g_stop, on_step);
        steps_total += s.steps;
        if (lead && s.interrupted) {
            t.save_checkpoint(a.checkpoint);
        }
        if (s.interrupted) {
            if (lead) {
                std::fprintf(stderr, "\ninterrupted: checkpoint written to %s (continue with --resume)\n",
                             a.checkpoint.c_str());
            }
            return 130;
        }
        if (!lead) {
            continue;  // validation, the log and the best model are rank 0's
        }
        json line = { { "epoch", s.epoch },          { "steps", s.steps },
                      { "loss", s.loss },            { "cover_term", s.cover_term },
                      { "payload_term", s.payload_term }, { "weight_term", s.weight_term },
                      { "images_per_s", s.images_per_s }, { "data_wait_share", s.wait_share },
                      { "seconds", s.seconds },      { "skipped_steps", s.skipped } };
        if (t.world_size() > 1) {
            line["world_size"]        = t.world_size();
            line["allreduce_seconds"] = s.allreduce_seconds;  // rank 0's time in the all-reduce, waits included
        }
        const bool bounded = a.o.architecture == "rehman2017-bounded";
        if (bounded) {
            line["change_bound"] = steg::scheduled_change_bound(a.o, s.epoch);
        }
        const bool validate = !val_pairs.empty() && (s.epoch % a.val_every == 0 || s.epoch == a.o.epochs);
        if (validate) {
            last        = t.evaluate(covers, pay, val_pairs, val_size);
            line["val"] = eval_json(last);
            // Keep the best validated weights: a late divergence must not cost the run.
            // While a change bound is still shrinking, no model is final: none is kept.
            const double score = last.hybrid_psnr + last.revealed_psnr;
            if (steg::change_bound_settled(a.o, s.epoch) && score > t.best_score()) {
                t.set_best_score(score);
                json m     = eval_json(last);
                m["set"]   = "validation split";
                m["size"]  = val_size;
                m["epoch"] = s.epoch;
                t.export_model(best_path, { { "training", json({ { "command", a.command }, { "epoch", s.epoch } }).dump() },
                                            { "metrics", m.dump() } });
                line["best"] = true;
            }
        }
        t.save_checkpoint(a.checkpoint);  // after validation: it carries the best score so far
        log << line.dump() << "\n" << std::flush;
        std::fprintf(stderr, "%sepoch %d/%d  loss %.4f (cover %.3f, payload %.3f)  %.0f img/s  data wait %.0f%%",
                     tty ? "\r" : "", s.epoch, a.o.epochs, s.loss, s.cover_term, s.payload_term, s.images_per_s,
                     100 * s.wait_share);
        if (bounded) {
            std::fprintf(stderr, "  bound %.2f", steg::scheduled_change_bound(a.o, s.epoch));
        }
        if (s.skipped > 0) {
            std::fprintf(stderr, "  (%d steps skipped: non-finite gradients)", s.skipped);
        }
        if (validate) {
            std::fprintf(stderr, "  val hybrid %.2f dB / %.3f  revealed %.2f dB / %.3f  CIEDE2000 %.2f", last.hybrid_psnr,
                         last.hybrid_ssim, last.revealed_psnr, last.revealed_ssim, last.colour_mean);
        }
        std::fprintf(stderr, "\n");
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!lead) {
        std::fprintf(stderr, "rank %d: done after %d epochs (%s)\n", t.rank(), a.o.epochs, hms(wall).c_str());
        return 0;
    }
    const steg::TrainOptions & ro = t.options();  // what the trainer ran with, not what was asked
    json training = { { "command", a.command },       { "covers", recorded_paths(a.covers) },
                      { "payloads", recorded_paths(a.payloads) },
                      { "epochs", ro.epochs },       { "steps_this_run", steps_total }, { "size", ro.size },
                      { "batch", ro.batch },         { "repeat", ro.repeat },       { "lr", ro.lr },
                      { "lr_min", ro.lr_min },       { "schedule", a.schedule },     { "warmup", ro.warmup },     { "alpha", ro.alpha },
                      { "chroma_weight", ro.chroma_weight }, { "teacher", ro.teacher.empty() ? "" : std::filesystem::path(ro.teacher).filename().string() }, { "teacher_ramp", ro.teacher_ramp }, { "colour_augment", ro.colour_augment }, { "transport", ro.transport }, { "architecture", ro.architecture }, { "change_bound", ro.change_bound }, { "change_bound_start", ro.change_bound_start }, { "change_bound_epochs", ro.change_bound_epochs }, { "coset_period", ro.coset_period }, { "phase_period", ro.phase_period },
                      { "beta", ro.beta },           { "lambda", ro.lambda },       { "seed", ro.seed },
                      { "float_hybrid", ro.float_hybrid }, { "payload_mode", a.payload_mode }, { "amp", ro.amp },
                      { "channels_last", ro.channels_last }, { "world_size", t.world_size() },
                      { "device", t.device_name() },  { "wall_seconds_this_run", wall }, { "finished", now_utc() },
                      { "init", a.init.empty() ? "" : std::filesystem::path(a.init).filename().string() } };
    json metrics = eval_json(last);
    metrics["set"]  = "validation split";
    metrics["size"] = val_size;
    t.export_model(a.out, { { "training", training.dump() }, { "metrics", metrics.dump() } });
    std::fprintf(stderr, "wrote %s after %d epochs (%s)\n", a.out.c_str(), a.o.epochs, hms(wall).c_str());
    return 0;
}

struct EvalArgs {
    std::string model, covers, payloads, json_out, device = "auto", transport;
    int         size = 300, max = 100, threads = 0;
    uint64_t    seed = 1, split_seed = 1;
    double      val_fraction = 0.05, test_fraction = 0.0;  // test_fraction > 0: only train's held-out test split
};

int eval(EvalArgs & a) {
    steg::TrainOptions o;
    o.device  = a.device == "cuda" ? STEG_DEVICE_CUDA : a.device == "cpu" ? STEG_DEVICE_CPU : STEG_DEVICE_AUTO;
    o.threads = a.threads;
    o.transport = a.transport;
    steg::Trainer t(o);
    t.import_model(a.model);
    const bool     same     = a.payloads.empty() || a.payloads == a.covers;
    steg::ImageSet covers   = steg::load_dataset(a.covers, 0, 32);
    steg::ImageSet payloads = same ? steg::ImageSet() : steg::load_dataset(a.payloads, 0, 32);
    std::vector<int> ci(covers.size()), pi(same ? 0 : payloads.size());
    std::iota(ci.begin(), ci.end(), 0);
    std::iota(pi.begin(), pi.end(), 0);
    if (a.test_fraction > 0) {  // the images `train` held out with the same fractions and seed
        ci = steg::split_indices(covers.size(), a.val_fraction, a.test_fraction, a.split_seed).test;
        if (!same) {
            pi = steg::split_indices(payloads.size(), a.val_fraction, a.test_fraction, a.split_seed + 1).test;
        }
    }
    auto pairs = steg::epoch_pairs(ci, pi, same, 1, a.seed, -2);
    if (pairs.size() > size_t(a.max)) {
        pairs.resize(size_t(a.max));
    }
    const steg::EvalStats e = t.evaluate(covers, same ? covers : payloads, pairs, a.size);

    std::string epochs = "?";
    auto        meta   = t.model_metadata();
    if (auto it = meta.find("training"); it != meta.end()) {
        json tr = json::parse(it->second, nullptr, false);
        if (tr.is_object()) {  // a finished run records "epochs", a best-so-far export its "epoch"
            epochs = tr.contains("epochs") ? tr["epochs"].dump() : tr.contains("epoch") ? tr["epoch"].dump() : epochs;
        }
    }
    auto name = [](const std::string & p) { return std::filesystem::path(p).filename().string(); };
    const std::string pset = same ? name(a.covers) : name(a.payloads);
    std::printf("| cover set | payload set | epochs | bpp | encoder PSNR (dB) | decoder PSNR (dB) | payload %% | "
                "encoder SSIM | decoder SSIM |\n|---|---|---|---|---|---|---|---|---|\n");
    std::printf("| %s | %s | %s | %.0f | %.2f | %.2f | %.1f | %.3f | %.3f |\n", name(a.covers).c_str(), pset.c_str(),
                epochs.c_str(), steg_bits_per_pixel(1), e.hybrid_psnr, e.revealed_psnr, steg_payload_percent(1, 3),
                e.hybrid_ssim, e.revealed_ssim);
    const json hyb = spread_json(e, &steg::PairScore::hybrid_psnr, true);
    const json rev = spread_json(e, &steg::PairScore::revealed_psnr, true);
    const json col = spread_json(e, &steg::PairScore::colour_mean, false);
    const json c99 = spread_json(e, &steg::PairScore::colour_p99, false);
    if (e.images > 0) {
        auto line = [](const char * what, const json & s, const char * unit) {
            std::printf("%-26s mean %6.2f  5th percentile %6.2f  worst %6.2f%s (%s)\n", what, s["mean"].get<double>(),
                        s["p5"].get<double>(), s["worst"].get<double>(), unit, s["worst_pair"].get<std::string>().c_str());
        };
        line("hybrid PSNR", hyb, " dB");
        line("revealed PSNR", rev, " dB");
        std::printf("%-26s mean %6.2f  95th percentile %6.2f  worst %6.2f (%s)\n", "CIEDE2000 cover-hybrid",
                    col["mean"].get<double>(), col["p95"].get<double>(), col["worst"].get<double>(),
                    col["worst_pair"].get<std::string>().c_str());
        std::printf("%-26s mean %6.2f  (99th percentile over each pair's pixels, averaged over pairs)\n",
                    "CIEDE2000 p99", c99["mean"].get<double>());
    }
    json j = { { "model", a.model },      { "cover_set", a.covers }, { "payload_set", same ? a.covers : a.payloads },
               { "epochs", epochs },      { "size", a.size },        { "pairs", e.images },
               { "bpp", steg_bits_per_pixel(1) }, { "payload_percent", steg_payload_percent(1, 3) },
               { "encoder_psnr_db", e.hybrid_psnr }, { "decoder_psnr_db", e.revealed_psnr },
               { "encoder_ssim", e.hybrid_ssim },    { "decoder_ssim", e.revealed_ssim },
               { "hybrid_psnr", hyb },    { "revealed_psnr", rev },
               { "ciede2000_mean", col }, { "ciede2000_p99", c99 },
               { "measured_on", "8-bit hybrid, as saved" } };
    if (!a.transport.empty()) {
        j["revealed_after"] = a.transport + " (the trainer's stand-ins)";
    }
    if (!a.json_out.empty()) {
        std::ofstream(a.json_out) << j.dump(2) << "\n";
    } else {
        std::printf("%s\n", j.dump().c_str());
    }
    return 0;
}

}  // namespace

int main(int argc, char ** argv) {
    CLI::App app{ "steg-trainer: train and evaluate steg models (Rehman et al. 2017, Eq. 1)" };
    app.set_version_flag("--version", std::string("steg-trainer ") + steg_version() +
                                          "\nCopyright (c) 2026 the steg authors. MIT licence (the LICENSE file).");
    app.require_subcommand(1);
    app.footer("Examples:\n"
               "  steg-trainer train --covers imagenet-sample --covers bsds/train --size 64 --epochs 200 -o my.safetensors\n"
               "  steg-trainer train ... --resume          (continue after Ctrl-C or a crash)\n"
               "  steg-trainer eval --model my.safetensors --covers bsds/test --size 300\n"
               "  torchrun --nproc-per-node 2 $(which steg-trainer) train ...   (data-parallel; see docs/training.md)\n"
               "Exit status: 0 success, 2 usage error, 3 bad data, 4 bad model or checkpoint, 130 interrupted.");

    TrainArgs ta;
    // Recorded in the model's training summary. Files' folders are left out and absolute
    // data paths shortened to their last two parts: they say nothing about the model and
    // would leak a machine's paths into a shipped file.
    ta.command = "steg-trainer";
    for (int i = 1; i < argc; ++i) {
        const std::string           prev = argv[i - 1];
        const std::filesystem::path arg  = argv[i];
        const bool file = prev == "-o" || prev == "--output" || prev == "--init" || prev == "--teacher" || prev == "--checkpoint" ||
                          prev == "--log";
        ta.command += " " + (file ? arg.filename().string() : recorded_path(argv[i]));
    }
    auto * tr = app.add_subcommand("train", "train a model with the joint loss of Eq. 1");
    tr->add_option("--covers", ta.covers, "cover data: image folder, CIFAR-10 .bin batches, or MNIST idx3 (repeatable)")
        ->required();
    tr->add_option("--payloads", ta.payloads, "payload data (default: drawn from the covers, disjointly)");
    tr->add_option("-o,--output", ta.out, "model file to write (.safetensors)")->required();
    tr->add_option("--size", ta.o.size, "training crop edge in pixels")->capture_default_str()->check(CLI::Range(11, 4096));
    tr->add_option("--batch", ta.o.batch, "batch size")->capture_default_str()->check(CLI::Range(1, 4096));
    tr->add_option("--epochs", ta.o.epochs, "epochs")->capture_default_str()->check(CLI::Range(1, 1000000));
    tr->add_option("--repeat", ta.o.repeat, "passes over the training images per epoch")->capture_default_str()->check(CLI::Range(1, 100000));
    tr->add_option("--lr", ta.o.lr, "Adam learning rate")->capture_default_str()->check(finite_number(true));
    tr->add_option("--schedule", ta.schedule, "learning-rate schedule")->check(CLI::IsMember({ "constant", "cosine" }))->capture_default_str();
    tr->add_option("--lr-min", ta.o.lr_min, "final learning rate of the cosine schedule")->capture_default_str()->check(finite_number(false));
    tr->add_option("--warmup", ta.o.warmup, "epochs of linear learning-rate warm-up (useful with --init)")->capture_default_str()->check(CLI::NonNegativeNumber);
    tr->add_option("--alpha", ta.o.alpha, "weight of the cover term ||Ih - Oe||^2")->capture_default_str()->check(finite_number(false));
    tr->add_option("--colour-augment", ta.o.colour_augment, "share of cover crops given other colours (channel order, saturation, negative)")->capture_default_str()->check(CLI::Range(0.0, 1.0));
    tr->add_option("--teacher", ta.o.teacher, "distil from this trained model: the cover term first targets its hybrid (its decoder is where ours starts)")->check(CLI::ExistingFile);
    tr->add_option("--teacher-ramp", ta.o.teacher_ramp, "epochs over which the cover term's target moves from the teacher's hybrid to the cover")->capture_default_str()->check(CLI::NonNegativeNumber);
    tr->add_option("--transport", ta.o.transport, "channels put between encoder and decoder, one drawn per batch: a comma-separated mix of none, yuv420[:bt601|bt709], jpeg[:Q or LO-HI], h264[:QP or LO-HI], noise[:SIGMA], resize[:F or LO-HI], cast[:LEVELS], e.g. none,yuv420,jpeg:50-95 (recorded in the model file; validation reveals after them)")->check(transport_mix);
    tr->add_option("--chroma-weight", ta.o.chroma_weight, "weight of the cover term's colour part against its gray part (1: plain RGB)")->capture_default_str()->check(CLI::PositiveNumber);
    auto * arch_opt = tr->add_option("--architecture", ta.o.architecture,
                   "rehman2017 (the paper's: the encoder outputs the hybrid), rehman2017-residual (it outputs the change to the cover), rehman2017-gray (the change is the same in R, G and B: brightness only), rehman2017-bounded (a gray change of at most --change-bound levels), rehman2017-coset (the encoder picks one of --coset-period symbols a pixel, a fixed layer moves the pixel's R + G + B to it by the least brightness change, the decoder reads it back) or rehman2017-phase (for lossy channels: the encoder picks a phase of the pixel's luma modulo --phase-period levels, a fixed layer moves R, G and B alike to it, the decoder reads the phase back); with --init, that model's (a rehman2017-gray model may start a rehman2017-bounded run)")
        ->check(CLI::IsMember({ "rehman2017", "rehman2017-residual", "rehman2017-gray", "rehman2017-bounded", "rehman2017-coset", "rehman2017-phase" }))->capture_default_str();
    tr->add_option("--coset-period", ta.o.coset_period, "rehman2017-coset: symbols a pixel can carry; the hybrid moves by up to a sixth of it in each channel")->capture_default_str()->check(CLI::Range(3, 255));
    tr->add_option("--phase-period", ta.o.phase_period, "rehman2017-phase: the luma period in 8-bit levels; the hybrid moves by up to half of it, in R, G and B alike")->capture_default_str()->check(CLI::Range(2.0, 255.0));
    tr->add_option("--change-bound", ta.o.change_bound, "rehman2017-bounded: the largest change of a pixel, in 8-bit levels (the model file's, at the end of the run)")->capture_default_str()->check(CLI::Range(1e-3, 255.0));
    tr->add_option("--change-bound-start", ta.o.change_bound_start, "rehman2017-bounded: start with this bound (levels) and shrink it geometrically to --change-bound; the best model is kept only once it is reached")->check(CLI::Range(1e-3, 255.0));
    tr->add_option("--change-bound-epochs", ta.o.change_bound_epochs, "epochs over which the bound shrinks (default: the whole run)")->check(CLI::NonNegativeNumber);
    tr->add_option("--beta", ta.o.beta, "weight of the payload term ||Ig - Od||^2")->capture_default_str()->check(finite_number(false));
    tr->add_option("--lambda", ta.o.lambda, "weight of ||We||^2 + ||Wd||^2 (Adam's weight_decay would be 2 * lambda)")->capture_default_str()->check(finite_number(false));
    tr->add_option("--seed", ta.o.seed, "seed of the split, the pairing, the crops and the init")->capture_default_str();
    tr->add_option("--val-fraction", ta.val_fraction, "share of images held out for validation")->capture_default_str()->check(CLI::Range(0.0, 0.9));
    tr->add_option("--test-fraction", ta.test_fraction, "share of images held out for testing (never seen)")->capture_default_str()->check(CLI::Range(0.0, 0.9));
    tr->add_option("--val-every", ta.val_every, "validate every N epochs (the best model is kept as OUTPUT.best.safetensors)")->capture_default_str()->check(CLI::PositiveNumber);
    tr->add_option("--val-size", ta.val_size, "validation image size (default: --size)")->check(CLI::Range(0, 4096));
    tr->add_option("--val-max", ta.val_max, "at most this many validation pairs")->capture_default_str()->check(CLI::Range(1, 1000000));
    tr->add_flag("--float-hybrid", ta.o.float_hybrid, "train on the float hybrid as the paper did (default: 8-bit hybrid)");
    tr->add_option("--payload-mode", ta.payload_mode, "payload from an RGB image: gray (BT.601) or one random channel")
        ->check(CLI::IsMember({ "gray", "channel" }))->capture_default_str();
    tr->add_option("--device", ta.device, "auto, cpu or cuda")->check(CLI::IsMember({ "auto", "cpu", "cuda" }))->capture_default_str();
    tr->add_option("--threads", ta.o.threads, "CPU threads (0 = all cores)")->capture_default_str()->check(CLI::Range(0, 1024));
    tr->add_flag("--amp", ta.o.amp, "bf16 autocast of the convolutions (CUDA, or a CPU with AVX512-BF16/AMX); weights and loss stay fp32");
    tr->add_flag("--no-channels-last", ta.no_channels_last, "keep NCHW tensors (channels-last is the default: faster kernels)");
    tr->add_option("--data-workers", ta.o.data_workers, "threads that cut the training crops")->capture_default_str()->check(CLI::Range(0, 64));
    auto * dist = "distributed (torchrun's RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT are honoured; these override them)";
    tr->add_option("--world-size", ta.world_size, "number of processes in a data-parallel job")->group(dist)->check(CLI::Range(1, 1 << 20));
    tr->add_option("--rank", ta.rank, "this process's rank, 0 to world size - 1")->group(dist)->check(CLI::NonNegativeNumber);
    tr->add_option("--master", ta.master, "HOST:PORT of rank 0, where the job meets")->group(dist);
    tr->add_option("--dist-timeout", ta.dist_timeout, "seconds to wait for the other ranks before giving up")->group(dist)->capture_default_str()->check(CLI::PositiveNumber);
    tr->add_option("--checkpoint", ta.checkpoint, "checkpoint file (default: OUTPUT.ckpt)");
    tr->add_option("--log", ta.log, "JSON-lines log, one line per epoch (default: OUTPUT.log.jsonl)");
    tr->add_flag("--resume", ta.resume, "continue from the checkpoint");
    tr->add_option("--init", ta.init, "start from the weights of this model file (fine-tuning)");

    std::string ex_ckpt, ex_out;
    auto *      ex = app.add_subcommand("export", "write the weights of a checkpoint as a model file (e.g. of a run still going)");
    ex->add_option("--checkpoint", ex_ckpt, "checkpoint file")->required();
    ex->add_option("-o,--output", ex_out, "model file to write (.safetensors)")->required();

    EvalArgs ea;
    auto *   ev = app.add_subcommand("eval", "measure a model as the paper's Tables 2 and 3 do, on the 8-bit hybrid");
    ev->add_option("--model", ea.model, "model file (.safetensors)")->required();
    ev->add_option("--covers", ea.covers, "cover data (image folder, CIFAR-10 .bin, MNIST idx3)")->required();
    ev->add_option("--payloads", ea.payloads, "payload data (default: other images of the covers)");
    ev->add_option("--size", ea.size, "images are resized to size x size")->capture_default_str();
    ev->add_option("--max", ea.max, "at most this many pairs")->capture_default_str();
    ev->add_option("--seed", ea.seed, "seed of the pairing")->capture_default_str();
    ev->add_option("--test-fraction", ea.test_fraction,
                   "evaluate only on the test split that train held out (give train's --test-fraction, "
                   "--val-fraction and --seed as --split-seed)")->capture_default_str();
    ev->add_option("--val-fraction", ea.val_fraction, "train's --val-fraction (with --test-fraction)")->capture_default_str();
    ev->add_option("--split-seed", ea.split_seed, "train's --seed (with --test-fraction)")->capture_default_str();
    ev->add_option("--transport", ea.transport, "reveal after these channels (stand-ins, one drawn per pair; see train --transport), e.g. jpeg:90")->check(transport_mix);
    ev->add_option("--json", ea.json_out, "write the JSON result here instead of stdout");
    ev->add_option("--device", ea.device, "auto, cpu or cuda")->check(CLI::IsMember({ "auto", "cpu", "cuda" }))->capture_default_str();
    ev->add_option("--threads", ea.threads, "CPU threads (0 = all cores)")->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError & e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    ta.architecture_given = arch_opt->count() > 0;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    try {
        if (*ex) {
            steg::TrainOptions o;
            o.device       = STEG_DEVICE_CPU;
            o.architecture = steg::Trainer::checkpoint_architecture(ex_ckpt);
            steg::Trainer t(o);
            t.load_checkpoint(ex_ckpt, false);
            t.export_model(ex_out, { { "training", json({ { "checkpoint_epoch", t.epoch() } }).dump() } });
            std::fprintf(stderr, "wrote %s from %s (epoch %d)\n", ex_out.c_str(), ex_ckpt.c_str(), t.epoch());
            return 0;
        }
        return *tr ? train(ta) : eval(ea);
    } catch (const steg::Error & e) {
        std::fprintf(stderr, "steg-trainer: %s\n", e.what());
        switch (e.status()) {
            case STEG_ERR_IO:
            case STEG_ERR_INVALID_ARGUMENT: return 3;
            case STEG_ERR_MODEL: return 4;
            case STEG_ERR_DEVICE: return 5;
            default: return 1;
        }
    } catch (const std::exception & e) {
        std::fprintf(stderr, "steg-trainer: internal error: %s\n", e.what());
        return 1;
    }
}
