#include "simbi_host/pipeline.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "simbi_host/errors.hpp"
#include "simbi_host/process_guard.hpp"
#include "simbi_host/report.hpp"

namespace fs = std::filesystem;

namespace simbi::host {

void validate_run(const Manifest& m, const PluginRegistry& registry, const HostServices& host) {
    const PluginInfo& sim = registry.find(m.simulator.id, SIMBI_KIND_SIMULATOR);
    check_pin(m.simulator, sim, m.file);
    check_plugin_config(sim, m.simulator.config, m.file, m.simulator.json_path + "/config");
    manifest_prior(m, sim);
    if (m.estimator) {
        const PluginInfo& est = registry.find(m.estimator->plugin.id, SIMBI_KIND_ESTIMATOR);
        check_pin(m.estimator->plugin, est, m.file);
        check_plugin_config(est, m.estimator->plugin.config, m.file, m.estimator->plugin.json_path + "/config");
        if (!est.training_schema_json.empty())
            check_against_schema(est.training_schema_json, est.id, m.estimator->training, m.file, m.estimator->plugin.json_path + "/training",
                                 "training");
        EstimatorInstance probe(est, m.estimator->plugin.config, host);  // the plugin's own checks of its config
    }
    for (const auto& d : m.diagnostics) {
        const PluginInfo& info = registry.find(d.id, SIMBI_KIND_DIAGNOSTIC);
        check_pin(d, info, m.file);
        check_plugin_config(info, d.config, m.file, d.json_path + "/config");
    }
    if (m.observation) {
        const auto& obs = *m.observation;
        if (obs.empty()) throw UsageError(m.file + ": /observation: no rows");
        for (size_t i = 0; i < obs.size(); ++i) {
            if (obs[i].size() != sim.output_dim)
                throw UsageError(m.file + ": /observation: row " + std::to_string(i) + " has " + std::to_string(obs[i].size()) +
                                 " values but simulator '" + sim.id + "' gives " + std::to_string(sim.output_dim));
            for (size_t j = 0; j < obs[i].size(); ++j)
                if (!std::isfinite(obs[i][j]))
                    throw UsageError(m.file + ": /observation: row " + std::to_string(i) + ", value " + std::to_string(j) + " is not finite");
        }
        if (!sim.output_support_json.empty()) {
            // No simulation can produce an observation outside the simulator's declared support.
            const json support = json::parse(sim.output_support_json);
            for (size_t i = 0; i < obs.size(); ++i)
                for (size_t j = 0; j < obs[i].size(); ++j) {
                    const json &lo = support["low"][j], &hi = support["high"][j];
                    if ((lo.is_number() && obs[i][j] < lo.get<double>()) || (hi.is_number() && obs[i][j] > hi.get<double>()))
                        throw UsageError(m.file + ": /observation: row " + std::to_string(i) + ", value " + std::to_string(j) + " (" +
                                         brief(json(obs[i][j])) + ") is outside the support of simulator '" + sim.id + "', [" + lo.dump() + ", " +
                                         hi.dump() + "]: no simulation can give it");
                }
        }
    }
    if (m.truth && m.truth->size() != sim.param_names.size())
        throw UsageError(m.file + ": /observation/theta: " + std::to_string(m.truth->size()) + " values but simulator '" + sim.id + "' has " +
                         std::to_string(sim.param_names.size()) + " parameters");
    if (m.estimator && m.inference.samples * sim.param_names.size() > kMaxSamples * 10)
        throw UsageError(m.file + ": /inference/samples: " + std::to_string(m.inference.samples) + " samples of " +
                         std::to_string(sim.param_names.size()) + " parameters are more than one run may hold in memory");
}

void adapt_to_switched_estimator(Manifest& m, const PluginRegistry& registry) {
    if (!m.estimator || !m.estimator_switched) return;
    const PluginInfo& est = registry.find(m.estimator->plugin.id, SIMBI_KIND_ESTIMATOR);
    std::string dropped;
    auto drop_foreign = [&](json& settings, const std::string& schema_json, const std::string& section) {
        if (schema_json.empty()) return;
        json schema = json::parse(schema_json);
        for (auto it = settings.begin(); it != settings.end();) {
            if (schema.contains(it.key())) {
                ++it;
                continue;
            }
            dropped += (dropped.empty() ? "" : ", ") + section + "." + it.key();
            it = settings.erase(it);
        }
    };
    drop_foreign(m.estimator->plugin.config, est.config_schema_json, "config");
    drop_foreign(m.estimator->training, est.training_schema_json, "training");
    if (!dropped.empty()) {
        std::fprintf(stderr, "note: estimator switched to '%s'; dropped the settings it does not take: %s\n", est.id.c_str(), dropped.c_str());
        m.doc["estimator"]["config"] = m.estimator->plugin.config;
        if (m.doc["estimator"].contains("training")) m.doc["estimator"]["training"] = m.estimator->training;
    }
}

json plugins_lock(const Manifest& m, const PluginRegistry& registry) {
    json plugins = json::array();
    auto add = [&](const std::string& role, const std::string& id, simbi_kind kind) {
        const PluginInfo& p = registry.find(id, kind);
        plugins.push_back({{"role", role}, {"id", p.id}, {"version", p.version}, {"abi", std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor)},
                           {"path", p.path}, {"sha256", p.sha256()}});
    };
    add("simulator", m.simulator.id, SIMBI_KIND_SIMULATOR);
    if (m.estimator) add("estimator", m.estimator->plugin.id, SIMBI_KIND_ESTIMATOR);
    for (const auto& d : m.diagnostics) add("diagnostic", d.id, SIMBI_KIND_DIAGNOSTIC);
    return {{"plugins", plugins}};
}

