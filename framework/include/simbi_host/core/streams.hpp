// The host's random streams: each purpose draws from simbi_rng_mix(seed, tag) with its own tag,
// so that no two purposes share random numbers. Every tag the host uses is here.
#pragma once
#include <cstdint>

namespace simbi::host::streams {

constexpr uint64_t kPrior = 1;             // theta for each row, from the simulation seed
constexpr uint64_t kSimulator = 2;         // the simulator's per-row streams
constexpr uint64_t kDiagnosticBase = 100;  // + the diagnostic's index, from the inference seed
// A sequential round's simulation seed is simbi_rng_mix(seed, round), round >= 2.

}  // namespace simbi::host::streams
