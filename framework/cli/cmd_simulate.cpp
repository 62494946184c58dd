// simbi simulate MANIFEST [--budget N] [--threads N] [--seed S] [--out FILE]
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/pipeline/invalid_rows.hpp"
#include "simbi_host/pipeline/plan.hpp"
#include "simbi_host/core/process_guard.hpp"
#include "simbi_host/core/safe_files.hpp"
#include "simbi_host/pipeline/simulate_stage.hpp"
#include "simbi_host/pipeline/simulation_engine.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"
#include "simbi_host/store/artifact.hpp"

namespace simbi_cli {

static void write_at_csv(const std::string& out, const simbi::host::ChunkRows& result, uint64_t k);

// The manifest as written, less its observation (whose file need not exist for --at).
static simbi::host::Manifest load_manifest_without_observation(const std::string& path, const std::vector<std::string>& sets) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw simbi::host::UsageError(path + ": cannot read the manifest");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    simbi::host::json doc = simbi::host::parse_json_strict(text, path);
    if (doc.is_object()) doc.erase("observation");
    return simbi::host::load_manifest_text(doc.dump(), path, sets);
}

// simbi simulate MANIFEST --at '[theta...]' [--rows N] [--out FILE.csv]: the simulator's output at one
// theta, for authors checking a simulator; rows are kept whatever their validity, with a column
// saying which were valid.
static int simulate_at(const simbi::host::Manifest& m, const simbi::host::PluginRegistry& registry, const simbi::host::HostServices& host,
                       const std::string& at, uint64_t rows, const std::string& out) {
    using namespace simbi::host;
    const SimulationPart part = plan_simulation(m, registry);
    const PluginInfo& info = *part.simulator;
    json a = parse_json_strict(at, "--at");
    if (!a.is_array() || a.size() != info.param_names.size())
        throw UsageError("--at: expected a JSON array of " + std::to_string(info.param_names.size()) + " numbers (" + info.id + " takes " +
                         std::to_string(info.param_names.size()) + " parameters)");
    std::vector<double> theta;
    for (const auto& v : a) {
        if (!v.is_number() || !std::isfinite(v.get<double>())) throw UsageError("--at: " + brief(v) + " is not a finite number");
        theta.push_back(v.get<double>());
    }
    std::vector<double> table;
    for (uint64_t i = 0; i < rows; ++i) table.insert(table.end(), theta.begin(), theta.end());
    TableProposal fixed(*part.prior, table);
    std::unique_ptr<SimulatorInstances> owned = make_simulators(part, host, 1, true);
    const SimulatorInstances& sims = *owned;
    EngineOptions eo;
    eo.seed = m.simulation.seed;
    eo.batch_rows = m.simulation.batch_rows;
    eo.invalid = InvalidPolicy::Drop;
    SimulationEngine engine(fixed, sims, eo);
    ChunkRows result;
    {
        PluginActivity activity("simulator '" + info.id + "' at the given theta");
        engine.run(0, rows, result);
    }
    const uint64_t k = info.output_dim;
    if (!out.empty() && file_format(out, "--out") == "h5") {
        std::vector<std::string> names;
        for (uint64_t j = 0; j < k; ++j) names.push_back("x_" + std::to_string(j + 1));
        result.x.resize(result.kept * k);
        write_table_h5(
            out, "x", "output_names", names, result.x,
            {{"theta", a.dump()}, {"seed", m.simulation.seed}, {"rows", rows}, {"valid_rows", result.kept}, {"simulator", info.id}});
    } else {
        write_at_csv(out, result, k);
    }
    std::fprintf(stderr, "%llu of %llu rows valid at theta = %s (seed %llu)%s%s\n", (unsigned long long)result.kept,
                 (unsigned long long)rows, a.dump().c_str(), (unsigned long long)m.simulation.seed, out.empty() ? "" : "; written to ",
                 out.c_str());
    return 0;
}

// The rows as CSV, into `out` or on stdout.
static void write_at_csv(const std::string& out, const simbi::host::ChunkRows& result, uint64_t k) {
    using namespace simbi::host;
    std::unique_ptr<AtomicFile> file = out.empty() ? nullptr : std::make_unique<AtomicFile>(out);
    std::FILE* f = file ? file->stream() : stdout;
    for (uint64_t j = 0; j < k; ++j) std::fprintf(f, "%sx_%llu", j ? "," : "", (unsigned long long)(j + 1));
    std::fprintf(f, "\n");
    for (uint64_t i = 0; i < result.kept; ++i) {
        for (uint64_t j = 0; j < k; ++j) std::fprintf(f, "%s%.9g", j ? "," : "", result.x[i * k + j]);
        std::fprintf(f, "\n");
    }
    if (file) file->commit();
}

