// The conformance suite: every plugin that is found must pass it. Run it over extra folders with
// SIMBI_PLUGIN_PATH=... simbi_tests "[conformance]".
#include <catch2/catch.hpp>
#include <regex>
#include <set>

#include "simbi_host/errors.hpp"
#include "simbi_host/host_services.hpp"
#include "simbi_host/json_reader.hpp"
#include "simbi_host/plugin_registry.hpp"
#include "simbi_host/prior.hpp"
#include "simbi_host/simulation_engine.hpp"

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
        CHECK(schema.is_object());
        for (auto it = schema.begin(); it != schema.end(); ++it) CHECK(it.value().contains("type"));
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
        void* obj = p.factory->create(p.factory, host.c_host(), p.id.c_str(), R"({"no_such_key_zzz": 1})", &err);
        CHECK(obj == nullptr);
        CHECK(err.status != SIMBI_OK);
        CHECK(std::string(buf).size() > 0);
        err.status = SIMBI_OK;
        CHECK(p.factory->create(p.factory, host.c_host(), p.id.c_str(), "{not json", &err) == nullptr);
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
