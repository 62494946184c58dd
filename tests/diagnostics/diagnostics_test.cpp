// The diagnostic plugins on a posterior known exactly: theta ~ N(0, I_2), x ~ N(theta, I_2), so
// p(theta | x) = N(x / 2, I_2 / 2). The same posterior with its standard deviation scaled by
// `scale` is overconfident below 1 and conservative above.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <simbi/rng.h>

#include "../harness/in_process.hpp"
#include "../support.hpp"
#include "simbi_host/plugins/estimator_instance.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"
#include "simbi_host/core/prior.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"

using namespace simbi::host;
namespace fs = std::filesystem;

namespace {

const PluginRegistry& registry() {
    static PluginRegistry reg([] {
        RegistryOptions o;
        o.first_paths = {SIMBI_TEST_PLUGIN_DIR};
        return o;
    }());
    return reg;
}

constexpr uint64_t kDim = 2;
const double kPosteriorStd = std::sqrt(0.5);

struct GaussianPosterior {
    double scale = 1.0;
    simbi_posterior_view c{};
    // With `on`, a sample_batch of its own: all observations in one call, each seeded as the SDK's
    // per-observation fallback seeds it (mix(seed, i)); without, the fallback calls sample().
    void batched(bool on) {
        c.sample_batch = nullptr;
        if (!on) return;
        c.sample_batch = [](const simbi_posterior_view* v, uint64_t n_x, const double* x, uint64_t n_per_x, uint64_t seed, double* theta,
                            simbi_error* err) -> simbi_status {
            for (uint64_t i = 0; i < n_x; ++i) {
                const simbi_status st = v->sample(v, 1, x + i * kDim, n_per_x, simbi_rng_mix(seed, i), theta + i * n_per_x * kDim, err);
                if (st != SIMBI_OK) return st;
            }
            ++static_cast<GaussianPosterior*>(v->data)->batch_calls;
            return SIMBI_OK;
        };
    }
    int batch_calls = 0;
    GaussianPosterior() {
        c.size = sizeof c;
        c.data = this;
        c.theta_dim = kDim;
        c.x_dim = kDim;
        // i.i.d. observations x_1..x_n: N(sum x / (n + 1), I / (n + 1)), widened by scale.
        c.sample = [](const simbi_posterior_view* v, uint64_t n_obs, const double* x, uint64_t n, uint64_t seed, double* theta,
                      simbi_error*) -> simbi_status {
            const double s = static_cast<GaussianPosterior*>(v->data)->scale / std::sqrt(double(n_obs) + 1);
            for (uint64_t i = 0; i < n; ++i) {
                simbi_rng rng;
                simbi_rng_init(&rng, seed, i);
                for (uint64_t j = 0; j < kDim; ++j) {
                    double sum = 0;
                    for (uint64_t o = 0; o < n_obs; ++o) sum += x[o * kDim + j];
                    theta[i * kDim + j] = sum / (double(n_obs) + 1) + s * simbi_rng_normal(&rng);
                }
            }
            return SIMBI_OK;
        };
        batched(false);
        c.log_prob = [](const simbi_posterior_view* v, uint64_t n, const double* theta, const double* x, double* out,
                        simbi_error*) -> simbi_status {
            const double s = static_cast<GaussianPosterior*>(v->data)->scale * kPosteriorStd;
            for (uint64_t i = 0; i < n; ++i) {
                double lp = 0;
                for (uint64_t j = 0; j < kDim; ++j) {
                    const double z = (theta[i * kDim + j] - x[i * kDim + j] / 2) / s;
                    lp += -0.5 * z * z - std::log(s) - 0.5 * std::log(2 * M_PI);
                }
                out[i] = lp;
            }
            return SIMBI_OK;
        };
    }
};

// x ~ N(theta, I); every `nan_every`-th row (0: none) comes back NaN, every `invalid_every`-th
// one marked invalid.
struct GaussianSimulator {
    uint64_t nan_every = 0, invalid_every = 0;
    simbi_simulator_view c{};
    GaussianSimulator() {
        c.size = sizeof c;
        c.data = this;
        c.theta_dim = kDim;
        c.x_dim = kDim;
        c.simulate = [](const simbi_simulator_view* v, uint64_t n, const double* theta, uint64_t seed, uint64_t row_offset, double* x,
                        uint8_t* valid, simbi_error*) -> simbi_status {
            const auto* me = static_cast<GaussianSimulator*>(v->data);
            for (uint64_t i = 0; i < n; ++i) {
                simbi_rng rng;
                simbi_rng_init(&rng, seed, row_offset + i);
                for (uint64_t j = 0; j < kDim; ++j) x[i * kDim + j] = theta[i * kDim + j] + simbi_rng_normal(&rng);
                valid[i] = 1;
                if (me->nan_every && i % me->nan_every == 0) x[i * kDim] = std::nan("");
                if (me->invalid_every && i % me->invalid_every == 1) valid[i] = 0;
            }
            return SIMBI_OK;
        };
    }
};

struct Sink {
    json results = json::object();
    simbi_result_sink c{};
    Sink() {
        c.size = sizeof c;
        c.data = this;
        c.put_scalar = [](const simbi_result_sink* s, const char* name, double v, simbi_error*) -> simbi_status {
            static_cast<Sink*>(s->data)->results[name] = v;
            return SIMBI_OK;
        };
        c.put_array = [](const simbi_result_sink* s, const char* name, uint64_t rank, const uint64_t* shape, const double* values,
                         simbi_error*) -> simbi_status {
            uint64_t total = 1;
            for (uint64_t i = 0; i < rank; ++i) total *= shape[i];
            static_cast<Sink*>(s->data)->results[name] = std::vector<double>(values, values + total);
            return SIMBI_OK;
        };
    }
};

struct Setup {
    GaussianPosterior posterior;
    GaussianSimulator simulator;
    std::unique_ptr<Prior> prior = parse_prior_json(R"({"type": "normal", "mean": [0, 0], "std": [1, 1]})", "prior");
    std::vector<double> observation;
    uint64_t seed = 11;

