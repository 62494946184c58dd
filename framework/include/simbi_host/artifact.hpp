// A trained estimator on disk: a folder with the plugin's own files (weights, its metadata) and
// simbi.json, the host's record of what it is and what made it. A later simbi with the same ABI
// major loads it.
#pragma once
#include <string>
#include <vector>

#include "simbi_host/json_reader.hpp"

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
};

void write_artifact_meta(const std::string& dir, const ArtifactMeta& meta);
// Throws RunError if the folder is not an artifact or was written by another ABI major.
ArtifactMeta read_artifact_meta(const std::string& dir);

// Posterior samples as HDF5 (/samples [n, d] float64 with parameter_names) and as CSV.
void write_samples_h5(const std::string& path, const std::vector<std::string>& names, const std::vector<double>& samples,
                      const json& attributes);
void write_samples_csv(const std::string& path, const std::vector<std::string>& names, const std::vector<double>& samples);
// Per parameter: mean, std, and the 5/50/95% quantiles.
json summarize_samples(const std::vector<std::string>& names, const std::vector<double>& samples);

}  // namespace simbi::host
