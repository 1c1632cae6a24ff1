// SPDX-License-Identifier: MIT
#include "steg-atomic-file.h"

#include "steg-error.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace steg {

namespace {

std::string errno_text(int e = errno) {
    return std::strerror(e);
}

// A short name (".steg-" + 8 random letters) in `dir`: fits even when the destination's
// own name is as long as a file name may be.
std::string short_temp_name(const std::string & dir) {
    static thread_local std::mt19937_64 rng(std::random_device{}() ^ uint64_t(getpid()));
    const char * const                  letters = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string                         name    = dir + ".steg-";
    for (int i = 0; i < 8; ++i) {
        name += letters[rng() % 36];
    }
    return name;
}

mode_t creation_mode(const std::string & path) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        return st.st_mode & 07777;  // keep an existing file's permissions
    }
    const mode_t mask = umask(0);  // read the umask (there is no other way) and put it back
    umask(mask);
    return 0666 & ~mask;
}

}  // namespace

AtomicFile::AtomicFile(const std::string & path) : path_(path) {
    const auto slash = path.find_last_of('/');
    dir_             = slash == std::string::npos ? "./" : path.substr(0, slash + 1);
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        throw Error(STEG_ERR_IO, "cannot write '" + path + "': it is a folder (give a file name)");
    }
    const mode_t mode = creation_mode(path);
    int          fd   = -1;
#ifdef O_TMPFILE
    fd = open(dir_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    unnamed_ = fd >= 0;
#endif
    if (fd < 0) {  // no O_TMPFILE here (or the folder is missing: reported below)
        for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
            tmp_path_ = short_temp_name(dir_);
            fd        = open(tmp_path_.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
            if (fd < 0 && errno != EEXIST) {
                break;
            }
        }
        if (fd < 0) {
            throw Error(STEG_ERR_IO, "cannot create '" + path + "': " + errno_text());
        }
    }
    fchmod(fd, mode);
    fp_ = fdopen(fd, "wb");
    if (!fp_) {
        const int e = errno;
        close(fd);
        if (!unnamed_) {
            unlink(tmp_path_.c_str());
        }
        throw Error(STEG_ERR_IO, "cannot open a file in '" + dir_ + "': " + errno_text(e));
    }
}

AtomicFile::~AtomicFile() {
    if (fp_) {
        fclose(fp_);  // an unnamed file simply goes away
        if (!unnamed_) {
            unlink(tmp_path_.c_str());
        }
    }
}

void AtomicFile::write(const void * data, size_t n) {
    if (n > 0 && fwrite(data, 1, n, fp_) != n) {
        throw Error(STEG_ERR_IO, "cannot write '" + path_ + "': " + errno_text());
    }
}

void AtomicFile::commit() {
    bool ok = fflush(fp_) == 0 && fsync(fileno(fp_)) == 0;
    int  e  = ok ? 0 : errno;
    if (ok && unnamed_) {
        // Give the unnamed file a (short, temporary) name, then rename it over the
        // destination: linkat cannot replace an existing file, rename can, atomically.
        const std::string proc = "/proc/self/fd/" + std::to_string(fileno(fp_));
        ok                     = false;
        for (int attempt = 0; attempt < 100 && !ok; ++attempt) {
            tmp_path_ = short_temp_name(dir_);
            ok        = linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, tmp_path_.c_str(), AT_SYMLINK_FOLLOW) == 0;
            e         = ok ? 0 : errno;
            if (!ok && e != EEXIST) {
                break;
            }
        }
        if (!ok) {
            tmp_path_.clear();
        }
    }
    const bool closed = fclose(fp_) == 0;
    e                 = e ? e : (closed ? 0 : errno);
    ok                = ok && closed;
    fp_               = nullptr;
    if (ok && rename(tmp_path_.c_str(), path_.c_str()) != 0) {
        ok = false;
        e  = errno;
    }
    if (!ok) {
        if (!tmp_path_.empty()) {
            unlink(tmp_path_.c_str());
        }
        throw Error(STEG_ERR_IO, "cannot write '" + path_ + "': " + errno_text(e));
    }
}

}  // namespace steg
