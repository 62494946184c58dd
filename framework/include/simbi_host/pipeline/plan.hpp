// Resolve once, then run: one pass turns a manifest into a plan. Every plugin is found and its
// bytes hashed (and compared with any pin), every config and training object is checked against
// its plugin's schema, the prior is built and fitted to the simulator, the observation and any
// held-out store are checked, and the ranks are read. Each stage then takes its part of the plan,
// never the manifest, and no check runs twice.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/pipeline/manifest.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"
#include "simbi_host/core/prior.hpp"
#include "simbi_host/pipeline/ranks.hpp"

namespace simbi::host {

class HostServices;

// One plugin as the run uses it.
struct PlannedPlugin {
    const PluginInfo* info = nullptr;  // the registry's; it outlives the plan
    std::string sha256;                // of its bytes when planned: what is recorded, and what must run
    json config = json::object();
    std::string json_path;  // where the manifest names it, for messages
    const PluginInfo& operator*() const { return *info; }
    const PluginInfo* operator->() const { return info; }
    // What training depends on: the config less the settings its schema marks sampling-only
    // ("x-sampling"), so that a changed sampler samples the kept artifact instead of training again.
    json trained_config() const;
};

// The simulate stage's part: what defines the dataset, and how to compute it.
struct SimulationPart {
    PlannedPlugin simulator;
    std::shared_ptr<const Prior> prior;
    SimulationSection settings;
    std::string record;         // the manifest as stored with the data (manifest_for_record)
    std::string manifest_file;  // for messages
    std::string fingerprint;    // of the dataset this part defines (StoreMeta::fingerprint)
};

struct EstimatorPart {
    PlannedPlugin estimator;
    json training = json::object();
    uint64_t seed = 0;
};

// The assimilate stage's part: the assimilator, its training, and the observation operator as
// flat indices t * state_dim + c of the observed entries.
struct AssimilationPart {
    PlannedPlugin assimilator;
    AssimilationSection settings;
    uint64_t state_dim = 0, steps = 0;  // the simulator's output shape [state_dim, steps]
    std::vector<uint64_t> index;        // increasing
};

struct DiagnosticPart {
    PlannedPlugin diagnostic;
    std::string held_out;  // a store of held-out pairs, checked to be of this run's setup ("": none)
};

struct RunPlan {
    std::string manifest_file;
    json document;  // the self-contained manifest, as manifest.json holds it
    SimulationPart simulation;
    std::optional<EstimatorPart> estimator;
    std::optional<AssimilationPart> assimilation;
    std::vector<DiagnosticPart> diagnostics;
    std::optional<std::vector<std::vector<double>>> observation;  // i.i.d. rows
    std::vector<std::vector<double>> each_row;                    // many observations, each sampled on its own
    std::optional<std::vector<double>> truth;
    InferenceSection inference;
    std::string output;
    RankInfo ranks;

    // The key of what the run's estimator is trained from (simulator, prior, simulation, estimator,
    // settings and seeds), recorded in the run folder's marker: another key is another setup.
    std::string setup_key() const;
    // What defines the assimilator's training besides the data: its plugin, settings and seed.
    json assimilation_key() const;
    // settings.json: every setting each plugin runs with, its defaults included.
    json settings() const;
    // plugins.lock.json: every plugin the run uses, with its path and SHA-256.
    json plugins_lock() const;
    std::vector<const PlannedPlugin*> plugins() const;
};

// What to plan for: a whole run, or only the simulation (`simbi simulate`).
enum class PlanScope { Run, Simulation };

// Plans a manifest; throws UsageError (a bad manifest, a pin that does not match) or RunError (a
// plugin that is missing or cannot be loaded), naming the manifest and the JSON path.
RunPlan plan_run(const Manifest& m, const PluginRegistry& registry, const HostServices& host, PlanScope scope = PlanScope::Run);

// The simulation part alone, for one simulator and prior (`simbi simulate --at`, benches).
SimulationPart plan_simulation(const Manifest& m, const PluginRegistry& registry);

// A plugin of the registry as the run uses it: its bytes hashed now, and compared with the pin
// `ref` names, if any (UsageError naming both hashes).
PlannedPlugin plan_plugin(const PluginRef& ref, const PluginRegistry& registry, simbi_kind kind, const std::string& manifest_file);

// After --set estimator.id=...: drops the config and training keys the new estimator does not
// declare, with one note on stderr, so that switching estimators is one line.
void adapt_to_switched_estimator(Manifest& m, const PluginRegistry& registry);

}  // namespace simbi::host
