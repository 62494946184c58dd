#include "simbi_host/pipeline/simulate_stage.hpp"
#include "simbi_host/pipeline/lab_cache.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/process_guard.hpp"
#include "simbi_host/core/progress.hpp"
#include "simbi_host/pipeline/ranks.hpp"
#include "simbi_host/pipeline/simulation_engine.hpp"

namespace fs = std::filesystem;

namespace simbi::host {

unsigned resolve_threads(unsigned requested) {
    if (requested > 0) return requested;
    unsigned hc = std::thread::hardware_concurrency();
    return hc ? hc : 1;
}

std::string self_executable() {
    std::error_code ec;
    const fs::path p = fs::read_symlink("/proc/self/exe", ec);
    if (ec) throw RunError("cannot find the simbi binary to start worker processes: " + ec.message());
    return p.string();
}

StoreMeta store_meta(const SimulationPart& part, const RoundSimulation& round) {
    const PluginInfo& info = *part.simulator;
    StoreMeta meta;
    meta.parameter_names = info.param_names;
    meta.x_dim = info.output_dim;
    meta.simulator_id = info.id;
    meta.simulator_version = info.version;
    meta.simulator_sha256 = part.simulator.sha256;
    meta.simulator_config = part.simulator.config.dump();
    meta.prior_json = (round.proposal ? round.proposal->spec() : part.prior->spec()).dump();
    meta.seed = round.seed.value_or(part.settings.seed);
    meta.budget = round.budget ? round.budget : part.settings.budget;
    meta.chunk_rows = part.settings.chunk_rows;
    meta.invalid_policy = part.settings.invalid;
    meta.float64 = part.settings.float64;
    meta.manifest_json = part.record;
    return meta;
}

std::unique_ptr<SimulatorInstances> make_simulators(const SimulationPart& part, const HostServices& host, unsigned threads, bool quiet) {
    const PluginInfo& info = *part.simulator;
    const bool bridge = !info.bridge_command.empty();
    if (!bridge && part.settings.isolation != "process")
        return std::make_unique<SimulatorInstances>(info, part.simulator.config.dump(), host, threads);
    IsolationOptions iso;
    if (bridge) {
        iso.command = info.bridge_command;
        iso.cwd = fs::path(info.path).parent_path().string();
        // Python bridges import simbi_bridge from simbi's own share folder.
        const char* pythonpath = std::getenv("PYTHONPATH");
        iso.env.push_back("PYTHONPATH=" + simbi_share_dir() + "/python" + (pythonpath && *pythonpath ? std::string(":") + pythonpath : ""));
        // Each worker runs the files the run was planned with: an edit in the meantime stops it.
        const PluginInfo bridge_info = info;
        const std::string planned = part.simulator.sha256;
        iso.before_start = [bridge_info, planned] {
            const std::string now = bridge_fingerprint(bridge_info);
            if (now != planned)
                throw RunError("bridge '" + bridge_info.id + "': its definition or files changed since the run began (SHA-256 " +
                               now.substr(0, 12) + ", planned " + planned.substr(0, 12) + "); run again");
        };
    } else {
        // The worker maps the library only if its bytes are the ones this run hashed and records.
        iso.command = {self_executable(), "worker",   "--library",           info.path,  "--id",
                       info.id,           "--sha256", part.simulator.sha256, "--config", part.simulator.config.dump()};
        if (info.allow_unsafe) iso.command.push_back("--allow-unsafe-plugins");
    }
    iso.timeout_s = part.settings.timeout_s.value_or(kDefaultWorkerTimeoutSeconds);
    iso.theta_dim = info.param_names.size();
    iso.x_dim = info.output_dim;
    iso.parameter_names = info.param_names;
    iso.what = (bridge ? "bridge '" : "simulator '") + info.id + "'";
    iso.quiet = quiet;
    return std::make_unique<SimulatorInstances>(info, threads, iso);
}

namespace {

// This process's share of a simulation: every chunk, or under a parallel job every size-th chunk
// from its rank, simulated into a shard of its own that rank 0 joins into the store.
struct ChunkShare {
    RankInfo ranks;
    uint64_t budget = 0, chunk_rows = 0, chunks = 0;
    std::string store;

