// estimator.hpp: the frame every neural estimator shares (threads, errors, standardization,
// training, artifacts).
#include "estimator.hpp"

#include <filesystem>

namespace simbi::nn {

namespace {
template <class F>
void torch_errors_as_messages(F f) {
    try {
        f();
    } catch (const c10::Error& e) {
        throw std::runtime_error(e.what_without_backtrace());
    }
}
}  // namespace

NeuralEstimator::NeuralEstimator(std::string id, std::string version, const simbi::Config& c, const simbi_host* host)
    : id_(std::move(id)), version_(std::move(version)), host_(host), runtime_(RuntimeConfig::from_config(c)) {}

void NeuralEstimator::require_trained() const {
    if (!trained()) throw std::runtime_error("the estimator is not trained or loaded");
}

void NeuralEstimator::train(const simbi_train_context& ctx) {
    ThreadScope threads(runtime_.threads);
    torch_errors_as_messages([&] {
        json training = ctx.training_json && *ctx.training_json ? json::parse(ctx.training_json) : json::object();
        const RoundsConfig rounds = RoundsConfig::take_from(training);
        const bool has_ranks = ctx.size >= offsetof(simbi_train_context, rendezvous) + sizeof(const char*);
        if (has_ranks && ctx.world_size > 1) {
            if (rounds.rounds > 1)
                throw std::invalid_argument("sequential rounds train in one process; run them without data-parallel ranks");
            if (!ctx.rendezvous) throw std::invalid_argument("world_size > 1 without a rendezvous address");
            ranks_ = Collective(ctx.rank, ctx.world_size, ctx.rendezvous, 300);
        }
        struct Alone {  // the group lives for this training only
            Collective& c;
            ~Alone() { c = Collective(); }
        } alone{ranks_};
        const std::string rest = training.dump();
        simbi_train_context first = ctx;
        first.training_json = rest.c_str();
        do_train(first);
        if (rounds.rounds > 1) train_rounds(first, rounds);
    });
}

void NeuralEstimator::log_debug(const std::string& message) const {
    if (host_ && host_->log) host_->log(host_, SIMBI_LOG_DEBUG, (id_ + ": " + message).c_str());
}

void NeuralEstimator::inference(const std::function<void()>& f) const {
    ThreadScope threads(runtime_.threads);
    torch::NoGradGuard no_grad;
    torch_errors_as_messages(f);
}

void NeuralEstimator::sample(uint64_t n_obs, const double* x_obs, uint64_t n, uint64_t seed, double* theta) {
    require_trained();
    if (n_obs == 0) throw std::invalid_argument("no observation given");
    if (n == 0) return;
    inference([&] { do_sample(n_obs, x_obs, n, seed, theta); });
}

void NeuralEstimator::log_prob(uint64_t n, const double* theta, const double* x, double* out) {
    require_trained();
    if (n == 0) return;
    inference([&] { do_log_prob(n, theta, x, out); });
}

void NeuralEstimator::save(const std::string& dir) {
    require_trained();
    torch_errors_as_messages([&] {
        json j = artifact_header(id_, version_);
        j["config"] = config_json();
        j["theta_dim"] = theta_.mean.size(0);
        j["x_dim"] = x_.mean.size(0);
        j["theta_standardization"] = theta_.to_json();
        j["x_standardization"] = x_.to_json();
        j["training"] = {{"epochs", result_.epochs},
                         {"batch_size", result_.batch_size},
                         {"best_val_loss", result_.best_val},
                         {"seconds", result_.seconds}};
        std::filesystem::create_directories(dir);
        save_module(network(), dir + "/weights.pt");
        write_json(dir + "/estimator.json", j);  // last: it is what makes the folder an artifact
    });
}

void NeuralEstimator::load(const std::string& dir) {
    torch_errors_as_messages([&] {
        json j = read_artifact(dir, id_);
        theta_ = Standardizer::from_json(j.at("theta_standardization"));
        x_ = Standardizer::from_json(j.at("x_standardization"));
        if (!prior_.defined()) throw std::runtime_error("no prior: the host must give one before load (ABI 1.1)");
        rebuild(j);
        load_module(network(), dir + "/weights.pt");
        network().eval();
    });
}

std::unique_ptr<DataSource> NeuralEstimator::prepare(const simbi_train_context& ctx, const std::function<Tensor(const Tensor&)>& g,
                                                     TrainingConfig& config) {
    prior_ = TorchPrior(ctx.prior);
    config = TrainingConfig::from_json(ctx.training_json ? ctx.training_json : "{}", config);
    auto data = std::make_unique<DataSource>(ctx.data, config.validation_fraction, runtime_.memory_bytes);
    if (config.batch_size == 0) config.batch_size = TrainingConfig::auto_batch_size(data->train_rows());
    if (host_ && host_->metric) {
        host_->metric(host_, "resident_rows", 0, double(data->resident_rows()));
        host_->metric(host_, "training_rows", 0, double(data->train_rows()));
        host_->metric(host_, "validation_rows", 0, double(data->val_rows()));
    }
    data->moments(g, theta_.mean, theta_.std, x_.mean, x_.std);
    torch::manual_seed(ctx.seed);  // the network's initial weights
    return data;
}

void NeuralEstimator::fit_network(const simbi_train_context& ctx, const DataSource& data, const TrainingConfig& config,
                                  const std::function<Tensor(const Tensor&, const Tensor&)>& loss) {
    json fingerprint = {
        {"estimator", id_}, {"config", config_json()}, {"training", config.to_json()}, {"rows", ctx.data->rows}, {"seed", ctx.seed}};
    result_ = fit(network(), loss, data, config, host_, ctx.checkpoint_dir ? ctx.checkpoint_dir : "", ctx.seed, fingerprint.dump(), ranks_);
    if (host_ && host_->log) {
        char line[200];
        std::snprintf(line, sizeof line, "%s: %lld epochs in %.1f s (%.4f s/epoch), best validation loss %.4f", id_.c_str(),
                      (long long)result_.epochs, result_.seconds, result_.seconds_per_epoch, result_.best_val);
        host_->log(host_, SIMBI_LOG_INFO, line);
    }
}

}  // namespace simbi::nn
