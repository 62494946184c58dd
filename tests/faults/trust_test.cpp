// The trust boundary, one test per finding of the trust issue (pins, files outside the run, a
// refused run, the bridge protocol, diagnostics' inputs, the report, signals and ranks): each bad
// input ends in a clear error or a correct result, and nothing outside the run is touched.
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "../support.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/core/sha256.hpp"
#include "simbi_host/store/store.hpp"

using simbi::host::json;
using simbi_test::read_file;
using simbi_test::run_cli;
using simbi_test::TempDir;
using simbi_test::write_file;
namespace fs = std::filesystem;

namespace {

const std::string kTests = SIMBI_TEST_BUILD_TESTS_DIR;
const std::string kFaulty = SIMBI_TEST_FAULTS_DIR;
const std::string kBridges = std::string(SIMBI_TEST_SOURCE_DIR) + "/tests/faults/bridges";
const char* kBox = R"({"type": "box_uniform", "low": [0, 0], "high": [1, 1]})";

// A plugin folder of one's own (mode 0755) holding the given build of toy.variant, with the
// descriptor file of `descriptor_of` (the same build unless said).
std::string variant_folder(const TempDir& dir, int build, int descriptor_of = 0) {
    const fs::path folder = fs::path(dir.path()) / "plugins";
    fs::create_directories(folder);
    fs::permissions(folder, fs::perms(0755));
    const fs::path lib = folder / "simbi_test_variant.so";
    fs::remove(lib);
    fs::copy_file(kTests + "/variant" + std::to_string(build) + "/simbi_test_variant" + std::to_string(build) + ".so", lib);
    fs::permissions(lib, fs::perms(0755));
    const int d = descriptor_of ? descriptor_of : build;
    json desc = json::parse(read_file(kTests + "/variant" + std::to_string(d) + "/simbi_test_variant" + std::to_string(d) + ".simbi.json"));
    desc["library"] = "simbi_test_variant.so";
    write_file((folder / "simbi_test_variant.simbi.json").string(), desc.dump(2));
    fs::permissions(folder / "simbi_test_variant.simbi.json", fs::perms(0644));
    return folder.string();
}

std::string variant_manifest(const std::string& pin, const std::string& isolation) {
    return R"({"simbi": 1, "plugin_paths": ["plugins"], "simulator": {"id": "toy.variant")" +
           (pin.empty() ? "" : R"(, "sha256": ")" + pin + "\"") +
           R"(}, "simulation": {"budget": 200, "seed": 1, "threads": 1, "store": "s.h5", "isolation": ")" + isolation +
           R"("}, "output": "out"})";
}

// Every file under folder (dot files too) with its SHA-256, one per line.
std::string all_hashes(const std::string& folder) {
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(folder))
        if (e.is_regular_file() || e.is_symlink()) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    std::string out;
    for (const auto& f : files) out += fs::relative(f, folder).string() + " " + simbi::host::sha256_file(f) + "\n";
    return out;
}

// A bridge simulator in `dir`: bad_bridge.py run with `mode`.
void write_bad_bridge(const TempDir& dir, const std::string& mode, const std::string& id = "test.bad") {
    fs::copy_file(kBridges + "/bad_bridge.py", dir.file("bad_bridge.py"), fs::copy_options::overwrite_existing);
    fs::permissions(dir.file("bad_bridge.py"), fs::perms(0644));
    write_file(dir.file("bad.bridge.json"), json{{"id", id},
                                                 {"command", {"/usr/bin/python3", "bad_bridge.py", mode}},
                                                 {"parameters", {"a", "b"}},
                                                 {"outputs", 1},
                                                 {"prior", json::parse(kBox)}}
                                                .dump());
    fs::permissions(dir.path(), fs::perms(0755));
}

std::string bridge_manifest(const std::string& timeout = "") {
    return R"({"simbi": 1, "plugin_paths": ["."], "simulator": {"id": "test.bad"},
        "simulation": {"budget": 100, "seed": 1, "threads": 1, "batch_size": 10, "chunk_rows": 50, "store": "s.h5")" +
           (timeout.empty() ? "" : R"(, "timeout_s": )" + timeout) + R"(}, "output": "out"})";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A small trained two_moons NPE run in dir/out; extra: more top-level manifest members.
std::string small_run(const TempDir& dir, const std::string& extra = "",
                      const std::string& config = R"({"transforms": 2, "hidden": [16, 16]})") {
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "sbibm.two_moons"},
        "simulation": {"budget": 1000, "seed": 1, "store": "sims.h5"},
        "estimator": {"id": "simbi.npe", "config": )" +
                                       config + R"(, "training": {"max_epochs": 3}},
        "observation": {"x": [0.1, 0.2]}, "inference": {"samples": 300, "seed": 2}, "output": "out")" +
                                       extra + "}");
    return dir.file("m.json");
}

}  // namespace

