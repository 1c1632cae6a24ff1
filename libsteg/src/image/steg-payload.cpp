// SPDX-License-Identifier: MIT
#include "steg-payload.h"

#include "steg-error.h"
#include "steg-image.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace steg {

namespace {

uint8_t to_byte(float v) {
    return uint8_t(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
}

}  // namespace

Taps make_taps(int src, int dst) {
    Taps         t;
    const double scale   = double(src) / double(dst);
    const double support = std::max(1.0, scale);  // triangle half-width in source pixels
    for (int i = 0; i < dst; ++i) {
        const double center = (i + 0.5) * scale;
        const int    lo     = std::max(0, int(std::floor(center - support)));
        const int    hi     = std::min(src - 1, int(std::ceil(center + support)));
        std::vector<float> w;
        double             sum = 0;
        for (int j = lo; j <= hi; ++j) {
            const double v = std::max(0.0, 1.0 - std::abs((j + 0.5 - center) / support));
            w.push_back(float(v));
            sum += v;
        }
        for (auto & v : w) {
            v = float(v / sum);
        }
        t.first.push_back(lo);
        t.weights.push_back(std::move(w));
    }
    return t;
}

void resize_row(const float * row, const Taps & tx, float * out) {
    for (size_t x = 0; x < tx.first.size(); ++x) {
        float acc = 0;
        for (size_t k = 0; k < tx.weights[x].size(); ++k) {
            acc += tx.weights[x][k] * row[tx.first[x] + int(k)];
        }
        out[x] = acc;
    }
}

std::vector<float> resize_plane(const std::vector<float> & src, int sw, int sh, int dw, int dh) {
    const Taps         tx = make_taps(sw, dw), ty = make_taps(sh, dh);
    std::vector<float> tmp(size_t(dw) * sh), dst(size_t(dw) * dh);
    for (int y = 0; y < sh; ++y) {  // horizontal pass
        resize_row(src.data() + size_t(y) * sw, tx, tmp.data() + size_t(y) * dw);
    }
    for (int y = 0; y < dh; ++y) {  // vertical pass
        float * out = dst.data() + size_t(y) * dw;
        for (size_t k = 0; k < ty.weights[y].size(); ++k) {
            const float   w   = ty.weights[y][k];
            const float * row = tmp.data() + size_t(ty.first[y] + int(k)) * dw;
            for (int x = 0; x < dw; ++x) {
                out[x] += w * row[x];
            }
        }
    }
    return dst;
}

PayloadRows::PayloadRows(const steg_image & src, int32_t width, int32_t height, steg_fit fit, steg_channel channel) {
    check_image(&src, "payload");
    if (width <= 0 || height <= 0) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "payload target size must be positive");
    }
    if (fit != STEG_FIT_SCALE && fit != STEG_FIT_LETTERBOX) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "unknown fit mode " + std::to_string(int(fit)));
    }
    if (channel < STEG_CHANNEL_LUMA || channel > STEG_CHANNEL_B) {
        throw Error(STEG_ERR_INVALID_ARGUMENT, "unknown payload channel " + std::to_string(int(channel)));
    }
    width_  = width;
    height_ = height;
    format_ = STEG_FORMAT_GRAY8;
    sw_     = src.width;
    sh_     = src.height;
    // One channel: a gray image is taken as it is; colour becomes BT.601 luma or one channel.
    const int ch = steg_format_channels(src.format);
    plane_.resize(size_t(sw_) * sh_);
    for (int y = 0; y < sh_; ++y) {
        const uint8_t * row = src.data + y * row_bytes(src);
        float *         dst = plane_.data() + size_t(y) * sw_;
        for (int x = 0; x < sw_; ++x) {
            const uint8_t * p = row + x * ch;
            if (ch == 1) {
                dst[x] = p[0];
            } else if (channel == STEG_CHANNEL_LUMA) {
                dst[x] = bt601_luma(p);
            } else {
                dst[x] = p[int(channel) - 1];
            }
        }
    }
    fw_ = width;  // size of the fitted picture inside the payload
    fh_ = height;
    if (fit == STEG_FIT_LETTERBOX) {
        const double s = std::min(double(width) / sw_, double(height) / sh_);
        fw_            = std::clamp(int(std::lround(sw_ * s)), 1, width);
        fh_            = std::clamp(int(std::lround(sh_ * s)), 1, height);
    }
    ox_     = (width - fw_) / 2;
    oy_     = (height - fh_) / 2;
    resize_ = fw_ != sw_ || fh_ != sh_;
    if (resize_) {
        tx_ = make_taps(sw_, fw_);
        ty_ = make_taps(sh_, fh_);
    }
    line_.resize(size_t(fw_));
}

// Source row `y` resampled to the fitted width. Output rows ask for their taps' rows in
// order and never for a row above an earlier output row's first, so the kept rows are
// a run [front, back] that only moves down.
const float * PayloadRows::resized_source_row(int y) {
    if (!rows_.empty() && y < rows_.front().first) {
        rows_.clear();  // not expected (see above); stay correct regardless
    }
    while (rows_.empty() || rows_.back().first < y) {
        const int next = rows_.empty() ? y : rows_.back().first + 1;
        rows_.emplace_back(next, std::vector<float>(size_t(fw_)));
        resize_row(plane_.data() + size_t(next) * sw_, tx_, rows_.back().second.data());
    }
    return rows_[size_t(y - rows_.front().first)].second.data();
}

void PayloadRows::read(uint8_t * dst, int rows) {
    if (rows < 0 || next_ + rows > height_) {
        throw Error(STEG_ERR_INTERNAL, "read past the last row of a payload");
    }
    for (int i = 0; i < rows; ++i, ++next_) {
        uint8_t * out = dst + size_t(i) * width_;
        std::memset(out, 0, size_t(width_));  // the letterbox bars are black
        const int y = next_ - oy_;
        if (y < 0 || y >= fh_) {
            continue;
        }
        const float * line = plane_.data() + size_t(y) * sw_;
        if (resize_) {  // the vertical pass of resize_plane, one output row
            while (!rows_.empty() && rows_.front().first < ty_.first[y]) {
                rows_.pop_front();
            }
            std::fill(line_.begin(), line_.end(), 0.0f);
            for (size_t k = 0; k < ty_.weights[y].size(); ++k) {
                const float   w   = ty_.weights[y][k];
                const float * row = resized_source_row(ty_.first[y] + int(k));
                for (int x = 0; x < fw_; ++x) {
                    line_[x] += w * row[x];
                }
            }
            line = line_.data();
        }
        for (int x = 0; x < fw_; ++x) {
            out[ox_ + x] = to_byte(line[x]);
        }
    }
}

void prepare_payload(const steg_image & src, int32_t width, int32_t height, steg_fit fit, steg_channel channel,
                     steg_image & out) {
    PayloadRows rows(src, width, height, fit, channel);
    steg_image  img{};
    alloc_image(img, width, height, STEG_FORMAT_GRAY8);
    try {
        rows.read(img.data, height);
    } catch (...) {
        free_image(img);
        throw;
    }
    out = img;
}

}  // namespace steg
