// Guard values after a buffer a plugin writes into: a NaN with a payload no arithmetic produces,
// so a plugin that writes past what it was asked for overwrites one and is caught.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

namespace simbi::host {

constexpr uint64_t kGuardBits = 0x7ff4dead5eedf00dull;
constexpr size_t kGuardValues = 16;

// Sizes buffer to `used` values followed by the guard values.
inline void arm_guard(std::vector<double>& buffer, size_t used) {
    buffer.resize(used + kGuardValues);
    for (size_t i = used; i < buffer.size(); ++i) std::memcpy(&buffer[i], &kGuardBits, 8);
}

// True if nothing was written after the first `used` values.
inline bool guard_intact(const std::vector<double>& buffer, size_t used) {
    for (size_t i = used; i < buffer.size(); ++i)
        if (std::memcmp(&buffer[i], &kGuardBits, 8) != 0) return false;
    return true;
}

}  // namespace simbi::host
