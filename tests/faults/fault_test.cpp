// Fault injection, one test per numbered case of the integrity issue: each bad input ends in a
// clear error with the right exit code, or in a correct result, and nothing already written is
// lost. Cases that need a trained estimator train two_moons NPE for a few epochs.
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../support.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/core/process_guard.hpp"
#include "simbi_host/core/sha256.hpp"
#include "simbi_host/store/store.hpp"

using simbi_test::read_file;
using simbi_test::run_cli;
using simbi_test::TempDir;
using simbi_test::write_file;
namespace fs = std::filesystem;

namespace {

const std::string kFaulty = SIMBI_TEST_FAULTS_DIR;

// A manifest for one of the faulty simulators (or any id), with extra top-level JSON members.
std::string manifest(const std::string& simulator,
                     const std::string& simulation = R"({"budget": 300, "seed": 1, "chunk_rows": 100, "store": "sims.h5"})",
                     const std::string& extra = "") {
    return R"({"simbi": 1, "plugin_paths": [")" + kFaulty + R"("], "simulator": {"id": ")" + simulator + R"("}, "simulation": )" +
           simulation + extra + R"(, "output": "out"})";
}

std::string hashes_of(const std::string& folder) {
    std::string out;
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(folder))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) out += fs::relative(f, folder).string() + " " + simbi::host::sha256_file(f) + "\n";
    return out;
}

// A small trained NPE run on two_moons, shared by the cases that need an artifact.
struct TrainedRun {
    TempDir dir;
    std::string manifest_path;
    TrainedRun() {
        manifest_path = dir.file("m.json");
        write_file(manifest_path, R"({"simbi": 1, "simulator": {"id": "sbibm.two_moons"},
            "simulation": {"budget": 1500, "seed": 1, "store": "runs/sims.h5"},
            "estimator": {"id": "simbi.npe", "config": {"transforms": 2, "hidden": [16, 16]}, "training": {"max_epochs": 4}},
            "observation": {"x": [0.1, 0.2]}, "inference": {"samples": 500, "seed": 2}, "output": "runs/out"})");
        auto r = run_cli("run " + manifest_path + " -q");
        if (r.exit_code != 0) FAIL(r.output);
    }
    std::string out() const { return dir.file("runs/out"); }
    std::string artifact() const { return dir.file("runs/out/artifact"); }
};

// Rewrites a store's /theta scaled by `factor`, leaving its attributes as they were.
void scale_theta(const std::string& path, double factor) {
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(f >= 0);
    hid_t ds = H5Dopen2(f, "theta", H5P_DEFAULT);
    hid_t sp = H5Dget_space(ds);
    std::vector<double> v(size_t(H5Sget_simple_extent_npoints(sp)));
    H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    for (double& x : v) x *= factor;
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    H5Sclose(sp);
    H5Dclose(ds);
    H5Fclose(f);
}

// Replaces a store's dataset `name` by one of `cols` columns and the same rows.
void reshape_dataset(const std::string& path, const char* name, hsize_t cols) {
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(f >= 0);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[2];
    H5Sget_simple_extent_dims(sp, dims, nullptr);
    H5Sclose(sp);
    H5Dclose(ds);
    H5Ldelete(f, name, H5P_DEFAULT);
    dims[1] = cols;
    hid_t nsp = H5Screate_simple(2, dims, nullptr);
    hid_t nds = H5Dcreate2(f, name, H5T_IEEE_F32LE, nsp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    std::vector<float> zeros(dims[0] * cols, 0.5f);
    H5Dwrite(nds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
    H5Dclose(nds);
    H5Sclose(nsp);
    H5Fclose(f);
}

// Writes a store's header afresh for its present bytes, as if a tool had re-sealed a file it had
// changed: the reader's shape checks must still refuse it.
void reseal_header(const std::string& path) {
    std::string bytes = read_file(path);
    const std::string body = bytes.substr(512);
    const auto header = simbi::host::read_store_header(path);
    std::string text = "SIMBI-STORE 1\nsha256 " + simbi::host::sha256_hex(body) + "\nfingerprint " + header.fingerprint + "\n";
    text.resize(512, '\0');
    write_file(path, text + body);
}

// `simbi simulate` of one faulty simulator: exit 1 with `message` in its output, and no store.
void expect_simulate_fails(const std::string& simulator, const std::string& message) {
    TempDir dir;
    write_file(dir.file("m.json"), manifest(simulator));
    auto r = run_cli("simulate " + dir.file("m.json") + " -q");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find(message) != std::string::npos);
    CHECK(!fs::exists(dir.file("sims.h5")));
}

void overwrite_bytes(const std::string& path, long offset, size_t n) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(offset);
    std::string junk(n, '\x5a');
    f.write(junk.data(), long(n));
}

}  // namespace

