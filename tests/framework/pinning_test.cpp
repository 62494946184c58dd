// Pins: a manifest may name a plugin library's SHA-256; a run refuses another library, and
// `simbi plugins verify` checks every pin. Each run folder lists the plugins it used.
#include <catch2/catch.hpp>

#include "../support.hpp"
#include "simbi_host/core/json_reader.hpp"

using simbi::host::json;
using simbi_test::run_cli;

TEST_CASE("a pinned plugin must have its SHA-256, plugins verify checks every pin", "[framework][pins]") {
    simbi_test::TempDir dir;
    auto info = run_cli("plugins info sbibm.two_moons --json --plugin-path " SIMBI_TEST_PLUGIN_DIR);
    REQUIRE(info.exit_code == 0);
    const std::string sha = json::parse(info.output)["sha256"].get<std::string>();
    const std::string wrong(64, 'a');
    auto manifest = [&](const std::string& pin) {
        return R"({"simbi": 1, "simulator": {"id": "sbibm.two_moons", "sha256": ")" + pin +
               R"("}, "simulation": {"budget": 200, "store": "s.h5"}, "output": "out"})";
    };
    simbi_test::write_file(dir.file("bad.json"), manifest(wrong));
    auto bad = run_cli("simulate " + dir.file("bad.json"));
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.output, Catch::Contains("pinned to " + wrong) && Catch::Contains("has SHA-256 " + sha));
    auto verify_bad = run_cli("plugins verify " + dir.file("bad.json"));
    CHECK(verify_bad.exit_code == 1);
    CHECK_THAT(verify_bad.output, Catch::Contains("MISMATCH  sbibm.two_moons"));

    simbi_test::write_file(dir.file("good.json"), manifest(sha));
    auto good = run_cli("simulate " + dir.file("good.json"));
    INFO(good.output);
    CHECK(good.exit_code == 0);
    auto verify_good = run_cli("plugins verify " + dir.file("good.json"));
    CHECK(verify_good.exit_code == 0);
    CHECK_THAT(verify_good.output, Catch::Contains("ok        sbibm.two_moons  " + sha));

    simbi_test::write_file(dir.file("short.json"), manifest("abc"));
    auto malformed = run_cli("simulate " + dir.file("short.json"));
    CHECK(malformed.exit_code == 2);
    CHECK_THAT(malformed.output, Catch::Contains("/simulator/sha256"));
}
