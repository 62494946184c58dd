// A simulator that throws: the exception must become an error status, never cross the ABI.
#include <simbi/simbi.hpp>
#include <stdexcept>

struct Throwing {
    static simbi::Info info() {
        return simbi::Info("test.throwing", "Throwing")
            .params({"a"})
            .outputs(1)
            .prior(R"({"type": "box_uniform", "low": [0], "high": [1]})");
    }
    explicit Throwing(const simbi::Config&) {}
    bool simulate(const double*, simbi::Rng&, double*) const { throw std::runtime_error("the solver diverged"); }
};
SIMBI_EXPORT_PLUGINS(Throwing)
