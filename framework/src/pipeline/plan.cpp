#include "simbi_host/pipeline/plan.hpp"

#include <cmath>
#include <cstdio>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/assimilator_instance.hpp"
#include "simbi_host/pipeline/lab_config.hpp"
#include "simbi_host/plugins/estimator_instance.hpp"
#include "simbi_host/plugins/isolated_simulator.hpp"
#include "simbi_host/plugins/plugin_settings.hpp"
#include "simbi_host/core/sha256.hpp"
#include "simbi_host/pipeline/simulate_stage.hpp"
#include "simbi_host/store/store.hpp"

namespace simbi::host {
namespace {

std::unique_ptr<Prior> prior_for(const Manifest& m, const PluginInfo& sim) {
    std::unique_ptr<Prior> prior;
    if (m.prior) {
        prior = parse_prior(JsonReader(*m.prior, m.file, "/prior"));
    } else if (!sim.default_prior_json.empty()) {
        prior = parse_prior_json(sim.default_prior_json, "default prior of '" + sim.id + "'");
    } else {
        throw UsageError(m.file + ": /prior: missing, and simulator '" + sim.id + "' has no default prior");
    }
    if (prior->dim() != sim.param_names.size())
        throw UsageError(m.file + ": /prior: has " + std::to_string(prior->dim()) + " dimensions but simulator '" + sim.id + "' takes " +
                         std::to_string(sim.param_names.size()) + " parameters");
    return prior;
}

void check_observation(const Manifest& m, const std::vector<std::vector<double>>& obs, const PluginInfo& sim) {
    if (obs.empty()) throw UsageError(m.file + ": /observation: no rows");
    for (size_t i = 0; i < obs.size(); ++i) {
        if (obs[i].size() != sim.output_dim)
            throw UsageError(m.file + ": /observation: row " + std::to_string(i) + " has " + std::to_string(obs[i].size()) +
                             " values but simulator '" + sim.id + "' gives " + std::to_string(sim.output_dim));
        for (size_t j = 0; j < obs[i].size(); ++j)
            if (!std::isfinite(obs[i][j]))
                throw UsageError(m.file + ": /observation: row " + std::to_string(i) + ", value " + std::to_string(j) + " is not finite");
    }
    if (sim.output_support_json.empty()) return;
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

// A held-out store must hold pairs of this run's setup (its simulator's bytes and config, its
// prior) that the estimator never saw: not the training store.
void check_held_out(const std::string& path, const SimulationPart& sim, const std::string& where) {
    std::unique_ptr<DatasetReader> store;
    try {
        store = std::make_unique<DatasetReader>(path);
        store->verify();
    } catch (const RunError& e) {
        throw UsageError(where + ": " + e.what());
    }
    const json a = store->attributes();
    if (a.value("fingerprint", "") == sim.fingerprint)
        throw UsageError(where + ": " + path +
                         " is the training store itself (the same setup and seed): held-out pairs must be simulated "
                         "apart, e.g. with another simulation.seed");
    const StoreMeta meta = store_meta(sim);
    auto differs = [&](const char* key, const std::string& ours, const std::string& what) {
        const std::string theirs = a.value(key, "");
        if (theirs != ours)
            throw UsageError(where + ": " + path + " was simulated with another " + what + " (" + clip(theirs, 80) +
                             ", this run: " + clip(ours, 80) + "); held-out pairs must come from this run's simulator, config and prior");
    };
    differs("simulator_id", meta.simulator_id, "simulator");
    differs("simulator_sha256", meta.simulator_sha256, "simulator library (SHA-256)");
    differs("simulator_config", meta.simulator_config, "simulator config");
    differs("prior", meta.prior_json, "prior");
}

// The plugin a manifest names; an unknown id names the manifest and the JSON path too.
const PluginInfo& find_named(const PluginRegistry& registry, const std::string& id, simbi_kind kind, const std::string& file,
                             const std::string& json_path) {
    try {
        return registry.find(id, kind);
    } catch (const UsageError& e) {
        throw UsageError(file + ": " + json_path + "/id: " + e.what());
    }
}

AssimilationPart plan_assimilation(const Manifest& m, const PluginRegistry& registry, const PluginInfo& sim) {
    const AssimilationSection& a = *m.assimilation;
    const std::string where = m.file + ": " + a.plugin.json_path;
    AssimilationPart part;
    part.assimilator = plan_plugin(a.plugin, registry, SIMBI_KIND_ASSIMILATOR, m.file);
    check_against_schema(part.assimilator->training_schema_json, part.assimilator->id, a.training, m.file, a.plugin.json_path + "/training",
                         "training");
    part.settings = a;
    if (sim.output_shape.size() != 2)
        throw UsageError(where + ": simulator '" + sim.id +
                         "' does not declare its output as a trajectory (shape [D, T]: D series of T states)");
    part.state_dim = sim.output_shape[0];
    part.steps = sim.output_shape[1];
    for (uint64_t c : a.components)
        if (c >= part.state_dim)
            throw UsageError(where + "/observation/components: component " + std::to_string(c) + ", but the state has " +
                             std::to_string(part.state_dim));
    for (uint64_t t = a.first; t < a.length; t += a.every)
        for (uint64_t c : a.components) part.index.push_back(t * part.state_dim + c);
    if (a.y.size() != part.index.size())
        throw UsageError(where + "/observation/y: " + std::to_string(a.y.size()) + " values, but the operator observes " +
                         std::to_string(part.index.size()) + " (the components at times " + std::to_string(a.first) + ", " +
                         std::to_string(a.first + a.every) + ", ... below " + std::to_string(a.length) + ")");
    if (!a.truth.empty() && a.truth.size() != a.length * part.state_dim)
        throw UsageError(where + "/truth: " + std::to_string(a.truth.size()) +
                         " values, not length x D = " + std::to_string(a.length * part.state_dim));
    return part;
}

}  // namespace

PlannedPlugin plan_plugin(const PluginRef& ref, const PluginRegistry& registry, simbi_kind kind, const std::string& manifest_file) {
    PlannedPlugin p;
    p.info = &find_named(registry, ref.id, kind, manifest_file, ref.json_path);
    p.config = ref.config;
    p.json_path = ref.json_path;
    p.sha256 = p.info->sha256();
    if (!ref.sha256.empty() && ref.sha256 != p.sha256)
        throw UsageError(manifest_file + ": " + ref.json_path + "/sha256: plugin '" + ref.id + "' is pinned to " + ref.sha256 + " but " +
                         p.info->path + " has SHA-256 " + p.sha256 +
                         " (another build or version; update the pin or install the pinned library)");
    check_plugin_config(*p.info, ref.config, manifest_file, ref.json_path + "/config");
    return p;
}

SimulationPart plan_simulation(const Manifest& m, const PluginRegistry& registry) {
    SimulationPart part;
    part.simulator = plan_plugin(m.simulator, registry, SIMBI_KIND_SIMULATOR, m.file);
    part.prior = prior_for(m, *part.simulator);
    part.settings = m.simulation;
    part.record = manifest_for_record(m.doc);
    part.manifest_file = m.file;
    if (part.settings.store.empty()) throw UsageError(m.file + ": /simulation/store: expected a file path");
    const bool bridge = !part.simulator->bridge_command.empty();
    if (part.settings.timeout_s && *part.settings.timeout_s > 0 && part.settings.isolation != "process" && !bridge)
        throw UsageError(m.file +
                         ": /simulation/timeout_s: needs \"isolation\": \"process\" as well: only a worker process can be stopped");
    if (bridge && !m.simulator.config.empty())
        throw UsageError(m.file + ": " + m.simulator.json_path + "/config: simulator '" + part.simulator->id +
                         "' is a process bridge and takes no config");
    part.fingerprint = store_meta(part).fingerprint();
    // No store named and a lab cache: the store of this setup in the cache, shared by every run
    // of the same setup, whoever starts it.
    if (part.settings.store_in_cache) part.settings.store = cached_store_path(lab_config().cache, part.fingerprint);
    return part;
}

RunPlan plan_run(const Manifest& m, const PluginRegistry& registry, const HostServices& host, PlanScope scope) {
    RunPlan plan;
    plan.manifest_file = m.file;
    plan.document = self_contained_doc(m);
    plan.simulation = plan_simulation(m, registry);
    if (plan.simulation.settings.store_in_cache) plan.document["simulation"]["store"] = plan.simulation.settings.store;
    plan.output = m.output;
    plan.ranks = rank_from_environment();
    if (scope == PlanScope::Simulation) return plan;
    const PluginInfo& sim = *plan.simulation.simulator;
    if (m.estimator) {
        EstimatorPart e;
        e.estimator = plan_plugin(m.estimator->plugin, registry, SIMBI_KIND_ESTIMATOR, m.file);
        if (!e.estimator->training_schema_json.empty())
            check_against_schema(e.estimator->training_schema_json, e.estimator->id, m.estimator->training, m.file,
                                 m.estimator->plugin.json_path + "/training", "training");
        e.training = m.estimator->training;
        for (const auto& note : unlikely_settings(e.estimator->training_schema_json, e.training))
            std::fprintf(stderr, "note: estimator '%s': training.%s\n", e.estimator->id.c_str(), note.c_str());
        e.seed = m.estimator->seed.value_or(m.simulation.seed);
        EstimatorInstance probe(*e.estimator, e.estimator.config, host);  // the plugin's own checks of its config
        plan.estimator = std::move(e);
    }
    if (m.assimilation) {
        plan.assimilation = plan_assimilation(m, registry, sim);
        AssimilatorInstance probe(*plan.assimilation->assimilator, plan.assimilation->assimilator.config, host);  // its own checks
    } else if (plan.simulation.prior->spec().value("type", "") == "point" && (m.estimator || !m.diagnostics.empty())) {
        throw UsageError(m.file + ": /prior: a point prior fixes the parameters; it serves data assimilation, not an estimator");
    }
    for (const auto& d : m.diagnostics) {
        DiagnosticPart part;
        part.diagnostic = plan_plugin(d, registry, SIMBI_KIND_DIAGNOSTIC, m.file);
        part.held_out = d.held_out;
        if (!part.held_out.empty()) check_held_out(part.held_out, plan.simulation, m.file + ": " + d.json_path + "/held_out");
        plan.diagnostics.push_back(std::move(part));
    }
    if (m.observation) {
        check_observation(m, *m.observation, sim);
        plan.observation = m.observation;
    }
    if (!m.each_row.empty() || m.doc.contains("observation") && m.doc["observation"].value("each_row", false)) {
        check_observation(m, m.each_row, sim);
        if (!plan.estimator) throw UsageError(m.file + ": /observation/each_row: sampling many observations needs an estimator");
        plan.each_row = m.each_row;
    }
    if (m.truth && m.truth->size() != sim.param_names.size())
        throw UsageError(m.file + ": /observation/theta: " + std::to_string(m.truth->size()) + " values but simulator '" + sim.id +
                         "' has " + std::to_string(sim.param_names.size()) + " parameters");
    plan.truth = m.truth;
    plan.inference = m.inference;
    if (plan.estimator && m.inference.samples * sim.param_names.size() > kMaxSamples * 10)
        throw UsageError(m.file + ": /inference/samples: " + std::to_string(m.inference.samples) + " samples of " +
                         std::to_string(sim.param_names.size()) + " parameters are more than one run may hold in memory");
    return plan;
}

std::vector<const PlannedPlugin*> RunPlan::plugins() const {
    std::vector<const PlannedPlugin*> out{&simulation.simulator};
    if (estimator) out.push_back(&estimator->estimator);
    if (assimilation) out.push_back(&assimilation->assimilator);
    for (const auto& d : diagnostics) out.push_back(&d.diagnostic);
    return out;
}

std::string RunPlan::setup_key() const {
    json j = {{"simulation", simulation.fingerprint}};
    if (estimator)
        j["estimator"] = {{"id", estimator->estimator->id},
                          {"sha256", estimator->estimator.sha256},
                          {"config", estimator->estimator.trained_config()},
                          {"training", estimator->training},
                          {"seed", estimator->seed}};
    if (assimilation) j["assimilator"] = assimilation_key();
    return sha256_hex(j.dump());
}

json PlannedPlugin::trained_config() const {
    json trained = config;
    const json properties = schema_properties(info->config_schema_json);
    for (auto it = properties.begin(); it != properties.end(); ++it)
        if (it.value().is_object() && it.value().value("x-sampling", false)) trained.erase(it.key());
    return trained;
}

json RunPlan::assimilation_key() const {
    const PlannedPlugin& a = assimilation->assimilator;
    return {{"id", a->id},
            {"sha256", a.sha256},
            {"config", a.trained_config()},
            {"training", assimilation->settings.training},
            {"seed", assimilation->settings.seed}};
}

json RunPlan::settings() const {
    const PlannedPlugin& sim = simulation.simulator;
    json settings = {{"simulator",
                      {{"id", sim->id},
                       {"version", sim->version},
                       {"sha256", sim.sha256},
                       {"config", resolved_settings(sim->config_schema_json, sim.config)}}}};
    if (estimator) {
        const PlannedPlugin& est = estimator->estimator;
        settings["estimator"] = {{"id", est->id},
                                 {"version", est->version},
                                 {"sha256", est.sha256},
                                 {"config", resolved_settings(est->config_schema_json, est.config)},
                                 {"training", resolved_settings(est->training_schema_json, estimator->training)},
                                 {"seed", estimator->seed}};
    }
    if (assimilation) {
        const PlannedPlugin& a = assimilation->assimilator;
        settings["assimilator"] = {{"id", a->id},
                                   {"version", a->version},
                                   {"sha256", a.sha256},
                                   {"config", resolved_settings(a->config_schema_json, a.config)},
                                   {"training", resolved_settings(a->training_schema_json, assimilation->settings.training)},
                                   {"seed", assimilation->settings.seed}};
    }
    return settings;
}

json RunPlan::plugins_lock() const {
    json plugins = json::array();
    auto add = [&](const std::string& role, const PlannedPlugin& p) {
        plugins.push_back({{"role", role},
                           {"id", p->id},
                           {"version", p->version},
                           {"abi", std::to_string(p->abi_major) + "." + std::to_string(p->abi_minor)},
                           {"path", p->path},
                           {"sha256", p.sha256}});
    };
    add("simulator", simulation.simulator);
    if (estimator) add("estimator", estimator->estimator);
    if (assimilation) add("assimilator", assimilation->assimilator);
    for (const auto& d : diagnostics) add("diagnostic", d.diagnostic);
    return {{"plugins", plugins}};
}

void adapt_to_switched_estimator(Manifest& m, const PluginRegistry& registry) {
    if (!m.estimator || m.switched_from.empty()) return;
    const PluginInfo& est = find_named(registry, m.estimator->plugin.id, SIMBI_KIND_ESTIMATOR, m.file, m.estimator->plugin.json_path);
    const PluginInfo* original = registry.try_find(m.switched_from, SIMBI_KIND_ESTIMATOR);
    std::string dropped;
    // A key the replaced estimator declares and the new one does not is dropped; any other key the
    // new one does not take stays, for the check to refuse as a typo.
    auto drop_foreign = [&](json& settings, const std::string& schema_json, const std::string& original_schema,
                            const std::string& section) {
        if (schema_json.empty()) return;
        const json schema = schema_properties(schema_json), theirs = schema_properties(original_schema);
        for (auto it = settings.begin(); it != settings.end();) {
            if (schema.contains(it.key()) || !theirs.contains(it.key())) {
                ++it;
                continue;
            }
            dropped += (dropped.empty() ? "" : ", ") + section + "." + it.key();
            it = settings.erase(it);
        }
    };
    drop_foreign(m.estimator->plugin.config, est.config_schema_json, original ? original->config_schema_json : "", "config");
    drop_foreign(m.estimator->training, est.training_schema_json, original ? original->training_schema_json : "", "training");
    if (!dropped.empty()) {
        std::fprintf(stderr, "note: estimator switched from '%s' to '%s'; dropped the settings only the first takes: %s\n",
                     m.switched_from.c_str(), est.id.c_str(), dropped.c_str());
        m.doc["estimator"]["config"] = m.estimator->plugin.config;
        if (m.doc["estimator"].contains("training")) m.doc["estimator"]["training"] = m.estimator->training;
    }
}

}  // namespace simbi::host