TEST_CASE("fault 1: a rerun of a finished run is up to date and byte-identical", "[faults]") {
    TrainedRun run;
    const std::string before = hashes_of(run.out());
    auto r = run_cli("run " + run.manifest_path);
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("up to date") != std::string::npos);
    CHECK(r.output.find("resuming training") == std::string::npos);
    CHECK(hashes_of(run.out()) == before);
}

TEST_CASE("fault 2: changed data never resumes or replaces another setup's training", "[faults]") {
    TrainedRun run;
    const std::string before = hashes_of(run.artifact());
    auto r = run_cli("run " + run.manifest_path + " -q --set simulation.budget=1600");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("holds an estimator of another setup") != std::string::npos);
    CHECK(hashes_of(run.artifact()) == before);
    // The first setup's store is kept; the new one has a place of its own.
    CHECK(fs::exists(run.dir.file("runs/sims.h5")));
    r = run_cli("run " + run.manifest_path + " --force --set simulation.budget=1600");
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("resuming training") == std::string::npos);
    CHECK(hashes_of(run.artifact()) != before);
}

TEST_CASE("fault 3: a checkpoint is atomic, and an unreadable one restarts the training", "[faults]") {
    TempDir dir;
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "sbibm.two_moons"},
        "simulation": {"budget": 20000, "seed": 1, "store": "sims.h5"},
        "estimator": {"id": "simbi.npe", "config": {"transforms": 2, "hidden": [32, 32]}, "training": {"max_epochs": 12, "patience": 40}},
        "observation": {"x": [0.1, 0.2]}, "inference": {"samples": 500, "seed": 2}, "output": "out"})");
    REQUIRE(run_cli("run " + dir.file("m.json") + " -q --out " + dir.file("whole")).exit_code == 0);
    const std::string whole = read_file(dir.file("whole/posterior.csv"));

    // Killed after epoch 2 or later; then the state of a kill between the files of the next
    // epoch: its folder written (whole or in part) but state.json not yet naming it.
    const std::string state = simbi_test::kill_when_epoch(dir.file("m.json"), dir.file("out"), 2);
    REQUIRE(!state.empty());
    const std::string named = simbi_test::read_file(state);
    const int epoch = std::stoi(named.substr(named.find("\"epoch\":") + 8));
    const fs::path folder = fs::path(state).parent_path();
    const std::string next = "epoch-" + std::to_string(epoch + 1);
    fs::copy(folder / ("epoch-" + std::to_string(epoch)), folder / next, fs::copy_options::recursive);
    overwrite_bytes((folder / next / "model.pt").string(), 100, 64);
    fs::copy(folder / next, folder / (next + ".tmp"), fs::copy_options::recursive);
    auto r = run_cli("run " + dir.file("m.json"));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("resuming training after epoch " + std::to_string(epoch)) != std::string::npos);
    CHECK(read_file(dir.file("out/posterior.csv")) == whole);

    // The weights state.json names are damaged: a warning, a training from the start, the same
    // result (one seed, one training).
    fs::remove_all(dir.file("out"));
    const std::string state2 = simbi_test::kill_when_epoch(dir.file("m.json"), dir.file("out"), 2);
    REQUIRE(!state2.empty());
    const std::string named2 = read_file(state2);
    const int epoch2 = std::stoi(named2.substr(named2.find("\"epoch\":") + 8));
    overwrite_bytes((fs::path(state2).parent_path() / ("epoch-" + std::to_string(epoch2)) / "model.pt").string(), 100, 64);
    r = run_cli("run " + dir.file("m.json"));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("is unreadable") != std::string::npos);
    CHECK(r.output.find("training starts over") != std::string::npos);
    CHECK(read_file(dir.file("out/posterior.csv")) == whole);
}

