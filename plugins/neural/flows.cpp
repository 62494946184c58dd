// Conditional autoregressive flows: MADE conditioners with affine (MAF) or rational-quadratic
// spline (NSF) transforms.
#include <cmath>

#include "networks.hpp"

namespace simbi::nn {

namespace F = torch::nn::functional;

// ---- MADE (Germain et al. 2015): masks from degrees; context features have degree 0.

MadeImpl::MadeImpl(int64_t dim, int64_t context, const std::vector<int64_t>& hidden, int64_t params_per_dim,
                   const std::vector<int64_t>& order)
    : dim_(dim), params_(params_per_dim) {
    std::vector<int64_t> deg_in(size_t(dim + context), 0);
    for (int64_t r = 0; r < dim; ++r) deg_in[size_t(order[size_t(r)])] = r + 1;
    std::vector<int64_t> prev = deg_in;
    int64_t width = dim + context;
    for (size_t l = 0; l < hidden.size(); ++l) {
        std::vector<int64_t> deg(size_t(hidden[l]));
        for (int64_t k = 0; k < hidden[l]; ++k) deg[size_t(k)] = dim > 1 ? k % (dim - 1) + 1 : 0;
        Tensor mask = torch::zeros({hidden[l], width});
        for (int64_t o = 0; o < hidden[l]; ++o)
            for (int64_t i = 0; i < width; ++i) mask[o][i] = prev[size_t(i)] <= deg[size_t(o)] ? 1.0f : 0.0f;
        layers_.push_back(register_module("layer" + std::to_string(l), torch::nn::Linear(width, hidden[l])));
        masks_.push_back(register_buffer("mask" + std::to_string(l), mask));
        prev = deg;
        width = hidden[l];
    }
    Tensor mask = torch::zeros({dim * params_per_dim, width});
    for (int64_t j = 0; j < dim; ++j)
        for (int64_t p = 0; p < params_per_dim; ++p)
            for (int64_t i = 0; i < width; ++i) mask[j * params_per_dim + p][i] = prev[size_t(i)] < deg_in[size_t(j)] ? 1.0f : 0.0f;
    auto last = torch::nn::Linear(width, dim * params_per_dim);
    {
        torch::NoGradGuard no_grad;
        last->weight.mul_(0.1);  // start near the identity transform
        last->bias.zero_();
    }
    layers_.push_back(register_module("layer" + std::to_string(hidden.size()), last));
    masks_.push_back(register_buffer("mask" + std::to_string(hidden.size()), mask));
}

Tensor MadeImpl::forward(const Tensor& u, const Tensor& c) {
    Tensor h = c.defined() && c.size(1) > 0 ? torch::cat({u, c}, 1) : u;
    for (size_t l = 0; l < layers_.size(); ++l) {
        h = F::linear(h, layers_[l]->weight * masks_[l], layers_[l]->bias);
        if (l + 1 < layers_.size()) h = torch::relu(h);
    }
    return h.view({u.size(0), dim_, params_});
}

// ---- transforms

namespace {

// MAF (Papamakarios et al. 2017): z = (u - shift) exp(-log_scale), the scale soft-clamped to e^±3.
std::pair<Tensor, Tensor> affine(const Tensor& u, const Tensor& params, int64_t, double, bool inverse) {
    Tensor shift = params.select(-1, 0), log_scale = 3.0 * torch::tanh(params.select(-1, 1) / 3.0);
    if (inverse) return {u * torch::exp(log_scale) + shift, log_scale.sum(1)};
    return {(u - shift) * torch::exp(-log_scale), -log_scale.sum(1)};
}

// NSF (Durkan et al. 2019): a rational-quadratic spline of `bins` bins on [-bound, bound].
std::pair<Tensor, Tensor> spline(const Tensor& u, const Tensor& params, int64_t bins, double bound, bool inverse) {
    if (inverse) return {spline_inverse(u, params, bins, bound), Tensor()};
    auto r = spline_transform(u, params, bins, bound);
    return {r.first, r.second.sum(1)};
}

}  // namespace

const std::vector<FlowKind>& flow_kinds() {
    static const std::vector<FlowKind> kinds = {
        {"maf", "affine (MAF, Papamakarios et al. 2017)", [](int64_t) -> int64_t { return 2; }, &affine},
        {"nsf", "rational-quadratic splines (NSF, Durkan et al. 2019)", [](int64_t bins) -> int64_t { return 3 * bins - 1; }, &spline},
    };
    return kinds;
}

const FlowKind& flow_kind(const std::string& name) { return find_kind(flow_kinds(), name, "flow"); }

AutoregressiveTransformImpl::AutoregressiveTransformImpl(const std::string& kind, int64_t dim, int64_t context,
                                                         const std::vector<int64_t>& hidden, int64_t bins, double bound,
                                                         const std::vector<int64_t>& order)
    : kind_(kind), dim_(dim), bins_(bins), bound_(bound), order_(order) {
    made_ = register_module("made", Made(dim, context, hidden, flow_kind(kind).params(bins), order));
}

// Monotonic rational-quadratic spline on [-B, B] with linear tails (Durkan et al. 2019, eqs. 4-6
// and appendix A for the inverse). Minimum bin size and slope 1e-3.
std::pair<Tensor, Tensor> spline_reference(const Tensor& x, const Tensor& p, int64_t K, double B, bool inverse) {
    const double min_w = 1e-3, min_h = 1e-3, min_d = 1e-3;
    Tensor w = min_w + (1 - min_w * K) * torch::softmax(p.narrow(-1, 0, K), -1);
    Tensor h = min_h + (1 - min_h * K) * torch::softmax(p.narrow(-1, K, K), -1);
    Tensor cw = F::pad(torch::cumsum(w, -1), F::PadFuncOptions({1, 0})) * (2 * B) - B;
    Tensor ch = F::pad(torch::cumsum(h, -1), F::PadFuncOptions({1, 0})) * (2 * B) - B;
    // Slopes at the inner knots; 1 at both ends, to meet the identity tails.
    Tensor d = F::pad(min_d + F::softplus(p.narrow(-1, 2 * K, K - 1)), F::PadFuncOptions({1, 1}).value(1.0));
    Tensor inside = (x >= -B) & (x <= B);
    Tensor xc = x.clamp(-B, B);
    Tensor knots = inverse ? ch : cw;
    Tensor idx = (xc.unsqueeze(-1) >= knots.narrow(-1, 1, K - 1)).sum(-1, true);
    Tensor idx1 = idx + 1;
    Tensor xk = cw.gather(-1, idx).squeeze(-1), xk1 = cw.gather(-1, idx1).squeeze(-1);
    Tensor yk = ch.gather(-1, idx).squeeze(-1), yk1 = ch.gather(-1, idx1).squeeze(-1);
    Tensor dk = d.gather(-1, idx).squeeze(-1), dk1 = d.gather(-1, idx1).squeeze(-1);
    Tensor wk = xk1 - xk, hk = yk1 - yk, s = hk / wk;
    Tensor out, logdet;
    if (!inverse) {
        Tensor th = (xc - xk) / wk, t1 = th * (1 - th);
        Tensor den = s + (dk1 + dk - 2 * s) * t1;
        out = yk + hk * (s * th * th + dk * t1) / den;
        Tensor dnum = s * s * (dk1 * th * th + 2 * s * t1 + dk * (1 - th) * (1 - th));
        logdet = torch::log(dnum) - 2 * torch::log(den);
    } else {
        Tensor dy = xc - yk, sum = dk1 + dk - 2 * s;
        Tensor a = hk * (s - dk) + dy * sum, b = hk * dk - dy * sum, c = -s * dy;
        Tensor disc = (b * b - 4 * a * c).clamp_min(0);
        Tensor th = (2 * c) / (-b - torch::sqrt(disc));
        out = th * wk + xk;
        logdet = torch::zeros_like(out);
    }
    return {torch::where(inside, out, x), torch::where(inside, logdet, torch::zeros_like(logdet))};
}

std::pair<Tensor, Tensor> AutoregressiveTransformImpl::apply(const Tensor& u, const Tensor& params, bool inverse) {
    return flow_kind(kind_).apply(u, params, bins_, bound_, inverse);
}

std::pair<Tensor, Tensor> AutoregressiveTransformImpl::forward(const Tensor& u, const Tensor& c) {
    return apply(u, made_->forward(u, c), false);
}

Tensor AutoregressiveTransformImpl::inverse(const Tensor& z, const Tensor& c) {
    // Dimension order[r] depends on the ones before it: D passes, one new column each.
    Tensor u = torch::zeros_like(z);
    for (int64_t r = 0; r < dim_; ++r) {
        Tensor candidate = apply(z, made_->forward(u, c), true).first;
        int64_t j = order_[size_t(r)];
        u = u.clone();
        u.select(1, j).copy_(candidate.select(1, j));
    }
    return u;
}

// ---- flows

json flow_spec(const simbi::Config& c) {
    return {{"flow", c.string("flow")},
            {"transforms", c.integer("transforms")},
            {"hidden", int_list(c, "hidden")},
            {"bins", c.integer("bins")},
            {"bound", c.number("bound")}};
}

ConditionalFlowImpl::ConditionalFlowImpl(const json& s, int64_t dim, int64_t context) : spec(s), dim_(dim) {
    int64_t n = s.at("transforms").get<int64_t>();
    for (int64_t t = 0; t < n; ++t) {
        std::vector<int64_t> order(static_cast<size_t>(dim));
        for (int64_t i = 0; i < dim; ++i) order[size_t(i)] = t % 2 == 0 ? i : dim - 1 - i;
        transforms_.push_back(register_module(
            "t" + std::to_string(t),
            AutoregressiveTransform(s.at("flow").get<std::string>(), dim, context, s.at("hidden").get<std::vector<int64_t>>(),
                                    s.at("bins").get<int64_t>(), s.at("bound").get<double>(), order)));
    }
}

Tensor ConditionalFlowImpl::log_prob(const Tensor& u, const Tensor& c) {
    Tensor z = u, total = torch::zeros({u.size(0)}, u.options());
    for (auto& t : transforms_) {
        auto r = t->forward(z, c);
        z = r.first;
        total = total + r.second;
    }
    return total - 0.5 * z.pow(2).sum(1) - 0.5 * double(dim_) * std::log(2 * M_PI);
}

Tensor ConditionalFlowImpl::to_base(const Tensor& u, const Tensor& c) {
    Tensor z = u;
    for (auto& t : transforms_) z = t->forward(z, c).first;
    return z;
}

Tensor ConditionalFlowImpl::from_base(const Tensor& z_in, const Tensor& c) {
    Tensor z = z_in;
    for (auto it = transforms_.rbegin(); it != transforms_.rend(); ++it) z = (*it)->inverse(z, c);
    return z;
}

Tensor ConditionalFlowImpl::sample(const Tensor& c, at::Generator& gen) {
    return from_base(torch::randn({c.size(0), dim_}, gen, torch::kFloat32), c);
}

}  // namespace simbi::nn
