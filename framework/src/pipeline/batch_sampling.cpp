#include "simbi_host/pipeline/batch_sampling.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <simbi/rng.h>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/store/batch_samples.hpp"

namespace simbi::host {

BatchSamplingResult sample_each_observation(EstimatorInstance& est, const ArtifactMeta& meta, const std::vector<std::vector<double>>& rows,
                                            uint64_t n, uint64_t seed, const std::string& out, bool progress) {
    BatchSamplingResult result;
    const uint64_t n_obs = rows.size(), d = meta.parameter_names.size(), k = meta.x_dim;
    result.observations = n_obs;
    BatchSamplesWriter writer(out, meta.parameter_names, n_obs, n,
                              {{"seed", seed}, {"observations", n_obs}, {"estimator", meta.estimator_id}});
    const auto t0 = std::chrono::steady_clock::now();
    for (uint64_t first = 0, block = 0; first < n_obs; first += kObservationBlock, ++block) {
        const uint64_t count = std::min(kObservationBlock, n_obs - first);
        std::vector<double> flat;
        flat.reserve(kObservationBlock * k);
        for (uint64_t i = 0; i < kObservationBlock; ++i) {
            const auto& r = rows[first + std::min(i, count - 1)];
            flat.insert(flat.end(), r.begin(), r.end());
        }
        std::vector<double> draws;
        try {
            draws = est.sample_batch(flat, kObservationBlock, n, simbi_rng_mix(seed, block), d);
            draws.resize(count * n * d);
        } catch (const RunError&) {
            // One observation the estimator cannot sample (its posterior outside the prior, say)
            // does not cost the block: each is drawn alone, with a seed of its own, and those that
            // still fail are NaN and flagged in /failed.
            draws.assign(count * n * d, std::nan(""));
            for (uint64_t j = 0; j < count; ++j) {
                try {
                    const std::vector<double> one =
                        est.sample_batch(rows[first + j], 1, n, simbi_rng_mix(simbi_rng_mix(seed, block), 1 + j), d);
                    std::copy(one.begin(), one.end(), draws.begin() + long(j * n * d));
                } catch (const RunError& e) {
                    result.failed.push_back(first + j);
                    if (result.first_error.empty()) result.first_error = e.what();
                }
            }
        }
        writer.write(first, count, draws);
        if (progress)
            std::fprintf(stderr, "\rsample: %llu/%llu observations", (unsigned long long)(first + count), (unsigned long long)n_obs);
    }
    writer.set_failed(result.failed);
    writer.commit();
    if (progress) std::fprintf(stderr, "\n");
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

}  // namespace simbi::host
