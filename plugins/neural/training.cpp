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
    static const char* keys[] = {"batch_size", "learning_rate", "validation_fraction", "patience", "max_epochs", "max_seconds",
                                 "clip_norm", "lr_decay", "weight_decay", "average"};
    for (auto it = j.begin(); it != j.end(); ++it)
        if (std::find_if(std::begin(keys), std::end(keys), [&](const char* k) { return it.key() == k; }) == std::end(keys))
            throw std::invalid_argument("unknown training setting '" + it.key() + "'");
    c.batch_size = j.value("batch_size", c.batch_size);
    c.learning_rate = j.value("learning_rate", c.learning_rate);
    c.validation_fraction = j.value("validation_fraction", c.validation_fraction);
    c.patience = j.value("patience", c.patience);
    c.max_epochs = j.value("max_epochs", c.max_epochs);
    c.max_seconds = j.value("max_seconds", c.max_seconds);
    c.clip_norm = j.value("clip_norm", c.clip_norm);
    c.lr_decay = j.value("lr_decay", c.lr_decay);
    c.weight_decay = j.value("weight_decay", c.weight_decay);
    c.average = j.value("average", c.average);
    // batch_size 0 (automatic) is the default only: a given one must be positive.
    if ((j.contains("batch_size") && c.batch_size < 1) || !(c.learning_rate > 0) || !(c.validation_fraction > 0 && c.validation_fraction < 1) || c.patience < 1 ||
        c.max_epochs < 1 || !(c.max_seconds > 0) || !(c.clip_norm > 0) ||
        !(c.lr_decay > 0 && c.lr_decay <= 1) || !(c.weight_decay >= 0) || !(c.average >= 0 && c.average < 1))
        throw std::invalid_argument("training settings out of range: " + j.dump());
    return c;
}

TrainingConfig TrainingConfig::from_json(const std::string& text) { return from_json(text, TrainingConfig()); }

void TrainingConfig::declare(simbi::Info& info, const TrainingConfig& d) {
    auto num = [](double v) { return json(v).dump(); };
    info.training_option("batch_size", "integer", std::to_string(d.batch_size), "rows per step; 0: n/16 in [64, 256] for n training rows", "\"minimum\": 0")
        .training_option("learning_rate", "number", num(d.learning_rate), "Adam's step size", "\"exclusive_minimum\": 0")
        .training_option("validation_fraction", "number", num(d.validation_fraction), "the last rows of the data held out, in (0, 1)",
                         "\"exclusive_minimum\": 0, \"exclusive_maximum\": 1")
        .training_option("patience", "integer", std::to_string(d.patience), "epochs without a better validation loss before stopping", "\"minimum\": 1")
        .training_option("max_epochs", "integer", std::to_string(d.max_epochs), "at most this many epochs", "\"minimum\": 1")
        .training_option("max_seconds", "number", num(d.max_seconds), "wall-clock limit", "\"exclusive_minimum\": 0")
        .training_option("clip_norm", "number", num(d.clip_norm), "gradient norm clipping", "\"exclusive_minimum\": 0")
        .training_option("lr_decay", "number", num(d.lr_decay), "after patience/2 epochs without improvement the rate is multiplied by this; in (0, 1], 1 keeps it",
                         "\"exclusive_minimum\": 0, \"maximum\": 1")
        .training_option("weight_decay", "number", num(d.weight_decay), "Adam's L2 term, as torch.optim.Adam's weight_decay", "\"minimum\": 0")
        .training_option("average", "number", num(d.average), "validate and keep a moving average of the weights with this decay, in [0, 1); 0 is off",
                         "\"minimum\": 0, \"exclusive_maximum\": 1");
    RoundsConfig::declare(info);
}

TrainingConfig TrainingConfig::for_noisy_loss() {
    TrainingConfig d;
    d.patience = 100;
    d.lr_decay = 1.0;
    d.average = 0.999;
    return d;
}

int64_t TrainingConfig::auto_batch_size(int64_t train_rows) { return std::clamp<int64_t>(train_rows / 16, 64, 256); }

