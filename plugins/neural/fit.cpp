// fit(): Adam with gradient clipping and early stopping on the validation loss, one epoch at a
// time, with a checkpoint after each (checkpoint.hpp) and the ranks of a data-parallel training
// kept in step.
#include <chrono>
#include <cmath>

#include <simbi/rng.h>

#include "checkpoint.hpp"
#include "streams.hpp"

namespace simbi::nn {
namespace {

using Loss = std::function<Tensor(const Tensor&, const Tensor&)>;

// This rank's rows of a batch of n: a contiguous share, [n r / R, n (r + 1) / R).
std::pair<int64_t, int64_t> share(int64_t n, const Collective& ranks) {
    const int64_t lo = n * int64_t(ranks.rank()) / int64_t(ranks.size()), hi = n * int64_t(ranks.rank() + 1) / int64_t(ranks.size());
    return {lo, hi - lo};
}

// Where an epoch's seconds went, for the debug log: what a data-parallel step waits on.
struct EpochTimes {
    double batches = 0, forward_backward = 0, all_reduce = 0, optimizer = 0, validation = 0;
};

struct EpochLosses {
    double train = 0, validation = 0;
    EpochTimes times;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point& t) {
    const Clock::time_point now = Clock::now();
    const double s = std::chrono::duration<double>(now - t).count();
    t = now;
    return s;
}

// One epoch: a pass of steps over the training batches, then the validation loss of the weights
// the epoch is judged by (their average, when averaging; the model holds them on return, and
// opt.swap_average() goes back to the training weights). Summed across ranks.
EpochLosses run_epoch(torch::nn::Module& model, const Loss& loss, const DataSource& data, const TrainingConfig& cfg, FlatAdam& opt,
                      const Collective& ranks, uint64_t seed, int64_t epoch) {
    model.train();
    // Dropout draws from torch's global generator: seeding it per epoch makes a resumed training
    // draw the same masks as an uninterrupted one. Each rank draws its own masks and noise.
    const uint64_t epoch_seed = simbi_rng_mix(seed, streams::kDropoutBase + uint64_t(epoch));
    torch::manual_seed(ranks.size() > 1 ? simbi_rng_mix(epoch_seed, ranks.rank()) : epoch_seed);
    double total = 0;
    int64_t count = 0;
    EpochTimes times;
    Clock::time_point mark = Clock::now();
    data.for_each_train_batch(cfg.batch_size, seed, epoch, [&](const Tensor& theta, const Tensor& x) {
        times.batches += seconds_since(mark);
        opt.zero_grad();
        const auto [lo, rows] = share(theta.size(0), ranks);
        if (rows > 0) {
            Tensor l = loss(theta.narrow(0, lo, rows), x.narrow(0, lo, rows));
            // The batch mean is the row-weighted sum of the shares' means.
            (l * (double(rows) / double(theta.size(0)))).backward();
            total += l.item<double>() * double(rows);
            count += rows;
        }
        times.forward_backward += seconds_since(mark);
        ranks.all_reduce_sum(opt.gradients());
        times.all_reduce += seconds_since(mark);
        opt.clip_grad_norm(cfg.clip_norm);
        opt.step();
        times.optimizer += seconds_since(mark);
    });
    times.batches += seconds_since(mark);
    model.eval();
    opt.swap_average();  // validate, and keep, the averaged weights
    double vtotal = 0;
    int64_t vcount = 0;
    {
        torch::NoGradGuard no_grad;
        // The same noise every epoch (a loss that draws t, noise or pairs): epochs are compared on
        // common random numbers, so the early stopping sees the network change, not the draws.
        const uint64_t validation_seed = simbi_rng_mix(seed, streams::kValidationNoise);
        torch::manual_seed(ranks.size() > 1 ? simbi_rng_mix(validation_seed, ranks.rank()) : validation_seed);
        data.for_each_val_batch(std::max<int64_t>(cfg.batch_size, 4096), [&](const Tensor& theta, const Tensor& x) {
            const auto [lo, rows] = share(theta.size(0), ranks);
            if (rows == 0) return;
            vtotal += loss(theta.narrow(0, lo, rows), x.narrow(0, lo, rows)).item<double>() * double(rows);
            vcount += rows;
        });
    }
    if (ranks.size() > 1) {
        Tensor sums = torch::tensor({total, double(count), vtotal, double(vcount)}, torch::kFloat64);
        ranks.all_reduce_sum(sums);
        total = sums[0].item<double>();
        count = int64_t(sums[1].item<double>());
        vtotal = sums[2].item<double>();
        vcount = int64_t(sums[3].item<double>());
    }
    times.validation = seconds_since(mark);
    return {total / double(std::max<int64_t>(count, 1)), vtotal / double(std::max<int64_t>(vcount, 1)), times};
}

// Early stopping and the learning-rate schedule: a better validation loss keeps the weights it was
// judged by; patience / 2 epochs without one multiply the rate by lr_decay (as torch's
// ReduceLROnPlateau).
void judge_epoch(torch::nn::Module& model, FlatAdam& opt, const TrainingConfig& cfg, TrainingState& state, double val_loss) {
    const bool better = val_loss < state.best;
    if (better) state.best_weights = snapshot(model);
    opt.swap_average();  // back to the training weights
    if (better) {
        state.best = val_loss;
        state.bad_epochs = 0;
        return;
    }
    ++state.bad_epochs;
    const int64_t plateau = std::max<int64_t>(1, cfg.patience / 2);
    if (cfg.lr_decay < 1 && state.bad_epochs % plateau == 0) opt.set_learning_rate(opt.learning_rate() * cfg.lr_decay);
}

void report_history(const json& history, const simbi_host* host) {
    auto number = [](const json& v) { return v.is_number() ? v.get<double>() : std::nan(""); };  // JSON writes NaN as null
    if (host && host->metric)
        for (const auto& h : history) {
            host->metric(host, "train_loss", h.at(0).get<uint64_t>(), number(h.at(1)));
            host->metric(host, "val_loss", h.at(0).get<uint64_t>(), number(h.at(2)));
        }
}

}  // namespace

TrainResult fit(torch::nn::Module& model, const Loss& loss, const DataSource& data, const TrainingConfig& cfg, const simbi_host* host,
                const std::string& checkpoint_dir, uint64_t seed, const std::string& fingerprint, const Collective& ranks) {
    const auto t0 = Clock::now();
    FlatAdam opt(model.parameters(), cfg.learning_rate, 0.9, 0.999, 1e-8, cfg.weight_decay);
    opt.set_average(cfg.average);
    TrainResult result;
    TrainingState state;
    state.best_weights = snapshot(model);
    const Checkpoint checkpoint(checkpoint_dir, fingerprint, ranks.rank() == 0);
    if (checkpoint.resume(model, opt, state, host)) {
        result.resumed = true;
        report_history(state.history, host);  // the run's loss history stays whole after a kill
        if (host && host->log) host->log(host, SIMBI_LOG_INFO, ("resuming training after epoch " + std::to_string(state.epoch)).c_str());
    }
    if (ranks.size() > 1) {
        // Every rank must go on from the same epoch: a rank that could not read the checkpoint
        // rank 0 read would train other weights.
        Tensor here = torch::tensor({double(state.epoch)}, torch::kFloat64), at_rank0 = here.clone();
        ranks.broadcast(at_rank0);
        if (at_rank0.item<double>() != here.item<double>())
            throw std::runtime_error("rank " + std::to_string(ranks.rank()) + " resumes after epoch " + std::to_string(state.epoch) +
                                     " but rank 0 after epoch " + std::to_string(int64_t(at_rank0.item<double>())) + "; remove " +
                                     checkpoint_dir + " to start over");
        ranks.broadcast(opt.parameters());
    }

    int64_t epochs_here = 0;
    while (!state.finished && state.epoch < cfg.max_epochs) {
        const EpochLosses losses = run_epoch(model, loss, data, cfg, opt, ranks, seed, state.epoch);
        ++state.epoch;
        ++epochs_here;
        if (!std::isfinite(losses.train))
            throw std::runtime_error("the training loss is not finite at epoch " + std::to_string(state.epoch));
        state.history.push_back({state.epoch, losses.train, losses.validation});
        if (host && host->metric) {
            host->metric(host, "train_loss", uint64_t(state.epoch), losses.train);
            host->metric(host, "val_loss", uint64_t(state.epoch), losses.validation);
        }
        if (host && host->log) {
            const EpochTimes& t = losses.times;
            char line[240];
            std::snprintf(line, sizeof line,
                          "epoch %lld, rank %u: batches %.3f s, forward and backward %.3f s, gradient all-reduce %.3f s, optimizer %.3f s, "
                          "validation %.3f s",
                          (long long)state.epoch, ranks.rank(), t.batches, t.forward_backward, t.all_reduce, t.optimizer, t.validation);
            host->log(host, SIMBI_LOG_DEBUG, line);
        }
        judge_epoch(model, opt, cfg, state, losses.validation);
        const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
        state.finished = (state.bad_epochs >= cfg.patience && state.epoch >= cfg.min_epochs) || state.epoch >= cfg.max_epochs ||
                         elapsed >= cfg.max_seconds;
        if (ranks.size() > 1) {
            // Rank 0's clock decides, and its weights stay the reference against drift.
            Tensor flag = torch::tensor({state.finished ? 1.0 : 0.0}, torch::kFloat64);
            ranks.broadcast(flag);
            state.finished = flag.item<double>() > 0.5;
            ranks.broadcast(opt.parameters());
        }
        checkpoint.save(model, opt, state);
        if (host && host->log && (state.epoch % 10 == 0 || state.finished)) {
            char line[160];
            std::snprintf(line, sizeof line, "epoch %lld: train %.4f, validation %.4f (best %.4f), %.1f s", (long long)state.epoch,
                          losses.train, losses.validation, state.best, elapsed);
            host->log(host, SIMBI_LOG_INFO, line);
        }
        if (!state.finished && host && host->is_cancelled && host->is_cancelled(host))
            throw simbi::Cancelled("interrupted after epoch " + std::to_string(state.epoch) + "; run again to resume from the checkpoint");
    }
    restore(model, state.best_weights);
    result.epochs = state.epoch;
    result.batch_size = cfg.batch_size;
    result.best_val = state.best;
    result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    result.seconds_per_epoch = epochs_here ? result.seconds / double(epochs_here) : 0.0;
    return result;
}

}  // namespace simbi::nn
