// Process isolation: a simulator that segfaults on ~1% of rows and hangs on ~0.1% runs to the
// end in worker processes, with exactly those rows invalid and counted, and the same dataset on
// one worker or two; a well-behaved simulator gives the same dataset isolated or in-process.
#include <catch2/catch.hpp>

#include <filesystem>
#include <simbi/rng.h>

#include "../support.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/pipeline/simulation_engine.hpp"
#include "simbi_host/store/store.hpp"

using simbi::host::json;
using simbi_test::run_cli;
using simbi_test::TempDir;

namespace {

std::string crashy_manifest(unsigned threads, const std::string& store) {
    return R"({"simbi": 1, "plugin_paths": [")" SIMBI_TEST_FAULTS_DIR R"(/crashy"], "simulator": {"id": "faulty.crashy"},
        "simulation": {"budget": 1500, "seed": 5, "chunk_rows": 500, "batch_size": 50, "threads": )" +
           std::to_string(threads) + R"(, "store": ")" + store + R"(", "isolation": "process", "timeout_s": 1}, "output": "out"})";
}

// The rows whose own stream makes faulty.crashy crash (u < 0.01) or hang (u < 0.011).
uint64_t failing_rows(uint64_t seed, uint64_t n) {
    uint64_t bad = 0;
    for (uint64_t i = 0; i < n; ++i) {
        simbi_rng rng;
        simbi_rng_init(&rng, simbi::host::SimulationEngine::simulator_seed(seed, 0), i);
        bad += simbi_rng_uniform(&rng) < 0.011;
    }
    return bad;
}

}  // namespace

TEST_CASE("isolation: crashing and hanging rows are counted and dropped, the run completes", "[faults][isolation]") {
    TempDir dir;
    const uint64_t bad = failing_rows(5, 1500);
    REQUIRE(bad >= 5);  // the seed exercises both crashes and hangs
    std::string checksum;
    for (unsigned threads : {1u, 2u}) {
        INFO(threads << " workers");
        const std::string store = dir.file("s" + std::to_string(threads) + ".h5");
        simbi_test::write_file(dir.file("m.json"), crashy_manifest(threads, store));
        auto r = run_cli("simulate " + dir.file("m.json"));
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        CHECK_THAT(r.output, Catch::Contains("killed by signal 11") && Catch::Contains("exceeded the timeout of 1"));
        CHECK_THAT(r.output, Catch::Contains("\"rows_failed\":" + std::to_string(bad)));
        simbi::host::DatasetReader data(store);
        data.verify();
        CHECK(data.rows() == 1500 - bad);
        if (checksum.empty())
            checksum = data.checksum();
        else
            CHECK(data.checksum() == checksum);
    }
}

TEST_CASE("isolation: a well-behaved simulator gives the in-process dataset", "[faults][isolation]") {
    TempDir dir;
    std::string checksums[2];
    for (int isolated = 0; isolated < 2; ++isolated) {
        const std::string store = dir.file(isolated ? "iso.h5" : "in.h5");
        const std::string m =
            R"({"simbi": 1, "simulator": {"id": "sbibm.two_moons"}, "simulation": {"budget": 3000, "seed": 2, "threads": 2,
            "store": ")" +
            store + R"(")" + (isolated ? R"(, "isolation": "process")" : "") + R"(}, "output": "out"})";
        simbi_test::write_file(dir.file("m.json"), m);
        auto r = run_cli("simulate " + dir.file("m.json") + " --plugin-path " SIMBI_TEST_PLUGIN_DIR);
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        simbi::host::DatasetReader data(store);
        data.verify();
        checksums[isolated] = data.checksum();
    }
    CHECK(checksums[0] == checksums[1]);
}

TEST_CASE("isolation: settings are checked", "[faults][isolation]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "sbibm.two_moons"},
        "simulation": {"budget": 10, "timeout_s": 5}, "output": "out"})");
    auto r = run_cli("simulate " + dir.file("m.json"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("/simulation/timeout_s") && Catch::Contains("isolation"));
}

