// A trained estimator on disk: a folder with the plugin's own files (weights, its metadata) and
// simbi.json, the host's record of what it is and what made it. A later simbi with the same ABI
// major loads it.
#pragma once
#include <string>
#include <vector>

#include "simbi_host/core/json_reader.hpp"

namespace simbi::host {

struct ArtifactMeta {
    std::string estimator_id, estimator_version, estimator_sha256;
    json estimator_config = json::object();
    json training = json::object();
    std::vector<std::string> parameter_names;
    uint64_t x_dim = 0;
    json prior;  // simbi prior JSON
    std::string simulator_id;
    std::string simbi_version;
    uint32_t abi_major = 0, abi_minor = 0;
    uint64_t training_rows = 0;
    std::string training_fingerprint;  // what made it: data checksums, estimator, settings, seed
    json record = json::object();      // the training's history: losses, seconds, rounds
    json files = json::object();       // relative path -> SHA-256 of every file the estimator saved
};

// Writes simbi.json into dir, with the SHA-256 of every other file in dir and of simbi.json's
// own content, so that a reader can tell a changed or mixed artifact from the one written.
void write_artifact_meta(const std::string& dir, const ArtifactMeta& meta);
// Reads simbi.json and checks its fields' ranges and its own checksum; throws RunError if the
// folder is not an artifact, was written by another ABI major, or its record was changed.
ArtifactMeta read_artifact_meta(const std::string& dir);
// Checks every file the artifact lists against its SHA-256 (and that none is missing); throws
// RunError naming the first that differs.
void verify_artifact_files(const std::string& dir, const ArtifactMeta& meta);

// Posterior samples as HDF5 (/samples [n, d] float64 with parameter_names) and as CSV.
void write_samples_h5(const std::string& path, const std::vector<std::string>& names, const std::vector<double>& samples,
                      const json& attributes);
// Any table as HDF5: /<dataset> [n, columns] float64, its column names in the attribute
// names_attribute, and string attributes.
void write_table_h5(const std::string& path, const std::string& dataset, const std::string& names_attribute,
                    const std::vector<std::string>& names, const std::vector<double>& values, const json& attributes);
void write_samples_csv(const std::string& path, const std::vector<std::string>& names, const std::vector<double>& samples);
// One parameter's draws summarized (values are sorted in place): mean, std and the 5/50/95%
// quantiles, interpolated between order statistics.
struct SampleSummary {
    double mean, std, q05, q50, q95;
};
SampleSummary summarize_values(std::vector<double>& values);
// Per parameter: mean, std, and the 5/50/95% quantiles.
json summarize_samples(const std::vector<std::string>& names, const std::vector<double>& samples);

}  // namespace simbi::host
