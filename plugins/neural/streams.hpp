// The neural plugins' random streams: each purpose draws from simbi_rng_mix(seed, tag) with its
// own tag. Every tag the plugins use is here; changing one changes results.
#pragma once
#include <cstdint>

namespace simbi::nn::streams {

constexpr uint64_t kBatchOrderBase = 1000;  // + the epoch: the order of the training rows
constexpr uint64_t kDropoutBase = 5000;     // + the epoch: torch's global generator (dropout masks)
constexpr uint64_t kValidationNoise = 18;   // torch's global generator during validation, every epoch
constexpr uint64_t kNpeSampling = 11;       // NPE's flow draws
constexpr uint64_t kBootstrap = 19;         // an ensemble member's Bayesian-bootstrap row weights
constexpr uint64_t kNreSampling = 12;       // NRE's and BNRE's MCMC
constexpr uint64_t kNleSampling = 13;       // NLE's MCMC
constexpr uint64_t kFmpeSampling = 14;      // FMPE's base draws
constexpr uint64_t kFmpeDivergence = 15;    // FMPE's Hutchinson vectors in log_prob
constexpr uint64_t kNpseSampling = 16;      // NPSE's base draws and SDE noise
constexpr uint64_t kNpseDivergence = 17;    // NPSE's Hutchinson vectors in log_prob
constexpr uint64_t kTruncationBase = 500;   // + the round: a sequential round's region and draws
constexpr uint64_t kC2stShuffle = 7;        // C2ST's split of the two samples
constexpr uint64_t kC2stInitBase = 100;     // + the fold: the classifier's initial weights
constexpr uint64_t kC2stBatchBase = 200;    // + the fold: the classifier's batch order

}  // namespace simbi::nn::streams
