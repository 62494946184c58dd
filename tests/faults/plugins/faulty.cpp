// Simulators that break the contract in one way each, for the fault-injection tests.
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

// Writes into the read-only theta it was handed.
struct WritesTheta {
    static simbi::Info info() { return simbi::Info("faulty.writes_theta", "writes theta").params({"a", "b"}).outputs(1).prior(kBox); }
    explicit WritesTheta(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng&, double* x) const {
        const_cast<double*>(theta)[0] *= 2.0;
        x[0] = theta[0];
        return true;
    }
};

// Declares 5 outputs and writes 6.
struct Overrun {
    static simbi::Info info() { return simbi::Info("faulty.overrun", "writes past its outputs").params({"a", "b"}).outputs(5).prior(kBox); }
    explicit Overrun(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng&, double* x) const {
        for (int j = 0; j < 6; ++j) x[j] = theta[0] + j;
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

// Marks every row invalid.
struct AllInvalid {
    static simbi::Info info() { return simbi::Info("faulty.all_invalid", "all invalid").params({"a", "b"}).outputs(1).prior(kBox); }
    explicit AllInvalid(const simbi::Config&) {}
    bool simulate(const double*, simbi::Rng&, double* x) const {
        x[0] = 0;
        return false;
    }
};

SIMBI_EXPORT_PLUGINS(ExitInSimulate, WritesTheta, Overrun, Hang, AllInvalid)
