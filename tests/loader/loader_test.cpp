// The loader against deliberately broken plugins, and its safety checks on file permissions.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "../support.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"
#include "simbi_host/core/sha256.hpp"
#include "simbi_host/store/store.hpp"

namespace fs = std::filesystem;
using namespace simbi::host;
using simbi_test::run_cli;

namespace {
std::string broken(const std::string& folder, const std::string& file) {
    return std::string(SIMBI_TEST_BROKEN_DIR) + "/" + folder + "/simbi_test_" + file + ".so";
}
std::string load_error(const std::string& path, bool allow_unsafe = false) {
    try {
        load_plugin_library(path, allow_unsafe);
    } catch (const RunError& e) {
        return e.what();
    }
    return "loaded";
}
}  // namespace

TEST_CASE("an ABI major mismatch is refused, naming both versions and the file", "[loader]") {
    std::string msg = load_error(broken("abi_mismatch", "abi_mismatch"));
    CHECK_THAT(msg, Catch::Contains("simbi_test_abi_mismatch.so") && Catch::Contains("ABI 99.0") && Catch::Contains("ABI 1."));
}

TEST_CASE("a library without the entry symbol is refused", "[loader]") {
    CHECK_THAT(load_error(broken("no_entry", "no_entry")), Catch::Contains("no entry symbol") && Catch::Contains("simbi_plugin_entry"));
}

TEST_CASE("a bad descriptor is refused with the reason", "[loader]") {
    CHECK_THAT(load_error(broken("bad_descriptor", "bad_descriptor")), Catch::Contains("bad id 'Bad Id!'"));
}

TEST_CASE("a duplicate id names both libraries", "[loader]") {
    RegistryOptions o;
    o.first_paths = {std::string(SIMBI_TEST_BROKEN_DIR) + "/duplicate"};
    PluginRegistry reg(o);
    REQUIRE(reg.problems().size() == 1);
    CHECK_THAT(reg.problems()[0], Catch::Contains("simbi_test_duplicate_a.so") && Catch::Contains("simbi_test_duplicate_b.so"));
    CHECK_THROWS_WITH(reg.find("test.duplicate"), Catch::Contains("duplicate plugin id 'test.duplicate'"));
    auto r = run_cli("plugins list --plugin-path " + o.first_paths[0]);
    CHECK_THAT(r.output, Catch::Contains("duplicate plugin id"));
}

TEST_CASE("a missing plugin lists the search path and what failed to load", "[loader]") {
    RegistryOptions o;
    o.first_paths = {std::string(SIMBI_TEST_BROKEN_DIR) + "/abi_mismatch"};
    PluginRegistry reg(o);
    CHECK_THROWS_WITH(reg.find("no.such_plugin"),
                      Catch::Contains("Searched:") && Catch::Contains("abi_mismatch") && Catch::Contains("ABI 99.0"));
}

TEST_CASE("a throwing simulator fails the run with exit code 1 and its message", "[loader]") {
    simbi_test::TempDir dir;
    simbi_test::write_file(dir.file("m.json"), std::string(R"({"simbi": 1, "plugin_paths": [")") + SIMBI_TEST_BROKEN_DIR +
                                                   R"(/throwing"], "simulator": {"id": "test.throwing"}, "simulation": {"budget": 10}})");
    auto r = run_cli("simulate " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("the solver diverged"));
}

TEST_CASE("a truncated library on the search path is reported, and the rest is listed", "[loader][scan]") {
    simbi_test::TempDir dir;
    fs::path folder = fs::path(dir.path()) / "plugins";
    fs::create_directories(folder);
    fs::permissions(folder, fs::perms(0755));
    const std::string whole = simbi_test::read_file(std::string(SIMBI_TEST_PLUGIN_DIR) + "/simbi_slcp.so");
    simbi_test::write_file((folder / "simbi_cut.so").string(), whole.substr(0, whole.size() / 3));
    fs::permissions(folder / "simbi_cut.so", fs::perms(0755));
    auto r = run_cli("plugins list --plugin-path " + folder.string());
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("simbi_cut.so") && Catch::Contains("warning:") && Catch::Contains("simbi.projectile"));
}

