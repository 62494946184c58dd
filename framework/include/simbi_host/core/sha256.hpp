// SHA-256 (FIPS 180-4) through OpenSSL's libcrypto: one helper for plugin provenance, store
// checksums, artifact checksums and fingerprints.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace simbi::host {

// An incremental digest: update() any number of times, then hex() once.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, size_t n);
    std::string hex();  // finishes the digest

private:
    struct State;
    std::unique_ptr<State> state_;
};

// Hex digest of a byte string.
std::string sha256_hex(const void* data, size_t n);
inline std::string sha256_hex(const std::string& s) { return sha256_hex(s.data(), s.size()); }
// Hex digest of a file's bytes; throws RunError if it cannot be read.
std::string sha256_file(const std::string& path);
// Hex digest of the bytes of an open file, read from offset 0 (the offset is not moved);
// `name` names it in messages.
std::string sha256_fd(int fd, const std::string& name);

}  // namespace simbi::host