TEST_CASE("trust 1.1: a pin names the library's bytes, in process and under isolation, and the worker checks them", "[faults][trust]") {
    TempDir dir;
    const std::string folder = variant_folder(dir, 1);
    const std::string sha1 = simbi::host::sha256_file(folder + "/simbi_test_variant.so");
    write_file(dir.file("m.json"), variant_manifest(sha1, "process"));
    auto r = run_cli("simulate " + dir.file("m.json") + " -q");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(simbi::host::DatasetReader(dir.file("s.h5")).attributes()["simulator_sha256"] == sha1);

    // Another build in its place, its descriptor file kept: the pin holds under isolation.
    variant_folder(dir, 2, 1);
    const std::string sha2 = simbi::host::sha256_file(folder + "/simbi_test_variant.so");
    REQUIRE(sha2 != sha1);
    for (const char* isolation : {"process", "none"}) {
        write_file(dir.file("m.json"), variant_manifest(sha1, isolation));
        r = run_cli("simulate " + dir.file("m.json") + " -q");
        INFO(isolation << ": " << r.output);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.output, Catch::Contains("pinned to " + sha1) && Catch::Contains("has SHA-256 " + sha2));
    }
    auto verify = run_cli("plugins verify " + dir.file("m.json"));
    CHECK(verify.exit_code == 1);
    CHECK_THAT(verify.output, Catch::Contains("MISMATCH  toy.variant  pinned " + sha1 + ", found " + sha2));

    // Unpinned, the stale descriptor file is no reason to call the old store up to date: the new
    // bytes are simulated and recorded.
    write_file(dir.file("m.json"), variant_manifest("", "process"));
    r = run_cli("simulate " + dir.file("m.json"));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, !Catch::Contains("up to date") && Catch::Contains("wrote 200 rows"));
    bool recorded = false;
    for (const auto& e : fs::directory_iterator(dir.path()))
        if (e.path().extension() == ".h5" && e.path().filename() != "s.h5")
            recorded = simbi::host::DatasetReader(e.path().string()).attributes()["simulator_sha256"] == sha2;
    CHECK(recorded);

    // The isolation worker maps nothing but the bytes it is told.
    auto worker = run_cli("worker --library " + folder + "/simbi_test_variant.so --id toy.variant --sha256 " + sha1 + " < /dev/null");
    CHECK(worker.exit_code == 1);
    CHECK_THAT(worker.output, Catch::Contains("its SHA-256 is " + sha2 + ", not the " + sha1));
}

TEST_CASE("trust 1.2: a descriptor file that renames the parameters is caught in process and under isolation", "[faults][trust]") {
    TempDir dir;
    const std::string folder = variant_folder(dir, 3);  // the library names its parameters c, d
    json desc = json::parse(read_file(folder + "/simbi_test_variant.simbi.json"));
    desc["plugins"][0]["parameters"] = {"a", "b"};  // a forged description of the right bytes
    write_file(folder + "/simbi_test_variant.simbi.json", desc.dump());
    write_file(dir.file("m.json"), variant_manifest("", "process"));
    auto r = run_cli("simulate " + dir.file("m.json") + " -q");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output,
               Catch::Contains("its worker names the parameters [\"c\",\"d\"]") && Catch::Contains("described with [\"a\",\"b\"]"));
    CHECK(!fs::exists(dir.file("s.h5")));
    write_file(dir.file("m.json"), variant_manifest("", "none"));
    r = run_cli("simulate " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("differs from its description"));
}

