#include "simbi_host/simulate_stage.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

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

RankInfo rank_from_environment() {
    // simbi run --ranks, then Open MPI, then MPICH and Intel MPI (PMI), then a step of SLURM's srun. A SLURM batch script
    // itself (no srun) is no parallel job, though it has SLURM_PROCID and SLURM_NTASKS: only a
    // numbered step counts, with SLURM_STEP_NUM_TASKS ranks.
    const char* step = std::getenv("SLURM_STEP_ID");
    bool srun_step = step && *step && std::strlen(step) < 10;
    for (const char* c = step; srun_step && *c; ++c) srun_step = *c >= '0' && *c <= '9';
    std::vector<std::pair<const char*, const char*>> vars = {
        {"SIMBI_RANK", "SIMBI_RANKS"}, {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}, {"PMI_RANK", "PMI_SIZE"}};
    if (srun_step) vars.emplace_back("SLURM_PROCID", "SLURM_STEP_NUM_TASKS");
    for (const auto& [rank_var, size_var] : vars) {
        const char *r = std::getenv(rank_var), *n = std::getenv(size_var);
        if (!r || !n) continue;
        char *end_r = nullptr, *end_n = nullptr;
        const unsigned long rank = std::strtoul(r, &end_r, 10), size = std::strtoul(n, &end_n, 10);
        if (*end_r || *end_n || size < 1 || size > 65536 || rank >= size)
            throw UsageError(std::string(rank_var) + "=" + r + ", " + size_var + "=" + n + ": not a rank and a size of a parallel job");
        return {unsigned(rank), unsigned(size)};
    }
    return {};
}

std::string rendezvous_address() {
    const char* v = std::getenv("SIMBI_RENDEZVOUS");
    if (!v || !*v) return "127.0.0.1:29500";
    const std::string a = v;
    const size_t colon = a.rfind(':');
    char* end = nullptr;
    const unsigned long port = colon == std::string::npos ? 0 : std::strtoul(a.c_str() + colon + 1, &end, 10);
    if (colon == 0 || colon == std::string::npos || !end || *end || port < 1 || port > 65535)
        throw UsageError("SIMBI_RENDEZVOUS=" + a + ": expected HOST:PORT, e.g. node01:29500");
    return a;
}

