#include "steg-atomic-file.h"

#include "steg-error.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace steg {

namespace {

std::string errno_text() {
    return std::strerror(errno);
}

}  // namespace

AtomicFile::AtomicFile(const std::string & path) : path_(path) {
    // The temporary sits in the destination's folder so that rename() stays atomic.
    const auto  slash = path.find_last_of('/');
    std::string dir   = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    std::string base  = slash == std::string::npos ? path : path.substr(slash + 1);
    tmp_path_         = dir + "." + base + ".tmp-XXXXXX";
    int fd            = mkstemp(tmp_path_.data());
    if (fd < 0) {
        throw Error(STEG_ERR_IO, "cannot create '" + path + "': " + errno_text());
    }
    fchmod(fd, 0644);
    fp_ = fdopen(fd, "wb");
    if (!fp_) {
        close(fd);
        unlink(tmp_path_.c_str());
        throw Error(STEG_ERR_IO, "cannot open '" + tmp_path_ + "': " + errno_text());
    }
}

AtomicFile::~AtomicFile() {
    if (fp_) {
        fclose(fp_);
        unlink(tmp_path_.c_str());
    }
}

void AtomicFile::write(const void * data, size_t n) {
    if (n > 0 && fwrite(data, 1, n, fp_) != n) {
        throw Error(STEG_ERR_IO, "cannot write '" + path_ + "': " + errno_text());
    }
}

void AtomicFile::commit() {
    bool ok = fflush(fp_) == 0 && fsync(fileno(fp_)) == 0;
    ok      = (fclose(fp_) == 0) && ok;
    fp_     = nullptr;
    if (!ok || rename(tmp_path_.c_str(), path_.c_str()) != 0) {
        const std::string why = errno_text();
        unlink(tmp_path_.c_str());
        throw Error(STEG_ERR_IO, "cannot write '" + path_ + "': " + why);
    }
}

}  // namespace steg
