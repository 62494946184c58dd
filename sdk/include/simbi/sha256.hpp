// simbi/sha256.hpp: SHA-256 (FIPS 180-4) through OpenSSL's libcrypto, the one helper the host and
// simbi's plugins share for checksums and fingerprints. Header-only; a target that includes it
// links OpenSSL::Crypto (libssl-dev). Every libcrypto call is checked: a failure throws
// std::runtime_error, never a wrong digest.
#ifndef SIMBI_SHA256_HPP
#define SIMBI_SHA256_HPP

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace simbi {

// An incremental digest: update() any number of times, then hex() once.
class Sha256 {
public:
    Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
        if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) throw std::runtime_error("libcrypto: cannot start SHA-256");
    }
    void update(const void* data, size_t n) {
        if (n > 0 && EVP_DigestUpdate(ctx_.get(), data, n) != 1) throw std::runtime_error("libcrypto: SHA-256 update failed");
    }
    // Finishes the digest: 64 lowercase hex digits.
    std::string hex() {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) throw std::runtime_error("libcrypto: SHA-256 final failed");
        static const char digits[] = "0123456789abcdef";
        std::string out(size_t(len) * 2, '0');
        for (unsigned i = 0; i < len; ++i) {
            out[2 * i] = digits[md[i] >> 4];
            out[2 * i + 1] = digits[md[i] & 15];
        }
        return out;
    }

private:
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

inline std::string sha256_hex(const void* data, size_t n) {
    Sha256 h;
    h.update(data, n);
    return h.hex();
}
inline std::string sha256_hex(const std::string& s) { return sha256_hex(s.data(), s.size()); }

// The digest of a file's bytes; throws std::runtime_error naming it when it cannot be read.
inline std::string sha256_file(const std::string& path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
    Sha256 h;
    std::vector<char> buf(1 << 20);
    size_t got;
    while ((got = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) h.update(buf.data(), got);
    if (std::ferror(f.get())) throw std::runtime_error("cannot read " + path);
    return h.hex();
}

}  // namespace simbi

#endif
