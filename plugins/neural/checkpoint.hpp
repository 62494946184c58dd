// A training's checkpoint: what a killed training resumes from, so that it repeats the steps an
// uninterrupted one takes.
#pragma once
#include <limits>
#include <string>
#include <vector>

#include "training.hpp"

namespace simbi::nn {

// Where a training stands after an epoch: the epochs done, the early-stopping counters, the loss
// history and the best weights so far.
struct TrainingState {
    int64_t epoch = 0, bad_epochs = 0;
    double best = std::numeric_limits<double>::infinity();
    bool finished = false;
    json history = json::array();  // [epoch, train loss, validation loss] per epoch
    std::vector<Tensor> best_weights;
};

// The model's parameters, copied; and written back.
std::vector<Tensor> snapshot(torch::nn::Module& m);
void restore(torch::nn::Module& m, const std::vector<Tensor>& weights);

// A folder of checkpoints. Each save writes a folder epoch-N (the weights, the best weights, the
// optimizer) whole under a temporary name and renames it into place, then state.json, renamed
// after it, naming that folder with the SHA-256 of each file: a kill at any instant leaves
// state.json pointing at a complete folder.
class Checkpoint {
public:
    // dir "" keeps none; writes: this process saves (rank 0 of a data-parallel training).
    Checkpoint(std::string dir, std::string fingerprint, bool writes);
    bool enabled() const { return !dir_.empty(); }
    // Restores the model, the optimizer and `state` from the checkpoint of this fingerprint, all
    // read and checked before anything changes; false when there is none. An unreadable one is
    // logged (it costs the epochs it held, never the run) and false returned.
    bool resume(torch::nn::Module& model, FlatAdam& opt, TrainingState& state, const simbi_host* host) const;
    void save(torch::nn::Module& model, const FlatAdam& opt, const TrainingState& state) const;
    const std::string& dir() const { return dir_; }

private:
    std::string dir_, fingerprint_;
    bool writes_;
};

}  // namespace simbi::nn
