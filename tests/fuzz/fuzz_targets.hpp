// The fuzz targets: each takes arbitrary bytes and must end in a result or a clean error, never a
// crash, a hang or a leak. Built as libFuzzer targets with clang (SIMBI_BUILD_FUZZERS), and
// replayed over a corpus as a plain test by every build.
#pragma once
#include <cstddef>
#include <cstdint>

// Bytes as a manifest: parsed, overridden and validated as `simbi run` would.
int fuzz_manifest(const uint8_t* data, size_t size);
// Bytes as a store file: opened and verified as `simbi run` would before training.
int fuzz_store(const uint8_t* data, size_t size);
