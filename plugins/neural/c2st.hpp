// The classifier two-sample test.
#pragma once
#include "util.hpp"

namespace simbi::nn {

// Classifier two-sample test (Lopez-Paz & Oquab 2017) with sbibm's protocol: z-score both sets by
// the reference's mean and std, an MLP with two hidden layers of 10 * dim ReLU units trained with
// Adam, 5-fold shuffled cross-validation; returns the mean held-out accuracy.
double c2st(const Tensor& reference, const Tensor& approximate, uint64_t seed, int64_t folds = 5);

}  // namespace simbi::nn
