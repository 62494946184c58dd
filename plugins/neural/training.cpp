// Training: batches from the host's reader (in memory or streamed), Adam with gradient clipping,
// early stopping on the validation loss, and a checkpoint per epoch.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include <simbi/rng.h>

#include "estimator.hpp"
#include "streams.hpp"

namespace fs = std::filesystem;

namespace simbi::nn {

TrainingConfig TrainingConfig::from_json(const std::string& text, const TrainingConfig& defaults) {
    TrainingConfig c = defaults;
    json j = text.empty() ? json::object() : json::parse(text);
    check(j);
    c.batch_size = j.value("batch_size", c.batch_size);
    c.learning_rate = j.value("learning_rate", c.learning_rate);
    c.validation_fraction = j.value("validation_fraction", c.validation_fraction);
    c.patience = j.value("patience", c.patience);
    c.min_epochs = j.value("min_epochs", c.min_epochs);
    c.max_epochs = j.value("max_epochs", c.max_epochs);
    c.max_seconds = j.value("max_seconds", c.max_seconds);
    c.clip_norm = j.value("clip_norm", c.clip_norm);
    c.lr_decay = j.value("lr_decay", c.lr_decay);
    c.weight_decay = j.value("weight_decay", c.weight_decay);
    c.average = j.value("average", c.average);
    return c;
}

TrainingConfig TrainingConfig::from_json(const std::string& text) { return from_json(text, TrainingConfig()); }

void TrainingConfig::declare(simbi::Info& info, const TrainingConfig& d) {
    using simbi::Option;
    info.training_option(
            "batch_size",
            Option::integer(d.batch_size).minimum(0).maximum(1 << 24).doc("rows per step; 0: n/16 in [64, 256] for n training rows"))
        .training_option("learning_rate", Option::number(d.learning_rate).above(0).maximum(10).doc("Adam's step size"))
        .training_option("validation_fraction",
                         Option::number(d.validation_fraction).above(0).below(1).doc("the last rows of the data held out, in (0, 1)"))
        .training_option("patience", Option::integer(d.patience)
                                         .minimum(1)
                                         .sensible_minimum(double(d.patience) / 2)
                                         .doc("epochs without a better validation loss before stopping"))
        .training_option("min_epochs", Option::integer(d.min_epochs).minimum(0).doc("no early stop before this many epochs"))
        .training_option("max_epochs", Option::integer(d.max_epochs).minimum(1).doc("at most this many epochs"))
        .training_option("max_seconds", Option::number(d.max_seconds).above(0).doc("wall-clock limit"))
        .training_option("clip_norm", Option::number(d.clip_norm).above(0).doc("gradient norm clipping"))
        .training_option("lr_decay",
                         Option::number(d.lr_decay)
                             .above(0)
                             .maximum(1)
                             .doc("after patience/2 epochs without improvement the rate is multiplied by this; in (0, 1], 1 keeps it"))
        .training_option("weight_decay",
                         Option::number(d.weight_decay).minimum(0).doc("Adam's L2 term, as torch.optim.Adam's weight_decay"))
        .training_option("average", Option::number(d.average).minimum(0).below(1).doc(
                                        "validate and keep a moving average of the weights with this decay, in [0, 1); 0 is off"));
    RoundsConfig::declare(info);
}

void TrainingConfig::check(const json& training) {
    // The declarations are the checks: a training object is held to the schema declare() writes.
    static const std::string schema = [] {
        simbi::Info i("simbi.training", "training", SIMBI_KIND_ESTIMATOR);
        declare(i, TrainingConfig());
        return std::string(i.descriptor()->training_schema_json);
    }();
    try {
        simbi::check_settings(simbi::parse_json(training.dump()), simbi::parse_json(schema));
    } catch (const simbi::SettingError& e) {
        throw std::invalid_argument(e.unknown ? "unknown training setting '" + e.key + "'"
                                              : "training setting '" + e.key + "': " + e.what());
    }
}

TrainingConfig TrainingConfig::for_noisy_loss() {
    TrainingConfig d;
    d.patience = 100;
    d.min_epochs = 200;
    d.lr_decay = 1.0;
    d.average = 0.999;
    return d;
}

int64_t TrainingConfig::auto_batch_size(int64_t train_rows) { return std::clamp<int64_t>(train_rows / 16, 64, 256); }

json TrainingConfig::to_json() const {
    return {{"batch_size", batch_size},
            {"learning_rate", learning_rate},
            {"validation_fraction", validation_fraction},
            {"patience", patience},
            {"min_epochs", min_epochs},
            {"max_epochs", max_epochs},
            {"max_seconds", max_seconds},
            {"clip_norm", clip_norm},
            {"lr_decay", lr_decay},
            {"weight_decay", weight_decay},
            {"average", average}};
}

// ---- data

DataSource::DataSource(const simbi_batch_reader* reader, double validation_fraction, int64_t memory_bytes)
    : reader_(reader), n_(int64_t(reader->rows)), d_(int64_t(reader->theta_dim)), k_(int64_t(reader->x_dim)) {
    if (n_ < 2) throw std::invalid_argument("training needs at least 2 simulations, the store has " + std::to_string(n_));
    int64_t n_val = std::max<int64_t>(1, int64_t(std::llround(double(n_) * validation_fraction)));
    n_train_ = n_ - n_val;
    const int64_t row_bytes = (d_ + k_) * 4;
    in_memory_ = n_ * row_bytes <= memory_bytes;
    if (in_memory_) {
        read_block(0, n_, theta_, x_);
        resident_rows_ = n_;
        block_rows_ = n_;
    } else {
        // Half the budget per block: the float block, plus the double buffer it is read through.
        block_rows_ = std::max<int64_t>(1, memory_bytes / (row_bytes * 3));
        resident_rows_ = block_rows_;
    }
}

void DataSource::read_block(int64_t start, int64_t count, Tensor& theta, Tensor& x) const {
    theta = torch::empty({count, d_});
    x = torch::empty({count, k_});
    const int64_t step = 65536;
    std::vector<double> tb, xb;
    char msg[512] = {0};
    simbi_error err{sizeof(simbi_error), SIMBI_OK, 0, msg, sizeof msg};
    for (int64_t s = 0; s < count; s += step) {
        int64_t m = std::min(step, count - s);
        tb.resize(size_t(m * d_));
        xb.resize(size_t(m * k_));
        if (reader_->read(reader_, uint64_t(start + s), uint64_t(m), tb.data(), xb.data(), &err) != SIMBI_OK)
            throw std::runtime_error(std::string("reading the training data: ") + msg);
        theta.narrow(0, s, m).copy_(torch::from_blob(tb.data(), {m, d_}, torch::kFloat64));
        x.narrow(0, s, m).copy_(torch::from_blob(xb.data(), {m, k_}, torch::kFloat64));
    }
}

void DataSource::for_each_train_batch(int64_t batch, uint64_t seed, int64_t epoch,
                                      const std::function<void(const Tensor&, const Tensor&)>& f) const {
    at::Generator gen = make_generator(seed, streams::kBatchOrderBase + uint64_t(epoch));
    if (in_memory_) {
        Tensor perm = torch::randperm(n_train_, gen);
        for (int64_t s = 0; s < n_train_; s += batch) {
            Tensor idx = perm.narrow(0, s, std::min(batch, n_train_ - s));
            f(theta_.index_select(0, idx), x_.index_select(0, idx));
        }
        return;
    }
    int64_t blocks = (n_train_ + block_rows_ - 1) / block_rows_;
    Tensor order = torch::randperm(blocks, gen);
    for (int64_t b = 0; b < blocks; ++b) {
        int64_t start = order[b].item<int64_t>() * block_rows_, count = std::min(block_rows_, n_train_ - start);
        Tensor theta, x;
        read_block(start, count, theta, x);
        Tensor perm = torch::randperm(count, gen);
        for (int64_t s = 0; s < count; s += batch) {
            Tensor idx = perm.narrow(0, s, std::min(batch, count - s));
            f(theta.index_select(0, idx), x.index_select(0, idx));
        }
    }
}

void DataSource::for_each_val_batch(int64_t batch, const std::function<void(const Tensor&, const Tensor&)>& f) const {
    if (in_memory_) {
        for (int64_t s = n_train_; s < n_; s += batch) {
            int64_t m = std::min(batch, n_ - s);
            f(theta_.narrow(0, s, m), x_.narrow(0, s, m));
        }
        return;
    }
    for (int64_t start = n_train_; start < n_; start += block_rows_) {
        Tensor theta, x;
        int64_t count = std::min(block_rows_, n_ - start);
        read_block(start, count, theta, x);
        for (int64_t s = 0; s < count; s += batch) {
            int64_t m = std::min(batch, count - s);
            f(theta.narrow(0, s, m), x.narrow(0, s, m));
        }
    }
}

void DataSource::moments(const std::function<Tensor(const Tensor&)>& g, Tensor& tm, Tensor& ts, Tensor& xm, Tensor& xs) const {
    Tensor st, st2, sx, sx2;
    auto add = [&](const Tensor& theta, const Tensor& x) {
        Tensor t = g(theta).to(torch::kFloat64), xd = x.to(torch::kFloat64);
        if (!st.defined()) {
            st = torch::zeros({t.size(1)}, torch::kFloat64), st2 = torch::zeros_like(st);
            sx = torch::zeros({xd.size(1)}, torch::kFloat64), sx2 = torch::zeros_like(sx);
        }
        st += t.sum(0), st2 += t.pow(2).sum(0), sx += xd.sum(0), sx2 += xd.pow(2).sum(0);
    };
    if (in_memory_) {
        add(theta_.narrow(0, 0, n_train_), x_.narrow(0, 0, n_train_));
    } else {
        for (int64_t start = 0; start < n_train_; start += block_rows_) {
            Tensor theta, x;
            read_block(start, std::min(block_rows_, n_train_ - start), theta, x);
            add(theta, x);
        }
    }
    const double n = double(n_train_);
    auto finish = [&](const Tensor& s, const Tensor& s2, Tensor& mean, Tensor& std) {
        mean = s / n;
        Tensor var = (s2 / n - mean * mean).clamp_min(0) * (n / std::max(1.0, n - 1));
        std = var.sqrt();
        std = torch::where(std > 1e-12, std, torch::ones_like(std));  // a constant column stays as it is
        mean = mean.to(torch::kFloat32);
        std = std.to(torch::kFloat32);
    };
    finish(st, st2, tm, ts);
    finish(sx, sx2, xm, xs);
}

// ---- the optimizer

FlatAdam::FlatAdam(std::vector<Tensor> params, double lr, double beta1, double beta2, double eps, double weight_decay)
    : lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps), weight_decay_(weight_decay) {
    int64_t total = 0;
    for (const auto& p : params) total += p.numel();
    flat_ = torch::empty({total});
    grad_ = torch::zeros({total});
    int64_t off = 0;
    torch::NoGradGuard no_grad;
    for (auto& p : params) {
        const int64_t n = p.numel();
        flat_.narrow(0, off, n).copy_(p.detach().reshape(-1));
        p.set_data(flat_.narrow(0, off, n).view(p.sizes()));
        p.mutable_grad() = grad_.narrow(0, off, n).view(p.sizes());  // autograd accumulates into it in place
        off += n;
    }
    m_ = torch::zeros_like(flat_);
    v_ = torch::zeros_like(flat_);
}

