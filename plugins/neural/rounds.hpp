// Truncated sequential rounds (TSNPE, Deistler et al. 2022): after training on the prior's rows,
// each round draws parameters from the prior truncated to the current posterior's highest-density
// region, has the host simulate them, and retrains on every round's rows.
#pragma once
#include "util.hpp"

namespace simbi::nn {

struct RoundsConfig {
    int64_t rounds = 1;                 // rounds in all; 1: amortized, no truncation
    uint64_t round_budget = 0;          // simulations in each later round; 0: as many as the first round's rows
    double truncation_quantile = 1e-4;  // posterior mass left outside the region
    uint64_t max_candidates = 1000;     // prior draws tried per accepted one, at most

    // Checks a training object (TrainingConfig::check) and takes the round keys out of it (the
    // rest is TrainingConfig's).
    static RoundsConfig take_from(json& training);
    static void declare(simbi::Info& info);
};

// The region's threshold: the `quantile` quantile of the posterior's own log-density values at
// its draws, so that the region {log q > threshold} holds 1 - quantile of the posterior's mass.
double hpd_threshold(std::vector<double> log_density_at_draws, double quantile);

// Rows of several readers, one after another, as one simbi_batch_reader.
class ConcatReader {
public:
    explicit ConcatReader(std::vector<const simbi_batch_reader*> parts);
    const simbi_batch_reader* c() const { return &c_; }

private:
    std::vector<const simbi_batch_reader*> parts_;
    simbi_batch_reader c_{};
};

}  // namespace simbi::nn