    json run(const std::string& id, const json& config = json::object()) {
        HostServices host;
        host.set_quiet(true);
        PriorView pv(*prior);
        Sink sink;
        const PluginInfo& info = registry().find(id, SIMBI_KIND_DIAGNOSTIC);
        auto* diag = static_cast<simbi_diagnostic*>(create_plugin_object(info, config.dump(), host));
        simbi_diagnostic_context ctx{};
        ctx.size = sizeof ctx;
        ctx.posterior = &posterior.c;
        ctx.prior = pv.c();
        ctx.simulator = &simulator.c;
        ctx.sink = &sink.c;
        ctx.host = host.c_host();
        ctx.seed = seed;
        ctx.n_obs = observation.empty() ? 0 : 1;
        ctx.x_obs = observation.empty() ? nullptr : observation.data();
        ErrorBuffer eb;
        simbi_status st = diag->run(diag, &ctx, eb.get());
        diag->destroy(diag);
        INFO(eb.message());
        REQUIRE(st == SIMBI_OK);
        return sink.results;
    }
};

}  // namespace

TEST_CASE("coverage: the exact posterior is calibrated, a shrunk one overconfident, a widened one conservative",
          "[diagnostics][coverage]") {
    Setup s;
    const json config = {{"pairs", 400}, {"samples", 300}};
    json exact = s.run("simbi.coverage", config);
    INFO(exact.dump());
    CHECK(exact["calibrated"] == 1);
    CHECK(exact["conservative"] == 1);
    CHECK(exact["pairs"] == 400);
    // Within the 99% band at every level, so the worst gap is at most its half-width at 0.5
    // (2.58 sqrt(0.25 / 400) = 0.065) anywhere.
    CHECK(std::fabs(exact["worst_gap"].get<double>()) < 0.07);

    s.posterior.scale = 0.5;
    json shrunk = s.run("simbi.coverage", config);
    CHECK(shrunk["conservative"] == 0);
    CHECK(shrunk["worst_gap"].get<double>() < -0.2);

    s.posterior.scale = 2.0;
    json wide = s.run("simbi.coverage", config);
    CHECK(wide["conservative"] == 1);
    CHECK(wide["calibrated"] == 0);
    // A posterior widened x2 in 2-D covers P(chi2_2 < 4 chi2_2,0.5 quantile) = 1 - 0.5^4 at 0.5.
    const auto& levels = wide["levels"];
    for (size_t i = 0; i < levels.size(); ++i)
        if (std::fabs(levels[i].get<double>() - 0.5) < 1e-9) CHECK(std::fabs(wide["coverage"][i].get<double>() - 0.9375) < 0.04);
}

