#include "simbi_host/plugins/assimilator_instance.hpp"

#include <simbi/ext/assimilator.h>

#include "simbi_host/core/buffer_guard.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/estimator_instance.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"

namespace simbi::host {

AssimilatorInstance::AssimilatorInstance(const PluginInfo& info, const json& config, const HostServices& host) : info_(info), host_(host) {
    if (info.kind != SIMBI_KIND_ASSIMILATOR)
        throw RunError("plugin '" + info.id + "' is " + with_article(kind_name(info.kind)) + ", not an assimilator");
    a_ = static_cast<simbi_assimilator*>(create_plugin_object(info, config.dump(), host));
    if (a_->size < sizeof(simbi_assimilator) || !a_->destroy || !a_->train || !a_->sample || !a_->save || !a_->load) {
        a_ = nullptr;
        throw RunError("plugin '" + info.id + "': create() returned an incomplete assimilator");
    }
}

AssimilatorInstance::~AssimilatorInstance() {
    if (a_) a_->destroy(a_);
}

void AssimilatorInstance::fail(const char* call, simbi_status st, const ErrorBuffer& eb) const {
    throw RunError("assimilator '" + info_.id + "' " + call + " returned " + status_name(st) + ": " + eb.message());
}

void AssimilatorInstance::train(const DatasetReader& data, uint64_t state_dim, uint64_t steps, const json& training,
                                const std::string& checkpoint_dir, uint64_t seed) {
    StoreBatchReader reader({&data});
    const std::string training_json = training.dump();
    simbi_assimilation_context ctx{};
    ctx.size = sizeof ctx;
    ctx.data = reader.c();
    ctx.state_dim = state_dim;
    ctx.steps = steps;
    ctx.host = host_.c_host();
    ctx.training_json = training_json.c_str();
    ctx.checkpoint_dir = checkpoint_dir.c_str();
    ctx.seed = seed;
    ErrorBuffer eb;
    const simbi_status st = a_->train(a_, &ctx, eb.get());
    if (st != SIMBI_OK) fail("train", st, eb);
}

std::vector<double> AssimilatorInstance::sample(const ObservedEntries& o, uint64_t n, uint64_t seed) {
    simbi_observation_operator op{};
    op.size = sizeof op;
    op.length = o.length;
    op.state_dim = o.state_dim;
    op.observed = o.index.size();
    op.index = o.index.data();
    op.y = o.y.data();
    op.sigma = o.sigma;
    ErrorBuffer eb;
    return guarded_output(
        "assimilator '" + info_.id + "' wrote outside its buffer of " + std::to_string(n) + " trajectories of " + std::to_string(o.length) +
            " x " + std::to_string(o.state_dim) + " values",
        n * o.length * o.state_dim, [&](double* out) { return a_->sample(a_, &op, n, seed, out, eb.get()); },
        [&](simbi_status st) { fail("sample", st, eb); });
}

void AssimilatorInstance::save(const std::string& dir) {
    ErrorBuffer eb;
    const simbi_status st = a_->save(a_, dir.c_str(), eb.get());
    if (st != SIMBI_OK) fail("save", st, eb);
}

void AssimilatorInstance::load(const std::string& dir) {
    ErrorBuffer eb;
    const simbi_status st = a_->load(a_, dir.c_str(), eb.get());
    if (st != SIMBI_OK) fail("load", st, eb);
}

}  // namespace simbi::host
