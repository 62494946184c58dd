#include "simbi_host/simulate_stage.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "simbi_host/errors.hpp"
#include "simbi_host/process_guard.hpp"
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
    if (s.store.empty()) throw UsageError(m.file + ": /simulation/store: expected a file path");
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

    const std::string fingerprint = meta.fingerprint();
    SimulateResult result;
    result.store = choose_store_path(s.store, fingerprint, options.force, options.quiet);
    std::error_code ec;
    if (fs::path(result.store).has_parent_path()) fs::create_directories(fs::path(result.store).parent_path(), ec);
    if (ec) throw RunError("cannot create the folder of " + result.store + ": " + ec.message());
    RunLock lock(result.store, "the store " + result.store);
    if (!options.force && store_fingerprint(result.store) == fingerprint) {
        DatasetReader r(result.store);
        r.verify();
        json a = r.attributes();
        result.reused = true;
        result.totals.kept = r.rows();
        result.totals.simulated = a.value("n_simulated", uint64_t(0));
        result.totals.invalid = a.value("n_invalid", uint64_t(0));
        result.totals.resampled = a.value("n_resampled", uint64_t(0));
        return result;
    }
    const std::string journal_path = result.store + ".journal";
    if (options.force) fs::remove(journal_path, ec);

    const unsigned threads = resolve_threads(s.threads);
    SimulatorInstances sims(info, m.simulator.config.dump(), host, threads);
    EngineOptions eo;
    eo.seed = s.seed;
    eo.threads = threads;
    eo.batch_rows = s.batch_rows;
    eo.invalid = parse_invalid_policy(s.invalid);
    eo.max_attempts = s.max_attempts;
    SimulationEngine engine(*prior, sims, eo);

    Journal journal(journal_path, meta);
    result.resumed = journal.resumed() && journal.chunks_done() > 0;
    const uint64_t chunks = s.budget / s.chunk_rows + (s.budget % s.chunk_rows != 0);
    uint64_t done = std::min(s.budget, journal.chunks_done() * s.chunk_rows);
    if (result.resumed && !options.quiet)
        std::fprintf(stderr, "resuming %s: %llu of %llu rows already simulated\n", journal.path().c_str(),
                     (unsigned long long)done, (unsigned long long)s.budget);
    HostServices::set_safe_point("the current chunk of simulations");
    Progress progress("simulate " + info.id, s.budget, done, !options.quiet);
    ChunkRows rows;
    for (uint64_t c = journal.chunks_done(); c < chunks; ++c) {
        if (HostServices::cancelled()) {
            progress.finish(done);
            throw RunError("interrupted: " + std::to_string(done) + " of " + std::to_string(s.budget) + " rows are kept in " +
                           journal.path() + "; run the same command again to resume");
        }
        uint64_t first = c * s.chunk_rows, count = std::min(s.chunk_rows, s.budget - first);
        {
            PluginActivity activity("simulator '" + info.id + "' at rows " + std::to_string(first) + ".." + std::to_string(first + count - 1) +
                                    " (earlier rows are kept in " + journal.path() + ")");
            engine.run(first, count, rows);
        }
        journal.append(c, rows);
        done = first + count;
        progress.update(done);
    }
    progress.finish(done);
    if (journal.totals().kept == 0)
        throw RunError("simulator '" + info.id + "': all " + std::to_string(journal.totals().simulated) +
                       " simulations were invalid and the policy \"" + s.invalid + "\" dropped every row; nothing to store. Check the "
                       "simulator and the prior (the journal " + journal.path() + " is kept)");
    seal_store(journal, result.store, meta);
    fs::remove(journal.path(), ec);
    result.totals = journal.totals();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

std::string choose_store_path(const std::string& store, const std::string& fingerprint, bool force, bool quiet) {
    if (force) return store;
    auto owner = [&](const std::string& path) {
        std::error_code ec;
        if (fs::exists(path, ec)) {
            std::string fp = store_fingerprint(path);
            return fp.empty() ? std::string("unreadable") : fp;
        }
        return journal_fingerprint(path + ".journal");
    };
    const std::string own = owner(store);
    if (own.empty() || own == fingerprint) return store;
    if (own == "corrupt")
        throw RunError(store + ".journal is not a readable simbi journal; move it away, or pass --force to start this simulation over");
    // Another setup's files stay untouched: this setup gets a place of its own beside them.
    fs::path p(store);
    std::string stem = p.stem().string(), ext = p.extension().string();
    const std::string fresh = (p.parent_path() / (stem + "." + fingerprint.substr(0, 12) + (ext.empty() ? ".h5" : ext))).string();
    const std::string other = owner(fresh);
    if (!other.empty() && other != fingerprint)
        throw RunError(fresh + " holds files of another setup as well; pass --force to replace " + store);
    if (!quiet)
        std::fprintf(stderr, "note: %s holds %s of another simulation setup, kept as it is; this setup's dataset goes to %s\n",
                     store.c_str(), own == "unreadable" ? "an unreadable file" : "the data", fresh.c_str());
    return fresh;
}

}  // namespace simbi::host