TEST_CASE("coverage, SBC and TARP through sample_batch equal the per-pair path", "[diagnostics][coverage][batch]") {
    for (const std::string id : {"simbi.coverage", "simbi.sbc", "simbi.tarp"}) {
        INFO(id);
        Setup each, batched;
        batched.posterior.batched(true);
        const json config = {{"pairs", 300}, {"samples", 99}};
        json a = each.run(id, config), b = batched.run(id, config);
        a.erase("seconds");  // the one result that is a measurement, not a function of the draws
        b.erase("seconds");
        CHECK(batched.posterior.batch_calls > 0);
        CHECK(each.posterior.batch_calls == 0);
        CHECK(a == b);
    }
}

TEST_CASE("sbc: the exact posterior's ranks are uniform, a shrunk posterior's are not", "[diagnostics][sbc]") {
    Setup s;
    const json config = {{"pairs", 500}, {"samples", 99}, {"bins", 10}};
    json exact = s.run("simbi.sbc", config);
    INFO(exact.dump());
    CHECK(exact["uniform"] == 1);
    CHECK(exact["histogram"].size() == kDim * 10);
    s.posterior.scale = 0.5;
    json shrunk = s.run("simbi.sbc", config);
    CHECK(shrunk["uniform"] == 0);
    CHECK(shrunk["min_p_value"].get<double>() < 1e-6);
}

TEST_CASE("tarp: the exact posterior lies on the diagonal within its band, a shrunk one does not", "[diagnostics][tarp]") {
    Setup s;
    const json config = {{"pairs", 500}, {"samples", 300}};
    json exact = s.run("simbi.tarp", config);
    INFO(exact.dump());
    CHECK(exact["on_diagonal"] == 1);
    CHECK(exact["max_distance"].get<double>() < 0.08);
    s.posterior.scale = 0.5;
    json shrunk = s.run("simbi.tarp", config);
    CHECK(shrunk["on_diagonal"] == 0);
}

TEST_CASE("ppc: an observation far outside the prior predictive is flagged, a typical one is not", "[diagnostics][ppc]") {
    Setup s;
    s.observation = {0.4, -0.3};
    json typical = s.run("simbi.ppc", {{"draws", 2000}});
    INFO(typical.dump());
    CHECK(typical["possible_misspecification"] == 0);
    CHECK(typical["flagged"] == 0);
    // The posterior at x = 30 is centred at 15; its predictive N(15, 1.5) leaves 30 ten sigma out.
    s.observation = {30.0, 0.0};
    json far = s.run("simbi.ppc", {{"draws", 2000}});
    CHECK(far["possible_misspecification"] == 1);
    CHECK(far["outside"][0] == 1);
    CHECK(far["outside"][1] == 0);
    CHECK(far["z"][0].get<double>() > 8);
}

TEST_CASE("mode convergence: the MAP approaches theta* as observations accrue", "[diagnostics][mode]") {
    Setup s;
    json r = s.run("simbi.mode_convergence", {{"theta", {0.7, -0.4}}, {"max_n", 64}});
    INFO(r.dump());
    const auto& d = r["distance"];
    REQUIRE(d.size() == 7);
    CHECK(r["shrinks"] == 1);
    // The MAP given N observations is their sum / (N + 1): about sqrt(2 / N) from theta* in 2-D.
    CHECK(d[6].get<double>() < 0.5);
    CHECK(d[6].get<double>() < d[0].get<double>());
}

TEST_CASE("balance: the exact posterior's classifier is balanced", "[diagnostics][balance]") {
    Setup s;
    json r = s.run("simbi.balance", {{"pairs", 4000}});
    INFO(r.dump());
    CHECK(std::fabs(r["balance"].get<double>() - 1.0) < 4 * r["standard_error"].get<double>() + 1e-3);
}

TEST_CASE("diagnostics count invalid and NaN held-out rows instead of failing", "[diagnostics][invalid]") {
    Setup s;
    s.simulator.nan_every = 10;      // rows 0, 10, 20, ...: 40 of 400
    s.simulator.invalid_every = 10;  // rows 1, 11, 21, ...: 40 of 400
    for (const char* id : {"simbi.coverage", "simbi.sbc", "simbi.tarp"}) {
        INFO(id);
        json r = s.run(id, {{"pairs", 400}, {"samples", 99}});
        CHECK(r["invalid_rows"] == 80);
        CHECK(r["pairs"] == 320);
    }
}

