// SPDX-License-Identifier: MIT
// steg._steg: the Python binding of libsteg's C API (steg.h), with pybind11.
//
// Images are numpy uint8 arrays: covers and hybrids H x W x 3 (RGB) or H x W x 4 (RGBA,
// alpha copied unchanged), payloads H x W. Errors become the exceptions of steg.Error's
// family, carrying libsteg's message. Hide and reveal release the GIL; one context runs
// one call at a time (a lock per context), so threads may share it.

#include "steg.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace py = pybind11;

namespace {

// The exception classes, created in PYBIND11_MODULE; one per steg_status.
struct steg_py_errors {
    PyObject * base        = nullptr; // steg.Error(RuntimeError)
    PyObject * invalid     = nullptr; // steg.InvalidArgumentError(Error, ValueError)
    PyObject * io          = nullptr; // steg.FileError(Error, OSError)
    PyObject * model       = nullptr; // steg.ModelError(Error)
    PyObject * device      = nullptr; // steg.DeviceError(Error)
    PyObject * cancelled   = nullptr; // steg.CancelledError(Error)
    PyObject * no_memory   = nullptr; // steg.OutOfMemoryError(Error, MemoryError)
};
steg_py_errors g_errors;

PyObject * steg_py_error_class(steg_status status) {
    switch (status) {
        case STEG_ERR_INVALID_ARGUMENT: return g_errors.invalid;
        case STEG_ERR_IO:               return g_errors.io;
        case STEG_ERR_MODEL:            return g_errors.model;
        case STEG_ERR_DEVICE:           return g_errors.device;
        case STEG_ERR_CANCELLED:        return g_errors.cancelled;
        case STEG_ERR_OUT_OF_MEMORY:    return g_errors.no_memory;
        default:                        return g_errors.base;
    }
}

// Raised from C++: carries the class and the message until pybind11 translates it.
struct steg_py_exception {
    steg_status status;
    std::string message;
};

[[noreturn]] void steg_py_raise(steg_status status, std::string message) {
    throw steg_py_exception{ status, std::move(message) };
}

// libsteg's last failure on this thread, as an exception.
[[noreturn]] void steg_py_raise_last(steg_status status) {
    const char * msg = steg_last_error();
    steg_py_raise(status, msg && *msg ? msg : "libsteg failed without a message");
}

void steg_py_check(steg_status status) {
    if (status != STEG_OK) {
        steg_py_raise_last(status);
    }
}

// An enum parameter given by name ("auto", "letterbox", "luma", ...), checked against
// libsteg's parameter table so that the names are the CLI's and the elements'.
int32_t steg_py_choice(steg_param param, const std::string & name) {
    const int32_t i = steg_param_choice(param, name.c_str());
    if (i >= 0) {
        return i;
    }
    const steg_param_spec * spec = steg_param_get(param);
    std::string             names;
    for (const char * const * c = spec->choices; c && *c; ++c) {
        names += names.empty() ? "" : ", ";
        names += *c;
    }
    steg_py_raise(STEG_ERR_INVALID_ARGUMENT,
                  "unknown " + std::string(spec->name) + " '" + name + "': use one of " + names);
}

// A numpy array as a uint8, C-contiguous array (copied only if it is not one), or a
// clear error for another dtype: a float image in [0, 1] must not be cast silently.
py::array_t<uint8_t, py::array::c_style> steg_py_uint8(const py::array & a, const char * what) {
    if (!a.dtype().is(py::dtype::of<uint8_t>())) {
        steg_py_raise(STEG_ERR_INVALID_ARGUMENT, std::string(what) + " must be a uint8 array (0-255), not " +
                                                     std::string(py::str(a.dtype())) +
                                                     ": convert it, e.g. with .astype(numpy.uint8)");
    }
    return py::array_t<uint8_t, py::array::c_style>::ensure(a);
}

std::string steg_py_shape(const py::array & a) {
    std::string s = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) {
        s += (i ? ", " : "") + std::to_string(a.shape(i));
    }
    return s + (a.ndim() == 1 ? ",)" : ")");
}