void wait_for_sealed_store(const SimulateResult& simulated, bool quiet) {
    const char* parent = std::getenv("SIMBI_PARENT_PID");
    const long parent_pid = parent ? std::strtol(parent, nullptr, 10) : 0;
    bool told = false;
    while (store_fingerprint(simulated.store) != simulated.fingerprint) {
        if (HostServices::cancelled()) throw RunError("interrupted while waiting for rank 0 to seal " + simulated.store);
        if (parent_pid > 0 && long(getppid()) != parent_pid)
            throw RunError("rank 0 (process " + std::to_string(parent_pid) + ") exited before it sealed " + simulated.store);
        if (!quiet && !told) std::fprintf(stderr, "waiting for rank 0 to seal %s\n", simulated.store.c_str());
        told = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

namespace {

// Rank 0: waits until every rank's shard holds its chunks, then writes them, in chunk order, into
// the store's journal (resuming a join that was cut short).
void join_shards(const std::string& journal_path, const StoreMeta& meta, uint64_t chunks, unsigned size,
                 const std::function<std::string(unsigned)>& shard_path, bool quiet) {
    auto expected = [&](unsigned r) {
        uint64_t n = 0;
        for (uint64_t c = r; c < chunks; c += size) ++n;
        return n;
    };
    bool told = false;
    for (unsigned r = 1; r < size; ++r) {
        const std::string shard = std::to_string(r) + "/" + std::to_string(size);
        while (JournalReader::count(shard_path(r), meta, shard) < expected(r)) {
            if (HostServices::cancelled()) throw RunError("interrupted while waiting for the other ranks; run the same command again to resume");
            if (!quiet && !told) std::fprintf(stderr, "rank 0: waiting for the other ranks' shards\n");
            told = true;
            ::usleep(200000);
        }
    }
    Journal journal(journal_path, meta);
    std::vector<std::unique_ptr<JournalReader>> readers;
    for (unsigned r = 0; r < size; ++r)
        readers.push_back(std::make_unique<JournalReader>(shard_path(r), meta, std::to_string(r) + "/" + std::to_string(size)));
    ChunkRows rows;
    for (uint64_t c = 0; c < chunks; ++c) {
        if (!readers[c % size]->next(rows)) throw RunError(shard_path(unsigned(c % size)) + ": chunk " + std::to_string(c) + " is missing");
        if (c >= journal.chunks_done()) journal.append(c, rows);
    }
}

}  // namespace

std::string self_executable() {
    std::error_code ec;
    const fs::path p = fs::read_symlink("/proc/self/exe", ec);
    if (ec) throw RunError("cannot find the simbi binary to start worker processes: " + ec.message());
    return p.string();
}

std::unique_ptr<SimulatorInstances> make_simulators(const PluginInfo& info, const Manifest& m, const HostServices& host, unsigned threads,
                                                    bool quiet) {
    const bool bridge = !info.bridge_command.empty();
    if (!bridge && m.simulation.isolation != "process")
        return std::make_unique<SimulatorInstances>(info, m.simulator.config.dump(), host, threads);
    IsolationOptions iso;
    if (bridge) {
        if (!m.simulator.config.empty())
            throw UsageError(m.file + ": " + m.simulator.json_path + "/config: simulator '" + info.id + "' is a process bridge and takes no config");
        iso.command = info.bridge_command;
        iso.cwd = fs::path(info.path).parent_path().string();
    } else {
        iso.command = {self_executable(), "worker", "--library", info.path, "--id", info.id, "--config", m.simulator.config.dump()};
        if (info.allow_unsafe) iso.command.push_back("--allow-unsafe-plugins");
    }
    iso.timeout_s = m.simulation.timeout_s;
    iso.theta_dim = info.param_names.size();
    iso.x_dim = info.output_dim;
    iso.what = "simulator '" + info.id + "'";
    iso.quiet = quiet;
    return std::make_unique<SimulatorInstances>(info, threads, iso);
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
    check_pin(m.simulator, info, m.file);
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
    result.fingerprint = fingerprint;
    result.store = choose_store_path(s.store, fingerprint, options.force, options.quiet);
    std::error_code ec;
    if (fs::path(result.store).has_parent_path()) fs::create_directories(fs::path(result.store).parent_path(), ec);
    if (ec) throw RunError("cannot create the folder of " + result.store + ": " + ec.message());
    // Under mpirun each rank simulates its share of the chunks into a shard of its own; rank 0
    // joins the shards into the store. A sequential round (plan.store) is rank 0's alone.
    const RankInfo ranks = plan.store.empty() ? rank_from_environment() : RankInfo{};
    const std::string shard = ranks.size > 1 ? std::to_string(ranks.rank) + "/" + std::to_string(ranks.size) : "";
    auto shard_path = [&](unsigned r) { return result.store + ".journal.rank" + std::to_string(r) + "-of-" + std::to_string(ranks.size); };
    std::unique_ptr<RunLock> lock = ranks.rank == 0 ? std::make_unique<RunLock>(result.store, "the store " + result.store)
                                                    : std::make_unique<RunLock>(shard_path(ranks.rank), "the shard " + shard_path(ranks.rank));
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
    std::unique_ptr<SimulatorInstances> sims_owned = make_simulators(info, m, host, threads, options.quiet);
    const SimulatorInstances& sims = *sims_owned;
    EngineOptions eo;
    eo.seed = s.seed;
    eo.threads = threads;
    eo.batch_rows = s.batch_rows;
    eo.invalid = parse_invalid_policy(s.invalid);
    eo.max_attempts = s.max_attempts;
    SimulationEngine engine(*prior, sims, eo);

    const uint64_t chunks = s.budget / s.chunk_rows + (s.budget % s.chunk_rows != 0);
    // This process's chunks: all of them, or every size-th from its rank.
    const std::string own_path = ranks.size > 1 ? shard_path(ranks.rank) : journal_path;
    auto own_chunk = [&](uint64_t j) { return ranks.rank + j * ranks.size; };
    uint64_t own_chunks = 0;
    for (uint64_t c = ranks.rank; c < chunks; c += ranks.size) ++own_chunks;
    const uint64_t own_rows = ranks.size > 1 ? std::min(s.budget, own_chunks * s.chunk_rows) : s.budget;
    {
        Journal own(own_path, meta, shard);
        result.resumed = own.resumed() && own.chunks_done() > 0;
        uint64_t done = 0;
        for (uint64_t j = 0; j < own.chunks_done(); ++j) done += std::min(s.chunk_rows, s.budget - own_chunk(j) * s.chunk_rows);
        if (result.resumed && !options.quiet)
            std::fprintf(stderr, "resuming %s: %llu of %llu rows already simulated\n", own.path().c_str(), (unsigned long long)done,
                         (unsigned long long)own_rows);
        if (ranks.size > 1 && !options.quiet)
            std::fprintf(stderr, "rank %u of %u: simulating %llu of %llu chunks into %s\n", ranks.rank, ranks.size, (unsigned long long)own_chunks,
                         (unsigned long long)chunks, own.path().c_str());
        HostServices::set_safe_point("the current chunk of simulations");
        Progress progress("simulate " + info.id, own_rows, done, !options.quiet);
        ChunkRows rows;
        for (uint64_t j = own.chunks_done(); j < own_chunks; ++j) {
            if (HostServices::cancelled()) {
                progress.finish(done);
                throw RunError("interrupted: " + std::to_string(done) + " of " + std::to_string(own_rows) + " rows are kept in " + own.path() +
                               "; run the same command again to resume");
            }
            const uint64_t c = own_chunk(j), first = c * s.chunk_rows, count = std::min(s.chunk_rows, s.budget - first);
            {
                PluginActivity activity("simulator '" + info.id + "' at rows " + std::to_string(first) + ".." + std::to_string(first + count - 1) +
                                        " (earlier rows are kept in " + own.path() + ")");
                engine.run(first, count, rows);
            }
            own.append(j, rows);
            done += count;
            progress.update(done);
        }
        progress.finish(done);
        if (ranks.size > 1 && ranks.rank > 0) {
            // This rank's share is complete; rank 0 joins it into the store.
            result.totals = own.totals();
            result.shard = own.path();
            return result;
        }
    }
    if (ranks.size > 1) join_shards(journal_path, meta, chunks, ranks.size, shard_path, options.quiet);
    Journal journal(journal_path, meta);
    if (journal.chunks_done() != chunks) throw RunError(journal_path + ": holds " + std::to_string(journal.chunks_done()) + " of " + std::to_string(chunks) + " chunks");
    if (journal.totals().kept == 0)
        throw RunError("simulator '" + info.id + "': all " + std::to_string(journal.totals().simulated) +
                       " simulations were invalid and the policy \"" + s.invalid + "\" dropped every row; nothing to store. Check the "
                       "simulator and the prior (the journal " + journal.path() + " is kept)");
    seal_store(journal, result.store, meta);
    fs::remove(journal.path(), ec);
    // Every shard is complete and joined: its ranks are done with it and its lock.
    for (unsigned r = 0; ranks.size > 1 && r < ranks.size; ++r) {
        fs::remove(shard_path(r), ec);
        if (r > 0) fs::remove(shard_path(r) + ".lock", ec);
    }
    result.totals = journal.totals();
    if (sims.stats()) {
        result.isolation = sims.stats()->to_json();
        if (!options.quiet && result.isolation["failed_batches"].get<uint64_t>() > 0)
            std::fprintf(stderr, "isolation: %s\n", result.isolation.dump().c_str());
    }
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
