// SPDX-License-Identifier: MIT
// steg-autocast.h - bf16 (or fp16) autocast for a scope, shared by inference (the
// engine's reduced precisions) and training (--amp). Included only by files that use
// libtorch already.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace steg {

// Whether autocast is on for `device` on this thread.
inline bool autocast_enabled(c10::DeviceType device) {
    // libtorch 2.4 made the per-device calls one call with a device argument.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    return at::autocast::is_autocast_enabled(device);
#else
    return device == c10::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

// Autocast to `dtype` (bf16 unless told) while alive, as `with torch.autocast(device,
// dtype=...)`. Autocast state is per thread, like the guard.
class AutocastBf16 {
  public:
    AutocastBf16(bool on, c10::DeviceType device, at::ScalarType dtype = at::kBFloat16)
        : on_(on), device_(device) {
        if (on_) {
            was_on_    = autocast_enabled(device_);
            was_dtype_ = dtype_of(device_);
            at::autocast::increment_nesting();
            set(device_, true, dtype);
        }
    }
    ~AutocastBf16() {
        if (on_) {
            if (at::autocast::decrement_nesting() == 0) {
                at::autocast::clear_cache();
            }
            set(device_, was_on_, was_dtype_);
        }
    }
    AutocastBf16(const AutocastBf16 &)             = delete;
    AutocastBf16 & operator=(const AutocastBf16 &) = delete;

  private:
    // libtorch 2.4 made the per-device calls one call with a device argument.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    static at::ScalarType dtype_of(c10::DeviceType d) { return at::autocast::get_autocast_dtype(d); }
    static void set(c10::DeviceType d, bool on, at::ScalarType t) {
        at::autocast::set_autocast_dtype(d, t);
        at::autocast::set_autocast_enabled(d, on);
    }
#else
    static at::ScalarType dtype_of(c10::DeviceType d) {
        return d == c10::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
    }
    static void set(c10::DeviceType d, bool on, at::ScalarType t) {
        if (d == c10::kCUDA) {
            at::autocast::set_autocast_gpu_dtype(t);
            at::autocast::set_enabled(on);
        } else {
            at::autocast::set_autocast_cpu_dtype(t);
            at::autocast::set_cpu_enabled(on);
        }
    }
#endif
    bool            on_, was_on_ = false;
    at::ScalarType  was_dtype_ = at::kBFloat16;
    c10::DeviceType device_;
};

}  // namespace steg