#ifdef SIMBI_TEST_WITH_TORCH
TEST_CASE("c2st: one distribution twice gives about 0.5, two far apart about 1", "[diagnostics][c2st]") {
    simbi_test::TempDir dir;
    auto write = [&](const std::string& name, double shift, uint64_t seed) {
        std::string csv = "a,b\n";
        simbi_rng rng;
        simbi_rng_init(&rng, seed, 0);
        for (int i = 0; i < 1000; ++i)
            csv += std::to_string(shift + simbi_rng_normal(&rng)) + "," + std::to_string(simbi_rng_normal(&rng)) + "\n";
        simbi_test::write_file(dir.file(name), csv);
    };
    write("a.csv", 0, 1);
    write("b.csv", 0, 2);
    write("far.csv", 10, 3);
    auto same = simbi_test::run_cli("c2st " + dir.file("a.csv") + " " + dir.file("b.csv"));
    INFO(same.output);
    REQUIRE(same.exit_code == 0);
    // 2000 held-out predictions: a chance-level accuracy has a standard error of about 0.011.
    CHECK(std::fabs(std::stod(same.output) - 0.5) < 0.05);
    auto far = simbi_test::run_cli("c2st " + dir.file("a.csv") + " " + dir.file("far.csv"));
    REQUIRE(far.exit_code == 0);
    CHECK(std::stod(far.output) > 0.98);
    auto bad = simbi_test::run_cli("c2st " + dir.file("a.csv") + " " + dir.file("none.csv"));
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.output, Catch::Contains("none.csv"));
}
#endif

#ifdef SIMBI_TEST_WITH_TORCH
TEST_CASE("simbi run writes each diagnostic's results and the report, simbi diagnose adds more later", "[diagnostics][cli]") {
    simbi_test::TempDir dir;
    json m = {{"simbi", 1},
              {"plugin_paths", {SIMBI_TEST_TOY_DIR}},
              {"simulator", {{"id", "test.gaussian_1d"}}},
              {"simulation", {{"budget", 2000}, {"seed", 1}, {"store", "sims.h5"}}},
              {"estimator", {{"id", "simbi.npe"}, {"training", {{"max_epochs", 20}}}}},
              {"inference", {{"samples", 500}}},
              {"diagnostics",
               {{{"id", "simbi.coverage"}, {"config", {{"pairs", 40}, {"samples", 100}}}},
                {{"id", "simbi.ppc"}, {"config", {{"draws", 100}}}},
                {{"id", "simbi.balance"}, {"config", {{"pairs", 200}}}}}},
              {"output", "out"}};
    simbi_test::write_file(dir.file("m.json"), m.dump());
    // No observation: the predictive check fails, naming why; the others and the report are kept.
    auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("1 of 3 diagnostics failed") && Catch::Contains("needs the run's observation"));
    CHECK(fs::exists(dir.file("out/diagnostics/simbi.coverage.json")));
    CHECK(fs::exists(dir.file("out/diagnostics/simbi.balance.json")));
    CHECK(fs::exists(dir.file("out/report.html")));

    m["observation"] = {{"x", {0.5}}};
    simbi_test::write_file(dir.file("m.json"), m.dump());
    auto ok = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
    INFO(ok.output);
    REQUIRE(ok.exit_code == 0);
    const std::string coverage = simbi_test::read_file(dir.file("out/diagnostics/simbi.coverage.json"));
    json c = json::parse(coverage);
    CHECK(c["results"]["pairs"] == 40);
    CHECK(c["id"] == "simbi.coverage");
    // Yes/no results stay booleans, and the report does not repeat which they are.
    CHECK(c["results"]["calibrated"].is_boolean());
    CHECK(c["results"]["conservative"].is_boolean());
    CHECK_FALSE(c["report"].contains("booleans"));
    // The run folder lists every plugin it used, with its library and SHA-256.
    json lock = json::parse(simbi_test::read_file(dir.file("out/plugins.lock.json")));
    REQUIRE(lock["plugins"].size() == 5);
    CHECK(lock["plugins"][0]["role"] == "simulator");
    CHECK(lock["plugins"][1]["id"] == "simbi.npe");
    for (const auto& p : lock["plugins"]) {
        CHECK(p["sha256"].get<std::string>().size() == 64);
        CHECK(fs::exists(p["path"].get<std::string>()));
    }
    // A rerun reuses the results: the same bytes.
    REQUIRE(simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q").exit_code == 0);
    CHECK(simbi_test::read_file(dir.file("out/diagnostics/simbi.coverage.json")) == coverage);

    auto later = simbi_test::run_cli("diagnose " + dir.file("out") + " -q --diagnostic simbi.tarp --diagnostic simbi.sbc");
    INFO(later.output);
    REQUIRE(later.exit_code == 0);
    json tarp = json::parse(simbi_test::read_file(dir.file("out/diagnostics/simbi.tarp.json")));
    CHECK(tarp["results"]["pairs"] == 500);
    CHECK(fs::exists(dir.file("out/diagnostics/simbi.sbc.json")));
    // Two C diagnostics without the report extension: one of ABI 1.0 (no get_extension), one of a
    // later minor offering only an extension this host does not know. Both run; the report lists
    // their results.
    auto c_layer =
        simbi_test::run_cli("diagnose " + dir.file("out") + " -q --diagnostic abi.diagnostic0 --diagnostic abi.diagnostic9 --plugin-path " +
                            SIMBI_TEST_ABI_VERSIONS_DIR);
    INFO(c_layer.output);
    REQUIRE(c_layer.exit_code == 0);
    json d9 = json::parse(simbi_test::read_file(dir.file("out/diagnostics/abi.diagnostic9.json")));
    CHECK(d9["results"]["answer"] == 51);
    CHECK(!d9.contains("report"));
    auto report = simbi_test::run_cli("report " + dir.file("out"));
    REQUIRE(report.exit_code == 0);
    const std::string html = simbi_test::read_file(dir.file("out/report.html"));
    // The built-in diagnostics draw their own figures through the report extension, as any
    // diagnostic may: the report knows none of them by id.
    for (const char* id : {"corner", "losses", "simbi.coverage", "simbi.tarp", "simbi.sbc", "simbi.ppc"}) {
        INFO(id);
        CHECK(html.find("id=\"" + std::string(id) + "\"") != std::string::npos);
        CHECK(fs::exists(dir.file("out/plots/" + std::string(id) + ".svg")));
    }
    CHECK_THAT(html, Catch::Contains("<th>answer</th><td>42</td>") && Catch::Contains("<th>answer</th><td>51</td>"));
    CHECK(json::parse(simbi_test::read_file(dir.file("out/diagnostics/simbi.coverage.json")))["report"]["headline"]["verdict"].is_string());
    auto nowhere = simbi_test::run_cli("diagnose " + dir.file("nowhere"));
    CHECK(nowhere.exit_code == 2);
}
#endif

