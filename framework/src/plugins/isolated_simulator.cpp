#include "simbi_host/plugins/isolated_simulator.hpp"

#include <signal.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "simbi_host/core/errors.hpp"

namespace simbi::host {

namespace wk = worker;

json IsolationStats::to_json() const {
    return {{"failed_batches", failed_batches.load()}, {"crashes", crashes.load()},         {"timeouts", timeouts.load()},
            {"rows_retried", rows_retried.load()},     {"rows_failed", rows_failed.load()}, {"worker_restarts", restarts.load()}};
}

IsolatedSimulator::IsolatedSimulator(IsolationOptions options, IsolationStats& stats) : opt_(std::move(options)), stats_(stats) {
    // A worker that dies while its batch is written must not take the host with it.
    ::signal(SIGPIPE, SIG_IGN);
    c_.size = sizeof c_;
    c_.data = this;
    c_.destroy = [](simbi_simulator*) {};  // owned by SimulatorInstances
    c_.simulate = [](simbi_simulator* self, uint64_t n, const double* theta, uint64_t seed, uint64_t row_offset, double* x, uint8_t* valid,
                     simbi_error* err) {
        return static_cast<IsolatedSimulator*>(self->data)->simulate(n, theta, seed, row_offset, x, valid, err);
    };
    start();
}

IsolatedSimulator::~IsolatedSimulator() {
    if (child_) {
        const uint32_t bye = wk::kShutdown;
        child_->send(&bye, sizeof bye, 1.0);
    }
}

void IsolatedSimulator::start() {
    if (opt_.before_start) opt_.before_start();
    child_ = std::make_unique<wk::ChildProcess>(opt_.command, opt_.cwd, opt_.quiet ? "" : opt_.what, opt_.env);
    sequence_ = 0;
    const double wait = opt_.timeout_s > 0 ? std::max(opt_.timeout_s, 30.0) : 120.0;
    auto fail = [&](const std::string& why) {
        const std::string how = child_->kill_and_describe(false);
        const std::string tail = child_->stderr_tail();
        child_.reset();
        throw RunError(opt_.what + ": its worker process did not start: " + why + " (" + how + ")" +
                       (tail.empty() ? "" : "; its stderr: " + tail));
    };
    char magic[8];
    uint32_t head[4];
    const wk::ChildProcess::Io got = child_->receive(magic, sizeof magic, wait);
    if (got == wk::ChildProcess::Io::TimedOut) fail("no handshake within " + std::to_string(int(wait)) + " s");
    if (got != wk::ChildProcess::Io::Ok) fail("it ended before its handshake");
    if (std::memcmp(magic, wk::kMagic, sizeof magic) != 0)
        fail("its first bytes are not the protocol's magic \"SIMBIWK1\" (does it print something else to stdout?)");
    if (child_->receive(head, sizeof head, wait) != wk::ChildProcess::Io::Ok) fail("its handshake is cut short");
    if (head[0] != wk::kVersion) {
        child_->kill_and_describe(true);
        child_.reset();
        throw RunError(opt_.what + ": its worker speaks protocol version " + std::to_string(head[0]) + "; this simbi speaks version " +
                       std::to_string(wk::kVersion) + ", whose answers carry their batch's sequence number and length" +
                       (head[0] < wk::kVersion ? ". Update the bridge: Python bridges import simbi_bridge from simbi's share/simbi/python; "
                                                 "others follow docs/bridge.md's \"Protocol, version 2\""
                                               : ""));
    }
    if (head[3] > (1u << 20)) fail("its handshake's names are longer than 1 MiB");
    std::string names(head[3], '\0');
    if (head[3] && child_->receive(names.data(), head[3], wait) != wk::ChildProcess::Io::Ok) fail("its handshake is cut short");
    if (head[1] != opt_.theta_dim || head[2] != opt_.x_dim) {
        child_->kill_and_describe(true);
        child_.reset();
        throw RunError(opt_.what + ": its worker process says it takes " + std::to_string(head[1]) + " parameters and gives " +
                       std::to_string(head[2]) + " outputs; the simulator's descriptor says " + std::to_string(opt_.theta_dim) + " and " +
                       std::to_string(opt_.x_dim));
    }
    // A worker that names its parameters must name the ones the run was planned with.
    json named;
    try {
        named = json::parse(names);
    } catch (const std::exception&) {
        fail("its handshake's names are not JSON");
    }
    if (named.is_object() && named.contains("parameters") && !opt_.parameter_names.empty() &&
        named["parameters"] != json(opt_.parameter_names)) {
        child_->kill_and_describe(true);
        child_.reset();
        throw RunError(opt_.what + ": its worker names the parameters " + printable(clip(named["parameters"].dump(), 200)) +
                       " but the simulator was described with " + json(opt_.parameter_names).dump() +
                       " (a stale or edited descriptor file); describe the library again");
    }
}

void IsolatedSimulator::protocol_error(uint64_t row_offset, uint64_t n, const std::string& what) {
    const std::string how = child_ ? child_->kill_and_describe(true) : "";
    const std::string tail = child_ ? child_->stderr_tail() : "";
    child_.reset();
    throw RunError(opt_.what + ": protocol error in the answer to batch " + std::to_string(sequence_) + " (rows " +
                   std::to_string(row_offset) + ".." + std::to_string(row_offset + n - 1) + "): " + what + "; the worker was stopped" +
                   (tail.empty() ? "" : ". Its stderr ended with: " + tail));
}

IsolatedSimulator::Outcome IsolatedSimulator::attempt(uint64_t n, const double* theta, uint64_t seed, uint64_t row_offset, double* x,
                                                      uint8_t* valid, std::string& message) {
    using Io = wk::ChildProcess::Io;
    if (!child_) {
        start();
        ++stats_.restarts;
    }
    char head[wk::kRequestHeadBytes];
    wk::encode_request({++sequence_, seed, row_offset, n}, head);
    const double t = opt_.timeout_s;
    Io io = child_->send(head, sizeof head, t);
    if (io == Io::Ok) io = child_->send(theta, n * opt_.theta_dim * sizeof(double), t);
    char answer_head[wk::kAnswerHeadBytes];
    if (io == Io::Ok) io = child_->receive(answer_head, sizeof answer_head, t);
    if (io == Io::Ok) {
        const wk::AnswerHead a = wk::decode_answer(answer_head);
        if (a.status != wk::kOk && a.status != wk::kFailed)
            protocol_error(row_offset, n,
                           "its status is " + std::to_string(a.status) + ", not 0 (done) or 1 (failed): the bytes are out of step");
        if (a.sequence != sequence_)
            protocol_error(row_offset, n, "it answers batch " + std::to_string(a.sequence) + ": extra or missing bytes put it out of step");
        if (a.status == wk::kOk) {
            const uint64_t expected = n * opt_.x_dim * sizeof(double) + n;
            if (a.length != expected)
                protocol_error(row_offset, n,
                               "its answer is " + std::to_string(a.length) + " bytes long; " + std::to_string(n) + " rows of " +
                                   std::to_string(opt_.x_dim) + " outputs and their flags are " + std::to_string(expected));
            io = child_->receive(x, n * opt_.x_dim * sizeof(double), t);
            if (io == Io::Ok) io = child_->receive(valid, n, t);
            if (io == Io::Ok) {
                for (uint64_t i = 0; i < n; ++i)
                    if (valid[i] > 1)
                        protocol_error(
                            row_offset, n,
                            "row " + std::to_string(row_offset + i) + "'s valid flag is " + std::to_string(valid[i]) + ", not 0 or 1");
                if (child_->unread_bytes() > 0) protocol_error(row_offset, n, "it wrote more bytes after its answer");
                return Outcome::Ok;
            }
        } else {
            // The simulator reported an error: its message follows, and the worker lives on.
            if (a.length > wk::kMaxMessage)
                protocol_error(row_offset, n, "its error message is " + std::to_string(a.length) + " bytes long");
            message.assign(a.length, '\0');
            io = child_->receive(message.data(), a.length, t);
            if (io == Io::Ok) {
                if (child_->unread_bytes() > 0) protocol_error(row_offset, n, "it wrote more bytes after its answer");
                message = printable(message);
                return Outcome::PluginError;
            }
        }
    }
    const bool timed_out = io == Io::TimedOut;
    const std::string how = child_->kill_and_describe(timed_out);
    const std::string tail = child_->stderr_tail();
    child_.reset();
    (timed_out ? stats_.timeouts : stats_.crashes)++;
    message = timed_out ? "exceeded the timeout of " + std::to_string(opt_.timeout_s) + " s (the worker was " + how + ")"
                        : "the worker was " + how;
    if (!tail.empty()) message += "; its stderr ended with: " + tail;
    return Outcome::Failed;
}

void IsolatedSimulator::row_failed(uint64_t row, const std::string& message) {
    {
        std::lock_guard<std::mutex> lock(stats_.first_failure_mutex);
        if (stats_.consecutive_failed_rows.load() == 0) stats_.first_failure = "row " + std::to_string(row) + ": " + message;
    }
    const uint64_t in_a_row = ++stats_.consecutive_failed_rows;
    if (in_a_row >= opt_.max_consecutive_failed_rows) {
        std::lock_guard<std::mutex> lock(stats_.first_failure_mutex);
        throw RunError(std::to_string(in_a_row) +
                       " rows in a row failed, each alone in a fresh worker: the simulator fails, not the odd row; "
                       "stopping. The first: " +
                       stats_.first_failure);
    }
}

simbi_status IsolatedSimulator::simulate(uint64_t n, const double* theta, uint64_t seed, uint64_t row_offset, double* x, uint8_t* valid,
                                         simbi_error* err) {
    try {
        std::string message;
        Outcome o = attempt(n, theta, seed, row_offset, x, valid, message);
        if (o == Outcome::Ok) {
            stats_.consecutive_failed_rows = 0;
            return SIMBI_OK;
        }
        if (o == Outcome::PluginError) return simbi_error_set(err, SIMBI_ERROR, message.c_str());
        ++stats_.failed_batches;
        if (!opt_.quiet)
            std::fprintf(stderr, "[warning] %s at rows %llu..%llu: %s; retrying the rows one by one\n", opt_.what.c_str(),
                         (unsigned long long)row_offset, (unsigned long long)(row_offset + n - 1), message.c_str());
        // Each row once more, alone: a row that fails again is invalid; the others are kept.
        for (uint64_t i = 0; i < n; ++i) {
            ++stats_.rows_retried;
            std::string row_message;
            Outcome r = attempt(1, theta + i * opt_.theta_dim, seed, row_offset + i, x + i * opt_.x_dim, valid + i, row_message);
            if (r == Outcome::PluginError) return simbi_error_set(err, SIMBI_ERROR, row_message.c_str());
            if (r == Outcome::Ok) {
                stats_.consecutive_failed_rows = 0;
                continue;
            }
            ++stats_.rows_failed;
            valid[i] = 0;
            for (uint64_t j = 0; j < opt_.x_dim; ++j) x[i * opt_.x_dim + j] = std::nan("");
            if (!opt_.quiet)
                std::fprintf(stderr, "[warning] %s: row %llu failed again alone (%s); it is invalid\n", opt_.what.c_str(),
                             (unsigned long long)(row_offset + i), row_message.c_str());
            row_failed(row_offset + i, row_message);
        }
        return SIMBI_OK;
    } catch (const std::exception& e) {
        return simbi_error_set(err, SIMBI_ERROR, e.what());
    }
}

}  // namespace simbi::host
