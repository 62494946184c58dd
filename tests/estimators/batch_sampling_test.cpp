// `simbi sample --each-row` and a run's `each_row` observation file: many observations in one call, each with its own draws, identical
// for observation i whatever the number of observations and the thread count.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "../harness/in_process.hpp"
#include "../support.hpp"
#include "simbi_host/store/batch_samples.hpp"

using simbi_test::run_cli;
using simbi_test::TempDir;
using simbi_test::write_file;

namespace {
// n observations of gaussian_linear's 10 values, distinct per row, as a CSV file.
std::string observations(const TempDir& dir, const std::string& name, int n) {
    std::string text = "x1,x2,x3,x4,x5,x6,x7,x8,x9,x10\n";
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < 10; ++j) text += (j ? "," : "") + std::to_string(0.01 * ((i * 7 + j * 3) % 50) - 0.25);
        text += "\n";
    }
    write_file(dir.file(name), text);
    return dir.file(name);
}

std::vector<std::vector<double>> table(const std::string& file, const char* dataset) { return simbi::host::read_table_h5(file, dataset); }
}  // namespace

TEST_CASE("batched sampling: observation i's draws are the same whatever N and the threads", "[estimators][batch]") {
    TempDir dir;
    for (const std::string id : {"simbi.npe", "simbi.nre", "simbi.fmpe", "simbi.npse"}) {
        INFO(id);
        write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "sbibm.gaussian_linear"},
            "simulation": {"budget": 600, "seed": 2, "store": "s.h5"}, "estimator": {"id": ")" +
                                           id + R"(", "training": {"max_epochs": 3}}, "output": "out_)" + id + "\"}");
        auto trained = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
        INFO(trained.output);
        REQUIRE(trained.exit_code == 0);
        const std::string artifact = dir.file("out_" + id + "/artifact");
        auto sample = [&](const std::string& x, const std::string& out, const std::string& env = "") {
            auto r = run_cli("sample " + artifact + " --x " + x + " --each-row --n 40 --seed 5 -q --out " + dir.file(out), env);
            INFO(r.output);
            REQUIRE(r.exit_code == 0);
            return dir.file(out);
        };
        const std::string all = sample(observations(dir, "x130.csv", 130), "all.h5");
        const std::string few = sample(observations(dir, "x5.csv", 5), "few.h5");
        const std::string partial = sample(observations(dir, "x101.csv", 101), "partial.h5", "OMP_NUM_THREADS=1");
        const auto mean_all = table(all, "mean"), mean_few = table(few, "mean"), mean_partial = table(partial, "mean");
        REQUIRE(mean_all.size() == 130);
        REQUIRE(mean_few.size() == 5);
        REQUIRE(mean_partial.size() == 101);
        for (size_t i = 0; i < 5; ++i) CHECK(mean_few[i] == mean_all[i]);
        for (size_t i = 0; i < 101; ++i) CHECK(mean_partial[i] == mean_all[i]);
        CHECK(table(partial, "q95")[100] == table(all, "q95")[100]);
        // Distinct observations give distinct posteriors: no row's draws were reused for another.
        CHECK(mean_all[0] != mean_all[1]);
        for (double v : mean_all[129]) CHECK(std::isfinite(v));
        // A run whose observation file is sampled row by row writes the same posteriors as `sample --each-row`.
        write_file(dir.file("each.json"), R"({"simbi": 1, "simulator": {"id": "sbibm.gaussian_linear"},
            "simulation": {"budget": 600, "seed": 2, "store": "s.h5"}, "estimator": {"id": ")" +
                                              id + R"(", "training": {"max_epochs": 3}}, "output": "out_)" + id +
                                              R"(", "observation": {"file": "x130.csv", "each_row": true},
            "inference": {"samples": 40, "seed": 5}})");
        auto each = simbi_test::run_command_in_process("run " + dir.file("each.json") + " -q");
        INFO(each.output);
        REQUIRE(each.exit_code == 0);
        CHECK(table(dir.file("out_" + id + "/posteriors.h5"), "mean") == mean_all);
        CHECK_THAT(simbi_test::read_file(dir.file("out_" + id + "/summary.json")), Catch::Contains("\"observations\": 130"));
    }
    // Only HDF5 holds per-observation draws.
    auto csv =
        run_cli("sample " + dir.file("out_simbi.npe/artifact") + " --x " + dir.file("x5.csv") + " --each-row --out " + dir.file("s.csv"));
    CHECK(csv.exit_code == 2);
    CHECK_THAT(csv.output, Catch::Contains("--each-row writes HDF5"));
}

TEST_CASE("batched sampling: an observation the estimator cannot sample is flagged, the others are written", "[estimators][batch]") {
    TempDir dir;
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "sbibm.two_moons"},
        "simulation": {"budget": 600, "seed": 2, "store": "s.h5"}, "estimator": {"id": "simbi.npe", "training": {"max_epochs": 3}},
        "output": "out"})");
    REQUIRE(simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q").exit_code == 0);
    // Far from every simulation: the flow's draws fall outside two_moons' prior box.
    write_file(dir.file("x.csv"), "x1,x2\n0.1,0.2\n40,40\n-0.2,0.1\n");
    auto r =
        run_cli("sample " + dir.file("out/artifact") + " --x " + dir.file("x.csv") + " --each-row --n 50 -q --out " + dir.file("p.h5"));
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("1 of 3 observations could not be sampled (first: observation 1:"));
    std::string dump;
    if (std::FILE* p = ::popen(("h5dump -d /failed " + dir.file("p.h5")).c_str(), "r")) {
        char buf[256];
        while (std::fgets(buf, sizeof buf, p)) dump += buf;
        ::pclose(p);
    }
    CHECK_THAT(dump, Catch::Contains("(0): 0, 1, 0"));
}