    std::string journal() const { return store + ".journal"; }
    std::string shard_path(unsigned r) const { return store + ".journal.rank" + std::to_string(r) + "-of-" + std::to_string(ranks.size); }
    std::string own_path() const { return ranks.parallel() ? shard_path(ranks.rank) : journal(); }
    uint64_t chunk(uint64_t j) const { return ranks.rank + j * ranks.size; }  // the j-th of this rank's chunks
    uint64_t chunks_of(unsigned r) const { return r < chunks ? (chunks - r + ranks.size - 1) / ranks.size : 0; }
    uint64_t own_chunks() const { return chunks_of(ranks.rank); }
    uint64_t rows_of(uint64_t c) const { return std::min(chunk_rows, budget - c * chunk_rows); }
    uint64_t own_rows() const {
        uint64_t n = 0;
        for (uint64_t j = 0; j < own_chunks(); ++j) n += rows_of(chunk(j));
        return n;
    }
};

// A sealed store of the same setup, as it is; false if there is none.
bool reuse_sealed(const std::string& store, const std::string& fingerprint, SimulateResult& result) {
    if (store_fingerprint(store) != fingerprint) return false;
    DatasetReader r(store);
    r.verify();
    json a = r.attributes();
    result.reused = true;
    result.totals.kept = r.rows();
    result.totals.simulated = a.value("n_simulated", uint64_t(0));
    result.totals.invalid = a.value("n_invalid", uint64_t(0));
    result.totals.resampled = a.value("n_resampled", uint64_t(0));
    return true;
}

// A store of this setup with a smaller budget holds this setup's first rows, when it has no
// invalid row: row i is a pure function of (seed, i). Its whole chunks start a fresh journal, so
// that only the rest is simulated and the sealed store is the bytes a fresh run would write.
// Looks in the store's folder (the lab cache's stores, or beside the manifest's store).
bool extend_smaller_store(const ChunkShare& share, const StoreMeta& meta) {
    std::error_code ec;
    if (share.ranks.parallel() || fs::exists(share.journal(), ec)) return false;
    const std::string family = meta.family();
    std::string best;
    uint64_t best_budget = 0;
    const fs::path folder = fs::path(share.store).parent_path();
    for (const auto& e : fs::directory_iterator(folder.empty() ? fs::path(".") : folder, ec)) {
        if (e.path().extension() != ".h5" || !e.is_regular_file(ec) || e.path().string() == share.store) continue;
        const StoreHeader h = read_store_header(e.path().string());
        if (!h.ok || h.family != family || h.invalid != 0 || h.budget >= meta.budget || h.budget < meta.chunk_rows ||
            h.budget <= best_budget)
            continue;
        best = e.path().string();
        best_budget = h.budget;
    }
    if (best.empty()) return false;
    DatasetReader smaller(best);  // every byte checked against its header
    const uint64_t chunks = std::min<uint64_t>(smaller.rows() / meta.chunk_rows, share.chunks);
    if (chunks == 0 || smaller.rows() != best_budget) return false;
    Journal journal(share.journal(), meta);
    ChunkRows rows;
    const uint64_t d = smaller.theta_dim(), k = smaller.x_dim();
    for (uint64_t c = 0; c < chunks; ++c) {
        rows.theta.resize(meta.chunk_rows * d);
        rows.x.resize(meta.chunk_rows * k);
        smaller.read(c * meta.chunk_rows, meta.chunk_rows, rows.theta.data(), rows.x.data());
        rows.attempted = rows.kept = meta.chunk_rows;
        rows.invalid = rows.resampled = 0;
        journal.append(c, rows);
    }
    std::fprintf(stderr, "note: extending %s: its first %llu rows are this setup's; %llu new rows to simulate\n", best.c_str(),
                 (unsigned long long)(chunks * meta.chunk_rows), (unsigned long long)(meta.budget - chunks * meta.chunk_rows));
    return true;
}

// Simulates this process's chunks into its journal (or shard), resuming after the last complete
// record; returns the journal's totals.
StoreTotals simulate_chunks(const ChunkShare& share, const StoreMeta& meta, SimulationEngine& engine, const std::string& simulator_id,
                            bool quiet, bool& resumed) {
    Journal own(share.own_path(), meta, share.ranks.parallel() ? share.ranks.shard() : "");
    resumed = own.resumed() && own.chunks_done() > 0;
    uint64_t done = 0;
    for (uint64_t j = 0; j < own.chunks_done(); ++j) done += share.rows_of(share.chunk(j));
    if (resumed && !quiet)
        std::fprintf(stderr, "resuming %s: %llu of %llu rows already simulated\n", own.path().c_str(), (unsigned long long)done,
                     (unsigned long long)share.own_rows());
    if (share.ranks.parallel() && !quiet)
        std::fprintf(stderr, "rank %u of %u: simulating %llu of %llu chunks into %s\n", share.ranks.rank, share.ranks.size,
                     (unsigned long long)share.own_chunks(), (unsigned long long)share.chunks, own.path().c_str());
    HostServices::set_safe_point("the current chunk of simulations");
    Progress progress("simulate " + simulator_id, share.own_rows(), done, !quiet);
    ChunkRows rows;
    for (uint64_t j = own.chunks_done(); j < share.own_chunks(); ++j) {
        if (HostServices::cancelled()) {
            progress.finish(done);
            throw Interrupted(HostServices::stop_signal(), "interrupted: " + std::to_string(done) + " of " +
                                                               std::to_string(share.own_rows()) + " rows are kept in " + own.path() +
                                                               "; run the same command again to resume");
        }
        const uint64_t c = share.chunk(j), first = c * share.chunk_rows, count = share.rows_of(c);
        {
            PluginActivity activity("simulator '" + simulator_id + "' at rows " + std::to_string(first) + ".." +
                                    std::to_string(first + count - 1) + " (earlier rows are kept in " + own.path() + ")");
            engine.run(first, count, rows);
        }
        own.append(j, rows);
        done += count;
        progress.update(done);
    }
    progress.finish(done);
    return own.totals();
}

// Rank 0: waits until every rank's shard holds its chunks, then writes them, in chunk order, into
// the store's journal (resuming a join that was cut short). Ranks that own no chunk write no shard
// and are not waited for.
void join_shards(const ChunkShare& share, const StoreMeta& meta) {
    const double limit = rank_wait_seconds();
    auto last_progress = std::chrono::steady_clock::now();
    uint64_t seen = 0;
    bool told = false;
    for (;;) {
        std::string waiting;
        uint64_t have = 0;
        for (unsigned r = 1; r < share.ranks.size; ++r) {
            const uint64_t n =
                share.chunks_of(r) ? JournalReader::count(share.shard_path(r), meta, RankInfo{r, share.ranks.size}.shard()) : 0;
            have += n;
            if (n < share.chunks_of(r))
                waiting += (waiting.empty() ? "" : ", ") + std::to_string(r) + " (" + std::to_string(n) + " of " +
                           std::to_string(share.chunks_of(r)) + " chunks in " + share.shard_path(r) + ")";
        }
        if (waiting.empty()) break;
        if (HostServices::cancelled())
            throw RunError("interrupted while waiting for the other ranks; run the same command again to resume");
        const auto now = std::chrono::steady_clock::now();
        if (have != seen) {
            seen = have;
            last_progress = now;
        }
        if (std::chrono::duration<double>(now - last_progress).count() > limit)
            throw RunError("rank 0 gave up after " + std::to_string(int(limit)) + " s without progress from rank " + waiting +
                           " (SIMBI_RANK_TIMEOUT_S); start every rank with the same manifest, or run again to resume");
        if (!told) std::fprintf(stderr, "rank 0: waiting for rank %s\n", waiting.c_str());
        told = true;
        ::usleep(200000);
    }
    Journal journal(share.journal(), meta);
    std::vector<std::unique_ptr<JournalReader>> readers(share.ranks.size);
    for (unsigned r = 0; r < share.ranks.size; ++r)
        if (share.chunks_of(r))
            readers[r] = std::make_unique<JournalReader>(share.shard_path(r), meta, RankInfo{r, share.ranks.size}.shard());
    ChunkRows rows;
    for (uint64_t c = 0; c < share.chunks; ++c) {
        const unsigned r = unsigned(c % share.ranks.size);
        if (!readers[r]->next(rows)) throw RunError(share.shard_path(r) + ": chunk " + std::to_string(c) + " is missing");
        if (c >= journal.chunks_done()) journal.append(c, rows);
    }
}

// Seals the complete journal into the store, and removes the journal and the joined shards.
StoreTotals seal(const ChunkShare& share, const StoreMeta& meta, const std::string& simulator_id, const std::string& policy) {
    Journal journal(share.journal(), meta);
    if (journal.chunks_done() != share.chunks)
        throw RunError(share.journal() + ": holds " + std::to_string(journal.chunks_done()) + " of " + std::to_string(share.chunks) +
                       " chunks");
    if (journal.totals().kept == 0)
        throw RunError("simulator '" + simulator_id + "': all " + std::to_string(journal.totals().simulated) +
                       " simulations were invalid and the policy \"" + policy +
                       "\" dropped every row; nothing to store. Check the "
                       "simulator and the prior (the journal " +
                       journal.path() + " is kept)");
    seal_store(journal, share.store, meta);
    std::error_code ec;
    fs::remove(journal.path(), ec);
    // Every shard is complete and joined: its ranks are done with it and its lock.
    for (unsigned r = 0; share.ranks.parallel() && r < share.ranks.size; ++r) {
        if (!share.chunks_of(r)) continue;
        fs::remove(share.shard_path(r), ec);
        if (r > 0) fs::remove(share.shard_path(r) + ".lock", ec);
    }
    return journal.totals();
}

}  // namespace

SimulateResult run_simulation(const SimulationPart& part, const HostServices& host, SimulateOptions options, const RoundSimulation& round) {
    const auto t0 = std::chrono::steady_clock::now();
    const PluginInfo& info = *part.simulator;
    const Prior& prior = round.proposal ? *round.proposal : *part.prior;
    SimulationSection s = part.settings;
    if (!round.store.empty()) s.store = round.store;
    const StoreMeta meta = store_meta(part, round);
    const std::string fingerprint = meta.fingerprint();

    SimulateResult result;
    result.fingerprint = fingerprint;
    result.store = choose_store_path(s.store, fingerprint, options.force, options.quiet);
    // A sealed store of this setup is read as it is, without a lock: it was renamed into place
    // whole and its checksum guards it, so a colleague's read-only store serves as well as one's
    // own. Only writing takes the lock (and needs write access to the folder).
    const bool sole_or_first_rank = round.store.empty() ? rank_from_environment().rank == 0 : true;
    if (!options.force && sole_or_first_rank && reuse_sealed(result.store, fingerprint, result)) return result;
    std::error_code ec;
    if (fs::path(result.store).has_parent_path()) fs::create_directories(fs::path(result.store).parent_path(), ec);
    if (ec) throw RunError("cannot create the folder of " + result.store + ": " + ec.message());
    // A sequential round (round.store) is rank 0's alone.
    ChunkShare share;
    share.ranks = round.store.empty() ? rank_from_environment() : RankInfo{};
    share.budget = meta.budget;
    share.chunk_rows = s.chunk_rows;
    share.chunks = meta.budget / s.chunk_rows + (meta.budget % s.chunk_rows != 0);
    share.store = result.store;
    const bool rank0 = share.ranks.rank == 0;
    if (!rank0 && share.own_chunks() == 0) return result;  // nothing of this rank's: rank 0 seals the store
    // In the lab cache, a second user of the same setup waits for the first, then reuses its store.
    const std::function<bool()> wait =
        part.settings.store_in_cache ? std::function<bool()>([] { return HostServices::cancelled(); }) : nullptr;
    std::unique_ptr<RunLock> lock = rank0 ? std::make_unique<RunLock>(result.store, "the store " + result.store, wait)
                                          : std::make_unique<RunLock>(share.own_path(), "the shard " + share.own_path());
    if (!options.force && reuse_sealed(result.store, fingerprint, result)) return result;
    if (options.force) fs::remove(share.journal(), ec);
    const bool extended = rank0 && round.store.empty() && !options.force && extend_smaller_store(share, meta);

    const unsigned threads = resolve_threads(s.threads);
    std::unique_ptr<SimulatorInstances> sims = make_simulators(part, host, threads, options.quiet);
    EngineOptions eo;
    eo.seed = meta.seed;
    eo.threads = threads;
    eo.batch_rows = s.batch_rows;
    eo.invalid = parse_invalid_policy(s.invalid);
    eo.max_attempts = s.max_attempts;
    SimulationEngine engine(prior, *sims, eo);
    const StoreTotals own = simulate_chunks(share, meta, engine, info.id, options.quiet, result.resumed);
    if (extended) result.resumed = false;  // its first rows came from the smaller store, not a killed run
    if (!rank0) {
        // This rank's share is complete; rank 0 joins it into the store.
        result.totals = own;
        result.shard = share.own_path();
        return result;
    }
    if (share.ranks.parallel()) join_shards(share, meta);
    result.totals = seal(share, meta, info.id, s.invalid);
    if (part.settings.store_in_cache) share_with_group(share.store);
    if (sims->stats()) {
        result.isolation = sims->stats()->to_json();
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
