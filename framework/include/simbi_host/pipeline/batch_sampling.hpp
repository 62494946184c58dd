// Amortized sampling of many observations: n draws for each row of a table, written block by
// block to one HDF5 file (store/batch_samples.hpp), so memory holds one block whatever the number
// of observations. What `simbi sample --each-row` and a run whose observation is `each_row` do.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "simbi_host/plugins/estimator_instance.hpp"
#include "simbi_host/store/artifact.hpp"

namespace simbi::host {

// Observations per block: each block is sampled in one sample_batch call with the seed
// mix(seed, block index), a short last block padded with copies of its last row, so observation
// i's draws depend on the seed, i and its own x only, whatever the number of observations.
constexpr uint64_t kObservationBlock = 64;

struct BatchSamplingResult {
    uint64_t observations = 0;
    std::vector<uint64_t> failed;  // observations the estimator could not sample (NaN rows, flagged in /failed)
    std::string first_error;
    double seconds = 0;
};

// Samples n draws for each row into `out` (HDF5, renamed into place when complete). An observation
// the estimator cannot sample is retried alone; if it still fails it is recorded, never fatal.
BatchSamplingResult sample_each_observation(EstimatorInstance& est, const ArtifactMeta& meta, const std::vector<std::vector<double>>& rows,
                                            uint64_t n, uint64_t seed, const std::string& out, bool progress);

}  // namespace simbi::host