TEST_CASE("fault 4: a sealed store whose data changed is refused", "[faults]") {
    TrainedRun run;
    const std::string store = run.dir.file("runs/sims.h5");
    fs::copy_file(store, run.dir.file("orig.h5"));
    scale_theta(store, 2.0);
    auto r = run_cli("run " + run.manifest_path + " -q");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("sims.h5: does not match its checksum (the file was changed or damaged after sealing)") != std::string::npos);
    r = run_cli("dataset verify " + store);
    CHECK(r.exit_code == 1);
    CHECK(run_cli("dataset verify " + run.dir.file("orig.h5")).exit_code == 0);

    fs::copy_file(run.dir.file("orig.h5"), store, fs::copy_options::overwrite_existing);
    reshape_dataset(store, "x", 3);
    r = run_cli("run " + run.manifest_path + " -q");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("does not match its checksum") != std::string::npos);
    reseal_header(store);  // a consistent file hash, inconsistent content
    r = run_cli("run " + run.manifest_path + " -q");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("/x has 3 columns but the store says x_dim = 2") != std::string::npos);

    fs::copy_file(run.dir.file("orig.h5"), store, fs::copy_options::overwrite_existing);
    reshape_dataset(store, "theta", 3);
    reseal_header(store);
    r = run_cli("run " + run.manifest_path + " -q");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("/theta has 3 columns but parameter_names lists 2") != std::string::npos);
    // Data rescaled in place with a consistent file hash: the datasets' own checksums catch it.
    fs::copy_file(run.dir.file("orig.h5"), store, fs::copy_options::overwrite_existing);
    scale_theta(store, 2.0);
    reseal_header(store);
    r = run_cli("dataset verify " + store);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("/theta does not match its checksum") != std::string::npos);
}

TEST_CASE("fault 5: a changed or mixed artifact is refused", "[faults]") {
    TrainedRun run;
    const std::string a = run.artifact();
    fs::copy(a, run.dir.file("orig"), fs::copy_options::recursive);
    CHECK(run_cli("artifact verify " + a).exit_code == 0);
    overwrite_bytes(a + "/weights.pt", 200, 64);
    auto r = run_cli("sample " + a + " --x 0.1,0.2 --n 10");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("weights.pt: does not match the checksum") != std::string::npos);
    CHECK(run_cli("artifact verify " + a).exit_code == 1);

    // parameter_names cut short in simbi.json: its own checksum no longer matches.
    fs::remove_all(a);
    fs::copy(run.dir.file("orig"), a, fs::copy_options::recursive);
    std::string meta = read_file(a + "/simbi.json");
    size_t at = meta.find("\"theta_2\"");
    REQUIRE(at != std::string::npos);
    meta.replace(at, 9, "\"t\"");
    write_file(a + "/simbi.json", meta);
    r = run_cli("sample " + a + " --x 0.1,0.2 --n 10");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("does not match its checksum") != std::string::npos);

    // A file from another artifact.
    fs::remove_all(a);
    fs::copy(run.dir.file("orig"), a, fs::copy_options::recursive);
    write_file(a + "/estimator.json", "{}");
    r = run_cli("log-prob " + a + " --theta 0,0 --x 0.1,0.2");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("estimator.json: does not match the checksum") != std::string::npos);
}

TEST_CASE("fault 6: counts out of range are usage errors, not wrapped integers", "[faults]") {
    TempDir dir;
    write_file(dir.file("m.json"), manifest("simbi.projectile"));
    for (const char* flags : {"--budget -1", "--budget 18446744073709551615", "--seed -1", "--budget 1e3", "--threads 5000"}) {
        auto r = run_cli("simulate " + dir.file("m.json") + " -q " + flags);
        INFO(flags << ": " << r.output);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find("expected an integer from") != std::string::npos);
    }
    auto r = run_cli("simulate " + dir.file("m.json") + " -q --set simulation.chunk_rows=18446744073709551615");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("/simulation/chunk_rows: expected a positive integer up to") != std::string::npos);
    r = run_cli("simulate " + dir.file("m.json") + " -q --set simulation.budget=1000000000000000000");
    CHECK(r.exit_code == 2);
    CHECK(!fs::exists(dir.file("sims.h5")));
}

