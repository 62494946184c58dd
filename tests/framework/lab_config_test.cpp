// The lab configuration: settings with their sources, a cache shared by every run of one setup,
// and the refusals (unknown keys, files and caches other users can write).
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "../support.hpp"
#include "simbi_host/core/json_reader.hpp"

using simbi::host::json;
using simbi_test::run_cli;
using simbi_test::TempDir;
using simbi_test::write_file;

namespace {
// The environment of a user whose configuration is `file` alone (XDG_CONFIG_HOME in the temp dir).
std::string env_for(const TempDir& dir, const std::string& file) { return "XDG_CONFIG_HOME=" + dir.file("xdg") + " SIMBI_CONFIG=" + file; }
}  // namespace

TEST_CASE("config show names each setting's source, and a later file replaces an earlier one's key", "[lab]") {
    TempDir dir;
    std::filesystem::create_directories(dir.file("xdg/simbi"));
    write_file(dir.file("xdg/simbi/config.json"), R"({"threads": 2, "plugin_paths": ["plugins"]})");
    write_file(dir.file("lab.json"), R"({"threads": 1, "cache": "cache"})");
    auto r = run_cli("config show --json", env_for(dir, dir.file("lab.json")));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const json j = json::parse(r.output);
    CHECK(j["settings"]["threads"]["value"] == 1);
    CHECK(j["settings"]["threads"]["from"] == dir.file("lab.json"));
    CHECK(j["settings"]["plugin_paths"]["value"][0] == dir.file("xdg/simbi/plugins"));
    CHECK(j["settings"]["plugin_paths"]["from"] == dir.file("xdg/simbi/config.json"));
    CHECK(j["settings"]["cache"]["value"] == dir.file("cache"));
    auto text = run_cli("config show", env_for(dir, dir.file("lab.json")));
    CHECK_THAT(text.output, Catch::Contains("from " + dir.file("lab.json")));

    write_file(dir.file("typo.json"), R"({"thread": 2})");
    auto typo = run_cli("config show", env_for(dir, dir.file("typo.json")));
    CHECK(typo.exit_code == 2);
    CHECK_THAT(typo.output, Catch::Contains("/thread: unknown key"));
    CHECK_THAT(typo.output, Catch::Contains("did you mean 'threads'?"));

    ::chmod(dir.file("lab.json").c_str(), 0666);
    auto unsafe = run_cli("config show", env_for(dir, dir.file("lab.json")));
    CHECK(unsafe.exit_code != 0);
    CHECK_THAT(unsafe.output, Catch::Contains("refused to read the configuration"));
}

TEST_CASE("a lab cache serves every run of one setup, wherever its manifest lies", "[lab]") {
    TempDir dir;
    write_file(dir.file("lab.json"), R"({"cache": "cache"})");
    const std::string manifest = R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 500, "seed": 3}})";
    std::filesystem::create_directories(dir.file("alice"));
    std::filesystem::create_directories(dir.file("bob"));
    write_file(dir.file("alice/m.json"), manifest);
    write_file(dir.file("bob/m.json"), manifest);
    auto first = run_cli("run " + dir.file("alice/m.json"), env_for(dir, dir.file("lab.json")));
    INFO(first.output);
    REQUIRE(first.exit_code == 0);
    CHECK_THAT(first.output, Catch::Contains("simulate: wrote 500 rows in " + dir.file("cache/stores/")));
    auto second = run_cli("run " + dir.file("bob/m.json"), env_for(dir, dir.file("lab.json")));
    INFO(second.output);
    REQUIRE(second.exit_code == 0);
    CHECK_THAT(second.output, Catch::Contains("simulate: reused 500 rows in " + dir.file("cache/stores/")));
    CHECK_FALSE(std::filesystem::exists(dir.file("bob/sims.h5")));
    // A manifest that names its store keeps it there.
    write_file(dir.file("bob/own.json"),
               R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 500, "seed": 3, "store": "own.h5"}})");
    REQUIRE(run_cli("simulate " + dir.file("bob/own.json") + " -q", env_for(dir, dir.file("lab.json"))).exit_code == 0);
    CHECK(std::filesystem::exists(dir.file("bob/own.h5")));
    // A cache any user could write is refused.
    ::chmod(dir.file("cache").c_str(), 0777);
    auto open = run_cli("simulate " + dir.file("alice/m.json") + " -q", env_for(dir, dir.file("lab.json")));
    CHECK(open.exit_code == 1);
    CHECK_THAT(open.output, Catch::Contains("refused to use the lab cache " + dir.file("cache") + ": any user can write it"));
}
