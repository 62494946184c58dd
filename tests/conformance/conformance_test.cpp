// The conformance suite: every plugin that is found must pass it. Run it over extra folders with
// SIMBI_PLUGIN_PATH=... simbi_tests "[conformance]".
#include <catch2/catch.hpp>
#include <regex>
#include <set>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"
#include "simbi_host/plugins/plugin_scan.hpp"
#include "simbi_host/plugins/plugin_settings.hpp"
#include "simbi_host/core/prior.hpp"
#include "simbi_host/pipeline/simulation_engine.hpp"

using namespace simbi::host;

namespace {
const PluginRegistry& registry() {
    static PluginRegistry reg([] {
        RegistryOptions o;
        o.first_paths = {SIMBI_TEST_PLUGIN_DIR};
        return o;
    }());
    return reg;
}

ChunkRows run_rows(const PluginInfo& p, unsigned threads, uint64_t batch, uint64_t n) {
    HostServices host;
    auto prior = parse_prior_json(p.default_prior_json, p.id);
    SimulatorInstances sims(p, "{}", host, threads);
    EngineOptions o;
    o.seed = 2024;
    o.threads = threads;
    o.batch_rows = batch;
    SimulationEngine engine(*prior, sims, o);
    return engine.run(0, n);
}
}  // namespace

TEST_CASE("conformance: plugins were found", "[conformance]") {
    CHECK(registry().plugins().size() >= 8);
    for (const auto& p : registry().problems()) WARN(p);
}

TEST_CASE("conformance: descriptors are sane", "[conformance]") {
    static const std::regex id_re("[a-z0-9_-]+(\\.[a-z0-9_-]+)+");
    for (const auto& p : registry().plugins()) {
        INFO(p.id << " from " << p.path);
        CHECK(std::regex_match(p.id, id_re));
        CHECK_FALSE(p.name.empty());
        CHECK_FALSE(p.version.empty());
        CHECK_FALSE(p.description.empty());
        CHECK(p.abi_major == SIMBI_ABI_MAJOR);
        json schema = json::parse(p.config_schema_json);
        CHECK(schema.value("type", "") == "object");
        CHECK(schema.value("additionalProperties", true) == false);
        json properties = schema_properties(p.config_schema_json);
        for (auto it = properties.begin(); it != properties.end(); ++it) {
            INFO("setting " << it.key());
            CHECK(it.value().contains("type"));
            CHECK_FALSE(it.value().value("description", "").empty());
        }
        if (p.kind != SIMBI_KIND_SIMULATOR) continue;
        std::set<std::string> names(p.param_names.begin(), p.param_names.end());
        CHECK(names.size() == p.param_names.size());
        for (const auto& n : p.param_names) CHECK_FALSE(n.empty());
        CHECK(p.output_dim > 0);
        REQUIRE_FALSE(p.default_prior_json.empty());
        auto prior = parse_prior_json(p.default_prior_json, p.id);
        CHECK(prior->dim() == p.param_names.size());
    }
}

TEST_CASE("conformance: output is identical across batch sizes and threads", "[conformance]") {
    for (const auto& p : registry().plugins()) {
        if (p.kind != SIMBI_KIND_SIMULATOR) continue;
        INFO(p.id);
        const uint64_t n = 1500;
        ChunkRows ref = run_rows(p, 1, 1, n);
        CHECK(ref.kept > 0);
        for (auto [threads, batch] : {std::pair<unsigned, uint64_t>{1, 7}, {1, 1024}, {2, 1}, {2, 7}, {2, 1024}}) {
            ChunkRows r = run_rows(p, threads, batch, n);
            CHECK(r.theta == ref.theta);
            CHECK(r.x == ref.x);
            CHECK(r.invalid == ref.invalid);
        }
    }
}

