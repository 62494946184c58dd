// Plugin bundles: the archive format, and pack, install, versions side by side and remove through
// the CLI, with every refusal leaving the plugin folder as it was.
#include <sys/stat.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "../support.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/core/sha256.hpp"
#include "simbi_host/core/tar_archive.hpp"
#include "simbi_host/plugins/plugin_bundle.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"

namespace fs = std::filesystem;
using namespace simbi::host;
using simbi_test::read_file;
using simbi_test::run_cli;
using simbi_test::TempDir;
using simbi_test::write_file;

namespace {

std::string versioned(int minor) {
    return std::string(SIMBI_TEST_BUILD_TESTS_DIR) + "/versioned" + std::to_string(minor) + "/simbi_test_versioned" +
           std::to_string(minor) + ".so";
}

// One ustar header with the given name and type, checksummed, followed by `data` and the end.
std::string hostile_tar(const std::string& name, char type, const std::string& data) {
    std::array<char, 512> h{};
    std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
    std::snprintf(&h[100], 8, "%07o", 0644);
    std::snprintf(&h[124], 12, "%011o", static_cast<unsigned>(data.size()));
    std::snprintf(&h[136], 12, "%011o", 0);
    h[156] = type;
    std::memcpy(&h[257], "ustar", 6);
    std::memcpy(&h[263], "00", 2);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    std::snprintf(&h[148], 8, "%06o", sum);
    h[155] = ' ';
    std::string out(h.data(), 512);
    out += data + std::string((512 - data.size() % 512) % 512, '\0') + std::string(1024, '\0');
    return out;
}

bool folder_is_empty(const std::string& path) { return !fs::exists(path) || fs::is_empty(path); }

}  // namespace

TEST_CASE("an archive round-trips its files, modes included", "[bundle]") {
    TempDir t;
    write_file(t.file("a.txt"), "alpha\n");
    write_file(t.file("run.sh"), std::string(1000, 'x'));
    ::chmod(t.file("run.sh").c_str(), 0755);
    write_tar(t.file("x.tar"), {{"a.txt", t.file("a.txt")}, {"bin/run.sh", t.file("run.sh")}});
    fs::create_directory(t.file("out"));
    const auto names = extract_tar(t.file("x.tar"), t.file("out"), 1 << 20);
    CHECK(names == std::vector<std::string>{"a.txt", "bin/run.sh"});
    CHECK(read_file(t.file("out/a.txt")) == "alpha\n");
    CHECK(read_file(t.file("out/bin/run.sh")) == std::string(1000, 'x'));
    CHECK((fs::status(t.file("out/bin/run.sh")).permissions() & fs::perms::owner_exec) != fs::perms::none);
    CHECK((fs::status(t.file("out/a.txt")).permissions() & fs::perms::owner_exec) == fs::perms::none);
    // The system tar reads it as a plain archive.
    CHECK(std::system(("tar -tf '" + t.file("x.tar") + "' > /dev/null").c_str()) == 0);
}

TEST_CASE("an archive cannot place a file outside its folder", "[bundle]") {
    CHECK(safe_archive_name("lib.so"));
    CHECK(safe_archive_name("data/table.csv"));
    for (const char* bad : {"../evil.so", "a/../../evil", "/etc/passwd", ".hidden", "a//b", "a/", "sp ace", "a\\b", ""}) {
        INFO(bad);
        CHECK_FALSE(safe_archive_name(bad));
    }
    TempDir t;
    fs::create_directory(t.file("into"));
    struct Case {
        std::string name;
        char type;
        const char* message;
    };
    for (const Case& c :
         {Case{"../escaped.txt", '0', "unsafe name"}, Case{"/tmp/escaped.txt", '0', "unsafe name"},
          Case{"link.so", '2', "not a regular file"}, Case{"hard.so", '1', "not a regular file"}, Case{"dev", '3', "not a regular file"}}) {
        INFO(c.name);
        write_file(t.file("h.tar"), hostile_tar(c.name, c.type, "payload"));
        CHECK_THROWS_WITH(extract_tar(t.file("h.tar"), t.file("into"), 1 << 20), Catch::Contains(c.message));
        CHECK(folder_is_empty(t.file("into")));
        CHECK_FALSE(fs::exists(t.path() + "/escaped.txt"));
    }
    std::string damaged = hostile_tar("ok.txt", '0', "payload");
    damaged[10] ^= 1;
    write_file(t.file("h.tar"), damaged);
    CHECK_THROWS_WITH(extract_tar(t.file("h.tar"), t.file("into"), 1 << 20), Catch::Contains("bad header checksum"));
    write_file(t.file("h.tar"), hostile_tar("big.bin", '0', std::string(2000, 'b')));
    CHECK_THROWS_WITH(extract_tar(t.file("h.tar"), t.file("into"), 1000), Catch::Contains("over the limit"));
}