json TrainingConfig::to_json() const {
    return {{"batch_size", batch_size}, {"learning_rate", learning_rate}, {"validation_fraction", validation_fraction},
            {"patience", patience}, {"max_epochs", max_epochs}, {"max_seconds", max_seconds}, {"clip_norm", clip_norm}, {"lr_decay", lr_decay}, {"weight_decay", weight_decay}, {"average", average}};
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

void DataSource::for_each_train_batch(int64_t batch, uint64_t seed, int64_t epoch, const std::function<void(const Tensor&, const Tensor&)>& f) const {
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
        if (!avg_.defined()) avg_ = flat_.clone();
        else avg_.mul_(decay).add_(flat_, 1 - decay);
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
    if (s.size() < 3 || s.size() > 4 || s[0].numel() != m_.numel()) throw std::runtime_error("the optimizer checkpoint does not fit this model");
    m_.copy_(s[0]);
    v_.copy_(s[1]);
    t_ = s[2].item<int64_t>();
    if (s.size() == 4) avg_ = s[3].clone();
}

// ---- the training loop

namespace {
std::vector<Tensor> snapshot(torch::nn::Module& m) {
    std::vector<Tensor> out;
    for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
    return out;
}
void restore(torch::nn::Module& m, const std::vector<Tensor>& s) {
    torch::NoGradGuard no_grad;
    auto params = m.parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(s[i]);
}
}  // namespace

TrainResult fit(torch::nn::Module& model, const std::function<Tensor(const Tensor&, const Tensor&)>& loss, const DataSource& data,
                const TrainingConfig& cfg, const simbi_host* host, const std::string& checkpoint_dir, uint64_t seed,
                const std::string& fingerprint, const Collective& ranks) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    FlatAdam opt(model.parameters(), cfg.learning_rate, 0.9, 0.999, 1e-8, cfg.weight_decay);
    opt.set_average(cfg.average);
    TrainResult result;
    int64_t epoch = 0, bad = 0;
    double best = std::numeric_limits<double>::infinity();
    std::vector<Tensor> best_state = snapshot(model);
    bool finished = false;
    // Each epoch's (epoch, train loss, validation loss): kept in the checkpoint and reported again on
    // resuming, so the run's loss history is whole after a kill.
    json history = json::array();
    const bool checkpoints = !checkpoint_dir.empty();
    const bool writes_checkpoints = checkpoints && ranks.rank() == 0;
    // A checkpoint is one folder epoch-N holding the weights and the optimizer, renamed into place
    // whole, and state.json, renamed after it, naming that folder: a kill at any instant leaves
    // state.json pointing at a complete folder.
    const std::string state_path = checkpoint_dir + "/state.json";
    if (checkpoints && fs::exists(state_path)) {
        try {
            json st = read_json(state_path);
            if (st.value("fingerprint", "") == fingerprint) {
                // Everything is read before anything changes: a failure leaves a fresh training.
                const std::string folder = checkpoint_dir + "/" + st.at("folder").get<std::string>();
                const int64_t st_epoch = st.at("epoch").get<int64_t>(), st_bad = st.at("bad_epochs").get<int64_t>();
                const double st_best = st.at("best_val").is_number() ? st["best_val"].get<double>() : std::numeric_limits<double>::infinity(), st_lr = st.value("learning_rate", cfg.learning_rate);
                const bool st_finished = st.value("finished", false);
                json st_history = st.value("history", json::array());
                // The files must be the bytes that were saved: torch loads damaged weights silently.
                const json sums = st.at("files");
                for (const char* f : {"model.pt", "best.pt", "optimizer.pt"})
                    if (file_sha256(folder + "/" + f) != sums.at(f).get<std::string>())
                        throw std::runtime_error(std::string(f) + " does not match its checksum");
                std::vector<Tensor> current, best_saved;
                torch::load(current, folder + "/model.pt");
                torch::load(best_saved, folder + "/best.pt");
                if (current.size() != best_state.size() || best_saved.size() != best_state.size())
                    throw std::runtime_error("the saved weights do not fit this model");
                for (size_t i = 0; i < current.size(); ++i)
                    if (!current[i].sizes().equals(best_state[i].sizes()) || !best_saved[i].sizes().equals(best_state[i].sizes()))
                        throw std::runtime_error("the saved weights do not fit this model");
                opt.load(folder + "/optimizer.pt");  // checks before it changes anything
                restore(model, current);
                best_state = best_saved;
                epoch = st_epoch;
                best = st_best;
                bad = st_bad;
                opt.set_learning_rate(st_lr);
                finished = st_finished;
                history = st_history;
                result.resumed = true;
            }
        } catch (const std::exception& e) {
            // An unreadable checkpoint costs the epochs it held, never the run.
            if (host && host->log)
                host->log(host, SIMBI_LOG_WARNING,
                          ("the checkpoint in " + checkpoint_dir + " is unreadable (" + std::string(e.what()).substr(0, 200) +
                           "); training starts over")
                              .c_str());
        }
        if (result.resumed) {
            auto number = [](const json& v) { return v.is_number() ? v.get<double>() : std::nan(""); };  // JSON writes NaN as null
            if (host && host->metric)
                for (const auto& h : history) {
                    host->metric(host, "train_loss", h.at(0).get<uint64_t>(), number(h.at(1)));
                    host->metric(host, "val_loss", h.at(0).get<uint64_t>(), number(h.at(2)));
                }
            if (host && host->log) host->log(host, SIMBI_LOG_INFO, ("resuming training after epoch " + std::to_string(epoch)).c_str());
        }
    }
    if (ranks.size() > 1) {
        // Every rank must go on from the same epoch: a rank that could not read the checkpoint
        // rank 0 read would train other weights.
        Tensor here = torch::tensor({double(epoch)}, torch::kFloat64), at_rank0 = here.clone();
        ranks.broadcast(at_rank0);
        if (at_rank0.item<double>() != here.item<double>())
            throw std::runtime_error("rank " + std::to_string(ranks.rank()) + " resumes after epoch " + std::to_string(epoch) + " but rank 0 after epoch " +
                                     std::to_string(int64_t(at_rank0.item<double>())) + "; remove " + checkpoint_dir + " to start over");
        ranks.broadcast(opt.parameters());
    }
    auto save_checkpoint = [&](bool done) {
        if (!writes_checkpoints) return;
        const std::string name = "epoch-" + std::to_string(epoch), folder = checkpoint_dir + "/" + name;
        fs::remove_all(folder + ".tmp");
        fs::create_directories(folder + ".tmp");
        torch::save(snapshot(model), folder + ".tmp/model.pt");
        torch::save(best_state, folder + ".tmp/best.pt");
        opt.save(folder + ".tmp/optimizer.pt");
        json sums = json::object();
        for (const char* f : {"model.pt", "best.pt", "optimizer.pt"}) sums[f] = file_sha256(folder + ".tmp/" + f);
        fs::remove_all(folder);
        fs::rename(folder + ".tmp", folder);
        write_json(state_path + ".tmp", {{"fingerprint", fingerprint}, {"folder", name}, {"files", sums}, {"epoch", epoch}, {"best_val", best}, {"bad_epochs", bad}, {"learning_rate", opt.learning_rate()}, {"finished", done}, {"history", history}});
        fs::rename(state_path + ".tmp", state_path);
        for (const auto& e : fs::directory_iterator(checkpoint_dir))  // older epochs, now unreferenced
            if (e.is_directory() && e.path().filename().string() != name && e.path().filename().string().rfind("epoch-", 0) == 0)
                fs::remove_all(e.path());
    };

    int64_t epochs_here = 0;
    while (!finished && epoch < cfg.max_epochs) {
        model.train();
        // Dropout draws from torch's global generator: seeding it per epoch makes a resumed
        // training draw the same masks as an uninterrupted one.
        // Each rank draws its own masks and noise.
        const uint64_t epoch_seed = simbi_rng_mix(seed, streams::kDropoutBase + uint64_t(epoch));
        torch::manual_seed(ranks.size() > 1 ? simbi_rng_mix(epoch_seed, ranks.rank()) : epoch_seed);
        // This rank's rows of a batch of n: a contiguous share, [n r / R, n (r + 1) / R).
        auto share = [&](int64_t n) {
            const int64_t lo = n * int64_t(ranks.rank()) / int64_t(ranks.size()), hi = n * int64_t(ranks.rank() + 1) / int64_t(ranks.size());
            return std::make_pair(lo, hi - lo);
        };
        double total = 0;
        int64_t count = 0;
        data.for_each_train_batch(cfg.batch_size, seed, epoch, [&](const Tensor& theta, const Tensor& x) {
            opt.zero_grad();
            const auto [lo, rows] = share(theta.size(0));
            if (rows > 0) {
                Tensor l = loss(theta.narrow(0, lo, rows), x.narrow(0, lo, rows));
                // The batch mean is the row-weighted sum of the shares' means.
                (l * (double(rows) / double(theta.size(0)))).backward();
                total += l.item<double>() * double(rows);
                count += rows;
            }
            ranks.all_reduce_sum(opt.gradients());
            opt.clip_grad_norm(cfg.clip_norm);
            opt.step();
        });
        model.eval();
        opt.swap_average();  // validate, and keep, the averaged weights
        double vtotal = 0;
        int64_t vcount = 0;
        {
            torch::NoGradGuard no_grad;
            // The same noise every epoch (a loss that draws t, noise or pairs): epochs are compared
            // on common random numbers, so the early stopping sees the network change, not the draws.
            const uint64_t validation_seed = simbi_rng_mix(seed, streams::kValidationNoise);
            torch::manual_seed(ranks.size() > 1 ? simbi_rng_mix(validation_seed, ranks.rank()) : validation_seed);
            data.for_each_val_batch(std::max<int64_t>(cfg.batch_size, 4096), [&](const Tensor& theta, const Tensor& x) {
                const auto [lo, rows] = share(theta.size(0));
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
        double train_loss = total / double(std::max<int64_t>(count, 1));
        double val_loss = vtotal / double(std::max<int64_t>(vcount, 1));
        ++epoch;
        ++epochs_here;
        if (!std::isfinite(train_loss)) throw std::runtime_error("the training loss is not finite at epoch " + std::to_string(epoch));
        history.push_back({epoch, train_loss, val_loss});
        if (host && host->metric) {
            host->metric(host, "train_loss", uint64_t(epoch), train_loss);
            host->metric(host, "val_loss", uint64_t(epoch), val_loss);
        }
        const bool better = val_loss < best;
        if (better) best_state = snapshot(model);
        opt.swap_average();  // back to the training weights
        if (better) {
            best = val_loss;
            bad = 0;
        } else {
            ++bad;
            const int64_t plateau = std::max<int64_t>(1, cfg.patience / 2);
            if (cfg.lr_decay < 1 && bad % plateau == 0) opt.set_learning_rate(opt.learning_rate() * cfg.lr_decay);
        }
        double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
        finished = bad >= cfg.patience || epoch >= cfg.max_epochs || elapsed >= cfg.max_seconds;
        if (ranks.size() > 1) {
            // Rank 0's clock decides, and its weights stay the reference against drift.
            Tensor flag = torch::tensor({finished ? 1.0 : 0.0}, torch::kFloat64);
            ranks.broadcast(flag);
            finished = flag.item<double>() > 0.5;
            ranks.broadcast(opt.parameters());
        }
        save_checkpoint(finished);
        if (host && host->log && (epoch % 10 == 0 || finished)) {
            char line[160];
            std::snprintf(line, sizeof line, "epoch %lld: train %.4f, validation %.4f (best %.4f), %.1f s", (long long)epoch, train_loss,
                          val_loss, best, elapsed);
            host->log(host, SIMBI_LOG_INFO, line);
        }
        if (!finished && host && host->is_cancelled && host->is_cancelled(host))
            throw simbi::Cancelled("interrupted after epoch " + std::to_string(epoch) + "; run again to resume from the checkpoint");
    }
    restore(model, best_state);
    result.epochs = epoch;
    result.batch_size = cfg.batch_size;
    result.best_val = best;
    result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    result.seconds_per_epoch = epochs_here ? result.seconds / double(epochs_here) : 0.0;
    return result;
}

}  // namespace simbi::nn

namespace simbi::nn {

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
    json fingerprint = {{"estimator", id_}, {"config", config_json()}, {"training", config.to_json()}, {"rows", ctx.data->rows}, {"seed", ctx.seed}};
    result_ = fit(network(), loss, data, config, host_, ctx.checkpoint_dir ? ctx.checkpoint_dir : "", ctx.seed, fingerprint.dump(), ranks_);
    if (host_ && host_->log) {
        char line[200];
        std::snprintf(line, sizeof line, "%s: %lld epochs in %.1f s (%.4f s/epoch), best validation loss %.4f", id_.c_str(),
                      (long long)result_.epochs, result_.seconds, result_.seconds_per_epoch, result_.best_val);
        host_->log(host_, SIMBI_LOG_INFO, line);
    }
}

}  // namespace simbi::nn
