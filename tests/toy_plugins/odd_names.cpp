// Parameter names that CSV must quote (a comma, a quote) and plots must escape (markup), for the
// report tests.
#include <simbi/simbi.hpp>

struct OddNames {
    static simbi::Info info() {
        return simbi::Info("toy.odd_names", "odd parameter names")
            .params({"rate, per day", "the \"shape\"", "<b>bold</b>"})
            .outputs(3)
            .prior(R"({"type": "box_uniform", "low": [0, 0, 0], "high": [1, 1, 1]})");
    }
    explicit OddNames(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        for (int j = 0; j < 3; ++j) x[j] = theta[j] + 0.1 * rng.normal();
        return true;
    }
};
SIMBI_EXPORT_PLUGINS(OddNames)
