// Manifests: a table of malformed manifests, each exit code 2 with a message naming the JSON path;
// overrides; relative paths.
#include "simbi_host/pipeline/manifest.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "../harness/in_process.hpp"
#include "../support.hpp"
#include "simbi_host/core/errors.hpp"

using simbi_test::run_cli;
using simbi_test::TempDir;

namespace {
const char* kGood = R"({
  "simbi": 1,
  "simulator": {"id": "simbi.projectile", "config": {}},
  "simulation": {"budget": 100, "seed": 3, "store": "sims.h5"},
  "observation": {"x": [38.2]},
  "output": "out"
})";
}

TEST_CASE("malformed manifests exit with 2 and name the JSON path", "[framework][manifest]") {
    struct Case {
        const char* text;
        const char* expect;  // a fragment of the message
    };
    const Case cases[] = {
        {"{", "not valid JSON"},
        {"[1, 2]", "expected an object"},
        {R"({"simulator": {"id": "simbi.projectile"}})", "/simbi"},
        {R"({"simbi": 2, "simulator": {"id": "simbi.projectile"}})", "/simbi: expected 1"},
        {R"({"simbi": 1})", "/simulator: expected an object"},
        {R"({"simbi": 1, "simulator": {"idd": "simbi.projectile"}})", "/simulator/id"},
        {R"({"simbi": 1, "simulator": {"id": 5}})", "/simulator/id: expected a string, got 5"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile", "confg": {}}})", "/simulator/confg: unknown key"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulaton": {}})", "/simulaton: unknown key"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulaton": {}})", "did you mean 'simulation'?"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "priors": {}})",
         "(expected one of: allow_unsafe_plugins, assimilation, diagnostics, estimator, inference, observation, output, plugin_paths, "
         "prior, simbi, simulation, "
         "simulator); did you mean 'prior'?"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectil"}})",
         "no plugin with id 'simbi.projectil' was found; did you mean 'simbi.projectile'?"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": -5}})",
         "/simulation/budget: expected a positive integer"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": "many"}})", "/simulation/budget"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"invalid": "ignore"}})",
         "/simulation/invalid: expected one of"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"dtype": "float16"}})", "/simulation/dtype"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "prior": {"type": "box_uniform", "low": [0], "high": [1]}})",
         "/prior: has 1 dimensions but simulator 'simbi.projectile' takes 2"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "prior": {"type": "uniform"}})", "/prior/type"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile", "config": {"dtt": 0.1}}})",
         "/simulator/config/dtt: unknown config key for plugin 'simbi.projectile' (accepted: dt, g)"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile", "config": {"dt": "small"}}})", "/simulator/config/dt: expected a number"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "observation": {"x": [1, "a"]}})", "/observation/x/1"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "observation": {}})", "/observation: expected exactly one"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "estimator": {"id": "x.y", "training": {"seed": 3}}})",
         "write it as /estimator/seed"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "diagnostics": {"id": "x"}})", "/diagnostics: expected an array"},
        {R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "plugin_paths": "plugins"})",
         "/plugin_paths: expected an array of strings"},
    };
    TempDir dir;
    for (const auto& c : cases) {
        INFO(c.text);
        simbi_test::write_file(dir.file("m.json"), c.text);
        auto r = run_cli("simulate " + dir.file("m.json") + " -q");
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.output, Catch::Contains(c.expect));
        CHECK_THAT(r.output, Catch::Contains("m.json"));
    }
}

TEST_CASE("an estimator's training settings are checked against its schema before simulating", "[framework][manifest]") {
    // The host knows no training key: simbi.npe's descriptor declares them with their bounds.
    struct Case {
        const char* training;
        const char* expect;
    };
    const Case cases[] = {
        {R"({"patience": 0})", "/estimator/training/patience: expected an integer at least 1, got 0"},
        {R"({"validation_fraction": 1.5})", "/estimator/training/validation_fraction: expected a number below 1, got 1.5"},
        {R"({"max_epochs": "many"})", "/estimator/training/max_epochs: expected an integer"},
        {R"({"patiense": 3})", "/estimator/training/patiense: unknown training key for plugin 'simbi.npe' (accepted: average, batch_size"},
        {R"({"patiense": 3})", "did you mean 'patience'?"},
    };
    TempDir dir;
    for (const auto& c : cases) {
        INFO(c.training);
        simbi_test::write_file(dir.file("m.json"),
                               std::string(R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 100},
            "estimator": {"id": "simbi.npe", "training": )") +
                                   c.training + R"(}, "observation": {"x": [38.2]}})");
        auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.output, Catch::Contains(c.expect));
        CHECK(!std::filesystem::exists(dir.file("sims.h5")));
    }
}

