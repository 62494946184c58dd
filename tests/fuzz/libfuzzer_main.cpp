// One libFuzzer binary per target: built with -DSIMBI_FUZZ_TARGET=fuzz_manifest or fuzz_store.
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return SIMBI_FUZZ_TARGET(data, size); }