// A view of a numpy image as a steg_image (no copy). `colour`: H x W x 3 or 4 required;
// else H x W (or H x W x 1) gray.
steg_image steg_py_view(py::array_t<uint8_t, py::array::c_style> & a, bool colour, const char * what) {
    steg_image img{};
    if (a.ndim() == 3 && colour && (a.shape(2) == 3 || a.shape(2) == 4)) {
        img.format = a.shape(2) == 3 ? STEG_FORMAT_RGB8 : STEG_FORMAT_RGBA8;
    } else if (!colour && (a.ndim() == 2 || (a.ndim() == 3 && a.shape(2) == 1))) {
        img.format = STEG_FORMAT_GRAY8;
    } else {
        steg_py_raise(STEG_ERR_INVALID_ARGUMENT,
                      std::string(what) + " has shape " + steg_py_shape(a) +
                          (colour ? ": expected (height, width, 3) for RGB or (height, width, 4) for RGBA" :
                                    ": expected (height, width)"));
    }
    if (a.shape(0) < 1 || a.shape(1) < 1 || a.shape(0) > INT32_MAX || a.shape(1) > INT32_MAX) {
        steg_py_raise(STEG_ERR_INVALID_ARGUMENT, std::string(what) + " has shape " + steg_py_shape(a) +
                                                     ": each side must be 1 to 2^31 - 1 pixels");
    }
    img.height = (int32_t) a.shape(0);
    img.width  = (int32_t) a.shape(1);
    img.stride = 0;
    // Every view is an input, which libsteg only reads: a read-only array (numpy.asarray
    // of a Pillow image) is as good as any.
    img.data = const_cast<uint8_t *>(a.data());
    return img;
}

// Any image (gray, RGB, RGBA) as a steg_image view, its format from its shape.
steg_image steg_py_view_any(py::array_t<uint8_t, py::array::c_style> & a, const char * what) {
    const bool colour = a.ndim() == 3 && (a.shape(2) == 3 || a.shape(2) == 4);
    if (!colour && !(a.ndim() == 2 || (a.ndim() == 3 && a.shape(2) == 1))) {
        steg_py_raise(STEG_ERR_INVALID_ARGUMENT,
                      std::string(what) + " has shape " + steg_py_shape(a) +
                          ": expected (height, width) gray, (height, width, 3) RGB or (height, width, 4) RGBA");
    }
    return steg_py_view(a, colour, what);
}

py::array_t<uint8_t> steg_py_new_image(int32_t height, int32_t width, int32_t channels) {
    if (channels == 1) {
        return py::array_t<uint8_t>({ (py::ssize_t) height, (py::ssize_t) width });
    }
    return py::array_t<uint8_t>({ (py::ssize_t) height, (py::ssize_t) width, (py::ssize_t) channels });
}

// A steg_image that libsteg allocated, copied into a new numpy array and freed.
py::array_t<uint8_t> steg_py_take(steg_image & img) {
    const int32_t        channels = steg_format_channels(img.format);
    py::array_t<uint8_t> out      = steg_py_new_image(img.height, img.width, channels);
    const size_t         row      = (size_t) img.width * channels;
    const size_t         stride   = img.stride ? (size_t) img.stride : row;
    uint8_t *            dst      = out.mutable_data();
    for (int32_t y = 0; y < img.height; ++y) {
        std::copy_n(img.data + y * stride, row, dst + y * row);
    }
    steg_image_free(&img);
    return out;
}

// A payload fitted to width x height as steg_payload_prepare does it.
py::array_t<uint8_t> steg_py_prepare(const py::array & image, int32_t width, int32_t height, const std::string & fit,
                                     const std::string & channel) {
    auto       src     = steg_py_uint8(image, "the payload");
    steg_image src_img = steg_py_view_any(src, "the payload");
    const auto f       = (steg_fit) steg_py_choice(STEG_PARAM_FIT, fit);
    const auto c       = (steg_channel) steg_py_choice(STEG_PARAM_CHANNEL, channel);
    steg_image out{};
    steg_status status;
    {
        py::gil_scoped_release unlocked;
        status = steg_payload_prepare(&src_img, width, height, f, c, &out);
    }
    steg_py_check(status);
    return steg_py_take(out);
}