TEST_CASE("the Python bridge sample runs end to end, the same dataset on one worker or two", "[faults][bridge]") {
    TempDir dir;
    namespace fs = std::filesystem;
    for (const char* f : {"sir.py", "sir.bridge.json", "manifest.json"})
        fs::copy_file(std::string(SIMBI_TEST_SOURCE_DIR) + "/samples/python_bridge/" + f, dir.file(f));
    std::string checksum;
    for (int threads : {1, 2}) {
        INFO(threads << " workers");
        const std::string store = dir.file("s" + std::to_string(threads) + ".h5");
        auto r =
            run_cli("simulate " + dir.file("manifest.json") + " --budget 600 --threads " + std::to_string(threads) + " --out " + store);
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        simbi::host::DatasetReader data(store);
        data.verify();
        CHECK(data.rows() == 600);
        if (checksum.empty())
            checksum = data.checksum();
        else
            CHECK(data.checksum() == checksum);
    }
    auto run = run_cli("run " + dir.file("manifest.json") + " -q --set simulation.budget=1500 --set estimator.training.max_epochs=10 " +
                       "--set inference.samples=500 --set 'diagnostics=[{\"id\": \"simbi.ppc\", \"config\": {\"draws\": 50}}]'");
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    json s = json::parse(simbi_test::read_file(dir.file("runs/sir/summary.json")));
    const double beta = s["parameters"]["beta"]["mean"].get<double>();
    CHECK(beta > 0.1);
    CHECK(beta < 1.0);
    CHECK(fs::exists(dir.file("runs/sir/diagnostics/simbi.ppc.json")));
    // A bridge takes no config, and a broken command is named.
    auto configured = run_cli("simulate " + dir.file("manifest.json") + " --set simulator.config.x=1");
    CHECK(configured.exit_code == 2);
    CHECK_THAT(configured.output, Catch::Contains("unknown config key for plugin 'python.sir' (accepted: none)"));
    json broken = json::parse(simbi_test::read_file(dir.file("sir.bridge.json")));
    broken["command"] = {"/usr/bin/python3", "no_such_script.py"};
    simbi_test::write_file(dir.file("sir.bridge.json"), broken.dump());
    auto missing = run_cli("simulate " + dir.file("manifest.json") + " --budget 10 --out " + dir.file("m.h5"));
    CHECK(missing.exit_code == 1);
    CHECK_THAT(missing.output, Catch::Contains("its worker process did not start"));
}

TEST_CASE("a Perl simulator joins through the bridge: any language that reads and writes bytes", "[faults][bridge]") {
    TempDir dir;
    namespace fs = std::filesystem;
    for (const char* f : {"gauss.pl", "gauss.bridge.json", "manifest.json"})
        fs::copy_file(std::string(SIMBI_TEST_SOURCE_DIR) + "/samples/perl_bridge/" + f, dir.file(f));
    std::string checksum;
    for (int threads : {1, 2}) {
        const std::string store = dir.file("s" + std::to_string(threads) + ".h5");
        auto r =
            run_cli("simulate " + dir.file("manifest.json") + " --budget 1000 --threads " + std::to_string(threads) + " --out " + store);
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        simbi::host::DatasetReader data(store);
        data.verify();
        if (checksum.empty())
            checksum = data.checksum();
        else
            CHECK(data.checksum() == checksum);
        // x ~ N(mu, sigma^2): the mean of x - mu is about 0 over 1000 rows of 4 draws.
        std::vector<double> theta(2000), x(4000);
        data.read(0, 1000, theta.data(), x.data());
        double sum = 0;
        for (int i = 0; i < 1000; ++i)
            for (int j = 0; j < 4; ++j) sum += x[size_t(4 * i + j)] - theta[size_t(2 * i)];
        CHECK(std::fabs(sum / 4000) < 0.1);
    }
}
