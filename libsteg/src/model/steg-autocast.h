// SPDX-License-Identifier: MIT
// steg-autocast.h - bf16 autocast for a scope, shared by inference (the engine's bf16
// precision) and training (--amp). Included only by files that use libtorch already.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace steg {

// bf16 autocast while alive, as `with torch.autocast(device, dtype=torch.bfloat16)`.
// Autocast state is per thread, like the guard.
class AutocastBf16 {
  public:
    AutocastBf16(bool on, c10::DeviceType device) : on_(on), device_(device) {
        if (on_) {
            was_on_ = enabled(device_);
            at::autocast::increment_nesting();
            set(device_, true, at::kBFloat16);
        }
    }
    ~AutocastBf16() {
        if (on_) {
            if (at::autocast::decrement_nesting() == 0) {
                at::autocast::clear_cache();
            }
            set(device_, was_on_, at::kBFloat16);
        }
    }
    AutocastBf16(const AutocastBf16 &)             = delete;
    AutocastBf16 & operator=(const AutocastBf16 &) = delete;

  private:
    // libtorch 2.4 made the per-device calls one call with a device argument.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    static bool enabled(c10::DeviceType d) { return at::autocast::is_autocast_enabled(d); }
    static void set(c10::DeviceType d, bool on, at::ScalarType t) {
        at::autocast::set_autocast_dtype(d, t);
        at::autocast::set_autocast_enabled(d, on);
    }
#else
    static bool enabled(c10::DeviceType d) { return d == c10::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
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
    c10::DeviceType device_;
};

}  // namespace steg