RunReport run_pipeline(const Manifest& m, const PluginRegistry& registry, HostServices& host, RunOptions options) {
    validate_run(m, registry, host);
    RunReport report;
    report.output_dir = m.output;
    if (rank_from_environment().rank > 0) {
        // In a parallel job every rank simulates its share; rank 0 alone samples and reports, and
        // trains alone unless the training is data-parallel.
        SimulateOptions so;
        so.quiet = options.quiet;
        SimulateResult sim = run_simulation(m, registry, host, so);
        report.simulated = sim.totals.simulated;
        report.rows = sim.totals.kept;
        report.reused_simulations = sim.reused;
        report.rank = rank_from_environment().rank;
        if (!m.estimator || !options.data_parallel) return report;
        const PluginInfo& sim_info = registry.find(m.simulator.id, SIMBI_KIND_SIMULATOR);
        std::unique_ptr<Prior> prior = manifest_prior(m, sim_info);
        RunContext run{m, registry, host, options, sim_info, registry.find(m.estimator->plugin.id, SIMBI_KIND_ESTIMATOR), *prior};
        if (!trains_data_parallel(run)) return report;
        wait_for_sealed_store(sim, options.quiet);
        report.trained_rank = true;
        report.reused_training = run_training(run, sim).reused;
        return report;
    }
    std::error_code ec;
    fs::create_directories(m.output, ec);
    if (ec) throw RunError("cannot create the output folder " + m.output + ": " + ec.message());
    RunLock lock(m.output + "/.run", "the output folder " + m.output);
    write_text_atomic(m.output + "/manifest.json", self_contained_doc(m).dump(2) + "\n");
    report.written.push_back("manifest.json");
    {
        // Every setting each plugin runs with, its defaults included, as its descriptor states them.
        const PluginInfo& sim = registry.find(m.simulator.id, SIMBI_KIND_SIMULATOR);
        json settings = {{"simulator", {{"id", sim.id}, {"version", sim.version}, {"sha256", sim.sha256()},
                                        {"config", resolved_settings(sim.config_schema_json, m.simulator.config)}}}};
        if (m.estimator) {
            const PluginInfo& est = registry.find(m.estimator->plugin.id, SIMBI_KIND_ESTIMATOR);
            settings["estimator"] = {{"id", est.id}, {"version", est.version}, {"sha256", est.sha256()},
                                     {"config", resolved_settings(est.config_schema_json, m.estimator->plugin.config)},
                                     {"training", resolved_settings(est.training_schema_json, m.estimator->training)},
                                     {"seed", m.estimator->seed.value_or(m.simulation.seed)}};
        }
        write_text_atomic(m.output + "/settings.json", settings.dump(2) + "\n");
        report.written.push_back("settings.json");
        write_text_atomic(m.output + "/plugins.lock.json", plugins_lock(m, registry).dump(2) + "\n");
        report.written.push_back("plugins.lock.json");
    }

    SimulateOptions so;
    so.quiet = options.quiet;
    SimulateResult sim = run_simulation(m, registry, host, so);
    report.simulated = sim.totals.simulated;
    report.rows = sim.totals.kept;
    report.reused_simulations = sim.reused;
    if (sim.isolation.is_object()) write_text_atomic(m.output + "/isolation.json", sim.isolation.dump(2) + "\n");
    if (!options.quiet)
        std::fprintf(stderr, "simulate: %s %llu rows in %s%s\n", sim.reused ? "reused" : "wrote", (unsigned long long)sim.totals.kept,
                     sim.store.c_str(), sim.reused ? " (up to date)" : "");
    if (!m.estimator) return report;

    const PluginInfo& sim_info = registry.find(m.simulator.id, SIMBI_KIND_SIMULATOR);
    std::unique_ptr<Prior> prior = manifest_prior(m, sim_info);
    const PluginInfo& est_info = registry.find(m.estimator->plugin.id, SIMBI_KIND_ESTIMATOR);
    RunContext run{m, registry, host, options, sim_info, est_info, *prior};

    if (options.data_parallel && rank_from_environment().size > 1 && !trains_data_parallel(run) && !options.quiet)
        std::fprintf(stderr, "note: estimator '%s' does not declare data-parallel training; rank 0 trains alone\n", est_info.id.c_str());
    TrainStageResult trained = run_training(run, sim);
    report.simulated = trained.simulations;
    report.rows = trained.rows;
    report.reused_training = trained.reused;
    if (!options.quiet && trained.reused)
        std::fprintf(stderr, "train: up to date, %s was trained on the same data with the same settings\n", trained.artifact.c_str());
    for (const auto& f : run_sampling(run, trained)) report.written.push_back(f);
    // The report is written even when a diagnostic failed: it shows what there is.
    std::vector<std::string> diagnosed;
    std::string diagnostics_failed;
    try {
        diagnosed = run_diagnostics(run, trained);
    } catch (const RunError& e) {
        diagnostics_failed = e.what();
    }
    for (const auto& f : diagnosed) report.written.push_back(f);
    for (const auto& f : write_report(m.output))
        if (f == "report.html") report.written.push_back(f);
    if (!diagnostics_failed.empty()) throw RunError(diagnostics_failed);
    return report;
}

}  // namespace simbi::host