#ifdef SIMBI_TEST_WITH_TORCH
TEST_CASE("BNPE's classifier q / p is balanced on held-out pairs", "[diagnostics][bnpe]") {
    simbi_test::TempDir dir;
    json m = {{"simbi", 1},
              {"plugin_paths", {SIMBI_TEST_TOY_DIR}},
              {"simulator", {{"id", "test.gaussian_1d"}}},
              {"simulation", {{"budget", 4000}, {"seed", 1}, {"store", "sims.h5"}}},
              {"estimator", {{"id", "simbi.bnpe"}, {"training", {{"max_epochs", 60}, {"patience", 10}}}}},
              {"observation", {{"x", {0.5}}}},
              {"inference", {{"samples", 2000}}},
              {"diagnostics", {{{"id", "simbi.balance"}, {"config", {{"pairs", 4000}}}}}},
              {"output", "out"}};
    simbi_test::write_file(dir.file("m.json"), m.dump());
    auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    json b = json::parse(simbi_test::read_file(dir.file("out/diagnostics/simbi.balance.json")))["results"];
    INFO(b.dump());
    CHECK(std::fabs(b["balance"].get<double>() - 1.0) < 0.05);
    // The default: the mixture of five flows, each balanced on its own.
    CHECK(json::parse(simbi_test::read_file(dir.file("out/artifact/estimator.json")))["config"]["ensemble"] == 5);
    // It is still the posterior N(x / 2, 1 / 2).
    json s = json::parse(simbi_test::read_file(dir.file("out/summary.json")));
    CHECK(std::fabs(s["parameters"]["theta"]["mean"].get<double>() - 0.25) < 0.1);
    CHECK(s["parameters"]["theta"]["std"].get<double>() > 0.65);
}
#endif
