// SPDX-License-Identifier: MIT
// steg-rows.h - images read and written row by row, so that hide and reveal on files
// need memory for a band of rows rather than for the whole image. A non-interlaced PNG
// is decoded and encoded as it goes (libpng reads and writes by rows); other formats
// (JPEG, WebP, interlaced PNG) are held whole behind the same interface.
#pragma once

#include "steg.h"

#include <cstdint>
#include <memory>
#include <string>

namespace steg {

// The rows of an image, top to bottom, each read once.
class RowSource {
  public:
    virtual ~RowSource() = default;
    int32_t     width() const { return width_; }
    int32_t     height() const { return height_; }
    steg_format format() const { return format_; }
    int64_t     row_size() const { return int64_t(width_) * steg_format_channels(format_); }

    // The next `rows` rows, packed (row_size() bytes each), into `dst`. Throws steg::Error
    // when the file turns out damaged or reading past the last row is asked for.
    virtual void read(uint8_t * dst, int rows) = 0;

  protected:
    int32_t     width_ = 0, height_ = 0;
    steg_format format_ = STEG_FORMAT_RGB8;
};

// Where rows go, top to bottom; nothing is visible at the destination before commit().
class RowSink {
  public:
    virtual ~RowSink() = default;
    virtual void write(const uint8_t * src, int rows) = 0;  // packed rows
    virtual void commit() = 0;                              // after the last row
};

// The image file at `path` (PNG, JPEG or WebP, as steg_image_load reads it), with its
// size checked against max_pixels (0: STEG_DEFAULT_MAX_PIXELS) before any pixel is read.
// Throws steg::Error(STEG_ERR_IO) in steg_image_load's words.
std::unique_ptr<RowSource> open_rows(const std::string & path, int64_t max_pixels);

// Rows of an image in memory (not copied: `img` must outlive the source).
std::unique_ptr<RowSource> memory_rows(const steg_image & img);

// Rows written into an image in memory (its stride respected; commit() does nothing).
std::unique_ptr<RowSink> memory_sink(steg_image & img);

// A file of width x height pixels of `format`, written as steg_image_save writes it
// (the same checks of the name and `flags`); atomically, on commit().
std::unique_ptr<RowSink> create_rows(const std::string & path, int32_t width, int32_t height, steg_format format,
                                     uint32_t flags);

}  // namespace steg
