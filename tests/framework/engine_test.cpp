// The simulation engine: same seed, same rows, whatever the threads or batch size; the invalid-row
// policies; plugin failures become errors.
#include "simbi_host/pipeline/simulation_engine.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"

using namespace simbi::host;

namespace {
const PluginInfo& find_plugin(const std::string& folder, const std::string& id) {
    static std::vector<std::unique_ptr<PluginRegistry>> keep;
    RegistryOptions o;
    o.first_paths = {folder};
    keep.push_back(std::make_unique<PluginRegistry>(o));
    return keep.back()->find(id);
}

ChunkRows simulate(const PluginInfo& info, unsigned threads, uint64_t batch, InvalidPolicy policy, uint64_t first, uint64_t n) {
    HostServices host;
    auto prior = parse_prior_json(info.default_prior_json, "default");
    SimulatorInstances sims(info, "{}", host, threads);
    EngineOptions o;
    o.seed = 99;
    o.threads = threads;
    o.batch_rows = batch;
    o.invalid = policy;
    SimulationEngine engine(*prior, sims, o);
    return engine.run(first, n);
}
}  // namespace

TEST_CASE("rows do not depend on threads, batch size or chunking", "[framework][engine]") {
    const PluginInfo& p = find_plugin(SIMBI_TEST_PLUGIN_DIR, "sbibm.two_moons");
    ChunkRows ref = simulate(p, 1, 1, InvalidPolicy::Drop, 0, 3000);
    for (unsigned threads : {1u, 2u, 3u})
        for (uint64_t batch : {1u, 7u, 1024u}) {
            ChunkRows r = simulate(p, threads, batch, InvalidPolicy::Drop, 0, 3000);
            CHECK(r.theta == ref.theta);
            CHECK(r.x == ref.x);
        }
    // Rows 1000..1999 computed alone equal the same rows of the whole.
    ChunkRows part = simulate(p, 2, 64, InvalidPolicy::Drop, 1000, 1000);
    CHECK(std::equal(part.x.begin(), part.x.end(), ref.x.begin() + 2000));
}

TEST_CASE("invalid rows are dropped, resampled or fatal, and counted", "[framework][engine]") {
    const PluginInfo& p = find_plugin(SIMBI_TEST_BROKEN_DIR "/nan_output", "test.nan_output");
    const uint64_t n = 20000;
    ChunkRows drop = simulate(p, 2, 64, InvalidPolicy::Drop, 0, n);
    // 30% NaN plus 10% flagged invalid: the kept fraction is 0.6 within 5 standard errors.
    double sd = std::sqrt(0.6 * 0.4 / n);
    CHECK(std::fabs(double(drop.kept) / n - 0.6) < 5 * sd);
    CHECK(drop.kept + drop.invalid == n);
    for (double v : drop.x) REQUIRE(std::isfinite(v));

    ChunkRows res = simulate(p, 2, 64, InvalidPolicy::Resample, 0, n);
    CHECK(res.kept == n);
    CHECK(res.resampled == drop.invalid);
    for (double v : res.x) REQUIRE(std::isfinite(v));
    ChunkRows res1 = simulate(p, 1, 5, InvalidPolicy::Resample, 0, n);
    CHECK(res1.x == res.x);

    CHECK_THROWS_WITH(simulate(p, 2, 64, InvalidPolicy::Fail, 0, n), Catch::Contains("row ") && Catch::Contains("\"fail\""));
}

TEST_CASE("a throwing simulator becomes an error naming the plugin and its message", "[framework][engine]") {
    const PluginInfo& p = find_plugin(SIMBI_TEST_BROKEN_DIR "/throwing", "test.throwing");
    CHECK_THROWS_WITH(simulate(p, 2, 16, InvalidPolicy::Drop, 0, 100),
                      Catch::Contains("test.throwing") && Catch::Contains("the solver diverged"));
}
