// SPDX-License-Identifier: MIT
// steg-atomic-file.h - write a file so that readers never see a partial one and nothing
// is left behind whatever happens: the data goes into an unnamed file in the
// destination's folder (Linux O_TMPFILE), which gets a name only on commit(), when it
// is linked under a short temporary name and renamed over the destination. Killed or
// interrupted before that, the process leaves nothing (the kernel frees an unnamed
// file). Where the file system has no O_TMPFILE, a short named temporary is used and
// removed on failure.
//
// The new file's permissions are those of an existing destination, else 0666 less the
// umask, as for any file a program creates.
#pragma once

#include <cstdio>
#include <string>

namespace steg {

class AtomicFile {
  public:
    explicit AtomicFile(const std::string & path);  // throws steg::Error(STEG_ERR_IO)
    ~AtomicFile();
    AtomicFile(const AtomicFile &)             = delete;
    AtomicFile & operator=(const AtomicFile &) = delete;

    FILE * stream() { return fp_; }

    void write(const void * data, size_t n);  // throws on a short write
    void commit();                            // flush, fsync, name it, rename into place

  private:
    std::string path_;
    std::string dir_;       // the destination's folder ("." for a bare name), with a '/'
    std::string tmp_path_;  // the named temporary (fallback only, or during commit)
    bool        unnamed_ = false;
    FILE *      fp_      = nullptr;
};

}  // namespace steg
