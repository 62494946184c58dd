// Truncated sequential rounds (rounds.hpp) and the round loop of NeuralEstimator.
#include "rounds.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>

#include <simbi/rng.h>

#include "estimator.hpp"
#include "streams.hpp"

namespace simbi::nn {

RoundsConfig RoundsConfig::take_from(json& training) {
    TrainingConfig::check(training);
    RoundsConfig c;
    auto take = [&](const char* key, auto& field) {
        if (!training.contains(key)) return;
        field = training[key].get<std::remove_reference_t<decltype(field)>>();
        training.erase(key);
    };
    take("rounds", c.rounds);
    take("round_budget", c.round_budget);
    take("truncation_quantile", c.truncation_quantile);
    take("max_candidates", c.max_candidates);
    return c;
}

void RoundsConfig::declare(simbi::Info& info) {
    using simbi::Option;
    const RoundsConfig d;
    info.training_option("rounds", Option::integer(d.rounds).minimum(1).maximum(100).doc(
                                       "sequential rounds in all (TSNPE); 1 is amortized, later rounds need an observation"))
        .training_option("round_budget", Option::integer((long long)d.round_budget)
                                             .minimum(0)
                                             .maximum(double(uint64_t(1) << 40))
                                             .doc("simulations in each later round; 0: the first round's rows"))
        .training_option("truncation_quantile",
                         Option::number(d.truncation_quantile).above(0).below(0.5).doc("posterior mass left outside each round's region"))
        .training_option("max_candidates", Option::integer((long long)d.max_candidates)
                                               .minimum(1)
                                               .maximum(1000000)
                                               .doc("prior draws tried per accepted parameter, at most"));
}

double hpd_threshold(std::vector<double> lp, double quantile) {
    if (lp.empty()) throw std::invalid_argument("no posterior draws to set a region from");
    const size_t k = std::min(lp.size() - 1, size_t(quantile * double(lp.size())));
    std::nth_element(lp.begin(), lp.begin() + long(k), lp.end());
    return lp[k];
}

ConcatReader::ConcatReader(std::vector<const simbi_batch_reader*> parts) : parts_(std::move(parts)) {
    c_.size = sizeof c_;
    c_.data = this;
    c_.theta_dim = parts_.at(0)->theta_dim;
    c_.x_dim = parts_.at(0)->x_dim;
    for (const auto* p : parts_) {
        if (p->theta_dim != c_.theta_dim || p->x_dim != c_.x_dim) throw std::runtime_error("the rounds' data differ in their dimensions");
        c_.rows += p->rows;
    }
    c_.read = [](const simbi_batch_reader* self, uint64_t start, uint64_t count, double* theta, double* x,
                 simbi_error* err) -> simbi_status {
        const auto* me = static_cast<const ConcatReader*>(self->data);
        if (start + count > self->rows) return simbi_error_set(err, SIMBI_DISCARD, "read past the end of the rounds' data");
        for (const auto* p : me->parts_) {
            if (count == 0) break;
            if (start >= p->rows) {
                start -= p->rows;
                continue;
            }
            const uint64_t m = std::min(count, p->rows - start);
            simbi_status st = p->read(p, start, m, theta, x, err);
            if (st != SIMBI_OK) return st;
            theta += m * self->theta_dim;
            x += m * self->x_dim;
            count -= m;
            start = 0;
        }
        return SIMBI_OK;
    };
}

namespace {

// FNV-1a of the bytes: names a round's checkpoint folder by the parameters it trains on.
uint64_t fnv1a(const void* data, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(data)[i]) * 1099511628211ull;
    return h;
}

void check(simbi_status st, const char* what, const char* message) {
    if (st != SIMBI_OK) throw std::runtime_error(std::string(what) + ": " + message);
}

}  // namespace

