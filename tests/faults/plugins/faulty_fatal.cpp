// Simulators that end or stall the process, for the fault-injection tests.
#include <simbi/simbi.hpp>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace {
const char* kBox = R"({"type": "box_uniform", "low": [0, 0], "high": [1, 1]})";
}

// Calls exit(0) from inside simulate, at row 150.
struct ExitInSimulate {
    static simbi::Info info() { return simbi::Info("faulty.exit", "exit() in simulate").params({"a", "b"}).outputs(1).prior(kBox); }
    explicit ExitInSimulate(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        if (rng.uniform() < 0.01) std::exit(0);
        x[0] = theta[0] + theta[1];
        return true;
    }
};

// Never returns.
struct Hang {
    static simbi::Info info() { return simbi::Info("faulty.hang", "hangs").params({"a", "b"}).outputs(1).prior(kBox); }
    explicit Hang(const simbi::Config&) {}
    bool simulate(const double*, simbi::Rng&, double* x) const {
        for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
        x[0] = 0;
        return true;
    }
};

SIMBI_EXPORT_PLUGINS(ExitInSimulate, Hang)
