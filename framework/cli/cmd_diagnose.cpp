// simbi diagnose RUN_DIR [--diagnostic ID ...] and simbi c2st A.csv B.csv
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/pipeline/pipeline.hpp"
#include "simbi_host/core/process_guard.hpp"
#include "simbi_host/pipeline/run_folder.hpp"
#include "simbi_host/pipeline/stages.hpp"

namespace fs = std::filesystem;

namespace simbi_cli {

using simbi::host::json;
using simbi::host::UsageError;

int cmd_diagnose(const Args& args) {
    po::options_description desc("options");
    std::string run_dir;
    std::vector<std::string> ids;
    PluginFlags flags;
    desc.add_options()("help,h", "show this help")("run", po::value<std::string>(&run_dir)->required(),
                                                   "a run folder written by simbi run")(
        "diagnostic", po::value<std::vector<std::string>>(&ids)->composing(),
        "a diagnostic to run, with its default settings unless the run's manifest names it (repeatable; default: the manifest's)")(
        "quiet,q", "no progress display");
    flags.add_to(desc);
    po::positional_options_description pos;
    pos.add("run", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi diagnose RUN_DIR [--diagnostic ID ...]")) return 0;

    const std::string dir = fs::absolute(run_dir).lexically_normal().string();
    simbi::host::require_run_folder(dir);
    if (!fs::exists(dir + "/manifest.json") || !fs::exists(dir + "/artifact/simbi.json"))
        throw UsageError(run_dir + ": not a run folder with a trained estimator (no manifest.json or artifact/simbi.json)");
    simbi::host::Manifest m = simbi::host::load_manifest(dir + "/manifest.json");
    m.output = dir;
    if (!ids.empty()) {
        std::vector<simbi::host::PluginRef> chosen;
        for (const auto& id : ids) {
            simbi::host::PluginRef ref;
            ref.id = id;
            ref.json_path = "--diagnostic " + id;
            for (const auto& named : m.diagnostics)
                if (named.id == id) ref = named;
            chosen.push_back(ref);
        }
        m.diagnostics = chosen;
    }
    if (m.diagnostics.empty()) throw UsageError(run_dir + ": the run's manifest names no diagnostics; pass --diagnostic ID");
    simbi::host::PluginRegistry registry(flags.options(m.plugin_paths, m.allow_unsafe_plugins));
    warn_problems(registry);
    simbi::host::HostServices host;
    host.set_quiet(vm.count("quiet") > 0);
    simbi::host::RunOptions options;
    options.quiet = vm.count("quiet") > 0;
    const simbi::host::RunPlan plan = simbi::host::plan_run(m, registry, host);
    // The folder's record and its estimator must be of one run: a diagnostic pairs the prior and
    // simulator of the one with the posterior of the other.
    const simbi::host::ArtifactMeta meta = simbi::host::read_artifact_meta(dir + "/artifact");
    if (!plan.estimator || meta.estimator_id != plan.estimator->estimator->id || meta.prior != plan.simulation.prior->spec() ||
        meta.simulator_id != plan.simulation.simulator->id)
        throw simbi::host::RunError(dir +
                                    ": manifest.json and artifact/simbi.json describe different runs (estimator, prior or simulator); "
                                    "run `simbi run` on the manifest again");
    simbi::host::RunContext run{plan, registry, host, options};
    simbi::host::TrainStageResult trained;
    trained.artifact = dir + "/artifact";
    simbi::host::RunLock lock(dir + "/.run", "the run folder " + dir);
    for (const auto& f : simbi::host::run_diagnostics(run, trained)) std::cout << "  " << f << "\n";
    return 0;
}

int cmd_c2st(const Args& args) {
    po::options_description desc("options");
    std::string a, b, seed_text = "42";
    PluginFlags flags;
    desc.add_options()("help,h", "show this help")("reference", po::value<std::string>(&a)->required(),
                                                   "reference samples (CSV, header row)")("samples", po::value<std::string>(&b)->required(),
                                                                                          "samples to compare (CSV, header row)")(
        "seed", po::value<std::string>(&seed_text), "seed of the folds and the classifier (default 42)");
    flags.add_to(desc);
    po::positional_options_description pos;
    pos.add("reference", 1).add("samples", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi c2st REFERENCE.csv SAMPLES.csv")) return 0;
    const uint64_t seed = parse_count_flag(seed_text, "--seed", 0, UINT64_MAX);
    simbi::host::PluginRegistry registry(flags.options());
    warn_problems(registry);
    simbi::host::HostServices host;
    host.set_quiet(true);
    json config = {{"reference", fs::absolute(a).string()}, {"samples", fs::absolute(b).string()}};
    json r = simbi::host::run_standalone_diagnostic(registry, host, "simbi.c2st", config, seed);
    std::printf("%.4f\n", r.at("accuracy").get<double>());
    return 0;
}

}  // namespace simbi_cli