TEST_CASE("conformance: a bad config gives an error status with a message", "[conformance]") {
    HostServices host;
    for (const auto& p : registry().plugins()) {
        INFO(p.id);
        char buf[512] = {0};
        simbi_error err{sizeof(simbi_error), SIMBI_OK, 0, buf, sizeof buf};
        const simbi_factory* factory = simbi::host::plugin_factory(p);
        void* obj = factory->create(factory, host.c_host(), p.id.c_str(), R"({"no_such_key_zzz": 1})", &err);
        CHECK(obj == nullptr);
        CHECK(err.status != SIMBI_OK);
        CHECK(std::string(buf).size() > 0);
        err.status = SIMBI_OK;
        CHECK(factory->create(factory, host.c_host(), p.id.c_str(), "{not json", &err) == nullptr);
        CHECK(err.status != SIMBI_OK);
    }
}

TEST_CASE("conformance: n = 0 is handled", "[conformance]") {
    HostServices host;
    for (const auto& p : registry().plugins()) {
        if (p.kind != SIMBI_KIND_SIMULATOR) continue;
        INFO(p.id);
        SimulatorInstances sims(p, "{}", host, 1);
        simbi_simulator* s = sims.for_thread(0);
        ErrorBuffer eb;
        CHECK(s->simulate(s, 0, nullptr, 1, 0, nullptr, nullptr, eb.get()) == SIMBI_OK);
    }
}

// ---- estimators: train briefly, sample, evaluate, and survive a save/load round trip.
#include <cmath>
#include <filesystem>

#include "../support.hpp"
#include "simbi_host/pipeline/pipeline.hpp"
#include "simbi_host/pipeline/simulate_stage.hpp"
#include "simbi_host/plugins/assimilator_instance.hpp"

// Simulates a manifest's dataset (quietly); returns its store.
std::string simulate_manifest(const std::string& manifest, const HostServices& host) {
    Manifest m = load_manifest(manifest);
    SimulateOptions so;
    so.quiet = true;
    run_simulation(plan_simulation(m, registry()), host, so);
    return m.simulation.store;
}

TEST_CASE("conformance: estimators train, sample, evaluate and round-trip their artifacts", "[conformance][estimators]") {
    simbi_test::TempDir dir;
    simbi_test::write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "sbibm.two_moons"},
        "simulation": {"budget": 600, "seed": 4, "store": "s.h5"}})");
    HostServices host;
    host.set_quiet(true);
    DatasetReader data(simulate_manifest(dir.file("m.json"), host));
    auto prior = parse_prior_json(registry().find("sbibm.two_moons").default_prior_json, "prior");
    const std::vector<std::vector<double>> obs{{0.1, -0.05}};
    int estimators = 0;
    for (const auto& p : registry().plugins()) {
        if (p.kind != SIMBI_KIND_ESTIMATOR) continue;
        ++estimators;
        INFO(p.id);
        EstimatorInstance est(p, json::object(), host);
        CHECK_THROWS_AS(est.sample(obs, 4, 1, 2), RunError);  // not trained yet: an error, not a crash
        // Training settings are the plugin's: it rejects a key it does not declare, and a short
        // training is asked for through the keys it declares.
        CHECK_THROWS_AS(est.train(data, *prior, json{{"no_such_setting_zzz", 1}}, "", 1), RunError);
        json training = json::object();
        const json schema = json::parse(p.training_schema_json.empty() ? "{}" : p.training_schema_json);
        for (const char* key : {"max_epochs", "patience"})
            if (schema.contains(key)) training[key] = 2;
        est.train(data, *prior, training, "", 1);
        std::vector<double> s = est.sample(obs, 64, 5, 2);
        REQUIRE(s.size() == 128);
        for (size_t i = 0; i < 64; ++i) {
            CHECK(std::isfinite(s[2 * i]));
            CHECK(prior->in_support(&s[2 * i]));
        }
        std::vector<double> xs;
        for (int i = 0; i < 64; ++i) xs.insert(xs.end(), obs[0].begin(), obs[0].end());
        std::vector<double> lp = est.log_prob(s, xs, 64);
        for (double v : lp) CHECK(std::isfinite(v));
        CHECK(est.sample(obs, 0, 5, 2).empty());
        CHECK(est.log_prob({}, {}, 0).empty());
        // Draws for three observations in one call (ABI 1.3, or the host's fallback):
        // deterministic, finite and inside the prior's support.
        const std::vector<double> three{0.1, -0.05, 0.3, 0.2, -0.2, 0.0};
        const std::vector<double> batch = est.sample_batch(three, 3, 48, 9, 2);
        REQUIRE(batch.size() == 3 * 48 * 2);
        for (size_t i = 0; i < 3 * 48; ++i) {
            CHECK(std::isfinite(batch[2 * i]));
            CHECK(prior->in_support(&batch[2 * i]));
        }
        CHECK(est.sample_batch(three, 3, 48, 9, 2) == batch);

        const std::string art = dir.file(p.id);
        est.save(art);
        EstimatorInstance loaded(p, json::object(), host);
        loaded.set_prior(*prior);  // as the host does before load (ABI 1.1)
        loaded.load(art);
        CHECK(loaded.sample(obs, 64, 5, 2) == s);
        CHECK(loaded.log_prob(s, xs, 64) == lp);
        CHECK(loaded.sample_batch(three, 3, 48, 9, 2) == batch);
        EstimatorInstance other(p, json::object(), host);
        other.set_prior(*prior);
        CHECK_THROWS_AS(other.load(dir.file("nowhere")), RunError);
    }