TEST_CASE("fault 7: a plugin that calls exit(0) makes the run fail, naming it", "[faults]") {
    TempDir dir;
    write_file(dir.file("m.json"), manifest("faulty.exit"));
    auto r = run_cli("simulate " + dir.file("m.json") + " -q --threads 1");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("ended by exit() during simulator 'faulty.exit' at rows") != std::string::npos);
    CHECK(!fs::exists(dir.file("sims.h5")));

    // In a library constructor, on the search path: the library is scanned in a child process,
    // so the listing goes on and names it.
    r = run_cli("plugins list --plugin-path " + kFaulty + "/on_load");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("could not scan " + kFaulty +
                        "/on_load/simbi_test_exit_on_load.so: the process was ended by exit() during "
                        "loading the plugin library") != std::string::npos);
    CHECK(r.output.find("simbi.projectile") != std::string::npos);
}

TEST_CASE("fault 8: a simulator that writes into theta is caught before its rows are kept", "[faults]") {
    expect_simulate_fails("faulty.writes_theta", "simulator 'faulty.writes_theta' wrote into its read-only theta at rows ");
}

TEST_CASE("fault 9: a simulator that writes past its outputs fails the run and seals nothing", "[faults]") {
    TempDir dir;
    write_file(dir.file("m.json"), manifest("faulty.overrun"));
    for (int attempt = 0; attempt < 2; ++attempt) {  // a rerun fails the same way; it never says "up to date"
        auto r = run_cli("simulate " + dir.file("m.json") + " -q");
        INFO(r.output);
        CHECK(r.exit_code == 1);
        CHECK(r.output.find("simulator 'faulty.overrun' wrote outside its output buffer (5 outputs per row) at rows ") !=
              std::string::npos);
        CHECK(!fs::exists(dir.file("sims.h5")));
    }
}

TEST_CASE("fault 10: numbers, keys and paths parse strictly", "[faults]") {
    TempDir dir;
    write_file(dir.file("obs.csv"), "d\n38.2abc\n");
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "observation": {"file": "obs.csv"}})");
    auto r = run_cli("simulate " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("obs.csv:2: column 1: '38.2abc' is not a number") != std::string::npos);
    write_file(dir.file("obs.csv"), "d\nnan\n");
    r = run_cli("simulate " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("'nan' is not a finite number") != std::string::npos);

    write_file(dir.file("d.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 10, "budget": 20}})");
    r = run_cli("simulate " + dir.file("d.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("/simulation: duplicate key \"budget\"") != std::string::npos);

    write_file(
        dir.file("p.json"),
        R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "prior": {"type": "box_uniform", "low": [10, 0.1], "high": [40, 1.4]}})");
    r = run_cli("simulate " + dir.file("p.json") + " -q --set prior.low.1abc=0.2");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("'1abc' must be an array index") != std::string::npos);

    TrainedRun run;
    r = run_cli("log-prob " + run.artifact() + " --theta 0,0 --x '[1e400, 0]'");
    CHECK(r.exit_code == 2);
    r = run_cli("log-prob " + run.artifact() + " --theta 0,0 --x inf,0");
    CHECK(r.exit_code == 2);
}

TEST_CASE("fault 11: a policy that drops every row fails instead of sealing an empty store", "[faults]") {
    expect_simulate_fails("faulty.all_invalid", "dropped every row");
}

TEST_CASE("fault 12: a store in use is locked", "[faults]") {
    TempDir dir;
    write_file(dir.file("m.json"), manifest("simbi.projectile"));
    {
        simbi::host::RunLock held(dir.file("sims.h5"), "the store");
        auto r = run_cli("simulate " + dir.file("m.json") + " -q");
        INFO(r.output);
        CHECK(r.exit_code == 1);
        CHECK(r.output.find("is in use by pid " + std::to_string(getpid())) != std::string::npos);
        CHECK(!fs::exists(dir.file("sims.h5")));
        CHECK(!fs::exists(dir.file("sims.h5.journal")));
    }
    CHECK(run_cli("simulate " + dir.file("m.json") + " -q").exit_code == 0);
}

