// support.hpp: the host's prior seen with tensors, and the bijection from its support to R^d.
#include "support.hpp"

#include <cmath>
#include <limits>

namespace simbi::nn {

TorchPrior::TorchPrior(const simbi_prior* prior) : prior_(prior) {
    if (!prior || !prior->lower || !prior->upper || !prior->sample || !prior->log_prob)
        throw std::invalid_argument("the host's prior is incomplete");
    lower_.assign(prior->lower, prior->lower + prior->dim);
    upper_.assign(prior->upper, prior->upper + prior->dim);
}

namespace {
void check_prior_call(simbi_status st, const char* call, const char* message) {
    if (st != SIMBI_OK) throw std::runtime_error(std::string("the host's prior ") + call + " failed: " + message);
}
}  // namespace

Tensor TorchPrior::log_prob(const Tensor& theta_in) const {
    if (!prior_) throw std::runtime_error("no prior: the host did not give one (it needs ABI 1.1)");
    Tensor theta = theta_in.to(torch::kFloat64).contiguous();
    Tensor out = torch::empty({theta.size(0)}, torch::kFloat64);
    char message[256] = {0};
    simbi_error err{sizeof err, SIMBI_OK, 0, message, sizeof message};
    check_prior_call(prior_->log_prob(prior_, uint64_t(theta.size(0)), theta.data_ptr<double>(), out.data_ptr<double>(), &err), "log_prob",
                     message);
    return out;
}

Tensor TorchPrior::sample(int64_t n, at::Generator& gen) const {
    if (!prior_) throw std::runtime_error("no prior: the host did not give one (it needs ABI 1.1)");
    // The host's counter-based draws, seeded from this generator: deterministic as before.
    const uint64_t seed = uint64_t(torch::randint(0, int64_t(1) << 62, {1}, gen, torch::kInt64).item<int64_t>());
    Tensor out = torch::empty({n, dim()}, torch::kFloat64);
    char message[256] = {0};
    simbi_error err{sizeof err, SIMBI_OK, 0, message, sizeof message};
    check_prior_call(prior_->sample(prior_, uint64_t(n), seed, 0, out.data_ptr<double>(), &err), "sample", message);
    return out;
}

// ---- support bijection

SupportBijection::SupportBijection(const std::vector<double>& lower, const std::vector<double>& upper) : lower_(lower), upper_(upper) {
    for (size_t i = 0; i < lower.size(); ++i) {
        bool lo = std::isfinite(lower[i]), hi = std::isfinite(upper[i]);
        kind_.push_back(lo && hi ? 2 : lo ? 1 : 0);
    }
}

Tensor SupportBijection::to_unbounded(const Tensor& theta) const {
    std::vector<Tensor> cols;
    for (size_t i = 0; i < kind_.size(); ++i) {
        Tensor t = theta.select(1, int64_t(i));
        if (kind_[i] == 2) {
            Tensor p = ((t - lower_[i]) / (upper_[i] - lower_[i])).clamp(1e-7, 1 - 1e-7);
            cols.push_back(torch::log(p) - torch::log1p(-p));
        } else if (kind_[i] == 1) {
            cols.push_back(torch::log((t - lower_[i]).clamp_min(1e-30)));
        } else {
            cols.push_back(t);
        }
    }
    return torch::stack(cols, 1);
}

Tensor SupportBijection::to_bounded(const Tensor& u) const {
    std::vector<Tensor> cols;
    for (size_t i = 0; i < kind_.size(); ++i) {
        Tensor v = u.select(1, int64_t(i));
        if (kind_[i] == 2)
            cols.push_back(lower_[i] + (upper_[i] - lower_[i]) * torch::sigmoid(v));
        else if (kind_[i] == 1)
            cols.push_back(lower_[i] + torch::exp(v));
        else
            cols.push_back(v);
    }
    return torch::stack(cols, 1);
}

Tensor SupportBijection::log_abs_det_to_unbounded(const Tensor& theta) const {
    Tensor out = torch::zeros({theta.size(0)}, theta.options());
    for (size_t i = 0; i < kind_.size(); ++i) {
        Tensor t = theta.select(1, int64_t(i));
        if (kind_[i] == 2) {
            // u = logit((t - a) / w): du/dt = 1 / (w p (1 - p)).
            double w = upper_[i] - lower_[i];
            Tensor p = ((t - lower_[i]) / w).clamp(1e-7, 1 - 1e-7);
            out = out - std::log(w) - torch::log(p) - torch::log1p(-p);
        } else if (kind_[i] == 1) {
            out = out - torch::log((t - lower_[i]).clamp_min(1e-30));
        }
    }
    return out;
}

json SupportBijection::to_json() const {
    auto finite = [](const std::vector<double>& v) {
        json a = json::array();
        for (double x : v) a.push_back(std::isfinite(x) ? json(x) : json(nullptr));
        return a;
    };
    return {{"lower", finite(lower_)}, {"upper", finite(upper_)}};
}

SupportBijection SupportBijection::from_json(const json& j) {
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> lo, hi;
    for (const auto& v : j.at("lower")) lo.push_back(v.is_null() ? -inf : v.get<double>());
    for (const auto& v : j.at("upper")) hi.push_back(v.is_null() ? inf : v.get<double>());
    return SupportBijection(lo, hi);
}

}  // namespace simbi::nn
