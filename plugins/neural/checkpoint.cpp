// checkpoint.hpp: saving a training's state after each epoch and resuming from it.
#include "checkpoint.hpp"

#include <filesystem>

namespace fs = std::filesystem;

namespace simbi::nn {

std::vector<Tensor> snapshot(torch::nn::Module& m) {
    std::vector<Tensor> out;
    for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
    return out;
}

void restore(torch::nn::Module& m, const std::vector<Tensor>& weights) {
    torch::NoGradGuard no_grad;
    auto params = m.parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(weights[i]);
}

Checkpoint::Checkpoint(std::string dir, std::string fingerprint, bool writes)
    : dir_(std::move(dir)), fingerprint_(std::move(fingerprint)), writes_(writes && !dir_.empty()) {}

bool Checkpoint::resume(torch::nn::Module& model, FlatAdam& opt, TrainingState& state, const simbi_host* host) const {
    const std::string state_path = dir_ + "/state.json";
    if (!enabled() || !fs::exists(state_path)) return false;
    try {
        json st = read_json(state_path);
        if (st.value("fingerprint", "") != fingerprint_) return false;
        // Everything is read before anything changes: a failure leaves a fresh training.
        const std::string folder = dir_ + "/" + st.at("folder").get<std::string>();
        TrainingState saved;
        saved.epoch = st.at("epoch").get<int64_t>();
        saved.bad_epochs = st.at("bad_epochs").get<int64_t>();
        saved.best = st.at("best_val").is_number() ? st["best_val"].get<double>() : std::numeric_limits<double>::infinity();
        saved.finished = st.value("finished", false);
        saved.history = st.value("history", json::array());
        const double learning_rate = st.value("learning_rate", opt.learning_rate());
        // The files must be the bytes that were saved: torch loads damaged weights silently.
        const json sums = st.at("files");
        for (const char* f : {"model.pt", "best.pt", "optimizer.pt"})
            if (sha256_file(folder + "/" + f) != sums.at(f).get<std::string>())
                throw std::runtime_error(std::string(f) + " does not match its checksum");
        std::vector<Tensor> current;
        torch::load(current, folder + "/model.pt");
        torch::load(saved.best_weights, folder + "/best.pt");
        const std::vector<Tensor> shapes = snapshot(model);
        if (current.size() != shapes.size() || saved.best_weights.size() != shapes.size())
            throw std::runtime_error("the saved weights do not fit this model");
        for (size_t i = 0; i < current.size(); ++i)
            if (!current[i].sizes().equals(shapes[i].sizes()) || !saved.best_weights[i].sizes().equals(shapes[i].sizes()))
                throw std::runtime_error("the saved weights do not fit this model");
        opt.load(folder + "/optimizer.pt");  // checks before it changes anything
        restore(model, current);
        opt.set_learning_rate(learning_rate);
        state = std::move(saved);
    } catch (const std::exception& e) {
        if (host && host->log)
            host->log(host, SIMBI_LOG_WARNING,
                      ("the checkpoint in " + dir_ + " is unreadable (" + std::string(e.what()).substr(0, 200) + "); training starts over")
                          .c_str());
        return false;
    }
    return true;
}

void Checkpoint::save(torch::nn::Module& model, const FlatAdam& opt, const TrainingState& state) const {
    if (!writes_) return;
    const std::string name = "epoch-" + std::to_string(state.epoch), folder = dir_ + "/" + name, state_path = dir_ + "/state.json";
    fs::remove_all(folder + ".tmp");
    fs::create_directories(folder + ".tmp");
    torch::save(snapshot(model), folder + ".tmp/model.pt");
    torch::save(state.best_weights, folder + ".tmp/best.pt");
    opt.save(folder + ".tmp/optimizer.pt");
    json sums = json::object();
    for (const char* f : {"model.pt", "best.pt", "optimizer.pt"}) sums[f] = sha256_file(folder + ".tmp/" + f);
    fs::remove_all(folder);
    fs::rename(folder + ".tmp", folder);
    write_json(state_path + ".tmp", {{"fingerprint", fingerprint_},
                                     {"folder", name},
                                     {"files", sums},
                                     {"epoch", state.epoch},
                                     {"best_val", state.best},
                                     {"bad_epochs", state.bad_epochs},
                                     {"learning_rate", opt.learning_rate()},
                                     {"finished", state.finished},
                                     {"history", state.history}});
    fs::rename(state_path + ".tmp", state_path);
    for (const auto& e : fs::directory_iterator(dir_))  // older epochs, now unreferenced
        if (e.is_directory() && e.path().filename().string() != name && e.path().filename().string().rfind("epoch-", 0) == 0)
            fs::remove_all(e.path());
}

}  // namespace simbi::nn