class steg_py_context {
  public:
    steg_py_context(const std::optional<std::string> & model, const std::string & device, int32_t threads,
                    const std::string & precision, int32_t tile_size, py::object progress) :
        progress_(std::move(progress)) {
        steg_context_params params = steg_context_default_params();
        params.device              = (steg_device) steg_py_choice(STEG_PARAM_DEVICE, device);
        params.precision           = (steg_precision) steg_py_choice(STEG_PARAM_PRECISION, precision);
        if (threads < 0 || tile_size < 0) {
            steg_py_raise(STEG_ERR_INVALID_ARGUMENT, "threads and tile_size must be 0 (the default) or more");
        }
        params.n_threads = threads;
        params.tile_size = tile_size;
        if (!progress_.is_none()) {
            if (!PyCallable_Check(progress_.ptr())) {
                steg_py_raise(STEG_ERR_INVALID_ARGUMENT, "progress must be a callable taking a fraction from 0 to 1");
            }
            params.progress           = &steg_py_context::on_progress;
            params.progress_user_data = this;
        }
        // None is the default model ($STEG_MODEL, else the installed one), as for `steg`.
        const std::string name = model.value_or("");
        const char *      path = steg_model_path(name.empty() ? nullptr : name.c_str());
        model_path_            = path ? path : name;
        {
            py::gil_scoped_release unlocked;
            ctx_ = steg_init_from_file(path ? model_path_.c_str() : name.c_str(), params);
        }
        if (!ctx_) {
            steg_py_raise_last(steg_last_status());
        }
    }

    ~steg_py_context() { steg_free(ctx_); }

    steg_py_context(const steg_py_context &)             = delete;
    steg_py_context & operator=(const steg_py_context &) = delete;

    py::array_t<uint8_t> hide(const py::array & cover_in, const py::array & payload_in, const std::string & fit,
                              const std::string & channel) {
        auto       cover     = steg_py_uint8(cover_in, "the cover");
        steg_image cover_img = steg_py_view(cover, true, "the cover");
        // A payload of the cover's size and one channel is hidden as it is; any other is
        // fitted first, as `steg hide` fits it.
        auto payload = steg_py_uint8(payload_in, "the payload");
        bool ready   = (payload.ndim() == 2 || (payload.ndim() == 3 && payload.shape(2) == 1)) &&
                     payload.shape(0) == cover_img.height && payload.shape(1) == cover_img.width;
        if (!ready) {
            payload = steg_py_prepare(payload, cover_img.width, cover_img.height, fit, channel);
        }
        steg_image payload_img = steg_py_view(payload, false, "the payload");

        py::array_t<uint8_t> hybrid =
            steg_py_new_image(cover_img.height, cover_img.width, steg_format_channels(cover_img.format));
        steg_image hybrid_img = cover_img;
        hybrid_img.data       = hybrid.mutable_data();
        run([&] { return steg_hide(ctx_, &cover_img, &payload_img, &hybrid_img); });
        return hybrid;
    }

    py::array_t<uint8_t> reveal(const py::array & hybrid_in) { return reveal_scored(hybrid_in).first; }

    std::pair<py::array_t<uint8_t>, float> reveal_scored(const py::array & hybrid_in) {
        auto                 hybrid     = steg_py_uint8(hybrid_in, "the hybrid");
        steg_image           hybrid_img = steg_py_view(hybrid, true, "the hybrid");
        py::array_t<uint8_t> payload    = steg_py_new_image(hybrid_img.height, hybrid_img.width, 1);
        steg_image           payload_img{ hybrid_img.width, hybrid_img.height, STEG_FORMAT_GRAY8, 0,
                                          payload.mutable_data() };
        float                score = 0.0f;
        run([&] { return steg_reveal_scored(ctx_, &hybrid_img, &payload_img, &score); });
        return { payload, score };
    }

    std::string device() const { return steg_context_device(ctx_); }

    std::string precision() const { return steg_context_precision(ctx_); }

    const std::string & model_path() const { return model_path_; }

    py::dict metadata() const {
        py::dict meta;
        for (int32_t i = 0;; ++i) {
            const char * key = steg_model_meta_key(ctx_, i);
            if (!key) {
                break;
            }
            const char * value = steg_model_meta(ctx_, key);
            meta[py::str(key)] = py::str(value ? value : "");
        }
        return meta;
    }

    // The model's calibrated verdict threshold for reveal_scored, or None.
    std::optional<double> payload_score_threshold() const {
        const char * v = steg_model_meta(ctx_, "payload_score_threshold");
        if (!v || !*v) {
            return std::nullopt;
        }
        try {
            return std::stod(v);
        } catch (const std::exception &) {
            return std::nullopt;
        }
    }

  private:
    // Runs one libsteg call without the GIL, one at a time on this context; a Python
    // exception raised by the progress callback is re-raised after it.
    template <typename F> void run(F && call) {
        steg_status status;
        {
            py::gil_scoped_release     unlocked;
            std::lock_guard<std::mutex> lock(mutex_);
            status = call();
        }
        if (callback_error_) {
            py::error_already_set e = std::move(*callback_error_);
            callback_error_.reset();
            throw e;
        }
        steg_py_check(status);
    }

