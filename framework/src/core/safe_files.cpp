#include "simbi_host/core/safe_files.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "simbi_host/core/errors.hpp"

namespace fs = std::filesystem;

namespace simbi::host {
namespace {

std::string random_suffix() {
    unsigned char bytes[6];
    if (getrandom(bytes, sizeof bytes, 0) != ssize_t(sizeof bytes)) {
        // No entropy source: the pid and a counter still make a name no one else chose.
        static unsigned counter = 0;
        const unsigned v = unsigned(::getpid()) * 2654435761u + ++counter;
        std::memcpy(bytes, &v, 4);
        bytes[4] = bytes[5] = 0;
    }
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (unsigned char b : bytes) {
        s += hex[b >> 4];
        s += hex[b & 15];
    }
    return s;
}

std::string temp_name(const std::string& target) {
    const fs::path p(target);
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    return (dir / ("." + p.filename().string() + "." + random_suffix() + ".tmp")).string();
}

}  // namespace

std::string unique_temp_path(const std::string& target) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::string t = temp_name(target);
        struct stat st;
        if (::lstat(t.c_str(), &st) != 0 && errno == ENOENT) return t;
    }
    throw RunError("cannot find a free temporary name beside " + target);
}

void rename_over(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
        const int e = errno;
        ::unlink(from.c_str());
        throw RunError("cannot rename " + from + " to " + to + ": " + std::strerror(e));
    }
}

AtomicFile::AtomicFile(std::string target) : target_(std::move(target)) {
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
        temp_ = temp_name(target_);
        // O_EXCL never follows a link and never opens a file someone else made; the mode honours
        // the umask, as a plain create would.
        fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) throw RunError("cannot create " + temp_ + ": " + std::strerror(errno));
    }
    if (fd < 0) throw RunError("cannot find a free temporary name beside " + target_);
    stream_ = ::fdopen(fd, "wb");
    if (!stream_) {
        ::close(fd);
        ::unlink(temp_.c_str());
        throw RunError("cannot write " + temp_);
    }
}

AtomicFile::~AtomicFile() {
    if (stream_) std::fclose(stream_);
    if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
    if (n && std::fwrite(data, 1, n, stream_) != n)
        throw RunError("cannot write " + temp_ + ": " + std::strerror(errno) + " (is the disk full?)");
}

void AtomicFile::commit() {
    const bool ok = std::fflush(stream_) == 0 && !std::ferror(stream_);
    const int e = errno;
    const bool closed = std::fclose(stream_) == 0;
    stream_ = nullptr;
    if (!ok || !closed) throw RunError("cannot write " + target_ + ": " + std::strerror(e) + " (is the disk full?)");
    rename_over(temp_, target_);
    committed_ = true;
}

int open_no_follow(const std::string& path, int flags, mode_t mode, const std::string& what) {
    const int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == ELOOP)
            throw RunError(what + " " + path +
                           " is a symbolic link; simbi does not follow a link where it writes its own files. Remove it");
        throw RunError("cannot open " + what + " " + path + ": " + std::strerror(errno));
    }
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw RunError(what + " " + path + " is not a regular file; remove it");
    }
    return fd;
}

void make_folder(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
        if (S_ISLNK(st.st_mode)) throw RunError(path + " is a symbolic link; simbi writes only into folders it made. Remove it");
        if (!S_ISDIR(st.st_mode)) throw RunError(path + " exists and is not a folder");
        return;
    }
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) throw RunError("cannot create the folder " + path + ": " + ec.message());
}

}  // namespace simbi::host