void NeuralEstimator::train_rounds(const simbi_train_context& ctx, const RoundsConfig& rc) {
    const simbi_simulation_service* service =
        ctx.size >= offsetof(simbi_train_context, simulation) + sizeof(void*) ? ctx.simulation : nullptr;
    if (!service) throw std::runtime_error("sequential rounds need the host's simulation service, which this host does not offer");
    char message[512] = {0};
    simbi_error err{sizeof err, SIMBI_OK, 0, message, sizeof message};
    uint64_t n_obs = 0;
    const double* x_obs = nullptr;
    check(service->observation(service, &n_obs, &x_obs, &err), "the host's observation", message);
    if (n_obs == 0) throw std::invalid_argument("sequential rounds need an \"observation\" in the manifest to focus on");
    const uint64_t d = ctx.data->theta_dim, k = ctx.data->x_dim;
    const uint64_t budget = rc.round_budget ? rc.round_budget : ctx.data->rows;

    // log of the posterior at the observations, up to a constant: sum_j log q(theta | x_j)
    // counts the prior n_obs times, so n_obs - 1 of them come off.
    auto log_posterior = [&](const std::vector<double>& theta, uint64_t n) {
        std::vector<double> total(n, 0.0), lp(n), xs(n * k);
        for (uint64_t j = 0; j < n_obs; ++j) {
            for (uint64_t i = 0; i < n; ++i) std::copy(x_obs + j * k, x_obs + (j + 1) * k, xs.begin() + long(i * k));
            do_log_prob(n, theta.data(), xs.data(), lp.data());
            for (uint64_t i = 0; i < n; ++i) total[i] += lp[i];
        }
        if (n_obs > 1) {
            Tensor prior_lp =
                prior_.log_prob(torch::from_blob(const_cast<double*>(theta.data()), {int64_t(n), int64_t(d)}, torch::kFloat64));
            for (uint64_t i = 0; i < n; ++i) total[i] -= double(n_obs - 1) * prior_lp[int64_t(i)].item<double>();
        }
        return total;
    };

    std::vector<const simbi_batch_reader*> parts{ctx.data};
    for (int64_t round = 2; round <= rc.rounds; ++round) {
        std::vector<double> accepted;
        uint64_t candidates = 0, kept = 0;
        double threshold = 0;
        {
            torch::NoGradGuard no_grad;
            const uint64_t stream = streams::kTruncationBase + uint64_t(round);
            const uint64_t n_hpd = std::clamp<uint64_t>(uint64_t(std::ceil(10.0 / rc.truncation_quantile)), 10000, 200000);
            std::vector<double> draws(n_hpd * d);
            do_sample(n_obs, x_obs, n_hpd, simbi_rng_mix(ctx.seed, stream), draws.data());
            threshold = hpd_threshold(log_posterior(draws, n_hpd), rc.truncation_quantile);

            at::Generator gen = make_generator(ctx.seed, stream);
            const uint64_t batch = 65536, limit = rc.max_candidates * budget;
            while (kept < budget) {
                if (candidates >= limit)
                    throw std::runtime_error("round " + std::to_string(round) + ": only " + std::to_string(kept) + " of " +
                                             std::to_string(candidates) +
                                             " prior draws fall in the posterior's high-density region; raise training.max_candidates or "
                                             "lower training.round_budget");
                Tensor t = prior_.sample(int64_t(batch), gen).contiguous();
                std::vector<double> theta(t.data_ptr<double>(), t.data_ptr<double>() + batch * d);
                std::vector<double> lp = log_posterior(theta, batch);
                uint64_t i = 0;
                for (; i < batch && kept < budget; ++i)
                    if (lp[i] >= threshold) {
                        accepted.insert(accepted.end(), theta.begin() + long(i * d), theta.begin() + long((i + 1) * d));
                        ++kept;
                    }
                candidates += i;
            }
        }
        const double acceptance = double(kept) / double(std::max<uint64_t>(candidates, 1));
        const json note = {{"proposal", "truncated prior"}, {"acceptance", acceptance}, {"threshold", threshold}};
        if (host_ && host_->log) {
            char line[200];
            std::snprintf(line, sizeof line, "%s: round %lld draws %llu parameters from the truncated prior (acceptance %.4f)", id_.c_str(),
                          (long long)round, (unsigned long long)kept, acceptance);
            host_->log(host_, SIMBI_LOG_INFO, line);
        }
        const simbi_batch_reader* rows = nullptr;
        check(service->simulate(service, uint64_t(round), kept, accepted.data(), note.dump().c_str(), &rows, &err),
              ("round " + std::to_string(round) + "'s simulations").c_str(), message);
        parts.push_back(rows);
        ConcatReader all(parts);
        char folder[64];
        std::snprintf(folder, sizeof folder, "/round%lld-%016llx", (long long)round,
                      (unsigned long long)fnv1a(accepted.data(), accepted.size() * sizeof(double)));
        const std::string checkpoint = ctx.checkpoint_dir && *ctx.checkpoint_dir ? std::string(ctx.checkpoint_dir) + folder : std::string();
        simbi_train_context next = ctx;
        next.data = all.c();
        next.checkpoint_dir = checkpoint.c_str();
        do_train(next);
    }
}

}  // namespace simbi::nn
