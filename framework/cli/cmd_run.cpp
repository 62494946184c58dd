// simbi run MANIFEST [--set PATH=VALUE ...] [--out DIR] [--ranks N | --data-parallel]
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "common.hpp"
#include "local_ranks.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/pipeline/pipeline.hpp"
#include "simbi_host/pipeline/simulate_stage.hpp"

namespace simbi_cli {

int cmd_run(const Args& args) {
    po::options_description desc("options");
    std::string manifest_path, out;
    std::vector<std::string> sets;
    std::string ranks_text;
    PluginFlags flags;
    desc.add_options()("help,h", "show this help")("manifest", po::value<std::string>(&manifest_path)->required(), "manifest file")(
        "set", po::value<std::vector<std::string>>(&sets)->composing(),
        "override a manifest value by its dotted path, e.g. --set simulation.budget=1000 (repeatable)")(
        "out", po::value<std::string>(&out), "output folder (overrides the manifest's \"output\")")("quiet,q", "no progress display")(
        "force", "replace another setup's estimator in the output folder")(
        "ranks", po::value<std::string>(&ranks_text),
        "run as N processes on this machine: each simulates a share of the rows and all train data-parallel")(
        "data-parallel", "in a parallel job (mpirun, srun), every rank trains, data-parallel, instead of rank 0 alone");
    flags.add_to(desc);
    po::positional_options_description pos;
    pos.add("manifest", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi run MANIFEST [--set PATH=VALUE ...] [--out DIR]")) return 0;

    unsigned ranks = 1;
    if (vm.count("ranks")) {
        ranks = unsigned(parse_count_flag(ranks_text, "--ranks", 1, 256));
        if (ranks > 1 && simbi::host::rank_from_environment().size > 1)
            throw simbi::host::UsageError(
                "--ranks starts a parallel job of its own; this process is already one rank of one (mpirun, srun)");
    }
    simbi::host::Manifest m = simbi::host::load_manifest(manifest_path, sets);
    if (vm.count("out")) m.output = std::filesystem::absolute(out).lexically_normal().string();
    simbi::host::PluginRegistry registry(flags.options(m.plugin_paths, m.allow_unsafe_plugins));
    warn_problems(registry);
    simbi::host::adapt_to_switched_estimator(m, registry);
    simbi::host::HostServices host;
    host.set_quiet(vm.count("quiet") > 0);
    simbi::host::RunOptions options;
    options.quiet = vm.count("quiet") > 0;
    options.force = vm.count("force") > 0;
    options.data_parallel = vm.count("data-parallel") > 0 || ranks > 1;
    std::unique_ptr<LocalRanks> local;
    if (ranks > 1) local = std::make_unique<LocalRanks>(ranks, args);
    simbi::host::RunReport report;
    try {
        const simbi::host::RunPlan plan = simbi::host::plan_run(m, registry, host);
        report = simbi::host::run_pipeline(plan, registry, host, options);
    } catch (const std::exception&) {
        // A failed rank interrupts rank 0: its failure is the one to name.
        if (local && !local->failure().empty()) local->wait_all();
        throw;
    }
    if (local) local->wait_all();
    if (report.rank > 0) {
        std::cout << "rank " << report.rank << ": simulated its share" << (report.trained_rank ? " and trained with the others" : "")
                  << "; rank 0 writes " << report.output_dir << "\n";
        return 0;
    }
    if (report.reused_simulations && report.reused_training)
        std::cout << "up to date: " << report.output_dir << " (the same data and estimator; outputs written again, identical)\n";
    else
        std::cout << "run complete: " << report.output_dir << "\n";
    for (const auto& f : report.written) std::cout << "  " << f << "\n";
    return 0;
}

}  // namespace simbi_cli
