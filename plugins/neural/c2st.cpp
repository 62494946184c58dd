// C2ST with sbibm's protocol (Lueckmann et al. 2021, sbibm/metrics/c2st.py): z-score by the
// reference's mean and std (ddof 1); MLP with two hidden layers of 10 * dim ReLU units trained by
// Adam (learning rate 1e-3, batches of 200, L2 1e-4, stop when the training loss has not improved
// by 1e-4 for 10 epochs, at most 1000 epochs), as scikit-learn's MLPClassifier does; 5-fold
// shuffled cross-validation; the mean held-out accuracy.
#include <simbi/rng.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "neural.hpp"

namespace simbi::nn {

double c2st(const Tensor& reference, const Tensor& approximate, uint64_t seed, int64_t folds) {
    Tensor ref = reference.to(torch::kFloat32), app = approximate.to(torch::kFloat32);
    Tensor mean = ref.mean(0), std = ref.std(0, true).clamp_min(1e-12);
    Tensor X = torch::cat({(ref - mean) / std, (app - mean) / std}, 0);
    Tensor y = torch::cat({torch::zeros({ref.size(0)}), torch::ones({app.size(0)})});
    const int64_t n = X.size(0), d = X.size(1);
    at::Generator shuffle = make_generator(seed, 7);
    Tensor perm = torch::randperm(n, shuffle);
    X = X.index_select(0, perm);
    y = y.index_select(0, perm);

    // Each fold's network and stream are fixed up front, so the result does not depend on how
    // many folds run at once.
    std::vector<torch::nn::Sequential> nets;
    for (int64_t f = 0; f < folds; ++f) {
        torch::manual_seed(simbi_rng_mix(seed, uint64_t(100 + f)));
        nets.push_back(make_mlp(d, {10 * d, 10 * d}, 1));
    }
    std::vector<double> accuracy(size_t(folds), 0.0);
    auto run_fold = [&](int64_t f) {
        int64_t lo = n * f / folds, hi = n * (f + 1) / folds;
        Tensor test_mask = torch::zeros({n}, torch::kBool);
        test_mask.narrow(0, lo, hi - lo).fill_(true);
        Tensor Xtr = X.index({~test_mask}), ytr = y.index({~test_mask}), Xte = X.index({test_mask}), yte = y.index({test_mask});
        auto& net = nets[size_t(f)];
        at::Generator gen = make_generator(seed, uint64_t(200 + f));
        FlatAdam opt(net->parameters(), 1e-3, 0.9, 0.999, 1e-8, 1e-4);
        double best = 1e30;
        int stall = 0;
        const int64_t m = Xtr.size(0), batch = std::min<int64_t>(200, m);
        for (int epoch = 0; epoch < 1000 && stall < 10; ++epoch) {
            Tensor p = torch::randperm(m, gen);
            // The epoch's loss accumulates in a tensor: one synchronization per epoch, not per step.
            Tensor sum = torch::zeros({});
            for (int64_t s = 0; s < m; s += batch) {
                Tensor idx = p.narrow(0, s, std::min(batch, m - s));
                opt.zero_grad();
                Tensor logits = net->forward(Xtr.index_select(0, idx)).squeeze(1);
                Tensor loss = torch::binary_cross_entropy_with_logits(logits, ytr.index_select(0, idx));
                loss.backward();
                opt.step();
                sum.add_(loss.detach(), double(idx.size(0)));
            }
            double epoch_loss = sum.item<double>() / double(m);
            if (epoch_loss < best - 1e-4) {
                best = epoch_loss;
                stall = 0;
            } else {
                ++stall;
            }
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