TEST_CASE("fault 13: another setup's journal is kept, an unreadable one is named as such", "[faults]") {
    TempDir dir;
    // A simulation of another setup, killed while its journal is live.
    write_file(dir.file("hang.json"), manifest("faulty.hang"));
    run_cli("simulate " + dir.file("hang.json") + " -q", "timeout -s KILL 1");
    REQUIRE(fs::exists(dir.file("sims.h5.journal")));
    const std::string theirs = simbi::host::sha256_file(dir.file("sims.h5.journal"));
    write_file(dir.file("m.json"), manifest("simbi.projectile"));
    auto r = run_cli("simulate " + dir.file("m.json"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("holds the data of another simulation setup, kept as it is") != std::string::npos);
    CHECK(simbi::host::sha256_file(dir.file("sims.h5.journal")) == theirs);
    CHECK(!fs::exists(dir.file("sims.h5")));
    // The rerun finds its own dataset in its own place.
    r = run_cli("simulate " + dir.file("m.json"));
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("is up to date") != std::string::npos);

    TempDir empty;
    write_file(empty.file("m.json"), manifest("simbi.projectile"));
    write_file(empty.file("sims.h5.journal"), "");
    r = run_cli("simulate " + empty.file("m.json") + " -q");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("is not a readable simbi journal") != std::string::npos);
    CHECK(fs::exists(empty.file("sims.h5.journal")));
    CHECK(run_cli("simulate " + empty.file("m.json") + " -q --force").exit_code == 0);
}

TEST_CASE("fault 14: deeply nested JSON is refused quickly", "[faults]") {
    TempDir dir;
    std::string deep = R"({"simbi": 1, "simulator": {"id": "simbi.projectile", "config": )";
    for (int i = 0; i < 100000; ++i) deep += "[";
    write_file(dir.file("m.json"), deep);
    auto r = run_cli("simulate " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("nested deeper than 64 levels") != std::string::npos);
    CHECK(r.output.size() < 2000);
}

TEST_CASE("fault 15: a full disk while sealing keeps the journal and resumes", "[faults]") {
    TempDir dir;
    // float64 makes the store a little larger than its journal: a file-size limit between the two
    // lets the journal be written whole and the sealing fail, as on a full disk.
    write_file(dir.file("m.json"),
               manifest("simbi.projectile", R"({"budget": 2000, "seed": 1, "chunk_rows": 1000, "store": "sims.h5", "dtype": "float64"})"));
    auto r = run_cli("simulate " + dir.file("m.json") + " -q", "trap '' XFSZ; ulimit -f 96;");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("the journal") != std::string::npos);
    CHECK(r.output.find("is kept") != std::string::npos);
    CHECK(fs::exists(dir.file("sims.h5.journal")));
    CHECK(!fs::exists(dir.file("sims.h5")));
    for (const auto& e : fs::directory_iterator(dir.path())) CHECK(e.path().extension() != ".tmp");  // no half-sealed store left
    r = run_cli("simulate " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 0);
    CHECK(run_cli("dataset verify " + dir.file("sims.h5")).exit_code == 0);
}

TEST_CASE("fault 17: resource requests are bounded before any work", "[faults]") {
    TempDir dir;
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 100},
        "estimator": {"id": "simbi.npe"}, "observation": {"x": [38.2]}, "inference": {"samples": 1000000000000000}})");
    auto r = run_cli("run " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("/inference/samples: expected a positive integer up to") != std::string::npos);
    CHECK(!fs::exists(dir.file("sims.h5")));
    r = run_cli("sample nowhere --x 1 --n -1");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("--n -1: expected an integer from 1") != std::string::npos);
}

TEST_CASE("fault 18: a prior of overflowing width is refused", "[faults]") {
    TempDir dir;
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"},
        "prior": {"type": "box_uniform", "low": [-1.7e308, 0.1], "high": [1.7e308, 1.4]}})");
    auto r = run_cli("simulate " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("a finite width high - low in every dimension (dimension 0 overflows)") != std::string::npos);
}

