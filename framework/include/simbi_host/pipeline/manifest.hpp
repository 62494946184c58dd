// The manifest: one JSON file that wires a whole pipeline (docs/manifest.md).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "simbi_host/core/csv.hpp"
#include "simbi_host/core/json_reader.hpp"

namespace simbi::host {

// Upper limits on what a manifest may ask for: past them a typo, not a plan.
constexpr uint64_t kMaxBudget = uint64_t(1) << 40;     // simulations in one store (~1.1e12)
constexpr uint64_t kMaxChunkRows = uint64_t(1) << 24;  // rows held in memory per journal record
constexpr uint64_t kMaxBatchRows = uint64_t(1) << 20;  // rows per simulate() call
constexpr uint64_t kMaxSamples = uint64_t(100000000);  // posterior samples per request
constexpr uint64_t kMaxAttempts = 1000000;             // draws per row under "resample"

struct PluginRef {
    std::string id;
    json config = json::object();
    std::string json_path;  // where it sits in the manifest, for messages
    std::string held_out;   // diagnostics: a store of held-out pairs ("" for none)
    std::string sha256;     // a pin: the library must have this SHA-256 ("" for any)
};

struct SimulationSection {
    uint64_t budget = 10000;
    uint64_t seed = 1;
    unsigned threads = 0;  // 0: one per core
    uint64_t batch_rows = 64;
    uint64_t chunk_rows = 16384;
    std::string invalid = "drop";
    unsigned max_attempts = 100;
    std::string store;            // absolute
    bool store_in_cache = false;  // no store named and the lab has a cache: the plan names it
    bool float64 = false;
    std::string isolation = "none";  // "process": the simulator runs in worker processes
    // Per batch, in worker processes (isolation or a bridge): unset is the default limit
    // (kDefaultWorkerTimeoutSeconds); 0, set explicitly, is none.
    std::optional<double> timeout_s;
};

struct EstimatorSection {
    PluginRef plugin;
    json training = json::object();  // the plugin's keys, checked against its training schema
    std::optional<uint64_t> seed;    // initialization and batch order; unset: simulation.seed
};

// Data assimilation (docs/assimilation.md): an assimilator learns the simulator's trajectories,
// then draws trajectories given observed entries y = x[t][c] + N(0, sigma^2) at the listed
// components c and times t = first, first + every, ... below length.
struct AssimilationSection {
    PluginRef plugin;
    json training = json::object();  // the plugin's keys, checked against its training schema
    uint64_t seed = 1;               // training; sampling has posterior_seed
    std::vector<uint64_t> components;
    uint64_t every = 1, first = 0;
    double sigma = 0;
    std::vector<double> y;      // the observed values, time by time
    uint64_t length = 0;        // states in each drawn trajectory
    uint64_t trajectories = 8;  // how many are drawn
    uint64_t posterior_seed = 2;
    std::vector<double> truth;  // optional: the true trajectory [length, state_dim], for the report
};

struct InferenceSection {
    uint64_t samples = 10000;
    uint64_t seed = 2;
};

struct Manifest {
    std::string file;  // as given, for messages
    std::string dir;   // its folder; relative paths resolve against it
    json doc;          // after --set overrides
    std::vector<std::string> plugin_paths;
    bool allow_unsafe_plugins = false;
    PluginRef simulator;
    std::optional<json> prior;
    SimulationSection simulation;
    std::optional<EstimatorSection> estimator;
    std::optional<AssimilationSection> assimilation;
    std::optional<std::vector<std::vector<double>>> observation;  // one row per i.i.d. observation
    std::optional<std::vector<double>> truth;                     // observation.theta: the parameters behind it, when known
    // observation.each_row: every row its own observation, sampled in batches (amortized); then
    // `observation` is unset and observation_file names the rows' file, if any.
    std::vector<std::vector<double>> each_row;
    std::string observation_file;
    InferenceSection inference;
    std::vector<PluginRef> diagnostics;
    std::string output;  // absolute
    // The estimator the manifest names, when --set estimator.id=... replaced it.
    std::string switched_from;
};

// Reads, overrides and validates a manifest. Throws UsageError naming the file and JSON path.
// overrides: "dotted.path=VALUE" where VALUE is JSON, or else taken as a string.
Manifest load_manifest(const std::string& path, const std::vector<std::string>& overrides = {});

// The manifest as a document that needs no folder of its own: every path absolute and the
// observation inline. Written into the run folder, it is what `simbi diagnose` reloads.
json self_contained_doc(const Manifest& m);
// The same for a manifest's text; path names it in messages and anchors its relative paths.
Manifest load_manifest_text(const std::string& text, const std::string& path, const std::vector<std::string>& overrides = {});

// Applies one "a.b.c=VALUE" override to a JSON document.
void apply_override(json& doc, const std::string& assignment);

// The manifest as stored with results: without settings that do not change them (threads).
std::string manifest_for_record(const json& doc);

}  // namespace simbi::host
