// Simulators that break the contract in one way each, for the fault-injection tests.
#include <simbi/simbi.hpp>

#include <atomic>

namespace {
const char* kBox = R"({"type": "box_uniform", "low": [0, 0], "high": [1, 1]})";
}

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

// Declares 2 outputs and writes a whole row of 64 values past them.
struct OverrunRow {
    static simbi::Info info() {
        return simbi::Info("faulty.overrun_row", "writes a row past its outputs").params({"a", "b"}).outputs(2).prior(kBox);
    }
    explicit OverrunRow(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng&, double* x) const {
        for (int j = 0; j < 66; ++j) x[j] = theta[0] + j;
        return true;
    }
};

// Marks every row invalid.
struct AllInvalid {
    static simbi::Info info() {
        return simbi::Info("faulty.all_invalid", "all invalid")
            .params({"a", "b"})
            .outputs(1)
            .prior(kBox)
            .support(R"({"low": [0], "high": [null]})");
    }
    explicit AllInvalid(const simbi::Config&) {}
    bool simulate(const double*, simbi::Rng&, double* x) const {
        x[0] = 0;
        return false;
    }
};

// Depends on how many rows it has simulated before, not only on (seed, row).
struct NonDeterministic {
    static simbi::Info info() {
        return simbi::Info("faulty.nondeterministic", "order-dependent").params({"a", "b"}).outputs(1).prior(kBox);
    }
    explicit NonDeterministic(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng&, double* x) const {
        static std::atomic<uint64_t> calls{0};
        x[0] = theta[0] + double(calls++ % 7);
        return true;
    }
};

// Writes 2 of its 3 outputs.
struct Unwritten {
    static simbi::Info info() {
        return simbi::Info("faulty.unwritten", "leaves an output unwritten").params({"a", "b"}).outputs(3).prior(kBox);
    }
    explicit Unwritten(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng&, double* x) const {
        x[0] = theta[0];
        x[1] = theta[1];
        return true;
    }
};

// Fails wherever b > 0.5: every invalid row in one half of the prior.
struct FailsInHalf {
    static simbi::Info info() {
        return simbi::Info("faulty.fails_in_half", "invalid where b > 0.5").params({"a", "b"}).outputs(1).prior(kBox);
    }
    explicit FailsInHalf(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        x[0] = theta[0] + 0.1 * rng.normal();
        return theta[1] <= 0.5;
    }
};

// Fails on 30% of the rows, wherever they are.
struct FailsAtRandom {
    static simbi::Info info() {
        return simbi::Info("faulty.fails_at_random", "invalid at random").params({"a", "b"}).outputs(1).prior(kBox);
    }
    explicit FailsAtRandom(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        x[0] = theta[0] + 0.1 * rng.normal();
        return rng.uniform() >= 0.3;
    }
};

SIMBI_EXPORT_PLUGINS(WritesTheta, Overrun, OverrunRow, AllInvalid, NonDeterministic, Unwritten, FailsInHalf, FailsAtRandom)
