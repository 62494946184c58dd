// C2ST with sbibm's protocol (Lueckmann et al. 2021, sbibm/metrics/c2st.py): z-score by the
// reference's mean and std (ddof 1); MLP with two hidden layers of 10 * dim ReLU units trained by
// Adam (learning rate 1e-3, batches of 200, L2 1e-4, stop when the training loss has not improved
// by 1e-4 for 10 epochs, at most 1000 epochs), as scikit-learn's MLPClassifier does; 5-fold
// shuffled cross-validation; the mean held-out accuracy.
#include "neural.hpp"

namespace simbi::nn {

double c2st(const Tensor& reference, const Tensor& approximate, uint64_t seed, int64_t folds) {
    torch::manual_seed(seed);
    Tensor ref = reference.to(torch::kFloat32), app = approximate.to(torch::kFloat32);
    Tensor mean = ref.mean(0), std = ref.std(0, true).clamp_min(1e-12);
    Tensor X = torch::cat({(ref - mean) / std, (app - mean) / std}, 0);
    Tensor y = torch::cat({torch::zeros({ref.size(0)}), torch::ones({app.size(0)})});
    const int64_t n = X.size(0), d = X.size(1);
    at::Generator gen = make_generator(seed, 7);
    Tensor perm = torch::randperm(n, gen);
    X = X.index_select(0, perm);
    y = y.index_select(0, perm);
    double total = 0;
    for (int64_t f = 0; f < folds; ++f) {
        int64_t lo = n * f / folds, hi = n * (f + 1) / folds;
        Tensor test_mask = torch::zeros({n}, torch::kBool);
        test_mask.narrow(0, lo, hi - lo).fill_(true);
        Tensor Xtr = X.index({~test_mask}), ytr = y.index({~test_mask}), Xte = X.index({test_mask}), yte = y.index({test_mask});
        auto net = make_mlp(d, {10 * d, 10 * d}, 1);
        torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3).weight_decay(1e-4));
        double best = 1e30;
        int stall = 0;
        const int64_t m = Xtr.size(0), batch = std::min<int64_t>(200, m);
        for (int epoch = 0; epoch < 1000 && stall < 10; ++epoch) {
            Tensor p = torch::randperm(m, gen);
            double sum = 0;
            for (int64_t s = 0; s < m; s += batch) {
                Tensor idx = p.narrow(0, s, std::min(batch, m - s));
                opt.zero_grad();
                Tensor logits = net->forward(Xtr.index_select(0, idx)).squeeze(1);
                Tensor loss = torch::binary_cross_entropy_with_logits(logits, ytr.index_select(0, idx));
                loss.backward();
                opt.step();
                sum += loss.item<double>() * double(idx.size(0));
            }
            double epoch_loss = sum / double(m);
            if (epoch_loss < best - 1e-4) {
                best = epoch_loss;
                stall = 0;
            } else {
                ++stall;
            }
        }
        torch::NoGradGuard no_grad;
        Tensor pred = (net->forward(Xte).squeeze(1) > 0).to(torch::kFloat32);
        total += (pred == yte).to(torch::kFloat32).mean().item<double>();
    }
    return total / double(folds);
}

}  // namespace simbi::nn
