// SHA-256 for the host: the SDK's one helper (simbi/sha256.hpp), with failures as RunError, and a
// digest of an open file descriptor (what plugin loading hashes).
#pragma once
#include <simbi/sha256.hpp>

#include <string>

namespace simbi::host {

using Sha256 = simbi::Sha256;

// Hex digest of a byte string.
std::string sha256_hex(const void* data, size_t n);
inline std::string sha256_hex(const std::string& s) { return sha256_hex(s.data(), s.size()); }
// Hex digest of a file's bytes; throws RunError if it cannot be read.
std::string sha256_file(const std::string& path);
// Hex digest of the bytes of an open file, read from offset 0 (the offset is not moved);
// `name` names it in messages.
std::string sha256_fd(int fd, const std::string& name);

}  // namespace simbi::host