TEST_CASE("a switched estimator drops only the replaced one's settings, and a typo stays an error", "[framework][manifest]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.projectile"}, "simulation": {"budget": 100},
        "estimator": {"id": "simbi.npe", "config": {"flow": "maf", "transforms": 3, "hiden": [32]}, "training": {"max_epochs": 5}},
        "observation": {"x": [38.2]}})");
    // simbi.npe takes no "hiden" either: the manifest is wrong whichever estimator runs it.
    auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --set estimator.id=simbi.nre");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output,
               Catch::Contains("note: estimator switched from 'simbi.npe' to 'simbi.nre'; dropped the settings only the first takes: "
                               "config.flow, config.transforms"));
    CHECK_THAT(r.output, Catch::Contains("/estimator/config/hiden: unknown config key for plugin 'simbi.nre'"));
    CHECK_THAT(r.output, Catch::Contains("did you mean 'hidden'?"));
    CHECK(!std::filesystem::exists(dir.file("sims.h5")));
    // Unswitched, the same key is refused by simbi.npe.
    r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("/estimator/config/hiden: unknown config key for plugin 'simbi.npe'"));
}

TEST_CASE("usage errors exit with 2, and every command has --help", "[framework][cli]") {
    CHECK(run_cli("").exit_code == 2);
    CHECK(run_cli("frobnicate").exit_code == 2);
    CHECK(run_cli("simulate").exit_code == 2);
    CHECK(run_cli("simulate m.json --budget lots").exit_code == 2);
    CHECK(run_cli("simulate /nonexistent/m.json").exit_code == 2);
    for (const char* cmd : {"plugins list", "plugins info", "simulate", "dataset info", "run", "sample", "log-prob"}) {
        auto r = run_cli(std::string(cmd) + " --help");
        INFO(cmd);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.output, Catch::Contains("usage: simbi"));
    }
    auto v = run_cli("--version");
    CHECK(v.exit_code == 0);
    CHECK_THAT(v.output, Catch::Contains("plugin ABI:  1."));
    CHECK_THAT(v.output, Catch::Contains("build type:"));
    CHECK_THAT(v.output, Catch::Contains("LibTorch:"));
    CHECK_THAT(v.output, Catch::Contains("installed:"));
}

TEST_CASE("overrides set values by dotted path", "[framework][manifest]") {
    using simbi::host::apply_override;
    simbi::host::json doc = simbi::host::json::parse(kGood);
    apply_override(doc, "simulation.budget=5000");
    apply_override(doc, "estimator.id=simbi.nre");
    apply_override(doc, "observation.x=[0.1,0.2]");
    apply_override(doc, "simulation.invalid=resample");
    CHECK(doc["simulation"]["budget"] == 5000);
    CHECK(doc["estimator"]["id"] == "simbi.nre");
    CHECK(doc["observation"]["x"][1] == 0.2);
    CHECK(doc["simulation"]["invalid"] == "resample");
    CHECK_THROWS_AS(apply_override(doc, "novalue"), simbi::host::UsageError);
    CHECK_THROWS_AS(apply_override(doc, "simulation.budget.x=1"), simbi::host::UsageError);
}

TEST_CASE("relative paths resolve against the manifest's folder", "[framework][manifest]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), kGood);
    auto m = simbi::host::load_manifest(dir.file("m.json"));
    CHECK(m.simulation.store == dir.file("sims.h5"));
    CHECK(m.output == dir.file("out"));
    CHECK(m.simulation.budget == 100);
    REQUIRE(m.observation);
    CHECK((*m.observation)[0][0] == 38.2);
}
