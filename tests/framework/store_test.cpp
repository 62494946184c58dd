// The store: a run killed with SIGKILL and run again ends byte-identical to an uninterrupted run;
// thread count does not change the file; a complete store is reused.
#include "simbi_host/store/store.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "../support.hpp"

extern char** environ;
namespace fs = std::filesystem;
using simbi_test::run_cli;
using simbi_test::TempDir;

namespace {
const char* kManifest = R"({
  "simbi": 1,
  "simulator": {"id": "simbi.projectile"},
  "simulation": {"budget": 1500000, "seed": 5, "threads": 1, "chunk_rows": 4096, "store": "sims.h5"}
})";
}

// Sends `sig` to pid once the journal is larger than `bytes`, and waits for the process. Polls
// until then or until the run ends by itself (false), with no short deadline, so a loaded
// machine that starts the process slowly does not fail the test.
static bool signal_when_journal_exceeds(pid_t pid, const std::string& journal, uintmax_t bytes, int sig, int& status) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    while (std::chrono::steady_clock::now() < deadline) {
        std::error_code ec;
        if (fs::file_size(journal, ec) > bytes && !ec) {
            kill(pid, sig);
            waitpid(pid, &status, 0);
            return true;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return false;
}

TEST_CASE("resume after SIGKILL gives the same bytes as an uninterrupted run", "[framework][store]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), kManifest);
    auto full = run_cli("simulate " + dir.file("m.json") + " -q --out " + dir.file("full.h5"));
    REQUIRE(full.exit_code == 0);

    // Start a run and kill it once a few chunks are in its journal.
    const std::string out = dir.file("killed.h5"), journal = out + ".journal";
    std::vector<std::string> args = {SIMBI_TEST_BINARY, "simulate", dir.file("m.json"), "-q", "--out", out};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    pid_t pid;
    REQUIRE(posix_spawn(&pid, SIMBI_TEST_BINARY, nullptr, nullptr, argv.data(), environ) == 0);
    int status = 0;
    const bool killed_midway = signal_when_journal_exceeds(pid, journal, 3 * 4096 * 3 * 8, SIGKILL, status);
    REQUIRE(killed_midway);
    REQUIRE(WIFSIGNALED(status));
    CHECK_FALSE(fs::exists(out));
    REQUIRE(fs::exists(journal));

    // Tear the last record, as a kill in the middle of a write would.
    fs::resize_file(journal, fs::file_size(journal) - 100);

    auto resumed = run_cli("simulate " + dir.file("m.json") + " --out " + out);
    INFO(resumed.output);
    REQUIRE(resumed.exit_code == 0);
    CHECK_THAT(resumed.output, Catch::Contains("resuming"));
    CHECK_FALSE(fs::exists(journal));
    CHECK(simbi_test::read_file(out) == simbi_test::read_file(dir.file("full.h5")));
}

TEST_CASE("Ctrl-C stops cleanly, keeps what was written, and the run resumes", "[framework][store]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), kManifest);
    const std::string out = dir.file("s.h5"), journal = out + ".journal", log = dir.file("log.txt");
    std::vector<std::string> args = {
        "/bin/sh", "-c",
        std::string("exec '") + SIMBI_TEST_BINARY + "' simulate " + dir.file("m.json") + " -q --out " + out + " > " + log + " 2>&1"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    pid_t pid;
    REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ) == 0);
    int status = 0;
    const bool sent = signal_when_journal_exceeds(pid, journal, 2 * 4096 * 3 * 8, SIGINT, status);
    REQUIRE(sent);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);  // 128 + SIGINT: stopped at a safe point
    CHECK_THAT(simbi_test::read_file(log), Catch::Contains("interrupted") && Catch::Contains("run the same command again to resume"));
    CHECK(fs::exists(journal));
    CHECK_FALSE(fs::exists(out));
    auto resumed = run_cli("simulate " + dir.file("m.json") + " --out " + out);
    CHECK(resumed.exit_code == 0);
    CHECK_THAT(resumed.output, Catch::Contains("resuming"));
    CHECK(simbi::host::DatasetReader(out).rows() == 1500000);
}

TEST_CASE("another thread count writes an identical file, an up-to-date store is reused", "[framework][store]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "sbibm.slcp"},
        "simulation": {"budget": 20000, "seed": 8, "store": "sims.h5", "dtype": "float64"}})");
    REQUIRE(run_cli("simulate " + dir.file("m.json") + " -q --threads 1 --out " + dir.file("a.h5")).exit_code == 0);
    REQUIRE(run_cli("simulate " + dir.file("m.json") + " -q --threads 2 --out " + dir.file("b.h5")).exit_code == 0);
    CHECK(simbi_test::read_file(dir.file("a.h5")) == simbi_test::read_file(dir.file("b.h5")));
    auto again = run_cli("simulate " + dir.file("m.json") + " -q --threads 2 --out " + dir.file("b.h5"));
    CHECK_THAT(again.output, Catch::Contains("up to date"));

    simbi::host::DatasetReader r(dir.file("a.h5"));
    CHECK(r.rows() == 20000);
    CHECK(r.theta_dim() == 5);
    CHECK(r.x_dim() == 8);
    CHECK(r.dtype() == "float64");
    auto a = r.attributes();
    CHECK(a["simulator_id"] == "sbibm.slcp");
    CHECK(a["parameter_names"].size() == 5);
    CHECK(a["seed"] == 8);
    CHECK(a["simulator_sha256"].get<std::string>().size() == 64);
    CHECK(a["manifest"].get<std::string>().find("sbibm.slcp") != std::string::npos);
    std::vector<double> theta(10 * 5), x(10 * 8);
    r.read(100, 10, theta.data(), x.data());
    for (double t : theta) CHECK(std::fabs(t) <= 3.0);

    auto info = run_cli("dataset info " + dir.file("a.h5") + " --json");
    CHECK(info.exit_code == 0);
    CHECK_THAT(info.output, Catch::Contains("\"rows\": 20000"));
    CHECK(run_cli("dataset info " + dir.file("missing.h5")).exit_code == 1);
    auto text = run_cli("dataset info " + dir.file("a.h5"));
    INFO(text.output);
    for (const char* line : {"  fingerprint:", "  theta_sha256:", "  x_sha256:"}) CHECK_THAT(text.output, Catch::Contains(line));
}

