#include "simbi_host/core/sha256.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "simbi_host/core/errors.hpp"

namespace simbi::host {

struct Sha256::State {
    EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : state_(new State) {
    state_->ctx = EVP_MD_CTX_new();
    if (!state_->ctx || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) throw RunError("libcrypto: cannot start SHA-256");
}

Sha256::~Sha256() { EVP_MD_CTX_free(state_->ctx); }

void Sha256::update(const void* data, size_t n) {
    if (n > 0 && EVP_DigestUpdate(state_->ctx, data, n) != 1) throw RunError("libcrypto: SHA-256 update failed");
}

std::string Sha256::hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(state_->ctx, md, &len) != 1) throw RunError("libcrypto: SHA-256 final failed");
    static const char digits[] = "0123456789abcdef";
    std::string out(size_t(len) * 2, '0');
    for (unsigned i = 0; i < len; ++i) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    return out;
}

std::string sha256_hex(const void* data, size_t n) {
    Sha256 h;
    h.update(data, n);
    return h.hex();
}

std::string sha256_fd(int fd, const std::string& name) {
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
}

std::string sha256_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw RunError("cannot read " + path + ": " + std::strerror(errno));
    Sha256 h;
    std::vector<char> buf(1 << 20);
    size_t got;
    while ((got = std::fread(buf.data(), 1, buf.size(), f)) > 0) h.update(buf.data(), got);
    bool bad = std::ferror(f);
    std::fclose(f);
    if (bad) throw RunError("cannot read " + path);
    return h.hex();
}

}  // namespace simbi::host
