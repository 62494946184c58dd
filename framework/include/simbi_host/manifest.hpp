// The manifest: one JSON file that wires a whole pipeline (docs/manifest.md).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "simbi_host/json_reader.hpp"
#include "simbi_host/plugin_registry.hpp"

namespace simbi::host {

// Upper limits on what a manifest may ask for: past them a typo, not a plan.
constexpr uint64_t kMaxBudget = uint64_t(1) << 40;        // simulations in one store (~1.1e12)
constexpr uint64_t kMaxChunkRows = uint64_t(1) << 24;     // rows held in memory per journal record
constexpr uint64_t kMaxBatchRows = uint64_t(1) << 20;     // rows per simulate() call
constexpr uint64_t kMaxSamples = uint64_t(100000000);     // posterior samples per request
constexpr uint64_t kMaxAttempts = 1000000;                // draws per row under "resample"

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
    std::string store;  // absolute
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
    std::optional<std::vector<std::vector<double>>> observation;  // one row per i.i.d. observation
    std::optional<std::vector<double>> truth;  // observation.theta: the parameters behind it, when known
    InferenceSection inference;
    std::vector<PluginRef> diagnostics;
    std::string output;  // absolute
    bool estimator_switched = false;  // --set estimator.id=... was given
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

// Checks a JSON object's keys, value types and stated bounds against a schema in the descriptor
// form ({"key": {"type": ..., "default": ..., "doc": ..., and optionally "minimum",
// "exclusive_minimum", "maximum", "exclusive_maximum", "enum"}}); UsageError names the key and
// the accepted ones. what: "config" or "training", for messages.
void check_against_schema(const std::string& schema_json, const std::string& plugin_id, const json& value, const std::string& file,
                          const std::string& json_path, const std::string& what);
// Checks a plugin's config against the config schema in its descriptor.
void check_plugin_config(const PluginInfo& info, const json& config, const std::string& file, const std::string& json_path);
// The schema's defaults with the given values over them: the settings a plugin runs with.
json resolved_settings(const std::string& schema_json, const json& given);

// The whole of text as one finite number, or UsageError naming `where`.
double parse_number_strict(const std::string& text, const std::string& where);

// Reads observations from a CSV file with a header row: one row per observation.
std::vector<std::vector<double>> read_csv_rows(const std::string& path);

// The manifest as stored with results: without settings that do not change them (threads).
std::string manifest_for_record(const json& doc);

}  // namespace simbi::host