TEST_CASE("trust 1.3: descriptor files, bridge files and bridge programs that others could replace are refused", "[faults][trust]") {
    TempDir dir;
    const std::string folder = variant_folder(dir, 1);
    fs::permissions(folder + "/simbi_test_variant.simbi.json", fs::perms(0646));
    auto r = run_cli("plugins list --plugin-path " + folder);
    CHECK_THAT(r.output, Catch::Contains(folder + "/simbi_test_variant.simbi.json: refused to read the descriptor file") &&
                             Catch::Contains("writable by other users; fix: chmod go-w"));

    TempDir bridge;
    write_bad_bridge(bridge, "good");
    write_file(bridge.file("m.json"), bridge_manifest());
    r = run_cli("simulate " + bridge.file("m.json") + " -q");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    fs::permissions(bridge.file("bad_bridge.py"), fs::perms(0666));
    r = run_cli("simulate " + bridge.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("bad_bridge.py: refused to run the bridge file") &&
                             Catch::Contains("writable by its group and other users"));
    // A script in a folder others may write to is no safer.
    fs::permissions(bridge.file("bad_bridge.py"), fs::perms(0644));
    fs::create_directories(bridge.file("open"));
    fs::rename(bridge.file("bad_bridge.py"), bridge.file("open/bad_bridge.py"));
    fs::permissions(bridge.file("open"), fs::perms(0777));
    json def = json::parse(read_file(bridge.file("bad.bridge.json")));
    def["command"] = {"/usr/bin/python3", "open/bad_bridge.py", "good"};
    write_file(bridge.file("bad.bridge.json"), def.dump());
    r = run_cli("simulate " + bridge.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("refused to run the bridge file") && Catch::Contains("its folder " + bridge.file("open")));
}

