// One simulator id, three builds (VARIANT 1, 2, 3), for the pin and descriptor tests: 1 and 2
// differ in their code (x = a + b, x = a - b), 3 names its parameters otherwise.
#include <simbi/simbi.hpp>

struct Variant {
    static simbi::Info info() {
        return simbi::Info("toy.variant", "one id, three builds")
            .params(VARIANT == 3 ? std::vector<std::string>{"c", "d"} : std::vector<std::string>{"a", "b"})
            .outputs(1)
            .prior(R"({"type": "box_uniform", "low": [0, 0], "high": [1, 1]})");
    }
    explicit Variant(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        x[0] = (VARIANT == 2 ? theta[0] - theta[1] : theta[0] + theta[1]) + 0.01 * rng.normal();
        return true;
    }
};
SIMBI_EXPORT_PLUGINS(Variant)
