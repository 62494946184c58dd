// Flows, run over every flow kind as zuko's tests do: invertibility, normalization on a 2-D grid,
// gradients reaching every parameter; and the fused spline against its tensor-op reference.
// LibTorch pulls in glog, whose CHECK macro would shadow Catch's: include torch first.
#include "neural/neural.hpp"
#undef CHECK
#include <catch2/catch.hpp>

#include "simbi_host/plugins/estimator_instance.hpp"
#include "simbi_host/core/prior.hpp"

using namespace simbi::nn;

namespace {
ConditionalFlow make_flow(const std::string& kind, int64_t dim, int64_t context) {
    torch::manual_seed(3);
    json spec = {{"flow", kind}, {"transforms", 3}, {"hidden", {16, 16}}, {"bins", 6}, {"bound", 4.0}};
    ConditionalFlow f(spec, dim, context);
    // Move away from the near-identity start so the tests see a non-trivial map.
    torch::NoGradGuard no_grad;
    for (auto& p : f->parameters()) p.add_(0.3 * torch::randn_like(p));
    return f;
}
}  // namespace

TEST_CASE("fused spline matches the tensor-op reference, values and gradients", "[neural][spline]") {
    torch::manual_seed(1);
    const int64_t K = 7;
    const double B = 3.0;
    Tensor x = (torch::rand({400, 3}) * 8 - 4).set_requires_grad(true);  // some points in the identity tails
    Tensor p = (torch::randn({400, 3, 3 * K - 1}) * 1.5).set_requires_grad(true);
    Tensor x2 = x.detach().clone().set_requires_grad(true), p2 = p.detach().clone().set_requires_grad(true);
    auto fused = spline_transform(x, p, K, B);
    auto ref = spline_reference(x2, p2, K, B, false);
    CHECK(torch::allclose(fused.first, ref.first, 1e-4, 1e-4));
    CHECK(torch::allclose(fused.second, ref.second, 1e-3, 1e-3));
    Tensor wy = torch::randn({400, 3}), wl = torch::randn({400, 3});
    (fused.first * wy + fused.second * wl).sum().backward();
    (ref.first * wy + ref.second * wl).sum().backward();
    CHECK(torch::allclose(x.grad(), x2.grad(), 1e-3, 1e-3));
    CHECK(torch::allclose(p.grad(), p2.grad(), 1e-3, 1e-3));
    // The inverse undoes the forward map.
    // The inverse undoes the forward map (compared where float32 resolves it: in y).
    Tensor back = spline_inverse(fused.first.detach(), p.detach(), K, B);
    Tensor again = spline_transform(back, p.detach(), K, B).first;
    CHECK((again - fused.first.detach()).abs().max().item<double>() < 1e-5);
}

TEST_CASE("flows are invertible", "[neural][flow]") {
    for (const auto& entry : flow_kinds()) {  // every registered flow
        const std::string kind = entry.name;
        INFO(kind);
        auto f = make_flow(kind, 3, 2);
        torch::NoGradGuard no_grad;
        Tensor c = torch::randn({300, 2}), u = torch::randn({300, 3}) * 2;
        Tensor z = f->to_base(u, c);
        Tensor back = f->from_base(z, c);
        CHECK((f->to_base(back, c) - z).abs().max().item<double>() < 1e-4);
        CHECK((back - u).abs().median().item<double>() < 1e-4);
        at::Generator g1 = make_generator(5, 0), g2 = make_generator(5, 0);
        CHECK(torch::equal(f->sample(c, g1), f->sample(c, g2)));  // same seed, same draws
        CHECK(torch::isfinite(f->log_prob(u, c)).all().item<bool>());
    }
}

TEST_CASE("flow densities integrate to one on a 2-D grid", "[neural][flow]") {
    for (const auto& entry : flow_kinds()) {  // every registered flow
        const std::string kind = entry.name;
        INFO(kind);
        auto f = make_flow(kind, 2, 1);
        torch::NoGradGuard no_grad;
        const int64_t n = 500;
        const double lo = -12, hi = 12, h = (hi - lo) / double(n);
        Tensor g = torch::linspace(lo + h / 2, hi - h / 2, n);
        auto mesh = torch::meshgrid({g, g}, "ij");
        Tensor pts = torch::stack({mesh[0].reshape(-1), mesh[1].reshape(-1)}, 1);
        Tensor c = torch::full({pts.size(0), 1}, 0.7);
        double integral = (f->log_prob(pts, c).exp().sum() * h * h).item<double>();
        CHECK(integral == Approx(1.0).epsilon(0.01));
    }
}

