// steg-atomic-file.h - write a file under a temporary name beside its destination and
// rename it into place on commit(), so that readers never see a partial file. If the
// object dies uncommitted (an error, an exception), the temporary file is removed.
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
    void commit();                            // flush, fsync, close, rename

  private:
    std::string path_;
    std::string tmp_path_;
    FILE *      fp_ = nullptr;
};

}  // namespace steg
