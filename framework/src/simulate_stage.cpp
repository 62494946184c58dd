#include "simbi_host/simulate_stage.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "simbi_host/errors.hpp"
#include "simbi_host/progress.hpp"
#include "simbi_host/simulation_engine.hpp"

namespace fs = std::filesystem;

namespace simbi::host {

unsigned resolve_threads(unsigned requested) {
    if (requested > 0) return requested;
    unsigned hc = std::thread::hardware_concurrency();
    return hc ? hc : 1;
}

std::unique_ptr<Prior> manifest_prior(const Manifest& m, const PluginInfo& sim) {
    std::unique_ptr<Prior> prior;
    if (m.prior) {
        prior = parse_prior(JsonReader(*m.prior, m.file, "/prior"));
    } else if (!sim.default_prior_json.empty()) {
        prior = parse_prior_json(sim.default_prior_json, "default prior of '" + sim.id + "'");
    } else {
        throw UsageError(m.file + ": /prior: missing, and simulator '" + sim.id + "' has no default prior");
    }
    if (prior->dim() != sim.param_names.size())
        throw UsageError(m.file + ": /prior: has " + std::to_string(prior->dim()) + " dimensions but simulator '" + sim.id +
                         "' takes " + std::to_string(sim.param_names.size()) + " parameters");
    return prior;
}

SimulateResult run_simulation(const Manifest& m, const PluginRegistry& registry, const HostServices& host, SimulateOptions options,
                              const SimulationPlan& plan) {
    const auto t0 = std::chrono::steady_clock::now();
    const PluginInfo& info = registry.find(m.simulator.id, SIMBI_KIND_SIMULATOR);
    check_plugin_config(info, m.simulator.config, m.file, m.simulator.json_path + "/config");
    std::unique_ptr<Prior> own_prior = manifest_prior(m, info);
    const Prior* prior = plan.proposal ? plan.proposal : own_prior.get();
    SimulationSection s = m.simulation;
    if (!plan.store.empty()) s.store = plan.store;
    if (plan.budget) s.budget = plan.budget;
    if (plan.seed) s.seed = *plan.seed;

    StoreMeta meta;
    meta.parameter_names = info.param_names;
    meta.x_dim = info.output_dim;
    meta.simulator_id = info.id;
    meta.simulator_version = info.version;
    meta.simulator_sha256 = info.sha256();
    meta.simulator_config = m.simulator.config.dump();
    meta.prior_json = prior->spec().dump();
    meta.seed = s.seed;
    meta.budget = s.budget;
    meta.chunk_rows = s.chunk_rows;
    meta.invalid_policy = s.invalid;
    meta.float64 = s.float64;
    meta.manifest_json = manifest_for_record(m.doc);

    SimulateResult result;
    result.store = s.store;
    if (!options.force && store_fingerprint(s.store) == meta.fingerprint()) {
        DatasetReader r(s.store);
        json a = r.attributes();
        result.reused = true;
        result.totals.kept = r.rows();
        result.totals.simulated = a.value("n_simulated", uint64_t(0));
        result.totals.invalid = a.value("n_invalid", uint64_t(0));
        result.totals.resampled = a.value("n_resampled", uint64_t(0));
        return result;
    }
    if (!s.store.empty() && fs::path(s.store).has_parent_path()) fs::create_directories(fs::path(s.store).parent_path());

    const unsigned threads = resolve_threads(s.threads);
    SimulatorInstances sims(info, m.simulator.config.dump(), host, threads);
    EngineOptions eo;
    eo.seed = s.seed;
    eo.threads = threads;
    eo.batch_rows = s.batch_rows;
    eo.invalid = parse_invalid_policy(s.invalid);
    eo.max_attempts = s.max_attempts;
    SimulationEngine engine(*prior, sims, eo);

    Journal journal(s.store + ".journal", meta);
    result.resumed = journal.resumed() && journal.chunks_done() > 0;
    const uint64_t chunks = (s.budget + s.chunk_rows - 1) / s.chunk_rows;
    uint64_t done = std::min(s.budget, journal.chunks_done() * s.chunk_rows);
    if (result.resumed && !options.quiet)
        std::fprintf(stderr, "resuming %s: %llu of %llu rows already simulated\n", journal.path().c_str(),
                     (unsigned long long)done, (unsigned long long)s.budget);
    Progress progress("simulate " + info.id, s.budget, done, !options.quiet);
    ChunkRows rows;
    for (uint64_t c = journal.chunks_done(); c < chunks; ++c) {
        if (HostServices::cancelled()) {
            progress.finish(done);
            throw RunError("interrupted: " + std::to_string(done) + " of " + std::to_string(s.budget) + " rows are kept in " +
                           journal.path() + "; run the same command again to resume");
        }
        uint64_t first = c * s.chunk_rows, count = std::min(s.chunk_rows, s.budget - first);
        engine.run(first, count, rows);
        journal.append(c, rows);
        done = first + count;
        progress.update(done);
    }
    progress.finish(done);
    seal_store(journal, s.store, meta);
    fs::remove(journal.path());
    result.totals = journal.totals();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

}  // namespace simbi::host
