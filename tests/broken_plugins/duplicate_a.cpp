// One of two libraries that claim the same plugin id.
#include <simbi/simbi.hpp>

struct Duplicate {
    static simbi::Info info() { return simbi::Info("test.duplicate", "Duplicate a").params({"a"}).outputs(1); }
    explicit Duplicate(const simbi::Config&) {}
    bool simulate(const double* t, simbi::Rng&, double* x) const {
        x[0] = t[0];
        return true;
    }
};
SIMBI_EXPORT_PLUGINS(Duplicate)