int cmd_simulate(const Args& args) {
    po::options_description desc("options");
    std::string manifest_path, out, budget, seed, threads;
    std::vector<std::string> sets;
    PluginFlags flags;
    desc.add_options()("help,h", "show this help")("manifest", po::value<std::string>(&manifest_path)->required(), "manifest file")(
        "budget", po::value<std::string>(&budget), "number of simulations (overrides simulation.budget)")(
        "threads", po::value<std::string>(&threads), "worker threads, 0 = one per core (does not change the result)")(
        "seed", po::value<std::string>(&seed), "seed (overrides simulation.seed)")("out", po::value<std::string>(&out),
                                                                                   "HDF5 file to write (overrides simulation.store)")(
        "set", po::value<std::vector<std::string>>(&sets)->composing(), "override a manifest value: PATH=VALUE (repeatable)")(
        "force", "simulate again even if the store is up to date, replacing another setup's store or journal at that path")(
        "at", po::value<std::string>(), "simulate at this one theta, a JSON array (e.g. '[20, 0.7]'), instead of from the prior")(
        "rows", po::value<std::string>(), "with --at: how many rows (default 1000)")("quiet,q", "no progress display");
    flags.add_to(desc);
    po::positional_options_description pos;
    pos.add("manifest", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi simulate MANIFEST [--budget N] [--threads N] [--seed S] [--out FILE]")) return 0;

    if (vm.count("budget"))
        sets.push_back("simulation.budget=" + std::to_string(parse_count_flag(budget, "--budget", 1, simbi::host::kMaxBudget)));
    if (vm.count("seed")) sets.push_back("simulation.seed=" + std::to_string(parse_count_flag(seed, "--seed", 0, UINT64_MAX)));
    if (vm.count("threads")) sets.push_back("simulation.threads=" + std::to_string(parse_count_flag(threads, "--threads", 0, 1024)));
    if (vm.count("out")) file_format(out, "--out", vm.count("at") > 0);
    // At one theta, the manifest's observation plays no part: it is not read.
    simbi::host::Manifest m =
        vm.count("at") ? load_manifest_without_observation(manifest_path, sets) : simbi::host::load_manifest(manifest_path, sets);
    if (vm.count("out") && !vm.count("at")) m.simulation.store = std::filesystem::absolute(out).lexically_normal().string();

    simbi::host::PluginRegistry registry(flags.options(m.plugin_paths, m.allow_unsafe_plugins));
    warn_problems(registry);
    simbi::host::HostServices host;
    if (vm.count("at")) {
        const uint64_t rows =
            vm.count("rows") ? parse_count_flag(vm["rows"].as<std::string>(), "--rows", 1, simbi::host::kMaxChunkRows) : 1000;
        return simulate_at(m, registry, host, vm["at"].as<std::string>(), rows, vm.count("out") ? out : "");
    }
    if (vm.count("rows")) throw simbi::host::UsageError("--rows goes with --at");
    simbi::host::SimulateOptions so;
    so.quiet = vm.count("quiet") > 0;
    so.force = vm.count("force") > 0;
    const simbi::host::RunPlan plan = simbi::host::plan_run(m, registry, host, simbi::host::PlanScope::Simulation);
    auto r = simbi::host::run_simulation(plan.simulation, host, so);
    if (r.reused) {
        std::cout << r.store << " is up to date (" << r.totals.kept << " rows); use --force to simulate again\n";
        return 0;
    }
    if (!r.shard.empty()) {
        std::cout << "wrote " << r.totals.kept << " rows to the shard " << r.shard << "; rank 0 joins the shards into " << r.store << "\n";
        return 0;
    }
    std::cout << "wrote " << r.totals.kept << " rows to " << r.store << " (" << r.totals.simulated << " simulated, " << r.totals.invalid
              << " invalid";
    if (r.totals.resampled) std::cout << ", " << r.totals.resampled << " rows resampled";
    if (r.totals.simulated > r.totals.kept) std::cout << ", " << r.totals.simulated - r.totals.kept << " dropped";
    std::printf(") in %.2f s, %.0f simulations/s%s\n", r.seconds, r.seconds > 0 ? double(r.totals.simulated) / r.seconds : 0.0,
                r.resumed ? " (resumed)" : "");
    if (r.isolation.is_object() && r.isolation.value("failed_batches", uint64_t(0)) > 0)
        std::cout << "isolation: " << r.isolation.dump() << "\n";
    const std::string warning = simbi::host::test_invalid_rows(plan.simulation, r.totals, r.store).warning();
    if (!warning.empty()) std::cerr << warning << "\n";
    return 0;
}

}  // namespace simbi_cli
