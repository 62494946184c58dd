#include "simbi_host/pipeline/pipeline.hpp"

#include <cstdio>
#include <filesystem>
#include <optional>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/process_guard.hpp"
#include "simbi_host/core/safe_files.hpp"
#include "simbi_host/core/text_file.hpp"
#include "simbi_host/pipeline/invalid_rows.hpp"
#include "simbi_host/pipeline/round_service.hpp"
#include "simbi_host/pipeline/run_folder.hpp"
#include "simbi_host/report/report.hpp"

namespace fs = std::filesystem;

namespace simbi::host {
namespace {

// Refuses before writing: a folder that is no run folder, or one whose estimator another setup
// trained, is left as it is. Otherwise creates the folder; the caller then holds its lock.
void claim_run_folder(const RunPlan& plan, bool force) {
    const RunFolder folder = check_run_folder(plan.output);
    if (plan.estimator && folder.has_artifact && folder.marked && folder.setup != plan.setup_key() && !force)
        throw RunError(plan.output +
                       "/artifact holds an estimator of another setup (other data, estimator or settings); it and its run are "
                       "kept. Pass --out DIR to write this run elsewhere, or --force to replace it");
    create_run_folder(folder);
}

// What the simulation stage did, and where the invalid rows lie: a dropped region narrows the
// prior unseen.
void say_simulated(const SimulateResult& sim, const InvalidRowsReport& drops, bool quiet) {
    if (!quiet)
        std::fprintf(stderr, "simulate: %s %llu rows in %s%s (%llu simulated, %llu invalid, %llu dropped)\n",
                     sim.reused ? "reused" : "wrote", (unsigned long long)sim.totals.kept, sim.store.c_str(),
                     sim.reused ? ", up to date" : "", (unsigned long long)drops.simulated, (unsigned long long)drops.invalid,
                     (unsigned long long)drops.dropped);
    const std::string warning = drops.warning();
    if (!warning.empty()) std::fprintf(stderr, "%s\n", warning.c_str());
}

// The files that describe the run: written once every check has passed, so that a refused run
// leaves the folder's files as they were.
void write_run_record(const RunPlan& plan, const SimulateResult& sim, RunReport& report) {
    mark_run_folder(plan.output, plan.estimator || plan.assimilation ? plan.setup_key() : "");
    write_text_atomic(plan.output + "/manifest.json", plan.document.dump(2) + "\n");
    write_text_atomic(plan.output + "/settings.json", plan.settings().dump(2) + "\n");
    write_text_atomic(plan.output + "/plugins.lock.json", plan.plugins_lock().dump(2) + "\n");
    report.written.insert(report.written.end(), {"manifest.json", "settings.json", "plugins.lock.json"});
    if (sim.isolation.is_object()) write_text_atomic(plan.output + "/isolation.json", sim.isolation.dump(2) + "\n");
}

// The simulation's counts and the invalid rows' test, beside the run's record and in its summary.
void write_simulation_record(const RunPlan& plan, const InvalidRowsReport& drops, RunReport& report) {
    json record = drops.to_json();
    const std::string warning = drops.warning();
    if (!warning.empty()) record["warning"] = warning.substr(warning.find(':') + 2);
    write_text_atomic(plan.output + "/simulation.json", record.dump(2) + "\n");
    report.written.push_back("simulation.json");
    const std::string summary = plan.output + "/summary.json";
    std::error_code ec;
    if (!fs::exists(summary, ec)) return;
    json s = parse_json_strict(read_text_file(summary), summary);
    s["simulation"] = record;
    write_text_atomic(summary, s.dump(2) + "\n");
}

}  // namespace

RunReport run_pipeline(const RunPlan& plan, const PluginRegistry& registry, HostServices& host, RunOptions options) {
    // Rank 0 leads: it owns the run folder and writes every file. The other ranks of a parallel
    // job simulate their share, and train beside rank 0 when the training is data-parallel.
    const bool lead = plan.ranks.rank == 0;
    RunReport report;
    report.output_dir = plan.output;
    report.rank = plan.ranks.rank;
    std::optional<RunLock> lock;
    if (lead) {
        claim_run_folder(plan, options.force);
        lock.emplace(plan.output + "/.run", "the output folder " + plan.output);
    }

    SimulateOptions so;
    so.quiet = options.quiet;
    const SimulateResult sim = run_simulation(plan.simulation, host, so);
    report.simulated = sim.totals.simulated;
    report.rows = sim.totals.kept;
    report.reused_simulations = sim.reused;
    const RunContext run{plan, registry, host, options};
    const bool trains = plan.estimator && !plan.assimilation;
    const bool parallel_training = trains && trains_data_parallel(run);
    const bool trains_here = trains && (lead || parallel_training);
    InvalidRowsReport drops;
    if (lead) {
        drops = test_invalid_rows(plan.simulation, sim.totals, sim.store);
        say_simulated(sim, drops, options.quiet);
        if (trains) check_kept_artifact(run, sim.store);  // an unmarked folder of an older simbi: known only now
        write_run_record(plan, sim, report);
        if (plan.assimilation)
            for (const auto& f : run_assimilation(plan, sim, host, options)) report.written.push_back(f);
        if (trains && options.data_parallel && plan.ranks.parallel() && !parallel_training && !options.quiet)
            std::fprintf(stderr, "note: estimator '%s' does not declare data-parallel training; rank 0 trains alone\n",
                         plan.estimator->estimator->id.c_str());
    } else if (trains_here) {
        wait_for_sealed_store(sim.store, sim.fingerprint, options.quiet);
    }
    if (!trains_here) {
        if (!lead) return report;
        write_simulation_record(plan, drops, report);
        if (plan.assimilation)
            for (const auto& f : write_report(plan.output))
                if (f == "report.html") report.written.push_back(f);
        return report;
    }

    TrainStageResult trained = run_training(run, sim);
    report.reused_training = trained.reused;
    if (!lead) {
        report.trained_rank = true;
        return report;
    }
    report.simulated = trained.simulations;
    report.rows = trained.rows;
    if (!options.quiet && trained.reused)
        std::fprintf(stderr, "train: up to date, %s was trained on the same data with the same settings\n", trained.artifact.c_str());
    for (const auto& f : run_sampling(run, trained)) report.written.push_back(f);
    write_simulation_record(plan, drops, report);
    // The report is written even when a diagnostic failed: it shows what there is.
    std::vector<std::string> diagnosed;
    std::string diagnostics_failed;
    try {
        diagnosed = run_diagnostics(run, trained);
    } catch (const Interrupted&) {
        write_report(plan.output);
        throw;
    } catch (const RunError& e) {
        diagnostics_failed = e.what();
    }
    for (const auto& f : diagnosed) report.written.push_back(f);
    for (const auto& f : write_report(plan.output))
        if (f == "report.html") report.written.push_back(f);
    if (!diagnostics_failed.empty()) throw RunError(diagnostics_failed);
    return report;
}

}  // namespace simbi::host
