// C2ST with sbibm's protocol (Lueckmann et al. 2021, sbibm/metrics/c2st.py): z-score by the
// reference's mean and std (ddof 1); 5-fold shuffled cross-validation; the mean held-out accuracy
// of scikit-learn's MLPClassifier(hidden_layer_sizes=(10 dim, 10 dim), max_iter=10000), whose
// defaults are followed here: ReLU, one logistic output, Glorot-uniform initial weights and biases
// (bound sqrt(6 / (fan_in + fan_out)) for every layer with ReLU hidden units), Adam at 1e-3 on
// shuffled batches of 200, an L2 term 0.5 alpha |W|^2 / batch (alpha 1e-4, weights only), and a stop
// once the epoch's loss has failed 11 times in a row to beat the best by 1e-4.
#include <simbi/rng.h>

#include <atomic>
#include <limits>
#include <mutex>
#include <thread>

#include "c2st.hpp"
#include "networks.hpp"
#include "training.hpp"
#include "streams.hpp"

namespace simbi::nn {

namespace {
// scikit-learn's MLP initialization (Glorot & Bengio 2010): weights and biases uniform in
// +-sqrt(6 / (fan_in + fan_out)); scikit-learn picks the factor 6 by the hidden activation (ReLU).
void glorot_uniform(torch::nn::Sequential& net) {
    torch::NoGradGuard no_grad;
    std::vector<torch::nn::Linear> layers;
    for (const auto& module : net->children())
        if (auto linear = std::dynamic_pointer_cast<torch::nn::LinearImpl>(module)) layers.emplace_back(linear);
    for (auto& layer : layers) {
        auto& w = layer->weight;
        const double bound = std::sqrt(6.0 / double(w.size(0) + w.size(1)));
        w.uniform_(-bound, bound);
        layer->bias.uniform_(-bound, bound);
    }
}
}  // namespace

double c2st(const Tensor& reference, const Tensor& approximate, uint64_t seed, int64_t folds) {
    Tensor ref = reference.to(torch::kFloat32), app = approximate.to(torch::kFloat32);
    Tensor mean = ref.mean(0), std = ref.std(0, true).clamp_min(1e-12);
    Tensor X = torch::cat({(ref - mean) / std, (app - mean) / std}, 0);
    Tensor y = torch::cat({torch::zeros({ref.size(0)}), torch::ones({app.size(0)})});
    const int64_t n = X.size(0), d = X.size(1);
    at::Generator shuffle = make_generator(seed, streams::kC2stShuffle);
    Tensor perm = torch::randperm(n, shuffle);
    X = X.index_select(0, perm);
    y = y.index_select(0, perm);

    // Each fold's network and stream are fixed up front, so the result does not depend on how
    // many folds run at once.
    std::vector<torch::nn::Sequential> nets;
    for (int64_t f = 0; f < folds; ++f) {
        torch::manual_seed(simbi_rng_mix(seed, streams::kC2stInitBase + uint64_t(f)));
        nets.push_back(make_mlp(d, {10 * d, 10 * d}, 1));
        glorot_uniform(nets.back());
    }
    std::vector<double> accuracy(size_t(folds), 0.0);
    auto run_fold = [&](int64_t f) {
        int64_t lo = n * f / folds, hi = n * (f + 1) / folds;
        Tensor test_mask = torch::zeros({n}, torch::kBool);
        test_mask.narrow(0, lo, hi - lo).fill_(true);
        Tensor Xtr = X.index({~test_mask}), ytr = y.index({~test_mask}), Xte = X.index({test_mask}), yte = y.index({test_mask});
        auto& net = nets[size_t(f)];
        at::Generator gen = make_generator(seed, streams::kC2stBatchBase + uint64_t(f));
        FlatAdam opt(net->parameters(), 1e-3);
        std::vector<Tensor> weights;
        for (const auto& p : net->named_parameters())
            if (p.key().find("weight") != std::string::npos) weights.push_back(p.value());
        constexpr double alpha = 1e-4, tol = 1e-4;
        constexpr int no_change = 10, max_epochs = 10000;
        double best = std::numeric_limits<double>::infinity();
        int stall = 0;
        const int64_t m = Xtr.size(0), batch = std::min<int64_t>(200, m);
        for (int epoch = 0; epoch < max_epochs; ++epoch) {
            Tensor p = torch::randperm(m, gen);
            // The epoch's loss accumulates in a tensor: one synchronization per epoch, not per step.
            Tensor sum = torch::zeros({});
            for (int64_t s = 0; s < m; s += batch) {
                const int64_t nb = std::min(batch, m - s);
                Tensor idx = p.narrow(0, s, nb);
                opt.zero_grad();
                Tensor logits = net->forward(Xtr.index_select(0, idx)).squeeze(1);
                Tensor l2 = torch::zeros({});
                for (const auto& w : weights) l2 = l2 + w.pow(2).sum();
                Tensor loss = torch::binary_cross_entropy_with_logits(logits, ytr.index_select(0, idx)) + (0.5 * alpha / double(nb)) * l2;
                loss.backward();
                opt.step();
                sum.add_(loss.detach(), double(nb));
            }
            const double epoch_loss = sum.item<double>() / double(m);
            // scikit-learn's _update_no_improvement_count: the best moves on any decrease, the
            // count resets only on one larger than tol.
            stall = epoch_loss > best - tol ? stall + 1 : 0;
            best = std::min(best, epoch_loss);
            if (stall > no_change) break;
        }
        torch::NoGradGuard no_grad;
        Tensor pred = (net->forward(Xte).squeeze(1) > 0).to(torch::kFloat32);
        accuracy[size_t(f)] = (pred == yte).to(torch::kFloat32).mean().item<double>();
    };
    // Folds in parallel, one per core.
    const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(folds, int64_t(std::thread::hardware_concurrency())));
    std::atomic<int64_t> next{0};
    std::vector<std::thread> pool;
    std::exception_ptr error;
    std::mutex error_mutex;
    for (int64_t w = 0; w < workers; ++w)
        pool.emplace_back([&] {
            try {
                for (int64_t f; (f = next++) < folds;) run_fold(f);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                error = std::current_exception();
            }
        });
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
    double total = 0;
    for (double a : accuracy) total += a;
    return total / double(folds);
}

}  // namespace simbi::nn
