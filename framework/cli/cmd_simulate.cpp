// simbi simulate MANIFEST [--budget N] [--threads N] [--seed S] [--out FILE]
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/errors.hpp"
#include "simbi_host/process_guard.hpp"
#include "simbi_host/simulate_stage.hpp"

namespace simbi_cli {

int cmd_simulate(const Args& args) {
    po::options_description desc("options");
    std::string manifest_path, out, budget, seed, threads;
    std::vector<std::string> sets;
    PluginFlags flags;
    desc.add_options()("help,h", "show this help")("manifest", po::value<std::string>(&manifest_path)->required(), "manifest file")(
        "budget", po::value<std::string>(&budget), "number of simulations (overrides simulation.budget)")(
        "threads", po::value<std::string>(&threads), "worker threads, 0 = one per core (does not change the result)")(
        "seed", po::value<std::string>(&seed), "seed (overrides simulation.seed)")(
        "out", po::value<std::string>(&out), "HDF5 file to write (overrides simulation.store)")(
        "set", po::value<std::vector<std::string>>(&sets)->composing(), "override a manifest value: PATH=VALUE (repeatable)")(
        "force", "simulate again even if the store is up to date, replacing another setup's store or journal at that path")("quiet,q", "no progress display");
    flags.add_to(desc);
    po::positional_options_description pos;
    pos.add("manifest", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi simulate MANIFEST [--budget N] [--threads N] [--seed S] [--out FILE]")) return 0;

    if (vm.count("budget")) sets.push_back("simulation.budget=" + std::to_string(parse_count_flag(budget, "--budget", 1, simbi::host::kMaxBudget)));
    if (vm.count("seed")) sets.push_back("simulation.seed=" + std::to_string(parse_count_flag(seed, "--seed", 0, UINT64_MAX)));
    if (vm.count("threads")) sets.push_back("simulation.threads=" + std::to_string(parse_count_flag(threads, "--threads", 0, 1024)));
    simbi::host::Manifest m = simbi::host::load_manifest(manifest_path, sets);
    if (vm.count("out")) m.simulation.store = std::filesystem::absolute(out).lexically_normal().string();

    simbi::host::PluginRegistry registry(flags.options(m.plugin_paths, m.allow_unsafe_plugins));
    warn_problems(registry);
    simbi::host::HostServices host;
    simbi::host::SimulateOptions so;
    so.quiet = vm.count("quiet") > 0;
    so.force = vm.count("force") > 0;
    auto r = simbi::host::run_simulation(m, registry, host, so);
    if (r.reused) {
        std::cout << r.store << " is up to date (" << r.totals.kept << " rows); use --force to simulate again\n";
        return 0;
    }
    std::cout << "wrote " << r.totals.kept << " rows to " << r.store << " (" << r.totals.simulated << " simulated, "
              << r.totals.invalid << " invalid";
    if (r.totals.resampled) std::cout << ", " << r.totals.resampled << " rows resampled";
    if (r.totals.simulated > r.totals.kept) std::cout << ", " << r.totals.simulated - r.totals.kept << " dropped";
    std::printf(") in %.2f s, %.0f simulations/s%s\n", r.seconds, r.seconds > 0 ? double(r.totals.simulated) / r.seconds : 0.0,
                r.resumed ? " (resumed)" : "");
    return 0;
}

}  // namespace simbi_cli
