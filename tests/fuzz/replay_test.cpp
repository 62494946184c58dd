// The fuzz targets replayed as a plain test: the manifest corpus, and a store mutated byte by
// byte and cut short at many places. None may crash; each ends in a result or a clean error.
#include <catch2/catch.hpp>
#include <filesystem>

#include "../support.hpp"
#include "fuzz_targets.hpp"

namespace fs = std::filesystem;

TEST_CASE("fuzz corpus: manifests parse or fail cleanly", "[fuzz]") {
    int files = 0;
    for (const auto& e : fs::directory_iterator(std::string(SIMBI_TEST_SOURCE_DIR) + "/tests/fuzz/corpus/manifest")) {
        INFO(e.path().string());
        const std::string bytes = simbi_test::read_file(e.path().string());
        CHECK(fuzz_manifest(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) == 0);
        ++files;
    }
    CHECK(files >= 10);
}

TEST_CASE("fuzz corpus: damaged stores are refused cleanly", "[fuzz]") {
    simbi_test::TempDir dir;
    simbi_test::write_file(dir.file("m.json"),
                           R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 300, "chunk_rows": 100}})");
    REQUIRE(simbi_test::run_cli("simulate " + dir.file("m.json") + " -q").exit_code == 0);
    const std::string store = simbi_test::read_file(dir.file("sims.h5"));
    REQUIRE(store.size() > 1000);
    const auto* bytes = reinterpret_cast<const uint8_t*>(store.data());
    CHECK(fuzz_store(bytes, store.size()) == 0);
    // Cut short at 64 places, and each of 64 places overwritten three ways: the reader verifies
    // shapes and checksums, so each either reads the intact data or refuses.
    uint64_t state = 0x9E3779B97F4A7C15ull;
    auto next = [&] {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        return state;
    };
    for (int i = 0; i < 64; ++i) CHECK(fuzz_store(bytes, size_t(next() % store.size())) == 0);
    for (int i = 0; i < 64; ++i) {
        const size_t at = size_t(next() % store.size());
        for (uint8_t value : {uint8_t(0), uint8_t(0xff), uint8_t(bytes[at] ^ 0x10)}) {
            std::string copy = store;
            copy[at] = char(value);
            CHECK(fuzz_store(reinterpret_cast<const uint8_t*>(copy.data()), copy.size()) == 0);
        }
    }
}
