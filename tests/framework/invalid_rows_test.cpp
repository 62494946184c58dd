// Where invalid rows lie: the chi-square survival function, and the warning for a simulator whose
// invalid rows gather in one half of the prior (none for one that fails at random).
#include <simbi/stats.hpp>

#include <catch2/catch.hpp>
#include <cmath>

#include "../harness/in_process.hpp"
#include "../support.hpp"
#include "simbi_host/core/json_reader.hpp"

using simbi::gamma_q;
using simbi_test::run_cli;
using simbi_test::TempDir;
using simbi_test::write_file;

TEST_CASE("gamma_q is the chi-square survival function", "[invalid_rows]") {
    // Tabulated chi-square critical values (k degrees of freedom, upper tail p).
    CHECK(gamma_q(0.5, 3.841459 / 2) == Approx(0.05).epsilon(1e-5));
    CHECK(gamma_q(4.5, 21.665994 / 2) == Approx(0.01).epsilon(1e-5));
    CHECK(gamma_q(1.0, 2.5) == Approx(std::exp(-2.5)).epsilon(1e-12));  // k = 2: e^{-x/2}
    CHECK(gamma_q(2.0, 0.0) == 1.0);
    CHECK(gamma_q(0.5, 200.0) < 1e-80);
}

namespace {
std::string manifest_for(const std::string& simulator) {
    return R"({"simbi": 1, "plugin_paths": [")" SIMBI_TEST_FAULTS_DIR R"("], "simulator": {"id": ")" + simulator +
           R"("}, "simulation": {"budget": 2000, "seed": 3, "store": "sims.h5"}, "output": "out"})";
}
}  // namespace

TEST_CASE("invalid rows gathered in one half of the prior are named, and rows failing at random are not", "[invalid_rows]") {
    TempDir dir;
    write_file(dir.file("half.json"), manifest_for("faulty.fails_in_half"));
    auto r = simbi_test::run_command_in_process("run " + dir.file("half.json"));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("(2000 simulated, "));
    CHECK_THAT(r.output, Catch::Contains("were invalid and dropped, and they gather where b is in [0.5"));
    CHECK_THAT(r.output, Catch::Contains("100% of the invalid rows, 50% of the prior's draws"));
    const auto j = simbi::host::json::parse(simbi_test::read_file(dir.file("out/simulation.json")));
    CHECK(j["simulated"] == 2000);
    CHECK(j["dropped"].get<uint64_t>() == 2000 - j["kept"].get<uint64_t>());
    CHECK(j["invalid_by_parameter"][0]["parameter"] == "a");
    CHECK(j["invalid_by_parameter"][0]["concentrated"] == false);
    CHECK(j["invalid_by_parameter"][1]["concentrated"] == true);
    CHECK(j.contains("warning"));

    TempDir other;
    write_file(other.file("random.json"), manifest_for("faulty.fails_at_random"));
    r = simbi_test::run_command_in_process("run " + other.file("random.json"));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, !Catch::Contains("gather where"));
    const auto k = simbi::host::json::parse(simbi_test::read_file(other.file("out/simulation.json")));
    CHECK(k["invalid"].get<uint64_t>() > 400);
    for (const auto& p : k["invalid_by_parameter"]) CHECK(p["concentrated"] == false);
}

TEST_CASE("an output left unwritten is named and its rows are invalid", "[invalid_rows]") {
    TempDir dir;
    write_file(dir.file("m.json"), manifest_for("faulty.unwritten"));
    auto r = run_cli("simulate " + dir.file("m.json"));
    INFO(r.output);
    CHECK(r.exit_code == 1);  // every row is invalid, and "drop" keeps none
    CHECK_THAT(r.output, Catch::Contains("simulator 'faulty.unwritten' left output 2 of 3 unwritten at row "));
}
