#include "simbi_host/core/sha256.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "simbi_host/core/errors.hpp"

namespace simbi::host {

std::string sha256_hex(const void* data, size_t n) {
    try {
        return simbi::sha256_hex(data, n);
    } catch (const std::runtime_error& e) {
        throw RunError(e.what());
    }
}

std::string sha256_file(const std::string& path) {
    try {
        return simbi::sha256_file(path);
    } catch (const std::runtime_error& e) {
        throw RunError(e.what());
    }
}

std::string sha256_fd(int fd, const std::string& name) {
    try {
        Sha256 h;
        std::vector<char> buf(1 << 20);
        off_t at = 0;
        for (;;) {
            const ssize_t got = ::pread(fd, buf.data(), buf.size(), at);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw RunError("cannot read " + name + ": " + std::strerror(errno));
            if (got == 0) break;
            h.update(buf.data(), size_t(got));
            at += got;
        }
        return h.hex();
    } catch (const RunError&) {
        throw;
    } catch (const std::runtime_error& e) {
        throw RunError(e.what());
    }
}

}  // namespace simbi::host
