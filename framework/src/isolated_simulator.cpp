#include "simbi_host/isolated_simulator.hpp"

#include <signal.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "simbi_host/errors.hpp"

namespace simbi::host {

json IsolationStats::to_json() const {
    return {{"failed_batches", failed_batches.load()}, {"crashes", crashes.load()}, {"timeouts", timeouts.load()},
            {"rows_retried", rows_retried.load()}, {"rows_failed", rows_failed.load()}, {"worker_restarts", restarts.load()}};
}

IsolatedSimulator::IsolatedSimulator(IsolationOptions options, IsolationStats& stats) : opt_(std::move(options)), stats_(stats) {
    // A worker that dies while its batch is written must not take the host with it.
    ::signal(SIGPIPE, SIG_IGN);
    c_.size = sizeof c_;
    c_.data = this;
    c_.destroy = [](simbi_simulator*) {};  // owned by SimulatorInstances
    c_.simulate = [](simbi_simulator* self, uint64_t n, const double* theta, uint64_t seed, uint64_t row_offset, double* x, uint8_t* valid,
                     simbi_error* err) { return static_cast<IsolatedSimulator*>(self->data)->simulate(n, theta, seed, row_offset, x, valid, err); };
    start();
}

IsolatedSimulator::~IsolatedSimulator() {
    if (child_) {
        const uint32_t bye = worker::kShutdown;
        worker::write_all(child_->to_child(), &bye, sizeof bye);
    }
}

void IsolatedSimulator::start() {
    child_ = std::make_unique<worker::ChildProcess>(opt_.command, opt_.cwd);
    worker::Handshake h;
    std::string error;
    if (!worker::read_handshake(child_->from_child(), h, opt_.timeout_s > 0 ? std::max(opt_.timeout_s, 30.0) : 120.0, error)) {
        const std::string how = child_->kill_and_describe(false);
        child_.reset();
        throw RunError(opt_.what + ": its worker process did not start: " + error + " (" + how + ")");
    }
    if (h.theta_dim != opt_.theta_dim || h.x_dim != opt_.x_dim) {
        child_->kill_and_describe(true);
        child_.reset();
        throw RunError(opt_.what + ": its worker process says it takes " + std::to_string(h.theta_dim) + " parameters and gives " +
                       std::to_string(h.x_dim) + " outputs; the simulator's descriptor says " + std::to_string(opt_.theta_dim) + " and " +
                       std::to_string(opt_.x_dim));
    }
}

IsolatedSimulator::Outcome IsolatedSimulator::attempt(uint64_t n, const double* theta, uint64_t seed, uint64_t row_offset, double* x, uint8_t* valid,
                                                      std::string& message) {
    if (!child_) {
        start();
        ++stats_.restarts;
    }
    const uint32_t type = worker::kSimulate;
    const uint64_t head[3] = {seed, row_offset, n};
    const int to = child_->to_child(), from = child_->from_child();
    bool timed_out = false;
    bool ok = worker::write_all(to, &type, sizeof type) && worker::write_all(to, head, sizeof head) &&
              worker::write_all(to, theta, n * opt_.theta_dim * sizeof(double));
    uint32_t status = 0;
    ok = ok && worker::read_exact(from, &status, sizeof status, opt_.timeout_s, &timed_out);
    if (ok && status == worker::kOk) {
        ok = worker::read_exact(from, x, n * opt_.x_dim * sizeof(double), opt_.timeout_s, &timed_out) &&
             worker::read_exact(from, valid, n, opt_.timeout_s, &timed_out);
        if (ok) return Outcome::Ok;
    } else if (ok) {
        // The simulator reported an error: its message follows, and the worker lives on.
        uint32_t len = 0;
        if (worker::read_exact(from, &len, sizeof len, opt_.timeout_s) && len < (1u << 16)) {
            message.assign(len, '\0');
            if (worker::read_exact(from, message.data(), len, opt_.timeout_s)) return Outcome::PluginError;
        }
        ok = false;
    }
    const std::string how = child_->kill_and_describe(timed_out);
    child_.reset();
    (timed_out ? stats_.timeouts : stats_.crashes)++;
    message = timed_out ? "exceeded the timeout of " + std::to_string(opt_.timeout_s) + " s (the worker was " + how + ")" : "the worker was " + how;
    return Outcome::Failed;
}

simbi_status IsolatedSimulator::simulate(uint64_t n, const double* theta, uint64_t seed, uint64_t row_offset, double* x, uint8_t* valid,
                                         simbi_error* err) {
    try {
        std::string message;
        Outcome o = attempt(n, theta, seed, row_offset, x, valid, message);
        if (o == Outcome::Ok) return SIMBI_OK;
        if (o == Outcome::PluginError) return simbi_error_set(err, SIMBI_ERROR, message.c_str());
        ++stats_.failed_batches;
        if (!opt_.quiet)
            std::fprintf(stderr, "[warning] %s at rows %llu..%llu: %s; retrying the rows one by one\n", opt_.what.c_str(), (unsigned long long)row_offset,
                         (unsigned long long)(row_offset + n - 1), message.c_str());
        // Each row once more, alone: a row that fails again is invalid; the others are kept.
        for (uint64_t i = 0; i < n; ++i) {
            ++stats_.rows_retried;
            std::string row_message;
            Outcome r = attempt(1, theta + i * opt_.theta_dim, seed, row_offset + i, x + i * opt_.x_dim, valid + i, row_message);
            if (r == Outcome::PluginError) return simbi_error_set(err, SIMBI_ERROR, row_message.c_str());
            if (r == Outcome::Failed) {
                ++stats_.rows_failed;
                valid[i] = 0;
                for (uint64_t j = 0; j < opt_.x_dim; ++j) x[i * opt_.x_dim + j] = std::nan("");
                if (!opt_.quiet)
                    std::fprintf(stderr, "[warning] %s: row %llu failed again alone (%s); it is invalid\n", opt_.what.c_str(),
                                 (unsigned long long)(row_offset + i), row_message.c_str());
            }
        }
        return SIMBI_OK;
    } catch (const std::exception& e) {
        return simbi_error_set(err, SIMBI_ERROR, e.what());
    }
}

}  // namespace simbi::host
