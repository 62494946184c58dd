// SHA-256 (FIPS 180-4), to fingerprint plugin libraries.
#pragma once
#include <cstdint>
#include <string>

namespace simbi::host {

// Hex digest of a byte string.
std::string sha256_hex(const void* data, size_t n);
// Hex digest of a file's bytes; throws RunError if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace simbi::host