TEST_CASE("trust 1.4: a bridge's pin and its store's fingerprint cover every file it runs", "[faults][trust]") {
    TempDir dir;
    write_bad_bridge(dir, "good");
    write_file(dir.file("m.json"), bridge_manifest());
    auto info = run_cli("plugins info test.bad --json --plugin-path " + dir.path());
    REQUIRE(info.exit_code == 0);
    const std::string pin = json::parse(info.output)["sha256"].get<std::string>();
    CHECK(pin != simbi::host::sha256_file(dir.file("bad.bridge.json")));  // more than the definition
    REQUIRE(run_cli("simulate " + dir.file("m.json") + " -q").exit_code == 0);
    write_file(dir.file("bad_bridge.py"), read_file(dir.file("bad_bridge.py")) + "\n# edited\n");
    auto r = run_cli("simulate " + dir.file("m.json"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, !Catch::Contains("up to date") && Catch::Contains("another simulation setup"));
    json m = json::parse(bridge_manifest());
    m["simulator"]["sha256"] = pin;
    write_file(dir.file("m.json"), m.dump());
    r = run_cli("simulate " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("pinned to " + pin));
}

TEST_CASE("trust 2.1: files simbi writes never follow a link planted where it writes", "[faults][trust]") {
    TempDir dir;
    REQUIRE(run_cli("run " + small_run(dir) + " -q").exit_code == 0);
    std::vector<std::string> victims;
    for (const char* name : {"report.html.tmp", "manifest.json.tmp", "report.html", "summary.json"}) {
        const std::string victim = dir.file(std::string("victim_") + name);
        write_file(victim, "precious\n");
        fs::remove(dir.file(std::string("out/") + name));
        fs::create_symlink(victim, dir.file(std::string("out/") + name));
        victims.push_back(victim);
    }
    const std::string lock_victim = dir.file("victim_lock");
    write_file(lock_victim, "precious\n");
    fs::remove(dir.file("out/.run.lock"));
    fs::create_symlink(lock_victim, dir.file("out/.run.lock"));
    auto r = run_cli("run " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("the lock file " + dir.file("out/.run.lock") + " is a symbolic link"));
    CHECK(read_file(lock_victim) == "precious\n");
    fs::remove(dir.file("out/.run.lock"));
    r = run_cli("run " + dir.file("m.json") + " -q");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    for (const auto& v : victims) CHECK(read_file(v) == "precious\n");
    CHECK(!fs::is_symlink(dir.file("out/report.html")));
    CHECK(!fs::is_symlink(dir.file("out/summary.json")));
}

TEST_CASE("trust 2.2: a run writes only into a new or empty folder or a run folder, never into / or home", "[faults][trust]") {
    TempDir dir;
    const std::string manifest = small_run(dir);
    fs::create_directories(dir.file("mine"));
    write_file(dir.file("mine/manifest.json"), "my own manifest\n");
    write_file(dir.file("mine/summary.json"), "my own summary\n");
    auto r = run_cli("run " + manifest + " -q --out " + dir.file("mine"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("is neither empty nor a simbi run folder (it holds manifest.json, summary.json)") &&
                             Catch::Contains("a run would overwrite manifest.json, summary.json"));
    CHECK(read_file(dir.file("mine/manifest.json")) == "my own manifest\n");
    CHECK(read_file(dir.file("mine/summary.json")) == "my own summary\n");

    fs::create_directories(dir.file("home"));
    r = run_cli("run " + manifest + " -q --out " + dir.file("home"), "HOME=" + dir.file("home"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("a home folder"));
    CHECK(fs::is_empty(dir.file("home")));

    std::vector<std::string> root_before;
    for (const auto& e : fs::directory_iterator("/")) root_before.push_back(e.path().string());
    r = run_cli("run " + manifest + " -q --out /");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("the root folder"));
    std::vector<std::string> root_after;
    for (const auto& e : fs::directory_iterator("/")) root_after.push_back(e.path().string());
    CHECK(root_after.size() == root_before.size());

    fs::create_directories(dir.file("empty"));
    r = run_cli("run " + manifest + " -q --out " + dir.file("empty"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(fs::exists(dir.file("empty/.simbi-run.json")));
    CHECK(run_cli("report " + dir.file("mine")).exit_code == 2);
}

TEST_CASE("trust 2.3: a simulator that writes a whole row past its outputs is stopped and named, in process and isolated",
          "[faults][trust]") {
    TempDir dir;
    for (const char* isolation : {"none", "process"}) {
        write_file(dir.file("m.json"), R"({"simbi": 1, "plugin_paths": [")" + kFaulty + R"("], "simulator": {"id": "faulty.overrun_row"},
            "simulation": {"budget": 300, "threads": 1, "chunk_rows": 100, "store": "s.h5", "isolation": ")" +
                                           isolation + R"("}, "output": "out"})");
        auto r = run_cli("simulate " + dir.file("m.json") + " -q");
        INFO(isolation << ": " << r.output);
        CHECK(r.exit_code == 1);
        // In process the batch's rows; isolated, the one row its worker was given when it failed.
        CHECK_THAT(r.output,
                   Catch::Contains("simulator 'faulty.overrun_row' wrote outside its output buffer (2 outputs per row) at rows 0.." +
                                   std::string(isolation == std::string("none") ? "63" : "0")));
        CHECK_THAT(r.output, !Catch::Contains("corrupted") && !Catch::Contains("crashed"));
        CHECK(!fs::exists(dir.file("s.h5")));
    }
}

TEST_CASE("trust 3: a refused run leaves every file of the kept run byte-identical", "[faults][trust]") {
    TempDir dir;
    const std::string diagnostics = R"(, "diagnostics": [{"id": "simbi.coverage", "config": {"pairs": 40, "samples": 100}}])";
    REQUIRE(run_cli("run " + small_run(dir, diagnostics) + " -q").exit_code == 0);
    const std::string kept = all_hashes(dir.file("out"));
    // Another estimator setting, then another prior: each another setup's estimator.
    small_run(dir, diagnostics, R"({"transforms": 2, "hidden": [8, 8]})");
    auto r = run_cli("run " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("holds an estimator of another setup"));
    CHECK(all_hashes(dir.file("out")) == kept);
    small_run(dir, diagnostics + R"(, "prior": {"type": "box_uniform", "low": [-2, -2], "high": [2, 2]})");
    r = run_cli("run " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 1);
    CHECK(all_hashes(dir.file("out")) == kept);
    // The kept run's own record still pairs its own prior with its own estimator.
    CHECK(run_cli("diagnose " + dir.file("out") + " -q").exit_code == 0);
}

TEST_CASE("trust 4: the bridge protocol is framed, and a broken bridge ends soon with a clear error", "[faults][trust][bridge]") {
    struct Case {
        const char* mode;
        const char* timeout;
        const char* says;
    };
    const Case cases[] = {
        {"extra", "", "protocol error in the answer to batch"},
        {"garbage", "", "protocol error in the answer to batch 2"},
        {"short", "1", "5 rows in a row failed"},
        {"orphan", "", "exited with status 3"},
        {"close", "", "5 rows in a row failed"},
        {"version1", "", "speaks protocol version 1; this simbi speaks version 2"},
    };
    for (const Case& c : cases) {
        TempDir dir;
        write_bad_bridge(dir, c.mode);
        write_file(dir.file("m.json"), bridge_manifest(c.timeout));
        const auto t0 = std::chrono::steady_clock::now();
        auto r = run_cli("simulate " + dir.file("m.json") + " -q");
        INFO(c.mode << ": " << r.output);
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.output, Catch::Contains(c.says));
        CHECK(seconds_since(t0) < 30);
        CHECK(!fs::exists(dir.file("s.h5")));
    }
    TempDir dir;
    write_bad_bridge(dir, "escape");
    write_file(dir.file("m.json"), bridge_manifest());
    auto r = run_cli("simulate " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find('\x1b') == std::string::npos);
    CHECK(r.output.find('\x07') == std::string::npos);
    CHECK_THAT(r.output, Catch::Contains("model failed: \\x1b[2J\\x1b[31mred"));
    // An id outside the grammar is named where it is written.
    write_bad_bridge(dir, "good", "Bad Id!");
    r = run_cli("simulate " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("bad.bridge.json: /id: expected a namespaced id"));
}

TEST_CASE("trust 5: a diagnostic's held-out store must be of the run's setup, and edited results are computed again", "[faults][trust]") {
    TempDir dir;
    auto store = [&](const std::string& name, const std::string& simulator, const std::string& prior, int seed) {
        write_file(dir.file(name + ".json"), R"({"simbi": 1, "plugin_paths": [")" SIMBI_TEST_TOY_DIR R"("], "simulator": {"id": ")" +
                                                 simulator + R"("}, "prior": )" + prior + R"(, "simulation": {"budget": 300, "seed": )" +
                                                 std::to_string(seed) + R"(, "store": ")" + name + R"(.h5"}})");
        REQUIRE(run_cli("simulate " + dir.file(name + ".json") + " -q").exit_code == 0);
    };
    const std::string two_moons_prior = R"({"type": "box_uniform", "low": [-1, -1], "high": [1, 1]})";
    store("mirror", "test.mirror_2d", two_moons_prior, 9);
    store("wide", "sbibm.two_moons", R"({"type": "box_uniform", "low": [-2, -2], "high": [2, 2]})", 9);
    store("held", "sbibm.two_moons", two_moons_prior, 9);
    auto with_held_out = [&](const std::string& held_out) {
        return small_run(dir, R"(, "diagnostics": [{"id": "simbi.coverage", "held_out": ")" + held_out +
                                  R"(", "config": {"pairs": 40, "samples": 100}}])");
    };
    REQUIRE(run_cli("simulate " + small_run(dir) + " -q").exit_code == 0);  // the training store
    auto r = run_cli("run " + with_held_out("sims.h5") + " -q");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("/diagnostics/0/held_out") && Catch::Contains("is the training store itself"));
    r = run_cli("run " + with_held_out("mirror.h5") + " -q");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("was simulated with another simulator (test.mirror_2d"));
    r = run_cli("run " + with_held_out("wide.h5") + " -q");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("was simulated with another prior"));
    r = run_cli("run " + with_held_out("held.h5") + " -q");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);

    const std::string file = dir.file("out/diagnostics/simbi.coverage.json");
    json record = json::parse(read_file(file));
    const double gap = record["results"]["worst_gap"].get<double>();
    record["results"]["worst_gap"] = 0.0;  // an edit that keeps the fingerprint
    write_file(file, record.dump(2));
    r = run_cli("run " + dir.file("m.json"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("simbi.coverage.json does not match its checksum"));
    CHECK(json::parse(read_file(file))["results"]["worst_gap"].get<double>() == gap);
}