TEST_CASE("gradients reach every parameter", "[neural][flow]") {
    for (const auto& entry : flow_kinds()) {  // every registered flow
        const std::string kind = entry.name;
        INFO(kind);
        auto f = make_flow(kind, 3, 2);
        Tensor u = torch::randn({128, 3}), c = torch::randn({128, 2});
        (-f->log_prob(u, c).mean()).backward();
        for (const auto& p : f->named_parameters()) {
            INFO(p.key());
            REQUIRE(p.value().grad().defined());
            CHECK(p.value().grad().abs().sum().item<double>() > 0);
        }
    }
}

TEST_CASE("every network and embedding builds, passes a batch, and gets gradients in every parameter", "[neural][networks]") {
    for (const auto& kind : network_kinds()) {
        INFO(kind.name);
        kind.check({32, 32}, 0);
        torch::nn::Sequential net = kind.make(5, {32, 32}, 3, 0);
        Tensor out = net->forward(torch::randn({16, 5}));
        CHECK(out.sizes() == torch::IntArrayRef({16, 3}));
        out.pow(2).sum().backward();
        for (const auto& p : net->named_parameters()) {
            INFO(p.key());
            CHECK(p.value().grad().abs().sum().item<double>() > 0);
        }
    }
    for (const auto& kind : embedding_kinds()) {
        INFO(kind.name);
        Embedding e(EmbeddingImpl::validate({{"type", kind.name}, {"channels", 2}}), 12);
        Tensor out = e->forward(torch::randn({8, 12}));
        CHECK(out.sizes() == torch::IntArrayRef({8, e->features()}));
        if (e->parameters().empty()) continue;  // the identity
        out.pow(2).sum().backward();
        for (const auto& p : e->named_parameters()) {
            INFO(p.key());
            CHECK(p.value().grad().abs().sum().item<double>() > 0);
        }
    }
    CHECK_THROWS_WITH(network_kind("cnn"), Catch::Contains("network must be one of mlp, residual, not 'cnn'"));
}

TEST_CASE("the torch prior evaluates and samples the host's prior through the ABI", "[neural][prior]") {
    auto host_prior = simbi::host::parse_prior_json(R"({"type": "product", "parts": [{"type": "box_uniform", "low": [0], "high": [2]},
                                {"type": "normal", "mean": [1], "std": [2]}]})",
                                                    "test prior");
    simbi::host::PriorView view(*host_prior);
    TorchPrior p(view.c());
    Tensor t = torch::tensor({{1.0, 1.0}, {3.0, 0.0}}, torch::kFloat64);
    Tensor lp = p.log_prob(t);
    CHECK(lp[0].item<double>() == Approx(-std::log(2.0) - 0.5 * std::log(2 * M_PI) - std::log(2.0)));
    CHECK(std::isinf(lp[1].item<double>()));
    at::Generator gen = make_generator(1, 0);
    Tensor s = p.sample(20000, gen);
    CHECK(s.select(1, 1).mean().item<double>() == Approx(1.0).margin(5 * 2 / std::sqrt(20000.0)));
    SupportBijection b(p.lower(), p.upper());
    Tensor back = b.to_bounded(b.to_unbounded(s));
    CHECK(torch::allclose(back, s, 1e-6, 1e-5));
}

TEST_CASE("the automatic batch size gives small datasets 16 steps an epoch", "[neural][training]") {
    using simbi::nn::TrainingConfig;
    CHECK(TrainingConfig::auto_batch_size(900) == 64);
    CHECK(TrainingConfig::auto_batch_size(1600) == 100);
    CHECK(TrainingConfig::auto_batch_size(9000) == 256);
    CHECK(TrainingConfig::from_json("{}").batch_size == 0);
    CHECK(TrainingConfig::from_json(R"({"batch_size": 50})").batch_size == 50);
    CHECK(TrainingConfig::from_json(R"({"batch_size": 0})").batch_size == 0);  // automatic, as the default
    CHECK_THROWS_WITH(TrainingConfig::from_json(R"({"batch_size": -1})"),
                      "training setting 'batch_size': expected an integer at least 0, got -1");
    CHECK_THROWS_WITH(TrainingConfig::from_json(R"({"batch_sise": 64})"), "unknown training setting 'batch_sise'");
}