TEST_CASE("invalid rows are reported in the store", "[framework][store]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), std::string(R"({"simbi": 1, "plugin_paths": [")") + SIMBI_TEST_BROKEN_DIR +
                                                   R"(/nan_output"], "simulator": {"id": "test.nan_output"},
        "simulation": {"budget": 5000, "store": "s.h5", "invalid": "drop"}})");
    auto r = run_cli("simulate " + dir.file("m.json") + " -q");
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("invalid") && Catch::Contains("dropped"));
    auto a = simbi::host::DatasetReader(dir.file("s.h5")).attributes();
    CHECK(a["n_dropped"].get<uint64_t>() == a["n_invalid"].get<uint64_t>());
    CHECK(a["n_dropped"].get<uint64_t>() > 1000);

    auto fail = run_cli("simulate " + dir.file("m.json") + " -q --set simulation.invalid=fail --out " + dir.file("f.h5"));
    CHECK(fail.exit_code == 1);
    CHECK_THAT(fail.output, Catch::Contains("invalid row"));
}

TEST_CASE("simulate --at reads no observation, and every output's format follows its extension", "[framework][store]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"),
                           R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "observation": {"file": "not_there.csv"}})");
    auto csv = run_cli("simulate " + dir.file("m.json") + " --at '[20, 0.7]' --rows 5 --out " + dir.file("at.csv"));
    INFO(csv.output);
    REQUIRE(csv.exit_code == 0);
    CHECK(simbi_test::read_file(dir.file("at.csv")).rfind("x_1", 0) == 0);
    auto h5 = run_cli("simulate " + dir.file("m.json") + " --at '[20, 0.7]' --rows 5 --out " + dir.file("at.h5"));
    INFO(h5.output);
    REQUIRE(h5.exit_code == 0);
    CHECK(simbi_test::read_file(dir.file("at.h5")).substr(1, 3) == "HDF");
    for (const std::string& bad : {"at.txt", "at"}) {
        auto r = run_cli("simulate " + dir.file("m.json") + " --at '[20, 0.7]' --rows 5 --out " + dir.file(bad));
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.output, Catch::Contains("the extension names the format: .csv or .h5"));
        CHECK_FALSE(std::filesystem::exists(dir.file(bad)));
    }
    // The store is HDF5 whatever else: a CSV name for it is refused, in the flag or the manifest.
    simbi_test::write_file(dir.file("s.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 10}})");
    auto r = run_cli("simulate " + dir.file("s.json") + " --out " + dir.file("sims.csv"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("the extension names the format: .h5 (HDF5)"));
    r = run_cli("simulate " + dir.file("s.json") + " --set simulation.store=sims.csv");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("/simulation/store: expected an HDF5 file path ending in .h5 or .hdf5"));
    // Without --at, the observation is part of the manifest and is read.
    r = run_cli("simulate " + dir.file("m.json"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("not_there.csv"));
}

TEST_CASE("a larger budget of the same setup extends a smaller store: the same rows as a fresh run", "[framework][store]") {
    TempDir dir;
    const std::string manifest = R"({"simbi": 1, "simulator": {"id": "simbi.projectile"},
        "simulation": {"budget": 10000, "seed": 5, "chunk_rows": 4096, "store": "sims.h5"}})";
    std::filesystem::create_directories(dir.file("grown"));
    std::filesystem::create_directories(dir.file("fresh"));
    simbi_test::write_file(dir.file("grown/m.json"), manifest);
    simbi_test::write_file(dir.file("fresh/m.json"), manifest);
    REQUIRE(run_cli("simulate " + dir.file("grown/m.json") + " -q").exit_code == 0);
    auto grown = run_cli("simulate " + dir.file("grown/m.json") + " -q --budget 15000");
    INFO(grown.output);
    REQUIRE(grown.exit_code == 0);
    CHECK_THAT(grown.output, Catch::Contains("its first 8192 rows are this setup's; 6808 new rows to simulate"));
    REQUIRE(run_cli("simulate " + dir.file("fresh/m.json") + " -q --budget 15000").exit_code == 0);
    auto info = [&](const std::string& folder) {
        for (const auto& e : std::filesystem::directory_iterator(folder))
            if (e.path().extension() == ".h5" &&
                run_cli("dataset info " + e.path().string() + " --json").output.find("\"budget\": 15000") != std::string::npos)
                return simbi::host::json::parse(run_cli("dataset info " + e.path().string() + " --json").output)["attributes"];
        return simbi::host::json();
    };
    const auto a = info(dir.file("grown")), b = info(dir.file("fresh"));
    REQUIRE(a.is_object());
    REQUIRE(b.is_object());
    CHECK(a["theta_sha256"] == b["theta_sha256"]);
    CHECK(a["x_sha256"] == b["x_sha256"]);
    CHECK(a["n_simulated"] == b["n_simulated"]);
}
