#include "simbi_host/pipeline/simulation_engine.hpp"

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <exception>
#include <mutex>
#include <simbi/rng.h>
#include <sstream>
#include <thread>

#include "simbi_host/core/buffer_guard.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/streams.hpp"

namespace simbi::host {

InvalidPolicy parse_invalid_policy(const std::string& s) {
    if (s == "drop") return InvalidPolicy::Drop;
    if (s == "resample") return InvalidPolicy::Resample;
    if (s == "fail") return InvalidPolicy::Fail;
    throw UsageError("invalid-row policy must be drop, resample or fail, not '" + s + "'");
}

const char* invalid_policy_name(InvalidPolicy p) {
    switch (p) {
        case InvalidPolicy::Drop: return "drop";
        case InvalidPolicy::Resample: return "resample";
        default: return "fail";
    }
}

bool row_is_valid(uint8_t valid_flag, const double* x, uint64_t k) {
    if (!valid_flag) return false;
    for (uint64_t j = 0; j < k; ++j)
        if (!std::isfinite(x[j])) return false;
    return true;
}

uint64_t SimulationEngine::prior_seed(uint64_t seed, unsigned attempt) {
    return simbi_rng_mix(simbi_rng_mix(seed, streams::kPrior), attempt);
}
uint64_t SimulationEngine::simulator_seed(uint64_t seed, unsigned attempt) {
    return simbi_rng_mix(simbi_rng_mix(seed, streams::kSimulator), attempt);
}

// A fixed set of worker threads that share the batches of one chunk.
struct SimulationEngine::Pool {
    std::vector<std::thread> threads;
    std::mutex m;
    std::condition_variable start_cv, done_cv;
    std::atomic<uint64_t> generation{0};
    std::atomic<unsigned> running{0};
    bool quit = false;
    // The current job.
    uint64_t first = 0, count = 0, batches = 0;
    double* theta = nullptr;
    double* x = nullptr;
    uint8_t* valid = nullptr;
    std::atomic<uint64_t> next_batch{0};
    std::atomic<uint64_t> invalid_rows{0};
    std::exception_ptr error;
    // Rows with an output the plugin left unwritten, over the engine's life; the first is named.
    std::atomic<uint64_t> unwritten_rows{0};
    bool unwritten_named = false;
    // Per thread: the copy of theta the plugin sees, and its x buffer between guard pages.
    std::vector<std::vector<double>> theta_copy;
    std::vector<std::unique_ptr<GuardedBuffer>> x_guarded;
};

SimulationEngine::SimulationEngine(const Prior& prior, const SimulatorInstances& sims, EngineOptions options)
    : prior_(prior), sims_(sims), opt_(options), pool_(new Pool) {
    if (prior.dim() != sims.theta_dim())
        throw UsageError("the prior has " + std::to_string(prior.dim()) + " dimensions but simulator '" + sims.info().id + "' takes " +
                         std::to_string(sims.theta_dim()) + " parameters");
    if (opt_.threads == 0) opt_.threads = 1;
    if (opt_.batch_rows == 0) opt_.batch_rows = 1;
    pool_->theta_copy.resize(opt_.threads);
    for (unsigned t = 0; t < opt_.threads; ++t) {
        pool_->x_guarded.push_back(std::make_unique<GuardedBuffer>());
        pool_->x_guarded.back()->describe("simulator '" + sims.info().id + "' wrote outside its output buffer (" +
                                          std::to_string(sims.x_dim()) +
                                          " outputs per row) at rows %R: its descriptor's output_dim is wrong, or it overruns its buffer; "
                                          "nothing of this chunk was kept");
    }
    for (unsigned t = 1; t < opt_.threads; ++t)
        pool_->threads.emplace_back([this, t] {
            uint64_t seen = 0;
            for (;;) {
                // Spin briefly before sleeping: chunks of cheap simulators follow each other
                // within microseconds, and a wake-up through the kernel costs more than that.
                for (int spin = 0; spin < 20000 && pool_->generation.load() == seen; ++spin) std::this_thread::yield();
                {
                    std::unique_lock<std::mutex> lock(pool_->m);
                    pool_->start_cv.wait(lock, [&] { return pool_->quit || pool_->generation.load() != seen; });
                    if (pool_->quit) return;
                    seen = pool_->generation.load();
                }
                work(t);
                if (--pool_->running == 0) {
                    std::lock_guard<std::mutex> lock(pool_->m);
                    pool_->done_cv.notify_all();
                }
            }
        });
}

SimulationEngine::~SimulationEngine() {
    {
        std::lock_guard<std::mutex> lock(pool_->m);
        pool_->quit = true;
    }
    pool_->start_cv.notify_all();
    for (auto& t : pool_->threads) t.join();
    delete pool_;
}

void SimulationEngine::simulate_batch(unsigned thread, uint64_t first, uint64_t n, double* theta, double* x, uint8_t* valid,
                                      unsigned attempt) {
    const uint64_t d = sims_.theta_dim(), k = sims_.x_dim();
    const uint64_t ps = prior_seed(opt_.seed, attempt);
    for (uint64_t i = 0; i < n; ++i) {
        simbi_rng rng;
        simbi_rng_init(&rng, ps, first + i);
        prior_.sample_row(first + i, rng, theta + i * d);
    }
    simbi_simulator* sim = sims_.for_thread(thread);
    ErrorBuffer eb;
    if (!opt_.guard_buffers) fill_unwritten(x, n * k);
    auto rows_of = [&] { return std::to_string(first) + ".." + std::to_string(first + n - 1); };  // for messages only
    simbi_status st;
    if (!opt_.guard_buffers) {
        st = sim->simulate(sim, n, theta, simulator_seed(opt_.seed, attempt), first, x, valid, eb.get());
    } else {
        // The plugin gets a copy of theta, checked after the call, and an x buffer between guard
        // pages: a plugin that writes where it must not is caught before its rows are kept.
        std::vector<double>& theta_in = pool_->theta_copy[thread];
        GuardedBuffer& x_out = *pool_->x_guarded[thread];
        theta_in.assign(theta, theta + n * d);
        fill_unwritten(x_out.reserve(n * k), n * k);
        x_out.set_rows(first, first + n - 1);
        st = sim->simulate(sim, n, theta_in.data(), simulator_seed(opt_.seed, attempt), first, x_out.data(), valid, eb.get());
        if (!x_out.front_intact())
            throw RunError("simulator '" + sims_.info().id + "' wrote before its output buffer at rows " + rows_of() +
                           "; nothing of this chunk was kept");
        if (std::memcmp(theta_in.data(), theta, n * d * sizeof(double)) != 0)
            throw RunError("simulator '" + sims_.info().id + "' wrote into its read-only theta at rows " + rows_of() +
                           "; nothing of this chunk was kept");
        std::copy(x_out.data(), x_out.data() + n * k, x);
    }
    if (st == SIMBI_OK) mark_unwritten(first, n, x, valid);
    if (st == SIMBI_DISCARD) {
        for (uint64_t i = 0; i < n; ++i) valid[i] = 0;
    } else if (st != SIMBI_OK) {
        throw RunError("simulator '" + sims_.info().id + "' returned " + status_name(st) + " at rows " + rows_of() + ": " + eb.message());
    }
}

void SimulationEngine::mark_unwritten(uint64_t first, uint64_t n, const double* x, uint8_t* valid) {
    const uint64_t k = sims_.x_dim();
    for (uint64_t i = 0; i < n; ++i)
        for (uint64_t j = 0; j < k; ++j) {
            if (!is_unwritten(x[i * k + j])) continue;
            valid[i] = 0;
            ++pool_->unwritten_rows;
            std::lock_guard<std::mutex> lock(pool_->m);
            if (!pool_->unwritten_named) {
                pool_->unwritten_named = true;
                std::fprintf(stderr,
                             "warning: simulator '%s' left output %llu of %llu unwritten at row %llu (and maybe others); such rows are "
                             "counted invalid. Write every output, or return false for a row it cannot simulate\n",
                             sims_.info().id.c_str(), (unsigned long long)j, (unsigned long long)k, (unsigned long long)(first + i));
            }
            break;
        }
}

uint64_t SimulationEngine::unwritten_rows() const { return pool_->unwritten_rows.load(); }

void SimulationEngine::work(unsigned thread) {
    Pool& p = *pool_;
    const uint64_t d = sims_.theta_dim(), k = sims_.x_dim();
    try {
        for (;;) {
            uint64_t b = p.next_batch.fetch_add(1);
            if (b >= p.batches) break;
            uint64_t lo = b * opt_.batch_rows, n = std::min(opt_.batch_rows, p.count - lo);
            simulate_batch(thread, p.first + lo, n, p.theta + lo * d, p.x + lo * k, p.valid + lo, 0);
            uint64_t bad = 0;
            for (uint64_t i = lo; i < lo + n; ++i) {
                p.valid[i] = row_is_valid(p.valid[i], p.x + i * k, k) ? 1 : 0;
                bad += 1 - p.valid[i];
            }
            if (bad) p.invalid_rows += bad;
        }
    } catch (...) {
        std::lock_guard<std::mutex> lock(p.m);
        if (!p.error) p.error = std::current_exception();
        p.next_batch = p.batches;  // stop the others early
    }
}

ChunkRows SimulationEngine::run(uint64_t first, uint64_t count) {
    ChunkRows out;
    run(first, count, out);
    return out;
}

void SimulationEngine::run(uint64_t first, uint64_t count, ChunkRows& out) {
    const uint64_t d = sims_.theta_dim(), k = sims_.x_dim();
    // Reusing the caller's buffers keeps page faults and zero-filling out of the loop.
    std::vector<double>& theta = out.theta;
    std::vector<double>& x = out.x;
    theta.resize(count * d);
    x.resize(count * k);
    valid_.resize(count);
    Pool& p = *pool_;
    {
        std::lock_guard<std::mutex> lock(p.m);
        p.first = first;
        p.count = count;
        p.batches = (count + opt_.batch_rows - 1) / opt_.batch_rows;
        p.theta = theta.data();
        p.x = x.data();
        p.valid = valid_.data();
        p.next_batch = 0;
        p.invalid_rows = 0;
        p.error = nullptr;
        p.running = unsigned(p.threads.size());
        ++p.generation;
    }
    p.start_cv.notify_all();
    work(0);
    for (int spin = 0; spin < 20000 && p.running.load() != 0; ++spin) std::this_thread::yield();
    {
        std::unique_lock<std::mutex> lock(p.m);
        p.done_cv.wait(lock, [&] { return p.running.load() == 0; });
    }
    if (p.error) std::rethrow_exception(p.error);
    std::vector<uint8_t>& valid = valid_;

    // Apply the invalid-row policy in place: kept rows move down over dropped ones.
    out.attempted = count;
    out.invalid = out.resampled = 0;
    out.kept = count;
    if (p.invalid_rows == 0) return;  // the common case: nothing to drop or redraw
    uint64_t kept = 0;
    for (uint64_t i = 0; i < count; ++i) {
        double* t = &theta[i * d];
        double* xi = &x[i * k];
        if (!valid[i]) {
            ++out.invalid;
            if (opt_.invalid == InvalidPolicy::Fail) {
                std::ostringstream msg;
                msg << "row " << first + i << ": simulator '" << sims_.info().id << "' gave an invalid row (theta = [";
                for (uint64_t j = 0; j < d; ++j) msg << (j ? ", " : "") << t[j];
                msg << "]) and the policy is \"fail\"; use \"drop\" or \"resample\" to go on";
                throw RunError(msg.str());
            }
            if (opt_.invalid == InvalidPolicy::Drop) continue;
            // Resample: new draws for this row from streams keyed by the attempt number.
            ++out.resampled;
            unsigned attempt = 1;
            uint8_t ok = 0;
            for (; attempt <= opt_.max_attempts; ++attempt) {
                simulate_batch(0, first + i, 1, t, xi, &ok, attempt);
                if (row_is_valid(ok, xi, k)) break;
                ++out.invalid;
            }
            if (attempt > opt_.max_attempts)
                throw RunError("row " + std::to_string(first + i) + ": still invalid after " + std::to_string(opt_.max_attempts) +
                               " draws from the prior; the simulator fails almost everywhere");
        }
        if (kept != i) {
            std::copy(t, t + d, &theta[kept * d]);
            std::copy(xi, xi + k, &x[kept * k]);
        }
        ++kept;
    }
    theta.resize(kept * d);
    x.resize(kept * k);
    out.kept = kept;
}

}  // namespace simbi::host