TEST_CASE("plugins are listed from their descriptor files without loading them", "[loader][scan]") {
    // Built plugins come with a descriptor file; listing reads those and opens no library.
    for (const char* lib : {"simbi_projectile", "simbi_npe"})
        CHECK(fs::exists(std::string(SIMBI_TEST_PLUGIN_DIR) + "/" + lib + ".simbi.json"));
    auto r = run_cli("plugins list", "LD_DEBUG=files");
    INFO(r.output.substr(0, 3000));
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("simbi.npe") != std::string::npos);
    CHECK(r.output.find("simbi_npe.so") != std::string::npos);                                 // in the listing
    CHECK(r.output.find("file=" SIMBI_TEST_PLUGIN_DIR "/simbi_npe.so") == std::string::npos);  // but never opened
    CHECK(r.output.find("libtorch") == std::string::npos);
    // A simulation maps its simulator's library and no LibTorch.
    simbi_test::TempDir dir;
    simbi_test::write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 100}})");
    r = run_cli("simulate " + dir.file("m.json") + " -q", "LD_DEBUG=files");
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("file=" SIMBI_TEST_PLUGIN_DIR "/simbi_projectile.so") != std::string::npos);
    CHECK(r.output.find("libtorch") == std::string::npos);
    CHECK(r.output.find("simbi_npe.so") == std::string::npos);
}

TEST_CASE("a descriptor file speaks only for the bytes it names: a changed library is described again", "[loader][scan]") {
    simbi_test::TempDir dir;
    fs::path folder = fs::path(dir.path()) / "plugins";
    fs::create_directories(folder);
    fs::permissions(folder, fs::perms(0755));
    fs::copy_file(std::string(SIMBI_TEST_TOY_DIR) + "/simbi_test_gaussian_1d.so", folder / "simbi_p.so");
    fs::permissions(folder / "simbi_p.so", fs::perms(0755));
    REQUIRE(
        run_cli("plugins describe " + (folder / "simbi_p.so").string() + " --out " + (folder / "simbi_p.simbi.json").string()).exit_code ==
        0);
    const std::string described = json::parse(simbi_test::read_file((folder / "simbi_p.simbi.json").string()))["sha256"].get<std::string>();
    // The same size, other bytes, the old descriptor file: the listing, the pin check and the
    // store all see the bytes that are there.
    std::string bytes = simbi_test::read_file((folder / "simbi_p.so").string());
    bytes[bytes.size() - 10] ^= 0x01;
    simbi_test::write_file((folder / "simbi_p.so").string(), bytes);
    const std::string now = simbi::host::sha256_file((folder / "simbi_p.so").string());
    REQUIRE(now != described);
    auto info = run_cli("plugins info test.gaussian_1d --json --plugin-path " + folder.string());
    REQUIRE(info.exit_code == 0);
    CHECK(json::parse(info.output)["sha256"] == now);
    simbi_test::write_file(dir.file("m.json"), R"({"simbi": 1, "plugin_paths": ["plugins"], "simulator": {"id": "test.gaussian_1d"},
        "simulation": {"budget": 100, "store": "s.h5"}})");
    auto r = run_cli("simulate " + dir.file("m.json") + " -q");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(simbi::host::DatasetReader(dir.file("s.h5")).attributes()["simulator_sha256"] == now);
    // Loading checks the bytes it maps against the hash a run planned with.
    CHECK_THROWS_WITH(load_plugin_library((folder / "simbi_p.so").string(), false, described),
                      Catch::Contains("its SHA-256 is " + now + ", not the " + described));
}

