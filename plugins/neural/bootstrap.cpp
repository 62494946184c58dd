#include "bootstrap.hpp"

#include <cmath>
#include <cstring>
#include <simbi/rng.h>

#include "streams.hpp"

namespace simbi::nn {

Tensor bootstrap_weights(const Tensor& theta, const Tensor& x, int64_t members, uint64_t seed) {
    const Tensor rows = torch::cat({theta, x}, 1).to(torch::kCPU, torch::kFloat64).contiguous();
    const int64_t b = rows.size(0), w = rows.size(1);
    const double* v = rows.data_ptr<double>();
    Tensor out = torch::empty({members, b}, torch::kFloat32);
    auto o = out.accessor<float, 2>();
    for (int64_t i = 0; i < b; ++i) {
        uint64_t h = simbi_rng_mix(seed, streams::kBootstrap);
        for (int64_t j = 0; j < w; ++j) {
            uint64_t bits;
            std::memcpy(&bits, v + i * w + j, sizeof bits);
            h = simbi_rng_mix(h, bits);
        }
        for (int64_t m = 0; m < members; ++m) {
            const double u = double(simbi_rng_mix(h, uint64_t(m)) >> 11) * 0x1.0p-53;  // uniform on [0, 1)
            o[m][i] = float(-std::log1p(-u));                                          // Exp(1) by inversion
        }
    }
    return out.to(theta.device());
}

}  // namespace simbi::nn