    static bool on_progress(float fraction, void * user_data) {
        auto *           self = static_cast<steg_py_context *>(user_data);
        py::gil_scoped_acquire locked;
        try {
            py::object r = self->progress_(fraction);
            return r.is_none() || r.cast<bool>();
        } catch (py::error_already_set & e) {
            self->callback_error_.emplace(std::move(e));
            return false;
        }
    }

    steg_context *                        ctx_ = nullptr;
    std::string                           model_path_;
    py::object                            progress_;
    std::mutex                            mutex_;
    std::optional<py::error_already_set> callback_error_;
};

double steg_py_metric(double (*metric)(const steg_image *, const steg_image *), const py::array & a_in,
                      const py::array & b_in) {
    auto       a     = steg_py_uint8(a_in, "the first image");
    auto       b     = steg_py_uint8(b_in, "the second image");
    steg_image a_img = steg_py_view_any(a, "the first image");
    steg_image b_img = steg_py_view_any(b, "the second image");
    double     v;
    {
        py::gil_scoped_release unlocked;
        v = metric(&a_img, &b_img);
    }
    if (v != v) { // NaN: the images do not match
        steg_py_raise_last(STEG_ERR_INVALID_ARGUMENT);
    }
    return v;
}

PyObject * steg_py_exception_class(py::module_ & m, const char * name, PyObject * bases, const char * doc) {
    const std::string qualified = "steg." + std::string(name);
    PyObject *        cls       = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
    if (!cls) {
        throw py::error_already_set();
    }
    m.add_object(name, py::handle(cls));
    return cls;
}

} // namespace