TEST_CASE("plugins that other users could replace are refused unless allowed", "[loader][safety]") {
    simbi_test::TempDir dir;
    fs::path folder = fs::path(dir.path()) / "plugins";
    fs::create_directories(folder);
    fs::permissions(folder, fs::perms(0755));
    fs::path lib = folder / "simbi_projectile.so";
    fs::copy_file(std::string(SIMBI_TEST_PLUGIN_DIR) + "/simbi_projectile.so", lib);
    fs::permissions(lib, fs::perms(0755));
    CHECK(load_error(lib.string()) == "loaded");

    fs::path writable = folder / "simbi_two_moons_w.so";
    fs::copy_file(std::string(SIMBI_TEST_PLUGIN_DIR) + "/simbi_two_moons.so", writable);
    fs::permissions(writable, fs::perms(0757));
    CHECK_THAT(load_error(writable.string()), Catch::Contains("writable by other users") && Catch::Contains("simbi_two_moons_w.so") &&
                                                  Catch::Contains("fix: chmod go-w " + writable.string()));
    CHECK(load_error(writable.string(), true) == "loaded");
    // Group-writable is said as such.
    fs::permissions(writable, fs::perms(0775));
    CHECK_THAT(unsafe_reason(writable.string()), Catch::Contains("writable by its group;") && Catch::Contains("chmod go-w"));
    fs::permissions(writable, fs::perms(0777));
    CHECK_THAT(unsafe_reason(writable.string()), Catch::Contains("writable by its group and other users"));
    fs::permissions(writable, fs::perms(0757));

    fs::path open_dir = fs::path(dir.path()) / "open";
    fs::create_directories(open_dir);
    fs::copy_file(std::string(SIMBI_TEST_PLUGIN_DIR) + "/simbi_slcp.so", open_dir / "simbi_slcp.so");
    fs::permissions(open_dir / "simbi_slcp.so", fs::perms(0755));
    fs::permissions(open_dir, fs::perms(0777));
    CHECK_THAT(unsafe_reason((open_dir / "simbi_slcp.so").string()), Catch::Contains("its folder"));
    // A sticky folder, like /tmp, is no reason to refuse.
    fs::permissions(open_dir, fs::perms(01777));
    CHECK(unsafe_reason((open_dir / "simbi_slcp.so").string()).empty());

    auto r = run_cli("plugins list --plugin-path " + folder.string());
    CHECK_THAT(r.output, Catch::Contains("refused to load"));
    auto ok = run_cli("plugins list --allow-unsafe-plugins --plugin-path " + folder.string());
    CHECK_THAT(ok.output, Catch::Contains("simbi_two_moons_w.so"));
}

TEST_CASE("plugins built against ABI 1.0, 1.1, this minor and a later minor all load and run", "[loader][abi]") {
    for (const char* minor : {"0", "1", "2", "9"}) {
        INFO("minor " << minor);
        const std::string id = std::string("abi.minor") + minor;
        simbi_test::TempDir dir;
        simbi_test::write_file(dir.file("m.json"), std::string(R"({"simbi": 1, "plugin_paths": [")") + SIMBI_TEST_ABI_VERSIONS_DIR +
                                                       R"("], "simulator": {"id": ")" + id + R"("}, "simulation": {"budget": 500}})");
        auto info = run_cli("plugins info " + id + " --plugin-path " SIMBI_TEST_ABI_VERSIONS_DIR);
        INFO(info.output);
        CHECK(info.exit_code == 0);
        CHECK_THAT(info.output, Catch::Contains(std::string("abi:         1.") + minor));
        auto r = run_cli("simulate " + dir.file("m.json") + " -q");
        INFO(r.output);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.output, Catch::Contains("wrote 500 rows"));
        // Loaded in this process too, where the descriptor's size decides what is read.
        auto plugins = load_plugin_library(std::string(SIMBI_TEST_ABI_VERSIONS_DIR) + "/simbi_test_abi_minor" + minor + ".so", false);
        REQUIRE(plugins.size() == 1);
        CHECK(plugins[0].id == id);
        CHECK(plugins[0].training_schema_json.empty());
        CHECK(plugins[0].capabilities == 0);  // read only where the descriptor holds it
        CHECK(plugins[0].abi_minor == uint32_t(std::stoi(minor)));
    }
}