TEST_CASE("trust 6: the report checks what it reads, and names with commas, quotes and markup are written and drawn safely",
          "[faults][trust][report]") {
    TempDir dir;
    REQUIRE(run_cli("run " + small_run(dir) + " -q").exit_code == 0);
    const std::string csv = dir.file("out/posterior.csv"), original = read_file(csv);
    write_file(csv, "theta_1,theta_2,extra\n" + original.substr(original.find('\n') + 1));
    auto r = run_cli("report " + dir.file("out"));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("posterior.csv:2: 2 values in a row under a header of 3 names"));
    write_file(csv, original + "0.5\n");
    r = run_cli("report " + dir.file("out"));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("1 values in a row under a header of 2 names"));
    write_file(csv, original);
    fs::create_directories(dir.file("out/diagnostics"));
    write_file(dir.file("out/diagnostics/simbi.sbc.json"), R"({"id": "simbi.sbc", "results": {},
        "report": {"figures": [{"kind": "histogram", "counts": [1, 2, 3, 4, 5], "edges": [0, 1, 2]}]}})");
    r = run_cli("report " + dir.file("out"));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output,
               Catch::Contains("simbi.sbc.json: figure 0 (\"histogram\"): 'edges' must hold one more value than 'counts' (6), not 3"));

    TempDir odd;
    write_file(odd.file("m.json"), R"({"simbi": 1, "plugin_paths": [")" + kTests + R"(/odd_names"], "simulator": {"id": "toy.odd_names"},
        "simulation": {"budget": 600, "store": "s.h5"}, "estimator": {"id": "simbi.npe", "config": {"transforms": 1, "hidden": [8]},
        "training": {"max_epochs": 2}}, "observation": {"x": [0.5, 0.5, 0.5]}, "inference": {"samples": 200}, "output": "out"})");
    r = run_cli("run " + odd.file("m.json") + " -q");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const std::string header = read_file(odd.file("out/posterior.csv")).substr(0, read_file(odd.file("out/posterior.csv")).find('\n'));
    CHECK(header == R"("rate, per day","the ""shape""",<b>bold</b>)");
    CHECK(json::parse(read_file(odd.file("out/summary.json")))["parameters"].size() == 3);
    const std::string html = read_file(odd.file("out/report.html"));
    CHECK_THAT(html, Catch::Contains("&lt;b&gt;bold&lt;/b&gt;") && !Catch::Contains("<b>bold</b>"));
}

TEST_CASE("trust 7.1: a stop signal during simbi diagnose ends it after the current diagnostic, with exit code 130", "[faults][trust]") {
    TempDir dir;
    REQUIRE(run_cli("run " + small_run(dir) + " -q").exit_code == 0);
    const std::string log = dir.file("diagnose.log");
    std::vector<std::string> args = {"/bin/sh", "-c",
                                     std::string("exec '") + SIMBI_TEST_BINARY + "' diagnose " + dir.file("out") +
                                         " --diagnostic simbi.ppc --diagnostic simbi.coverage --diagnostic simbi.sbc > " + log + " 2>&1"};
    // The second diagnostic is slow enough to be running when the signal comes.
    json m = json::parse(read_file(dir.file("out/manifest.json")));
    m["diagnostics"] = {{{"id", "simbi.ppc"}, {"config", {{"draws", 20}}}},
                        {{"id", "simbi.coverage"}, {"config", {{"pairs", 3000}, {"samples", 500}}}},
                        {{"id", "simbi.sbc"}, {"config", {{"pairs", 50}}}}};
    write_file(dir.file("out/manifest.json"), m.dump(2));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    pid_t pid;
    REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ) == 0);
    bool sent = false;
    for (int i = 0; i < 6000 && !sent; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (read_file(log).find("diagnose: simbi.ppc done") != std::string::npos) {
            ::kill(pid, SIGINT);
            sent = true;
        }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(sent);
    INFO(read_file(log));
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    CHECK_THAT(read_file(log), Catch::Contains("stopped: interrupted after"));
    CHECK(fs::exists(dir.file("out/diagnostics/simbi.ppc.json")));
    CHECK(!fs::exists(dir.file("out/diagnostics/simbi.sbc.json")));
}

TEST_CASE("trust 7.2: a rank 0 alone names the ranks it waits for and gives up after its timeout", "[faults][trust]") {
    TempDir dir;
    write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "sbibm.two_moons"},
        "simulation": {"budget": 2000, "chunk_rows": 500, "store": "s.h5"}, "output": "out"})");
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run_cli("simulate " + dir.file("m.json") + " -q", "SIMBI_RANK=0 SIMBI_RANKS=2 SIMBI_RANK_TIMEOUT_S=2");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("rank 0: waiting for rank 1 (0 of 2 chunks in " + dir.file("s.h5.journal.rank1-of-2)")));
    CHECK_THAT(r.output, Catch::Contains("gave up after 2 s without progress from rank 1"));
    CHECK(seconds_since(t0) < 30);
}