PYBIND11_MODULE(_steg, m) {
    m.doc() = "libsteg's C API for Python (use the steg package, which re-exports it)";

    g_errors.base = steg_py_exception_class(m, "Error", PyExc_RuntimeError, "a libsteg call failed");
    auto with     = [](PyObject * extra) {
        return py::make_tuple(py::handle(g_errors.base), py::handle(extra)).release().ptr();
    };
    g_errors.invalid = steg_py_exception_class(m, "InvalidArgumentError", with(PyExc_ValueError),
                                               "a wrong argument: shape, dtype, size or name");
    g_errors.io      = steg_py_exception_class(m, "FileError", with(PyExc_OSError),
                                               "a file could not be read or written, or is not an image");
    g_errors.model   = steg_py_exception_class(m, "ModelError", g_errors.base,
                                               "a model file is missing, broken or of another kind");
    g_errors.device  = steg_py_exception_class(m, "DeviceError", g_errors.base,
                                               "the requested device or precision is not available");
    g_errors.cancelled = steg_py_exception_class(m, "CancelledError", g_errors.base,
                                                 "the progress callback asked to stop");
    g_errors.no_memory = steg_py_exception_class(m, "OutOfMemoryError", with(PyExc_MemoryError),
                                                 "libsteg ran out of memory");
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) {
                std::rethrow_exception(p);
            }
        } catch (const steg_py_exception & e) {
            PyErr_SetString(steg_py_error_class(e.status), e.message.c_str());
        }
    });

    m.attr("__version__") = steg_version();

    py::class_<steg_py_context>(m, "Context", R"doc(
A loaded model, ready to hide and reveal.

model: a model file's path or a shipped model's name ("default", "robust"); None
    for the default model ($STEG_MODEL, else the installed one).
device: "auto", "cpu" or "cuda".
threads: CPU threads, 0 for all cores.
precision: "auto", "fp32", "bf16" or "fp16" (see steg --help).
tile_size: inner tile edge in pixels, 0 for the default.
progress: None, or a callable taking the fraction done (0 to 1) during hide and
    reveal; returning False cancels the call (steg.CancelledError).
)doc")
        .def(py::init<const std::optional<std::string> &, const std::string &, int32_t, const std::string &, int32_t,
                      py::object>(),
             py::arg("model") = py::none(), py::arg("device") = "auto", py::arg("threads") = 0,
             py::arg("precision") = "auto", py::arg("tile_size") = 0, py::arg("progress") = py::none())
        .def("hide", &steg_py_context::hide, py::arg("cover"), py::arg("payload"), py::arg("fit") = "scale",
             py::arg("channel") = "luma", R"doc(
Hides payload in cover and returns the hybrid, a new array of the cover's shape.

cover: uint8 array (H, W, 3) RGB or (H, W, 4) RGBA (alpha is copied unchanged).
payload: uint8 array (H, W) of the cover's size is hidden as it is; any other image
    (another size, or RGB/RGBA) is first fitted as prepare_payload does, with fit
    ("scale" or "letterbox") and channel ("luma", "r", "g", "b").
)doc")
        .def("reveal", &steg_py_context::reveal, py::arg("hybrid"),
             "Recovers the payload, a uint8 array (H, W), from a hybrid (H, W, 3) or (H, W, 4).")
        .def("reveal_scored", &steg_py_context::reveal_scored, py::arg("hybrid"), R"doc(
reveal, and how likely it is that the image carries a payload of this model: returns
(payload, score), score from 0 to 1; compare it with payload_score_threshold.
)doc")
        .def_property_readonly("device", &steg_py_context::device, "the device the model runs on")
        .def_property_readonly("precision", &steg_py_context::precision, "the number format in use")
        .def_property_readonly("model_path", &steg_py_context::model_path, "the model file loaded")
        .def_property_readonly("metadata", &steg_py_context::metadata, "the model file's metadata, a dict of str")
        .def_property_readonly("payload_score_threshold", &steg_py_context::payload_score_threshold,
                               "below this score an image carries no payload (None: the model has no verdict)");

    m.def("prepare_payload", &steg_py_prepare, py::arg("image"), py::arg("width"), py::arg("height"),
          py::arg("fit") = "scale", py::arg("channel") = "luma", R"doc(
Turns any image (uint8 (H, W), (H, W, 3) or (H, W, 4)) into a payload of width x height:
one channel ("luma", "r", "g" or "b") fitted by "scale" or "letterbox".
)doc");
    m.def(
        "psnr", [](const py::array & a, const py::array & b) { return steg_py_metric(steg_psnr, a, b); },
        py::arg("a"), py::arg("b"), "PSNR in dB of two uint8 images of the same shape (inf if identical)");
    m.def(
        "ssim", [](const py::array & a, const py::array & b) { return steg_py_metric(steg_ssim, a, b); },
        py::arg("a"), py::arg("b"), "SSIM (Wang et al. 2004) of two uint8 images of the same shape");
    m.def(
        "colour_difference",
        [](const py::array & a_in, const py::array & b_in) {
            auto       a     = steg_py_uint8(a_in, "the first image");
            auto       b     = steg_py_uint8(b_in, "the second image");
            steg_image a_img = steg_py_view(a, true, "the first image");
            steg_image b_img = steg_py_view(b, true, "the second image");
            double     mean = 0, p99 = 0;
            steg_status status;
            {
                py::gil_scoped_release unlocked;
                status = steg_colour_difference(&a_img, &b_img, &mean, &p99);
            }
            steg_py_check(status);
            return std::make_pair(mean, p99);
        },
        py::arg("a"), py::arg("b"),
        "CIEDE2000 between two colour images: (mean, 99th percentile); about 2 is where people notice");
    m.def(
        "load_image",
        [](const std::string & path) {
            steg_image  img{};
            steg_status status;
            {
                py::gil_scoped_release unlocked;
                status = steg_image_load(path.c_str(), 0, &img);
            }
            steg_py_check(status);
            return steg_py_take(img);
        },
        py::arg("path"), "Reads a PNG, JPEG or WebP file into a uint8 array (H, W), (H, W, 3) or (H, W, 4)");
    m.def(
        "save_image",
        [](const std::string & path, const py::array & image_in, bool allow_lossy) {
            auto        image = steg_py_uint8(image_in, "the image");
            steg_image  img   = steg_py_view_any(image, "the image");
            steg_status status;
            {
                py::gil_scoped_release unlocked;
                status = steg_image_save(path.c_str(), &img, allow_lossy ? STEG_SAVE_ALLOW_LOSSY : 0u);
            }
            steg_py_check(status);
        },
        py::arg("path"), py::arg("image"), py::arg("allow_lossy") = false, R"doc(
Writes a uint8 image as PNG or lossless WebP (by the extension), atomically; JPEG only
with allow_lossy=True (a JPEG destroys most models' payload).
)doc");
    m.def(
        "model_path",
        [](const std::optional<std::string> & name) -> std::optional<std::string> {
            const char * p = steg_model_path(name ? name->c_str() : nullptr);
            return p ? std::optional<std::string>(p) : std::nullopt;
        },
        py::arg("name") = py::none(),
        "The file a model name stands for (\"default\", \"robust\", or a path), or None if none is installed");
}
