// A simulator that gives NaN in about 30% of rows and marks another 10% invalid.
#include <simbi/simbi.hpp>
#include <cmath>

struct NanOutput {
    static simbi::Info info() {
        return simbi::Info("test.nan_output", "NaN output")
            .params({"a"})
            .outputs(2)
            .prior(R"({"type": "box_uniform", "low": [0], "high": [1]})");
    }
    explicit NanOutput(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        double u = rng.uniform();
        x[0] = u < 0.3 ? std::nan("") : theta[0];
        x[1] = rng.normal();
        return !(u >= 0.3 && u < 0.4);
    }
};
SIMBI_EXPORT_PLUGINS(NanOutput)
