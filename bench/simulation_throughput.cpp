// Simulation throughput: the plugin path (loaded library, engine, prior, validity checks) against
// the same simulate function called directly in a plain loop on one thread, and 2 threads
// against 1. Targets: plugin/direct >= 0.97, 2 threads/1 thread >= 1.85. Also the cost of the
// engine's buffer guards (a copy of theta, guard values after x), as guarded/unguarded, and of
// process isolation at batch 1024, as isolated/in-process throughput (target >= 0.9).
//
// usage: bench_simulation [rows per measurement, default 400000] [repeats, default 5]
#define SIMBI_NO_ENTRY
#include "simulators/projectile/projectile.cpp"
#include "simulators/two_moons/two_moons.cpp"
#undef SIMBI_NO_ENTRY

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"
#include "simbi_host/core/prior.hpp"
#include "simbi_host/pipeline/simulation_engine.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"

using namespace simbi::host;
using Clock = std::chrono::steady_clock;

namespace {
double volatile sink = 0;

template <class Sim>
double direct_loop(const Prior& prior, uint64_t rows, uint64_t seed) {
    Sim sim{simbi::Config("{}", Sim::info().config_schema())};  // the declared defaults
    const size_t d = prior.dim();
    double theta[16], x[16];
    auto t0 = Clock::now();
    double acc = 0;
    for (uint64_t i = 0; i < rows; ++i) {
        simbi_rng prng;
        simbi_rng_init(&prng, SimulationEngine::prior_seed(seed, 0), i);
        prior.sample(prng, theta);
        simbi::Rng rng(SimulationEngine::simulator_seed(seed, 0), i);
        sim.simulate(theta, rng, x);
        acc += x[0] + theta[d - 1];
    }
    sink = acc;
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double plugin_path(const PluginInfo& info, const Prior& prior, unsigned threads, uint64_t rows, uint64_t seed, bool guards = true,
                   bool isolated = false, uint64_t batch_rows = 64) {
    HostServices host;
    IsolationOptions iso;
    iso.command = {SIMBI_BENCH_SIMBI_BINARY, "worker", "--library", info.path, "--id", info.id, "--sha256", info.sha256()};
    iso.theta_dim = info.param_names.size();
    iso.x_dim = info.output_dim;
    iso.what = info.id;
    auto owned = isolated ? std::make_unique<SimulatorInstances>(info, threads, iso)
                          : std::make_unique<SimulatorInstances>(info, "{}", host, threads);
    const SimulatorInstances& sims = *owned;
    EngineOptions o;
    o.seed = seed;
    o.threads = threads;
    o.batch_rows = batch_rows;
    o.guard_buffers = guards;
    SimulationEngine engine(prior, sims, o);
    const uint64_t chunk = 16384;
    auto t0 = Clock::now();
    double acc = 0;
    ChunkRows r;
    for (uint64_t first = 0; first < rows; first += chunk) {
        engine.run(first, std::min(chunk, rows - first), r);
        acc += r.x[0];
    }
    sink = acc;
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

template <class Sim>
void bench(const PluginRegistry& reg, const char* id, uint64_t rows, int repeats) {
    const PluginInfo& info = reg.find(id);
    auto prior = parse_prior_json(info.default_prior_json, id);
    double direct = 1e30, one = 1e30, two = 1e30, unguarded = 1e30;
    for (int r = 0; r < repeats; ++r) {  // interleaved, best of each
        direct = std::min(direct, direct_loop<Sim>(*prior, rows, 7));
        one = std::min(one, plugin_path(info, *prior, 1, rows, 7));
        two = std::min(two, plugin_path(info, *prior, 2, rows, 7));
        unguarded = std::min(unguarded, plugin_path(info, *prior, 1, rows, 7, false));
    }
    std::printf("%s: %llu rows; direct %.3f s (%.0f/s), plugin 1 thread %.3f s (%.0f/s), plugin 2 threads %.3f s (%.0f/s)\n", id,
                (unsigned long long)rows, direct, rows / direct, one, rows / one, two, rows / two);
    std::printf("%s plugin/direct: %.3f\n", id, direct / one);
    std::printf("%s 2 threads/1 thread: %.3f\n", id, one / two);
    std::printf("%s guarded/unguarded time: %.3f (the guards' cost: %.1f%%)\n", id, one / unguarded, 100.0 * (one / unguarded - 1.0));
    // Process isolation at batch 1024, one worker, against in-process at the same batch.
    double in_process = 1e30, isolated = 1e30;
    for (int r = 0; r < repeats; ++r) {
        in_process = std::min(in_process, plugin_path(info, *prior, 1, rows, 7, true, false, 1024));
        isolated = std::min(isolated, plugin_path(info, *prior, 1, rows, 7, true, true, 1024));
    }
    std::printf("%s isolated/in-process throughput at batch 1024: %.3f (%.0f/s against %.0f/s)\n", id, in_process / isolated,
                rows / isolated, rows / in_process);
}
}  // namespace

int main(int argc, char** argv) {
    uint64_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 400000;
    int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
    RegistryOptions o;
    o.first_paths = {SIMBI_BENCH_PLUGIN_DIR};
    PluginRegistry reg(o);
    bench<Projectile>(reg, "simbi.projectile", rows / 4, repeats);
    bench<TwoMoons>(reg, "sbibm.two_moons", rows * 4, repeats);
    return 0;
}