TEST_CASE("fault 19: a second stop signal ends a stuck run at once", "[faults]") {
    TempDir dir;
    write_file(dir.file("m.json"), manifest("faulty.hang"));
    // The first TERM asks for a stop after the chunk in flight, which never ends; the second
    // ends the run at once.
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_cli(
        "simulate " + dir.file("m.json") + " -q & pid=$!; sleep 1; kill -TERM $pid; sleep 0.5; kill -TERM $pid; wait $pid; echo rc=$?",
        "exec 2>&1;");
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(r.output);
    CHECK(r.output.find("stopping after the current chunk of simulations") != std::string::npos);
    CHECK(r.output.find("quitting at once") != std::string::npos);
    CHECK(r.output.find("rc=143") != std::string::npos);
    CHECK(seconds < 8);
    r = run_cli("simulate " + dir.file("m.json") + " -q --set simulation.budget=1000000000000000000");
    CHECK(r.exit_code == 2);
    // A network of 100,000 transforms is a typo, refused before any simulation.
    write_file(dir.file("n.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 100, "store": "n.h5"},
        "estimator": {"id": "simbi.npe", "config": {"transforms": 100000}}, "observation": {"x": [38.2]}})");
    r = run_cli("run " + dir.file("n.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("/estimator/config/transforms: expected an integer at most 100, got 100000") != std::string::npos);
    CHECK(!fs::exists(dir.file("n.h5")));
}

TEST_CASE("fault 20: the observation and configs are checked before simulating", "[faults]") {
    TempDir dir;
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 100},
        "estimator": {"id": "simbi.npe"}, "observation": {"x": [38.2, 1.0]}})");
    auto r = run_cli("run " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("/observation: row 0 has 2 values but simulator 'simbi.projectile' gives 1") != std::string::npos);
    CHECK(!fs::exists(dir.file("sims.h5")));
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 100},
        "estimator": {"id": "simbi.npe", "config": {"flow": "sideways"}}, "observation": {"x": [38.2]}})");
    r = run_cli("run " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(!fs::exists(dir.file("sims.h5")));
    // Outside the support the simulator declares (outputs >= 0).
    write_file(dir.file("m.json"),
               manifest("faulty.all_invalid", R"({"budget": 100})", R"(, "estimator": {"id": "simbi.npe"}, "observation": {"x": [-1.5]})"));
    r = run_cli("run " + dir.file("m.json") + " -q");
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("/observation: row 0, value 0 (-1.5) is outside the support of simulator 'faulty.all_invalid', [0, null]") !=
          std::string::npos);
    CHECK(!fs::exists(dir.file("sims.h5")));
}

TEST_CASE("fault 21: unclear inputs get clear messages", "[faults]") {
    TempDir dir;
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"store": ""}})");
    auto r = run_cli("simulate " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("/simulation/store: expected a file path") != std::string::npos);
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "output": ""})");
    r = run_cli("run " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("/output: expected a folder path") != std::string::npos);
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "observation": {"x": [1e400]}})");
    r = run_cli("run " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    std::string key(10 << 20, 'k');
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, ")" + key + R"(": 1})");
    r = run_cli("simulate " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(r.output.size() < 2000);
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "estimator": {"id": "simbi.projectile"}})");
    r = run_cli("run " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("plugin 'simbi.projectile' is a simulator, not an estimator") != std::string::npos);
}

TEST_CASE("plugins check: a conforming library passes, each broken rule is named", "[faults][check]") {
    auto ok = run_cli("plugins check " SIMBI_TEST_PLUGIN_DIR "/simbi_projectile.so");
    INFO(ok.output);
    CHECK(ok.exit_code == 0);
    CHECK(ok.output.find(" 0 failed") != std::string::npos);
    auto r = run_cli("plugins check " + kFaulty + "/simbi_test_faulty.so --json");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    auto j = simbi::host::json::parse(r.output);
    auto failed = [&](const std::string& plugin, const std::string& words) {
        for (const auto& c : j["checks"])
            if (c["plugin"] == plugin && !c["ok"].get<bool>() && c["detail"].get<std::string>().find(words) != std::string::npos)
                return true;
        return false;
    };
    CHECK(failed("faulty.writes_theta", "wrote into its read-only theta"));
    CHECK(failed("faulty.overrun", "wrote outside its output buffer (5 outputs per row) at rows 0..0"));
    CHECK(failed("faulty.overrun_row", "wrote outside its output buffer (2 outputs per row) at rows 0..63"));
    CHECK(failed("faulty.nondeterministic", "rows differ between batch size 1 on one thread and batch size"));
    CHECK(failed("faulty.unwritten", "output 2 of 3 was left unwritten at row 0, which is flagged valid"));
    CHECK(j["failed"].get<int>() >= 3);
}