void FlatAdam::clip_grad_norm(double max_norm) {
    // As torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1.
    double norm = grad_.norm().item<double>();
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1) grad_.mul_(coef);
}

void FlatAdam::step() {
    torch::NoGradGuard no_grad;
    ++t_;
    if (weight_decay_ > 0) grad_.add_(flat_, weight_decay_);
    m_.mul_(beta1_).add_(grad_, 1 - beta1_);
    v_.mul_(beta2_).addcmul_(grad_, grad_, 1 - beta2_);
    const double bc1 = 1 - std::pow(beta1_, double(t_)), bc2 = 1 - std::pow(beta2_, double(t_));
    Tensor denom = (v_.sqrt() / std::sqrt(bc2)).add_(eps_);
    flat_.addcdiv_(m_, denom, -lr_ / bc1);
    if (average_ > 0) {
        // The decay grows to its setting over the first steps, (1 + t) / (10 + t), so that the
        // average soon forgets the initial weights (as TensorFlow's ExponentialMovingAverage).
        const double decay = std::min(average_, (1.0 + double(t_)) / (10.0 + double(t_)));
        if (!avg_.defined())
            avg_ = flat_.clone();
        else
            avg_.mul_(decay).add_(flat_, 1 - decay);
    }
}

void FlatAdam::swap_average() {
    if (!avg_.defined()) return;
    torch::NoGradGuard no_grad;
    Tensor training = flat_.clone();
    flat_.copy_(avg_);  // in place: the parameters are views of flat_
    avg_ = training;
}

void FlatAdam::save(const std::string& path) const {
    std::vector<Tensor> s{m_, v_, torch::tensor(t_)};
    if (avg_.defined()) s.push_back(avg_);
    torch::save(s, path);
}

void FlatAdam::load(const std::string& path) {
    std::vector<Tensor> s;
    torch::load(s, path);
    if (s.size() < 3 || s.size() > 4 || s[0].numel() != m_.numel())
        throw std::runtime_error("the optimizer checkpoint does not fit this model");
    m_.copy_(s[0]);
    v_.copy_(s[1]);
    t_ = s[2].item<int64_t>();
    if (s.size() == 4) avg_ = s[3].clone();
}

}  // namespace simbi::nn
