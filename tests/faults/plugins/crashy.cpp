// Simulators for the process-isolation and MPI tests: one crashes and hangs on some rows (in a
// library of its own, since only an isolated run survives it), one is slow.
#include <simbi/simbi.hpp>

#include <csignal>
#include <unistd.h>

// Segfaults on about 1% of rows and hangs on about 0.1%, chosen by the row's own stream, so the
// same rows fail in every run; the others give x = a + b + noise.
struct Crashy {
    static simbi::Info info() {
        return simbi::Info("faulty.crashy", "crashes and hangs")
            .params({"a", "b"})
            .outputs(2)
            .prior(R"({"type": "box_uniform", "low": [0, 0], "high": [1, 1]})");
    }
    explicit Crashy(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        const double u = rng.uniform();
        if (u < 0.01) std::raise(SIGSEGV);
        if (u < 0.011) ::pause();
        x[0] = theta[0] + theta[1] + 0.1 * rng.normal();
        x[1] = theta[0] - theta[1];
        return true;
    }
};

// Takes a millisecond a row: slow enough for a test to kill a run midway.
struct Slow {
    static simbi::Info info() {
        return simbi::Info("faulty.slow", "slow")
            .params({"a", "b"})
            .outputs(1)
            .prior(R"({"type": "box_uniform", "low": [0, 0], "high": [1, 1]})");
    }
    explicit Slow(const simbi::Config&) {}
    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        ::usleep(1000);
        x[0] = theta[0] * theta[1] + 0.1 * rng.normal();
        return true;
    }
};

SIMBI_EXPORT_PLUGINS(Crashy, Slow)
