#include "simbi_host/pipeline/round_service.hpp"

#include <cmath>
#include <cstdio>
#include <simbi/rng.h>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/json_reader.hpp"

namespace simbi::host {

std::unique_ptr<DatasetReader> open_training_store(const std::string& path, const PluginInfo& simulator) {
    auto r = std::make_unique<DatasetReader>(path);
    r->verify();
    if (r->theta_dim() != simulator.param_names.size() || r->x_dim() != simulator.output_dim)
        throw RunError(path + ": holds rows of " + std::to_string(r->theta_dim()) + " parameters and " + std::to_string(r->x_dim()) +
                       " outputs, but simulator '" + simulator.id + "' has " + std::to_string(simulator.param_names.size()) + " and " +
                       std::to_string(simulator.output_dim));
    return r;
}

RoundService::RoundService(const RunPlan& plan, const HostServices& host, bool quiet)
    : simulation_(plan.simulation), host_(host), quiet_(quiet) {
    if (plan.observation) {
        n_obs_ = plan.observation->size();
        for (const auto& row : *plan.observation) observation_.insert(observation_.end(), row.begin(), row.end());
    }
    c_.size = sizeof c_;
    c_.data = this;
    c_.observation = [](const simbi_simulation_service* self, uint64_t* n_obs, const double** x_obs, simbi_error* err) -> simbi_status {
        if (!n_obs || !x_obs) return simbi_error_set(err, SIMBI_DISCARD, "observation: n_obs and x_obs must not be NULL");
        auto* s = static_cast<RoundService*>(self->data);
        s->used_observation_ = true;
        *n_obs = s->n_obs_;
        *x_obs = s->observation_.empty() ? nullptr : s->observation_.data();
        return SIMBI_OK;
    };
    c_.simulate = [](const simbi_simulation_service* self, uint64_t round, uint64_t n, const double* theta, const char* note_json,
                     const simbi_batch_reader** rows, simbi_error* err) -> simbi_status {
        if (!rows || (n > 0 && !theta)) return simbi_error_set(err, SIMBI_DISCARD, "simulate: theta and rows must not be NULL");
        try {
            *rows = static_cast<RoundService*>(self->data)->simulate(round, n, theta, note_json);
            return SIMBI_OK;
        } catch (const std::exception& e) {
            return simbi_error_set(err, SIMBI_ERROR, e.what());
        }
    };
}

const simbi_batch_reader* RoundService::simulate(uint64_t round, uint64_t n, const double* theta, const char* note_json) {
    if (round < 2 || round > 1000) throw std::invalid_argument("simulate: round " + std::to_string(round) + " is not in 2..1000");
    if (n == 0 || n > kMaxBudget)
        throw std::invalid_argument("simulate: " + std::to_string(n) + " rows is not in 1.." + std::to_string(kMaxBudget));
    json note = json::object();
    if (note_json && *note_json) {
        note = parse_json_strict(note_json, "the estimator's round note");
        if (!note.is_object()) throw std::invalid_argument("simulate: note_json must be a JSON object");
    }
    const Prior& prior = *simulation_.prior;
    const uint64_t d = prior.dim();
    for (uint64_t i = 0; i < n * d; ++i)
        if (!std::isfinite(theta[i])) throw std::invalid_argument("simulate: theta row " + std::to_string(i / d) + " is not finite");
    TableProposal proposal(prior, std::vector<double>(theta, theta + n * d));
    RoundSimulation plan;
    plan.proposal = &proposal;
    plan.budget = n;
    plan.seed = simbi_rng_mix(simulation_.settings.seed, round);
    std::string base = simulation_.settings.store;
    if (base.size() > 3 && base.substr(base.size() - 3) == ".h5") base.resize(base.size() - 3);
    plan.store = base + ".round" + std::to_string(round) + ".h5";
    SimulateOptions so;
    so.quiet = quiet_;
    SimulateResult r = run_simulation(simulation_, host_, so, plan);
    stores_.push_back(open_training_store(r.store, *simulation_.simulator));
    readers_.push_back(std::make_unique<StoreBatchReader>(std::vector<const DatasetReader*>{stores_.back().get()}));
    simulations_ += r.totals.simulated;
    rows_ += stores_.back()->rows();
    if (!quiet_)
        std::fprintf(stderr, "round %llu: %s %llu simulations at the estimator's parameters\n", (unsigned long long)round,
                     r.reused ? "reused" : "ran", (unsigned long long)r.totals.simulated);
    json record = {{"round", round}, {"simulations", r.totals.simulated}, {"rows", stores_.back()->rows()}, {"store", r.store}};
    for (auto it = note.begin(); it != note.end(); ++it)
        if (!record.contains(it.key())) record[it.key()] = it.value();
    rounds_.push_back(record);
    return readers_.back()->c();
}

}  // namespace simbi::host
