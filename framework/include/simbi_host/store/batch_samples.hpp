// Posterior samples of many observations in one HDF5 file, written observation block by block,
// so that memory holds one block whatever the number of observations:
//   /samples [n_obs, n_per_obs, d] float64, /mean, /std, /q05, /q50, /q95 [n_obs, d],
//   /failed [n_obs] uint8 (1: the estimator could not sample it; its rows are NaN),
//   attributes parameter_names and the caller's (seed, artifact, ...).
// Written to a temporary file and renamed into place by commit(); dropped otherwise.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "simbi_host/core/json_reader.hpp"

namespace simbi::host {

class BatchSamplesWriter {
public:
    BatchSamplesWriter(const std::string& path, const std::vector<std::string>& names, uint64_t n_obs, uint64_t n_per_obs,
                       const json& attributes);
    ~BatchSamplesWriter();
    BatchSamplesWriter(const BatchSamplesWriter&) = delete;
    BatchSamplesWriter& operator=(const BatchSamplesWriter&) = delete;

    // Observations [first, first + count): samples[count, n_per_obs, d].
    void write(uint64_t first, uint64_t count, const std::vector<double>& samples);
    // The observations that could not be sampled (their rows NaN): /failed [n_obs] uint8.
    void set_failed(const std::vector<uint64_t>& observations);
    void commit();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A table [rows, columns] of an HDF5 file's dataset (e.g. /x), as float64.
std::vector<std::vector<double>> read_table_h5(const std::string& path, const std::string& dataset);

}  // namespace simbi::host