TEST_CASE("versions live side by side: id is the newest, id@version the one named", "[bundle]") {
    TempDir t;
    const std::string dir = t.file("plugins");
    for (int minor : {0, 1}) {
        write_file(t.file("LICENSE"), "MIT\n");
        const auto packed = run_cli("plugins pack '" + versioned(minor) + "' --out '" +
                                    t.file("v" + std::to_string(minor) + ".simbi-bundle") + "' --license '" + t.file("LICENSE") + "'");
        REQUIRE(packed.exit_code == 0);
        CHECK_THAT(packed.output, Catch::Contains("packed toy.versioned@1." + std::to_string(minor) + ".0"));
        const auto installed =
            run_cli("plugins install '" + t.file("v" + std::to_string(minor) + ".simbi-bundle") + "' --dir '" + dir + "'");
        INFO(installed.output);
        REQUIRE(installed.exit_code == 0);
        CHECK(fs::is_regular_file(dir + "/toy.versioned@1." + std::to_string(minor) + ".0/LICENSE"));
    }
    // Installing the same bundle again changes nothing.
    const auto again = run_cli("plugins install '" + t.file("v1.simbi-bundle") + "' --dir '" + dir + "'");
    CHECK(again.exit_code == 0);
    CHECK_THAT(again.output, Catch::Contains("already installed"));

    PluginRegistry registry(RegistryOptions{{dir}, false});
    CHECK(registry.problems().empty());
    CHECK(registry.find("toy.versioned").version == "1.1.0");
    CHECK(registry.find("toy.versioned@1.0.0").version == "1.0.0");
    CHECK(registry.find("toy.versioned@1.0.0").origin == "manifest");
    CHECK_THROWS_WITH(registry.find("toy.versioned@2.0.0"), Catch::Contains("installed in version") && Catch::Contains("1.0.0"));
    const auto list = run_cli("plugins list --plugin-path '" + dir + "'");
    CHECK_THAT(list.output, Catch::Contains("1.0.0") && Catch::Contains("1.1.0") && Catch::Contains("ORIGIN"));

    // A manifest that names the old version runs it (x = theta), the bare id the new (x = theta + 10).
    for (const std::string id : {"toy.versioned@1.0.0", "toy.versioned"}) {
        write_file(t.file("m.json"), R"({"simbi": 1, "plugin_paths": [")" + dir + R"("], "simulator": {"id": ")" + id +
                                         R"("}, "simulation": {"budget": 50, "seed": 1}})");
        const auto sim = run_cli("simulate '" + t.file("m.json") + "' --at '[0.5]' --rows 3 --out '" + t.file("s.csv") + "' -q");
        INFO(sim.output);
        REQUIRE(sim.exit_code == 0);
        const std::string csv = read_file(t.file("s.csv"));
        const std::string row = csv.substr(csv.find('\n') + 1);
        const double x = std::stod(row.substr(row.rfind(',') + 1));
        CHECK((id == "toy.versioned" ? x > 9.0 : x < 1.0));
    }

    // Removing one version leaves the other; removing what is not there names what is.
    CHECK(run_cli("plugins remove toy.versioned@1.0.0 --dir '" + dir + "'").exit_code == 0);
    CHECK_FALSE(fs::exists(dir + "/toy.versioned@1.0.0"));
    const auto missing = run_cli("plugins remove toy.versioned@1.0.0 --dir '" + dir + "'");
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.output, Catch::Contains("toy.versioned@1.1.0"));
    CHECK(run_cli("plugins remove toy.versioned --dir '" + dir + "'").exit_code == 2);
    CHECK(PluginRegistry(RegistryOptions{{dir}, false}).find("toy.versioned").version == "1.1.0");
}

