// Bayesian-bootstrap row weights for the members of an ensemble (Rubin 1981, "The Bayesian
// Bootstrap"): each member fits the training rows weighted by its own Exp(1) draws, a Dirichlet
// posterior over the empirical distribution, so the members' spread reflects the finite data.
#pragma once
#include <cstdint>

#include "util.hpp"

namespace simbi::nn {

// [members, B] weights for the B rows (theta [B, d], x [B, k]), on theta's device. Row i's weight
// in member m is Exp(1), a function of the row's values, the seed and m only: the same whatever
// the batch size, the order of the rows or the number of ranks.
Tensor bootstrap_weights(const Tensor& theta, const Tensor& x, int64_t members, uint64_t seed);

}  // namespace simbi::nn