#ifdef SIMBI_TEST_WITH_TORCH
    CHECK(estimators >= 4);
#endif
}

TEST_CASE("conformance: assimilators train, sample deterministically and round-trip their state", "[conformance][assimilators]") {
    simbi_test::TempDir dir;
    simbi_test::write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "simbi.lorenz63"},
        "prior": {"type": "point", "at": [10, 28, 2.6666667]},
        "simulation": {"budget": 16, "seed": 4, "store": "s.h5", "dtype": "float64"}})");
    HostServices host;
    host.set_quiet(true);
    DatasetReader data(simulate_manifest(dir.file("m.json"), host));
    const PluginInfo& sim = registry().find("simbi.lorenz63");
    REQUIRE(sim.output_shape.size() == 2);
    const uint64_t d = sim.output_shape[0], steps = sim.output_shape[1];
    ObservedEntries obs;
    obs.length = 12;
    obs.state_dim = d;
    obs.index = {0, 6 * d};
    obs.y = {1.0, 2.0};
    obs.sigma = 0.5;
    int assimilators = 0;
    for (const auto& p : registry().plugins()) {
        if (p.kind != SIMBI_KIND_ASSIMILATOR) continue;
        ++assimilators;
        INFO(p.id);
        AssimilatorInstance a(p, json::object(), host);
        CHECK_THROWS_AS(a.sample(obs, 2, 1), RunError);  // not trained yet: an error, not a crash
        CHECK_THROWS_AS(a.train(data, d, steps, json{{"no_such_setting_zzz", 1}}, "", 1), RunError);
        json training = json::object();
        const json schema = schema_properties(p.training_schema_json);
        for (const char* key : {"epochs", "max_epochs"})
            if (schema.contains(key)) training[key] = 1;
        a.train(data, d, steps, training, "", 1);
        const std::vector<double> x = a.sample(obs, 3, 5);
        REQUIRE(x.size() == 3 * obs.length * d);
        for (double v : x) CHECK(std::isfinite(v));
        CHECK(a.sample(obs, 3, 5) == x);
        ObservedEntries none = obs;
        none.index.clear();
        none.y.clear();
        CHECK(a.sample(none, 2, 5).size() == 2 * obs.length * d);  // nothing observed: prior trajectories
        const std::string saved = dir.file(p.id);
        std::filesystem::create_directories(saved);
        a.save(saved);
        AssimilatorInstance loaded(p, json::object(), host);
        loaded.load(saved);
        CHECK(loaded.sample(obs, 3, 5) == x);
        AssimilatorInstance other(p, json::object(), host);
        CHECK_THROWS_AS(other.load(dir.file("nowhere")), RunError);
    }
#ifdef SIMBI_TEST_WITH_TORCH
    CHECK(assimilators >= 1);
#endif
}