TEST_CASE("a damaged, foreign-ABI or failing bundle installs nothing", "[bundle]") {
    TempDir t;
    const std::string dir = t.file("plugins");
    REQUIRE(run_cli("plugins pack '" + versioned(0) + "' --out '" + t.file("good.simbi-bundle") + "'").exit_code == 0);
    fs::create_directory(t.file("parts"));
    const auto names = extract_tar(t.file("good.simbi-bundle"), t.file("parts"), uint64_t(1) << 30);
    // Installing bad.simbi-bundle fails (exit 1) with this message.
    auto install_refused = [&](const std::string& message) {
        const auto r = run_cli("plugins install '" + t.file("bad.simbi-bundle") + "' --dir '" + dir + "'");
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.output, Catch::Contains(message));
    };
    auto repack = [&](const std::string& out) {
        std::vector<TarEntry> entries;
        for (const auto& n : names) entries.push_back({n, t.file("parts/" + n)});
        write_tar(out, entries);
    };

    SECTION("a changed byte in the library") {
        const std::string lib = t.file("parts/simbi_test_versioned0.so");
        std::string bytes = read_file(lib);
        bytes[bytes.size() / 2] ^= 0x5a;
        write_file(lib, bytes);
        repack(t.file("bad.simbi-bundle"));
        install_refused("simbi_test_versioned0.so does not match its checksum");
    }
    SECTION("another ABI major") {
        json b = json::parse(read_file(t.file("parts/bundle.json")));
        b["abi"] = "2.0";
        write_file(t.file("parts/bundle.json"), b.dump());
        repack(t.file("bad.simbi-bundle"));
        install_refused("built for the plugin ABI 2.0");
    }
    SECTION("a descriptor that does not describe the library") {
        const std::string desc = t.file("parts/simbi_test_versioned0.simbi.json");
        json d = json::parse(read_file(desc));
        d["plugins"][0]["id"] = "toy.impostor";
        write_file(desc, d.dump(2));
        json b = json::parse(read_file(t.file("parts/bundle.json")));
        for (auto& f : b["files"])
            if (f["name"] == "simbi_test_versioned0.simbi.json") {
                f["sha256"] = simbi::host::sha256_file(desc);
                f["size"] = fs::file_size(desc);
            }
        write_file(t.file("parts/bundle.json"), b.dump());
        repack(t.file("bad.simbi-bundle"));
        install_refused("does not describe its library");
    }
    SECTION("a plugin that fails the conformance checks") {
        const std::string lib = std::string(SIMBI_TEST_BROKEN_DIR) + "/throwing/simbi_test_throwing.so";
        REQUIRE(run_cli("plugins pack '" + lib + "' --out '" + t.file("bad.simbi-bundle") + "'").exit_code == 0);
        install_refused("conformance checks failed");
    }
    SECTION("a file the bundle does not list") {
        write_file(t.file("parts/extra.txt"), "not listed");
        std::vector<TarEntry> entries;
        for (const auto& n : names) entries.push_back({n, t.file("parts/" + n)});
        entries.push_back({"extra.txt", t.file("parts/extra.txt")});
        write_tar(t.file("bad.simbi-bundle"), entries);
        install_refused("extra.txt, which bundle.json does not list");
    }
    // Nothing landed, and no staging folder was left behind.
    CHECK(folder_is_empty(dir));
}

TEST_CASE("a bridge simulator packs and installs with the files it runs", "[bundle]") {
    TempDir t;
    const std::string dir = t.file("plugins");
    const std::string def = std::string(SIMBI_TEST_SOURCE_DIR) + "/samples/perl_bridge/gauss.bridge.json";
    const auto packed = run_cli("plugins pack '" + def + "' --out '" + t.file("gauss.simbi-bundle") + "'");
    INFO(packed.output);
    REQUIRE(packed.exit_code == 0);
    const auto installed = run_cli("plugins install '" + t.file("gauss.simbi-bundle") + "' --dir '" + dir + "'");
    INFO(installed.output);
    REQUIRE(installed.exit_code == 0);
    CHECK(fs::is_regular_file(dir + "/perl.gauss@1.0.0/gauss.pl"));
    CHECK(fs::is_regular_file(dir + "/perl.gauss@1.0.0/example.json"));
    PluginRegistry registry(RegistryOptions{{dir}, false});
    CHECK(registry.find("perl.gauss").path == fs::canonical(dir).string() + "/perl.gauss@1.0.0/gauss.bridge.json");
}
