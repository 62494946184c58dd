// Training: the settings of the training object, batches from the host's reader, Adam over flat
// buffers, and the loop with early stopping and checkpoints.
#pragma once
#include <functional>

#include "collective.hpp"
#include "util.hpp"

namespace simbi::nn {

struct TrainingConfig {
    // 0: chosen from the training rows (see auto_batch_size).
    int64_t batch_size = 0;
    double learning_rate = 1e-3;
    double validation_fraction = 0.1;
    int64_t patience = 20;
    // Early stopping waits for at least this many epochs: a noisy loss (the vector-field
    // estimators') can go patience epochs without a new best long before it has converged.
    int64_t min_epochs = 0;
    int64_t max_epochs = 1000;
    double max_seconds = 1e9;
    double clip_norm = 5.0;
    // On a plateau of patience / 2 epochs without a better validation loss, the learning rate is
    // multiplied by lr_decay (1: constant), as torch's ReduceLROnPlateau. Halving it gave
    // better posteriors wherever it changed them.
    double lr_decay = 0.5;
    double weight_decay = 0.0;  // Adam's L2 term, as torch.optim.Adam's weight_decay
    // Validation and the kept weights use an exponential moving average of the weights over
    // steps, w_avg <- a w_avg + (1 - a) w (Polyak and Juditsky 1992); 0: the weights themselves.
    double average = 0.0;
    // The settings in `text` over `defaults` (an estimator's own defaults), checked.
    static TrainingConfig from_json(const std::string& text, const TrainingConfig& defaults);
    // Declares every key of the training object, with these defaults, in the plugin's descriptor.
    static void declare(simbi::Info& info, const TrainingConfig& defaults);
    // Throws for an unknown key or a value outside its declared range, naming it.
    static void check(const json& training);
    static TrainingConfig from_json(const std::string& text);
    json to_json() const;
    // n/16 clamped to [64, 256]: a small dataset still gets 16 steps an epoch, so early stopping
    // judges a trained network, while a large one keeps the cheap large batches.
    static int64_t auto_batch_size(int64_t train_rows);
    // For a loss that draws noise per row (flow matching, denoising score matching): patience
    // 100, a constant learning rate, and the kept weights an average over steps (0.999), as is
    // usual for score networks (Song et al. 2021, appendix).
    static TrainingConfig for_noisy_loss();
};

struct TrainResult {
    int64_t epochs = 0, batch_size = 0;
    double best_val = 0, seconds = 0, seconds_per_epoch = 0;
    bool resumed = false;
};

// Batches of (theta, x) as float32 tensors from the host's reader: all in memory when they fit in
// `memory_bytes`, else streamed block by block, shuffled within blocks and across block order.
class DataSource {
public:
    DataSource(const simbi_batch_reader* reader, double validation_fraction, int64_t memory_bytes);
    int64_t train_rows() const { return n_train_; }
    int64_t val_rows() const { return n_ - n_train_; }
    int64_t resident_rows() const { return resident_rows_; }
    // Calls f(theta, x) for each training batch, in an order fixed by (seed, epoch).
    void for_each_train_batch(int64_t batch, uint64_t seed, int64_t epoch,
                              const std::function<void(const Tensor&, const Tensor&)>& f) const;
    void for_each_val_batch(int64_t batch, const std::function<void(const Tensor&, const Tensor&)>& f) const;
    // Column means and standard deviations over the training rows, of g(theta) and of x.
    void moments(const std::function<Tensor(const Tensor&)>& g, Tensor& theta_mean, Tensor& theta_std, Tensor& x_mean, Tensor& x_std) const;

private:
    void read_block(int64_t start, int64_t count, Tensor& theta, Tensor& x) const;
    const simbi_batch_reader* reader_;
    int64_t n_, n_train_, d_, k_, block_rows_, resident_rows_ = 0;
    bool in_memory_;
    Tensor theta_, x_;  // all rows, when in memory
};

// Adam (Kingma & Ba 2015, as torch.optim.Adam, whose weight decay is an L2 term added to the
// gradient) over all parameters at once:
// the parameters and their gradients become views into two flat buffers, so a step, a gradient
// clip and zeroing the gradients are a handful of tensor operations, not a handful per parameter.
class FlatAdam {
public:
    FlatAdam(std::vector<Tensor> params, double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weight_decay = 0);
    void zero_grad() { grad_.zero_(); }
    Tensor& gradients() { return grad_; }  // every parameter's gradient, one flat buffer
    Tensor& parameters() { return flat_; }
    void clip_grad_norm(double max_norm);
    void step();
    double learning_rate() const { return lr_; }
    void set_learning_rate(double lr) { lr_ = lr; }
    void save(const std::string& path) const;
    void load(const std::string& path);
    // Keep an exponential moving average of the parameters with this decay (0: none).
    void set_average(double decay) { average_ = decay; }
    // Exchanges the parameters with their average (no-op before the first step or without one):
    // called twice, it restores the training weights.
    void swap_average();

private:
    Tensor flat_, grad_, m_, v_, avg_;
    double average_ = 0;
    double lr_, beta1_, beta2_, eps_, weight_decay_;
    int64_t t_ = 0;
};

// Adam with gradient clipping and early stopping on the validation loss; the best weights are
// kept. A checkpoint after each epoch lets a killed training resume where it stopped.
// Data-parallel across `ranks`: each rank takes a contiguous share of every batch (the same
// batches as one process), the gradients of the batch-mean loss are summed across the ranks, and
// the validation loss too, so every rank takes the same steps and stops at the same epoch; rank 0
// writes the checkpoints.
TrainResult fit(torch::nn::Module& model, const std::function<Tensor(const Tensor&, const Tensor&)>& loss, const DataSource& data,
                const TrainingConfig& cfg, const simbi_host* host, const std::string& checkpoint_dir, uint64_t seed,
                const std::string& fingerprint, const Collective& ranks = Collective());

}  // namespace simbi::nn
