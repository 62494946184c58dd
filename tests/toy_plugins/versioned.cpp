// One simulator id in two versions (VERSION_MINOR 0 and 1), for the bundle tests: version 1.0.0
// simulates x = theta, version 1.1.0 x = theta + 10, so a run shows which one it used.
#include <simbi/simbi.hpp>

#define SIMBI_TOY_STR2(x) #x
#define SIMBI_TOY_STR(x) SIMBI_TOY_STR2(x)

struct Versioned {
    static simbi::Info info() {
        return simbi::Info("toy.versioned", "one id, two versions")
            .version("1." SIMBI_TOY_STR(VERSION_MINOR) ".0")
            .params({"a"})
            .outputs(1)
            .prior(R"({"type": "box_uniform", "low": [0], "high": [1]})");
    }
    explicit Versioned(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng&, double* x) const {
        x[0] = theta[0] + 10.0 * VERSION_MINOR;
        return true;
    }
};
SIMBI_EXPORT_PLUGINS(Versioned)
