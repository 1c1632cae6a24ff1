// SPDX-License-Identifier: MIT
// steg-image.h - 8-bit image buffers and their files (PNG through libpng, JPEG through
// libjpeg-turbo). Internal; the C API in steg.h wraps these.
#pragma once

#include "steg.h"

#include <cstdio>
#include <string>

namespace steg {

int64_t row_bytes(const steg_image & img);  // the stride, or width * channels if 0

// Throws steg::Error(STEG_ERR_INVALID_ARGUMENT) naming `what` if the image is unusable.
void check_image(const steg_image * img, const char * what);

void alloc_image(steg_image & img, int32_t width, int32_t height, steg_format format);
void free_image(steg_image & img);

// Throw steg::Error(STEG_ERR_IO or STEG_ERR_INVALID_ARGUMENT) with a message naming the file.
void load_image(const std::string & path, int64_t max_pixels, steg_image & out);

// The same from an open stream (positioned at the start) of `file_size` bytes (-1 when
// unknown); `name` appears in messages. The fuzz target feeds it memory (fmemopen).
void load_image_stream(FILE * fp, int64_t file_size, const std::string & name, int64_t max_pixels, steg_image & out);
// Throws what save_image would for `path` before any pixel is encoded: a folder, an
// unknown format, JPEG without STEG_SAVE_ALLOW_LOSSY, a missing or read-only folder.
void check_save_path(const std::string & path, uint32_t flags);

void save_image(const std::string & path, const steg_image & img, uint32_t flags);

bool path_is_lossy(const std::string & path);

}  // namespace steg
