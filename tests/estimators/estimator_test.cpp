// The estimator plugins end to end through `simbi run`, `simbi sample` and `simbi log-prob`:
// accuracy on problems with known answers, the balance of BNRE, artifacts, resuming a killed
// training, streaming a dataset larger than the memory bound, and clear errors.
#ifdef SIMBI_TEST_WITH_TORCH
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <thread>
#include <tuple>

#include <simbi/rng.h>

#include "../harness/in_process.hpp"
#include "../support.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/pipeline/manifest.hpp"
#include "simbi_host/store/store.hpp"

extern char** environ;
namespace fs = std::filesystem;
using simbi::host::json;
using simbi_test::run_cli;
using simbi_test::TempDir;

namespace {
// extra_training: ", key: value, ..." members that add to or replace the default training settings.
std::string toy_manifest(const std::string& estimator, uint64_t budget, const std::string& extra_training = "") {
    json training = {{"max_epochs", 80}, {"patience", 10}};
    if (!extra_training.empty()) training.update(json::parse("{" + extra_training.substr(extra_training.find(',') + 1) + "}"));
    return std::string(R"({"simbi": 1, "plugin_paths": [")") + SIMBI_TEST_TOY_DIR + R"("],
      "simulator": {"id": "test.gaussian_1d"},
      "simulation": {"budget": )" +
           std::to_string(budget) + R"(, "seed": 1, "store": "sims.h5"},
      "estimator": {"id": ")" +
           estimator + R"(", "training": )" + training.dump() + R"(},
      "observation": {"x": [0.5]},
      "inference": {"samples": 4000, "seed": 2},
      "output": "out"})";
}

json read_json_file(const std::string& path) { return json::parse(simbi_test::read_file(path)); }

// The numbers below a "log_prob" header.
std::vector<double> parse_column(const std::string& out) {
    std::vector<double> v;
    std::stringstream ss(out);
    std::string line;
    bool header = false;
    while (std::getline(ss, line)) {
        if (line == "log_prob") {
            header = true;
            continue;
        }
        if (header && !line.empty()) v.push_back(std::stod(line));
    }
    return v;
}

double log_normal_pdf(double x, double mean, double var) { return -0.5 * std::log(2 * M_PI * var) - 0.5 * (x - mean) * (x - mean) / var; }
}  // namespace

TEST_CASE("NPE on gaussian_linear recovers the analytic posterior", "[estimators][npe]") {
    TempDir dir;
    const std::vector<double> x{0.4, -0.3, 0.2, 0.0, 0.5, -0.2, 0.1, 0.3, -0.4, 0.25};
    // With the training weights, and with their moving average (which is then what is validated
    // and kept, so the validation losses differ).
    const double average = GENERATE(0.0, 0.99);
    INFO("average " << average);
    json m = {{"simbi", 1},
              {"simulator", {{"id", "sbibm.gaussian_linear"}}},
              {"simulation", {{"budget", 10000}, {"seed", 1}, {"store", "sims.h5"}}},
              {"estimator", {{"id", "simbi.npe"}, {"training", {{"max_epochs", 150}, {"patience", 15}, {"average", average}}}}},
              {"observation", {{"x", x}}},
              {"inference", {{"samples", 5000}, {"seed", 3}}},
              {"output", "out"}};
    simbi_test::write_file(dir.file("m.json"), m.dump());
    auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    if (average > 0) {
        auto plain = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --set estimator.training.average=0 --out " +
                                                        dir.file("plain"));
        REQUIRE(plain.exit_code == 0);
        // The averaged weights validate measurably differently, not by rounding.
        const double plain_best = read_json_file(dir.file("plain/losses.json"))["val_loss"].back()[1].get<double>();
        const double averaged_best = read_json_file(dir.file("out/losses.json"))["val_loss"].back()[1].get<double>();
        CHECK(std::fabs(plain_best - averaged_best) > 1e-4 * std::fabs(plain_best));
    }
    json s = read_json_file(dir.file("out/summary.json"));
    // The posterior is N(x / 2, 0.05 I) (sbibm's Gaussian linear task).
    for (int i = 0; i < 10; ++i) {
        const json& p = s["parameters"]["theta_" + std::to_string(i + 1)];
        INFO("theta_" << i + 1);
        CHECK(std::fabs(p["mean"].get<double>() - x[size_t(i)] / 2) < 0.1);
        CHECK(std::fabs(p["std"].get<double>() / std::sqrt(0.05) - 1) < 0.2);
    }
}

TEST_CASE("an NPE ensemble's mixture is the posterior it samples and scores", "[estimators][npe][ensemble]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), toy_manifest("simbi.npe", 4000));
    auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --set estimator.config.ensemble=3");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(read_json_file(dir.file("out/artifact/estimator.json"))["config"]["ensemble"] == 3);
    // The posterior N(0.25, 1/2) of test.gaussian_1d at x = 0.5, by its draws and by its density.
    json s = read_json_file(dir.file("out/summary.json"));
    CHECK(std::fabs(s["parameters"]["theta"]["mean"].get<double>() - 0.25) < 0.1);
    CHECK(std::fabs(s["parameters"]["theta"]["std"].get<double>() / std::sqrt(0.5) - 1) < 0.15);
    const std::string grid = "[[-1.0],[-0.5],[0.0],[0.25],[0.5],[1.0],[1.5]]";
    auto density = [&](const std::string& artifact) {
        auto lp = run_cli("log-prob " + artifact + " --theta '" + grid + "' --x 0.5 --plugin-path " SIMBI_TEST_TOY_DIR);
        INFO(lp.output);
        REQUIRE(lp.exit_code == 0);
        return parse_column(lp.output);
    };
    const std::vector<double> mixture = density(dir.file("out/artifact"));
    REQUIRE(mixture.size() == 7);
    const double thetas[] = {-1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 1.5};
    for (size_t i = 0; i < 7; ++i) {
        INFO("theta " << thetas[i]);
        CHECK(std::fabs(mixture[i] - log_normal_pdf(thetas[i], 0.25, 0.5)) < 0.15);
    }
    // One flow from the same seed is member 0 alone: its density differs from the mixture's.
    auto one =
        simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --set estimator.config.ensemble=1 --out " + dir.file("one"));
    REQUIRE(one.exit_code == 0);
    const std::vector<double> single = density(dir.file("one/artifact"));
    double largest = 0;
    for (size_t i = 0; i < 7; ++i) largest = std::max(largest, std::fabs(single[i] - mixture[i]));
    CHECK(largest > 1e-3);
    // On bootstrap weights the members fit other data; the mixture is still the posterior.
    auto boot = simbi_test::run_command_in_process("run " + dir.file("m.json") +
                                                   " -q --set estimator.config.ensemble=3 --set estimator.config.bootstrap=true --out " +
                                                   dir.file("boot"));
    INFO(boot.output);
    REQUIRE(boot.exit_code == 0);
    CHECK(read_json_file(dir.file("boot/artifact/estimator.json"))["config"]["bootstrap"] == true);
    json sb = read_json_file(dir.file("boot/summary.json"));
    CHECK(std::fabs(sb["parameters"]["theta"]["mean"].get<double>() - 0.25) < 0.1);
    CHECK(std::fabs(sb["parameters"]["theta"]["std"].get<double>() / std::sqrt(0.5) - 1) < 0.15);
    const std::vector<double> booted = density(dir.file("boot/artifact"));
    largest = 0;
    for (size_t i = 0; i < 7; ++i) {
        INFO("theta " << thetas[i]);
        CHECK(std::fabs(booted[i] - log_normal_pdf(thetas[i], 0.25, 0.5)) < 0.15);
        largest = std::max(largest, std::fabs(booted[i] - mixture[i]));
    }
    CHECK(largest > 1e-3);
    // Each call loads the artifact afresh; the same seed draws the same members and samples.
    auto a = run_cli("sample " + dir.file("out/artifact") + " --x 0.5 --n 500 --seed 9 --plugin-path " SIMBI_TEST_TOY_DIR);
    auto b = run_cli("sample " + dir.file("out/artifact") + " --x 0.5 --n 500 --seed 9 --plugin-path " SIMBI_TEST_TOY_DIR);
    REQUIRE(a.exit_code == 0);
    CHECK(a.output == b.output);
}

// Mean and largest |log r - log r_true| of an artifact trained on test.gaussian_1d, on the
// posterior's bulk at x = 0.5, theta in x/2 +- 2.5 sd; up to a constant where the estimator's
// log r is only defined up to a function of x.
std::pair<double, double> log_ratio_error(const std::string& artifact, bool up_to_constant = false) {
    std::string thetas;
    std::vector<double> grid;
    for (int i = 0; i <= 40; ++i) {
        double t = 0.25 - 1.75 + 3.5 * i / 40.0;
        grid.push_back(t);
        thetas += (i ? ",[" : "[[") + std::to_string(t) + "]";
    }
    thetas += "]";
    auto lp = run_cli("log-prob " + artifact + " --theta '" + thetas + "' --x 0.5 --plugin-path " SIMBI_TEST_TOY_DIR);
    INFO(lp.output);
    REQUIRE(lp.exit_code == 0);
    std::vector<double> v = parse_column(lp.output);
    REQUIRE(v.size() == grid.size());
    std::vector<double> diff;
    for (size_t i = 0; i < grid.size(); ++i) {
        double log_r = v[i] - log_normal_pdf(grid[i], 0, 1);
        double truth = log_normal_pdf(0.5, grid[i], 1) - log_normal_pdf(0.5, 0, 2);
        diff.push_back(log_r - truth);
    }
    double offset = 0;
    if (up_to_constant)
        for (double d : diff) offset += d / double(diff.size());
    double mean_abs = 0, worst = 0;
    for (size_t i = 0; i < grid.size(); ++i) {
        const double err = diff[i] - offset;
        mean_abs += std::fabs(err) / double(grid.size());
        worst = std::max(worst, std::fabs(err));
    }
    return {mean_abs, worst};
}

// Trains simbi.nre on test.gaussian_1d at 10^4 simulations with `sets` (--set options) and checks
// log r against the truth and the posterior, N(0.25, 0.5), by its summary. Returns the mean error.
double check_toy_ratio(const TempDir& dir, const std::string& sets, bool up_to_constant = false) {
    simbi_test::write_file(dir.file("m.json"), toy_manifest("simbi.nre", 10000));
    auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q" + sets);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    auto [mean_abs, worst] = log_ratio_error(dir.file("out/artifact"), up_to_constant);
    CHECK(mean_abs < 0.1);
    CHECK(worst < 0.3);
    json s = read_json_file(dir.file("out/summary.json"));
    CHECK(std::fabs(s["parameters"]["theta"]["mean"].get<double>() - 0.25) < 0.1);
    CHECK(std::fabs(s["parameters"]["theta"]["std"].get<double>() / std::sqrt(0.5) - 1) < 0.15);
    return mean_abs;
}

TEST_CASE("NRE's log ratio tracks the true ratio", "[estimators][nre]") {
    TempDir dir;
    check_toy_ratio(dir, "");
    // The default: an ensemble of five classifiers.
    CHECK(read_json_file(dir.file("out/artifact/estimator.json"))["config"]["ensemble"] == 5);

    // Its vectorized MCMC (sample_batch: every observation's chains step together) draws each
    // observation's exact posterior, N(x / 2, 1 / 2): C2ST <= 0.55 against exact draws.
    const std::vector<double> xs{-1.5, 0.0, 0.5, 2.0};
    std::string csv = "x\n";
    for (double x : xs) csv += std::to_string(x) + "\n";
    simbi_test::write_file(dir.file("xs.csv"), csv);
    auto r = run_cli("sample " + dir.file("out/artifact") + " --x " + dir.file("xs.csv") + " --each-row --n 1000 --seed 4 -q --out " +
                     dir.file("each.h5") + " --plugin-path " SIMBI_TEST_TOY_DIR);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const std::vector<double> draws = simbi_test::read_h5_doubles(dir.file("each.h5"), "samples");
    REQUIRE(draws.size() == xs.size() * 1000);
    simbi_rng rng;
    for (size_t i = 0; i < xs.size(); ++i) {
        std::string mcmc = "theta\n", exact = "theta\n";
        simbi_rng_init(&rng, 77, i);
        for (size_t j = 0; j < 1000; ++j) {
            mcmc += std::to_string(draws[i * 1000 + j]) + "\n";
            exact += std::to_string(xs[i] / 2 + std::sqrt(0.5) * simbi_rng_normal(&rng)) + "\n";
        }
        simbi_test::write_file(dir.file("mcmc.csv"), mcmc);
        simbi_test::write_file(dir.file("exact.csv"), exact);
        auto c = run_cli("c2st " + dir.file("exact.csv") + " " + dir.file("mcmc.csv"));
        INFO("x = " << xs[i] << ": " << c.output);
        REQUIRE(c.exit_code == 0);
        CHECK(std::stod(c.output.substr(c.output.find_first_of("0123456789"))) <= 0.55);
    }
}

TEST_CASE("contrastive NRE recovers the ratio up to a function of x", "[estimators][nre][contrastive]") {
    TempDir dir;
    check_toy_ratio(dir, " --set estimator.config.loss=contrastive", true);
    // Contrastive ratios cannot be mixed, so its default is one classifier.
    CHECK(read_json_file(dir.file("out/artifact/estimator.json"))["config"]["ensemble"] == 1);
}

TEST_CASE("an NRE ensemble trains distinct members whose mixture tracks the true ratio", "[estimators][nre][ensemble]") {
    TempDir dir;
    const double mixture = check_toy_ratio(dir, " --set estimator.config.ensemble=3");
    CHECK(read_json_file(dir.file("out/artifact/estimator.json"))["config"]["ensemble"] == 3);
    // A single classifier from the same seed is member 0 of the ensemble, trained on the same
    // batches but stopped at the ensemble's epoch; its log r differs from the mixture's.
    auto one =
        simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --set estimator.config.ensemble=1 --out " + dir.file("one"));
    REQUIRE(one.exit_code == 0);
    CHECK(std::fabs(log_ratio_error(dir.file("one/artifact")).first - mixture) > 1e-4 * std::fabs(mixture));
}

TEST_CASE("an NRE classifier with dropout tracks the true ratio, deterministic once trained", "[estimators][nre][dropout]") {
    TempDir dir;
    check_toy_ratio(dir, " --set estimator.config.dropout=0.2 --set estimator.config.ensemble=1");
    CHECK(read_json_file(dir.file("out/artifact/estimator.json"))["config"]["dropout"] == 0.2);
    // Dropout acts in training only: the loaded artifact gives one log ratio for one pair, in
    // every row of a call (dropout would draw a fresh mask per row) and across calls.
    simbi_test::write_file(dir.file("t.csv"), "theta\n0.1\n0.1\n0.1\n");
    simbi_test::write_file(dir.file("x1.csv"), "x\n0.5\n0.5\n0.5\n");
    const std::string cmd = "log-prob " + dir.file("out/artifact") + " --theta " + dir.file("t.csv") + " --x " + dir.file("x1.csv") +
                            " --plugin-path " SIMBI_TEST_TOY_DIR;
    auto a = run_cli(cmd), b = run_cli(cmd);
    REQUIRE(a.exit_code == 0);
    std::vector<double> lp = parse_column(a.output);
    REQUIRE(lp.size() == 3);
    // Rows of one batch may round differently in float32 matrix kernels (about 1e-7); a dropout
    // mask of rate 0.2 would move log r by orders of magnitude more.
    CHECK(lp[0] == Approx(lp[1]).epsilon(1e-5));
    CHECK(lp[1] == Approx(lp[2]).epsilon(1e-5));
    CHECK(lp == parse_column(b.output));
}

TEST_CASE("NRE's early stopping can judge the ensemble's mixture, small datasets get it and dropout by default",
          "[estimators][nre][validation]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), toy_manifest("simbi.nre", 2000, R"(, "max_epochs": 3)"));
    auto train = [&](const std::string& out, const std::string& sets) {
        auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --out " + dir.file(out) + sets);
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        return simbi::host::read_csv_rows(dir.file(out + "/losses.csv"));  // epoch, train, validation
    };
    // Two members: the same steps (training losses), judged differently (validation losses).
    const std::string two = " --set estimator.config.ensemble=2 --set estimator.config.dropout=0";
    auto mixture = train("mix", two), members = train("members", two + " --set estimator.config.validation=members");
    REQUIRE(mixture.size() == 3);
    REQUIRE(members.size() == 3);
    for (size_t e = 0; e < 3; ++e) {
        CHECK(mixture[e][1] == members[e][1]);
        CHECK(std::fabs(mixture[e][2] - members[e][2]) > 1e-5 * std::fabs(members[e][2]));
    }
    // One classifier is its own mixture: both judgements agree to the last digit.
    const std::string one = " --set estimator.config.ensemble=1 --set estimator.config.dropout=0";
    CHECK(train("one_mix", one) == train("one_members", one + " --set estimator.config.validation=members"));
    // Unset, both follow the training rows: below 2,000 (1,800 here; 10% validate) dropout 0.1
    // and the mixture's judgement, from 2,000 on neither.
    train("small", "");
    json c = read_json_file(dir.file("small/artifact/estimator.json"))["config"];
    CHECK(c["dropout"] == 0.1);
    CHECK(c["validation"] == "mixture");
    train("large", " --set simulation.budget=2300");
    c = read_json_file(dir.file("large/artifact/estimator.json"))["config"];
    CHECK(c["dropout"] == 0.0);
    CHECK(c["validation"] == "members");
    // BNRE's small datasets train one classifier (the paper's setting), without dropout, balanced
    // on its training batches; from 2,000 rows on, an ensemble of five.
    simbi_test::write_file(dir.file("b.json"), toy_manifest("simbi.bnre", 2000, R"(, "max_epochs": 2)"));
    REQUIRE(simbi_test::run_command_in_process("run " + dir.file("b.json") + " -q --out " + dir.file("bnre")).exit_code == 0);
    json b = read_json_file(dir.file("bnre/artifact/estimator.json"))["config"];
    CHECK(b["dropout"] == 0.0);
    CHECK(b["ensemble"] == 1);
    CHECK(b["balance"] == "batches");
    CHECK(b["hidden"] == json::array({64, 64, 64}));
    REQUIRE(simbi_test::run_command_in_process("run " + dir.file("b.json") + " -q --out " + dir.file("bnre_large") +
                                               " --set simulation.budget=2300")
                .exit_code == 0);
    CHECK(read_json_file(dir.file("bnre_large/artifact/estimator.json"))["config"]["ensemble"] == 5);
    // Set explicitly, a setting holds.
    REQUIRE(simbi_test::run_command_in_process("run " + dir.file("b.json") + " -q --out " + dir.file("bnre_set") +
                                               " --set estimator.config.balance=held_out --set estimator.config.hidden=[32]")
                .exit_code == 0);
    b = read_json_file(dir.file("bnre_set/artifact/estimator.json"))["config"];
    CHECK(b["balance"] == "held_out");
    CHECK(b["hidden"] == json::array({32}));
}

TEST_CASE("a residual NRE classifier tracks the true ratio and reloads as residual", "[estimators][nre][residual]") {
    TempDir dir;
    check_toy_ratio(dir, " --set estimator.config.network=residual --set estimator.config.hidden=[32,32]");
    json config = read_json_file(dir.file("out/artifact/estimator.json"))["config"];
    CHECK(config["network"] == "residual");
    CHECK(config["hidden"] == json::array({32, 32}));
}

// Mean classifier output on fresh joint and marginal pairs of the toy, d = sigmoid(log r) with log r
// = log q(theta | x) - log p(theta) from the artifact in the folder `out`.
std::pair<double, double> mean_classifier_outputs(const TempDir& dir, const std::string& out) {
    REQUIRE(run_cli("simulate " + dir.file("m.json") + " -q --seed 99 --budget 4000 --out " + dir.file(out + "_test.h5")).exit_code == 0);
    simbi::host::DatasetReader data(dir.file(out + "_test.h5"));
    const size_t n = data.rows();
    std::vector<double> theta(n), x(n);
    data.read(0, n, theta.data(), x.data());
    // Fresh pairs: joint (theta_i, x_i) and marginal (theta_{i+1}, x_i).
    std::string joint = "theta\n", marg = "theta\n", xs = "x\n";
    for (size_t i = 0; i < n; ++i) {
        joint += std::to_string(theta[i]) + "\n";
        marg += std::to_string(theta[(i + 1) % n]) + "\n";
        xs += std::to_string(x[i]) + "\n";
    }
    simbi_test::write_file(dir.file("joint.csv"), joint);
    simbi_test::write_file(dir.file("marg.csv"), marg);
    simbi_test::write_file(dir.file("x.csv"), xs);
    auto mean_d = [&](const std::string& file, bool shifted) {
        auto r = run_cli("log-prob " + dir.file(out + "/artifact") + " --theta " + file + " --x " + dir.file("x.csv") +
                         " --plugin-path " SIMBI_TEST_TOY_DIR);
        REQUIRE(r.exit_code == 0);
        std::vector<double> lp = parse_column(r.output);
        REQUIRE(lp.size() == n);
        double sum = 0;
        for (size_t i = 0; i < n; ++i) {
            double t = theta[shifted ? (i + 1) % n : i];
            sum += 1 / (1 + std::exp(-(lp[i] - log_normal_pdf(t, 0, 1))));
        }
        return sum / double(n);
    };
    return {mean_d(dir.file("joint.csv"), false), mean_d(dir.file("marg.csv"), true)};
}

TEST_CASE("BNRE satisfies the balance condition", "[estimators][bnre]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), toy_manifest("simbi.bnre", 10000));
    // The defaults (an ensemble of 5 balanced as a mixture, the pooled penalty), the paper's form
    // (one classifier, the square of the batch mean), a small dataset's default (one classifier)
    // and the balance on held-out rows.
    struct Variant {
        std::string sets, balance;
        int members;
    };
    const std::vector<Variant> variants = {{"", "batches", 5},
                                           {" --set estimator.config.ensemble=1 --set estimator.config.penalty=batch", "batches", 1},
                                           {" --set simulation.budget=1500", "batches", 1},
                                           {" --set simulation.budget=1500 --set estimator.config.balance=held_out", "held_out", 1}};
    for (size_t v = 0; v < variants.size(); ++v) {
        const auto& [sets, balance, members] = variants[v];
        const std::string out = "out" + std::to_string(v);
        auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --out " + dir.file(out) + sets);
        INFO(sets << "\n" << r.output);
        REQUIRE(r.exit_code == 0);
        const json config = read_json_file(dir.file(out + "/artifact/estimator.json"))["config"];
        CHECK(config["ensemble"] == members);
        CHECK(config["balance"] == balance);
        auto [dj, dm] = mean_classifier_outputs(dir, out);
        INFO("E_joint[d] = " << dj << ", E_marginal[d] = " << dm);
        CHECK(std::fabs(dj + dm - 1) < 0.05);
        // Balanced, yet informative: joint pairs score higher than marginal ones.
        CHECK(dj > dm + 0.05);
    }
}

TEST_CASE("an artifact samples the same posterior after loading", "[estimators][artifact]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), toy_manifest("simbi.npe", 3000));
    REQUIRE(simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q").exit_code == 0);
    json meta = read_json_file(dir.file("out/artifact/simbi.json"));
    CHECK(meta["estimator"]["id"] == "simbi.npe");
    CHECK(meta["parameter_names"][0] == "theta");
    CHECK(meta["abi"]["major"] == 1);
    json est = read_json_file(dir.file("out/artifact/estimator.json"));
    CHECK(est.contains("theta_standardization"));
    CHECK(est.contains("torch_version"));
    // The run's posterior.csv is what `simbi sample` draws with the same seed.
    auto s = run_cli("sample " + dir.file("out/artifact") + " --x 0.5 --n 4000 --seed 2 --out " + dir.file("again.csv") +
                     " --plugin-path " SIMBI_TEST_TOY_DIR);
    REQUIRE(s.exit_code == 0);
    CHECK(simbi_test::read_file(dir.file("again.csv")) == simbi_test::read_file(dir.file("out/posterior.csv")));
    auto bad = run_cli("sample " + dir.file("out") + " --x 0.5");
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.output, Catch::Contains("not a simbi artifact"));
}

TEST_CASE("a killed training resumes from its checkpoint", "[estimators][recovery]") {
    // NRE with a weight average, so its state travels through the checkpoint too, and dropout,
    // whose masks must repeat after the resume; BNRE, whose pooled penalty keeps batches of the
    // current epoch outside the checkpoint.
    using Args = std::vector<std::string>;
    const std::vector<std::tuple<std::string, std::string, Args, int>> cases = {
        {"simbi.nre", R"(, "max_epochs": 20, "patience": 40, "average": 0.9)", {"--set", "estimator.config.dropout=0.1"}, 20},
        {"simbi.bnre", R"(, "max_epochs": 12, "patience": 40)", {}, 12},
    };
    for (const auto& [estimator, training, extra, epochs] : cases) {
        INFO(estimator);
        std::string sets;
        for (const auto& a : extra) sets += " " + a;
        TempDir dir;
        simbi_test::write_file(dir.file("m.json"), toy_manifest(estimator, 5000, training));
        // The same run, never interrupted.
        REQUIRE(simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q" + sets + " --out " + dir.file("whole")).exit_code ==
                0);
        std::vector<std::string> args = {SIMBI_TEST_BINARY, "run", dir.file("m.json"), "-q"};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(&a[0]);
        argv.push_back(nullptr);
        pid_t pid;
        REQUIRE(posix_spawn(&pid, SIMBI_TEST_BINARY, nullptr, nullptr, argv.data(), environ) == 0);
        bool killed = false;
        std::string state;
        for (int i = 0; i < 6000 && !killed; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            try {
                state = simbi_test::checkpoint_state(dir.file("out"));
                if (!state.empty() && read_json_file(state)["epoch"].get<int>() >= 3) {
                    kill(pid, SIGKILL);
                    killed = true;
                }
            } catch (...) {}
        }
        int status = 0;
        waitpid(pid, &status, 0);
        REQUIRE(killed);
        auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + sets);
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        CHECK_THAT(r.output, Catch::Contains("reused") && Catch::Contains("resuming training after epoch"));
        CHECK(read_json_file(state)["epoch"].get<int>() == epochs);
        // Same seed, same result: the resumed training repeats the uninterrupted one's steps, and
        // its loss history holds every epoch, those before the kill included.
        CHECK(read_json_file(dir.file("out/losses.json"))["train_loss"].size() == size_t(epochs));
        CHECK(simbi_test::read_file(dir.file("out/losses.csv")) == simbi_test::read_file(dir.file("whole/losses.csv")));
        CHECK(simbi_test::read_file(dir.file("out/posterior.csv")) == simbi_test::read_file(dir.file("whole/posterior.csv")));
    }
}

TEST_CASE("a validation plateau lowers the learning rate", "[estimators][training]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), toy_manifest("simbi.nre", 2000, R"(, "max_epochs": 300, "patience": 6, "lr_decay": 0.5)"));
    auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    // Training stops after 6 epochs without improvement, and halves the rate after 3 and 6 of them:
    // the final rate is 1e-3 / 2^k for some k >= 2.
    json st = read_json_file(simbi_test::checkpoint_state(dir.file("out")));
    const double halvings = std::log2(1e-3 / st["learning_rate"].get<double>());
    CHECK(halvings >= 2 - 1e-9);
    CHECK(std::fabs(halvings - std::round(halvings)) < 1e-6);
    // BNRE's default keeps the rate constant.
    simbi_test::write_file(dir.file("b.json"), toy_manifest("simbi.bnre", 2000, R"(, "max_epochs": 300, "patience": 6)"));
    REQUIRE(simbi_test::run_command_in_process("run " + dir.file("b.json") + " -q --out " + dir.file("bnre")).exit_code == 0);
    CHECK(read_json_file(simbi_test::checkpoint_state(dir.file("bnre")))["learning_rate"].get<double>() == 1e-3);
    // So does BNPE's (one flow here, to keep it short); it too stops on a plateau.
    json bnpe = json::parse(toy_manifest("simbi.bnpe", 2000, R"(, "max_epochs": 300, "patience": 6)"));
    bnpe["estimator"]["config"] = {{"ensemble", 1}};
    simbi_test::write_file(dir.file("n.json"), bnpe.dump());
    REQUIRE(simbi_test::run_command_in_process("run " + dir.file("n.json") + " -q --out " + dir.file("bnpe")).exit_code == 0);
    json bst = read_json_file(simbi_test::checkpoint_state(dir.file("bnpe")));
    CHECK(bst["learning_rate"].get<double>() == 1e-3);
    CHECK(read_json_file(dir.file("bnpe/losses.json"))["train_loss"].size() < 300);
}

TEST_CASE("a dataset larger than the memory bound trains by streaming", "[estimators][streaming]") {
    TempDir dir;
    // 200,000 rows of 8 bytes exceed 1 MB: the estimator must keep at most a block in memory.
    json m = json::parse(toy_manifest("simbi.npe", 200000, R"(, "max_epochs": 2)"));
    m["estimator"]["config"] = {{"memory_mb", 1}};
    simbi_test::write_file(dir.file("m.json"), m.dump());
    auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    json losses = read_json_file(dir.file("out/losses.json"));
    double resident = losses["resident_rows"][0][1].get<double>();
    CHECK(resident * 8 <= 1 << 20);
    CHECK(resident < 200000);
    json s = read_json_file(dir.file("out/summary.json"));
    CHECK(std::fabs(s["parameters"]["theta"]["mean"].get<double>() - 0.25) < 0.1);
}

TEST_CASE("invalid estimator settings fail clearly", "[estimators][errors]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), toy_manifest("simbi.npe", 500, R"(, "max_epochs": 2)"));
    // Usage errors: exit 2, with the key or the rule named.
    const std::vector<std::pair<std::string, std::string>> usage = {
        {"estimator.config.flow=xyz", R"(/estimator/config/flow: expected one of ["maf","nsf"], got "xyz")"},
        {"estimator.config.flw=1", "/estimator/config/flw"},
        {"estimator.config.hidden=[0]", "/estimator/config/hidden: item 0: expected an integer at least 1, got 0"},
        {"estimator.id=simbi.nre --set estimator.config.negatives=0", "/estimator/config/negatives: expected an integer at least 1, got 0"},
        {"estimator.id=simbi.nre --set estimator.config.ensemble=0", "/estimator/config/ensemble: expected an integer at least 1"},
        {"estimator.id=simbi.bnpe --set estimator.config.ensemble=33", "/estimator/config/ensemble: expected an integer at most 32"},
        {"estimator.id=simbi.bnpe --set estimator.config.bootstrap=1", "/estimator/config/bootstrap: expected a boolean"},
        {"estimator.id=simbi.nre --set estimator.config.loss=hinge", "/estimator/config/loss: expected one of"},
        {"estimator.id=simbi.nre --set estimator.config.network=cnn", "/estimator/config/network: expected one of"},
        {"estimator.id=simbi.bnre --set estimator.config.network=residual --set estimator.config.hidden=[32,64]", "widths must be equal"},
        {"estimator.id=simbi.nre --set estimator.config.network=residual --set estimator.config.hidden=[]",
         "/estimator/config/hidden: expected 1 to 64 items"},
        {"estimator.id=simbi.nre --set estimator.config.loss=contrastive --set estimator.config.ensemble=2",
         "an ensemble needs the binary loss"},
        {"estimator.id=simbi.bnre --set estimator.config.penalty=xyz", "/estimator/config/penalty: expected one of"},
        {"estimator.id=simbi.bnre --set estimator.config.pool=0", "/estimator/config/pool: expected an integer at least 1"},
        {"estimator.id=simbi.bnre --set estimator.config.pool_pairs=65", "/estimator/config/pool_pairs: expected an integer at most 64"},
        {"estimator.id=simbi.bnre --set estimator.config.balance=sideways", "/estimator/config/balance: expected one of"},
        {"estimator.id=simbi.nre --set estimator.config.dropout=1", "/estimator/config/dropout: expected a number below 1"},
        {"estimator.id=simbi.nre --set estimator.config.validation=best", "/estimator/config/validation: expected one of"},
        {"estimator.id=simbi.nre --set estimator.config.network=residual --set estimator.config.dropout=0.1", "dropout applies"},
        {"estimator.training.lr_decay=1.5", "lr_decay"},
        {"estimator.training.weight_decay=-1", "weight_decay"},
        {"estimator.training.average=1", "average"},
    };
    for (const auto& [sets, message] : usage) {
        auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --set " + sets);
        INFO(sets << "\n" << r.output);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.output, Catch::Contains(message));
    }
    auto missing = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --set estimator.id=simbi.nothing");
    CHECK(missing.exit_code == 2);  // a manifest naming a plugin there is not: a usage error
    CHECK_THAT(missing.output, Catch::Contains("no plugin with id 'simbi.nothing'"));
    auto two = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --set observation.x=[[0.1],[0.2]]");
    CHECK(two.exit_code == 1);
    CHECK_THAT(two.output, Catch::Contains("one observation"));
}

TEST_CASE("sequential rounds simulate from the truncated prior and report their simulations", "[estimators][sequential]") {
    TempDir dir;
    // Uniform prior on [-20, 20] and x ~ N(theta, 1) at x = 0.5: the 99% highest-density region
    // of the posterior N(0.5, 1) is 0.5 +- 2.6, an eighth of the prior. (The default quantile,
    // 1e-4, reaches into a learned flow's tails, which are far less certain.)
    json m = json::parse(
        toy_manifest("simbi.npe", 1500, R"(, "max_epochs": 60, "rounds": 3, "round_budget": 1000, "truncation_quantile": 0.01)"));
    m["prior"] = {{"type", "box_uniform"}, {"low", {-20.0}}, {"high", {20.0}}};
    simbi_test::write_file(dir.file("m.json"), m.dump());
    auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    json s = read_json_file(dir.file("out/summary.json"));
    CHECK(s["simulations"] == 3500);
    REQUIRE(s["rounds"].size() == 3);
    CHECK(s["rounds"][0]["proposal"] == "prior");
    for (int i = 1; i < 3; ++i) {
        CHECK(s["rounds"][i]["simulations"] == 1000);
        double a = s["rounds"][i]["acceptance"].get<double>();
        CHECK(a > 0.06);
        CHECK(a < 0.4);
        simbi::host::DatasetReader round(s["rounds"][i]["store"].get<std::string>());
        std::vector<double> theta(1000), x(1000);
        round.read(0, 1000, theta.data(), x.data());
        double lo = *std::min_element(theta.begin(), theta.end()), hi = *std::max_element(theta.begin(), theta.end());
        CHECK(lo > -6.0);
        CHECK(hi < 7.0);
    }
    double mean = s["parameters"]["theta"]["mean"].get<double>();
    CHECK(std::fabs(mean - 0.5) < 0.15);
    // A rerun is up to date; a new observation retrains, since the rounds focused on the old one.
    auto again = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
    CHECK(again.exit_code == 0);
    CHECK(read_json_file(dir.file("out/summary.json"))["parameters"]["theta"]["mean"] == s["parameters"]["theta"]["mean"]);
    auto moved = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --set observation.x=[1.5]");
    CHECK(moved.exit_code == 1);
    CHECK_THAT(moved.output, Catch::Contains("holds an estimator of another setup"));
    auto bad = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --set estimator.training.truncation_quantile=0.7");
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.output, Catch::Contains("/estimator/training/truncation_quantile"));
    json unfocused = m;
    unfocused.erase("observation");
    unfocused["output"] = "none";
    simbi_test::write_file(dir.file("none.json"), unfocused.dump());
    auto none = simbi_test::run_command_in_process("run " + dir.file("none.json") + " -q");
    CHECK(none.exit_code == 1);
    CHECK_THAT(none.output, Catch::Contains("need an \"observation\""));
    auto old = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --set sequential.rounds=2");
    CHECK(old.exit_code == 2);
    CHECK_THAT(old.output, Catch::Contains("estimator.training.rounds"));
}

TEST_CASE("ratio and likelihood estimators combine i.i.d. observations", "[estimators][iid]") {
    // Five observations of x ~ N(theta, 1) with theta ~ N(0, 1): the posterior is
    // N(sum x / 6, 1 / 6).
    const std::vector<double> xs{0.9, 0.3, 1.4, 0.6, 1.1};
    double sum = 0;
    for (double v : xs) sum += v;
    for (std::string id : {"simbi.nre", "simbi.nle"}) {
        INFO(id);
        TempDir dir;
        json m = json::parse(toy_manifest(id, 10000));
        m["observation"] = {{"x", {{xs[0]}, {xs[1]}, {xs[2]}, {xs[3]}, {xs[4]}}}};
        simbi_test::write_file(dir.file("m.json"), m.dump());
        auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        json s = read_json_file(dir.file("out/summary.json"));
        CHECK(std::fabs(s["parameters"]["theta"]["mean"].get<double>() - sum / 6) < 0.1);
        CHECK(std::fabs(s["parameters"]["theta"]["std"].get<double>() / std::sqrt(1.0 / 6) - 1) < 0.2);
    }
}

TEST_CASE("embedding networks for x: MLP and 1-D CNN", "[estimators][embedding]") {
    TempDir dir;
    json m = {{"simbi", 1},
              {"simulator", {{"id", "sbibm.lotka_volterra"}}},
              {"simulation", {{"budget", 1000}, {"seed", 1}, {"store", "sims.h5"}, {"invalid", "resample"}}},
              {"estimator", {{"id", "simbi.npe"}, {"training", {{"max_epochs", 3}}}}},
              {"observation", {{"x", std::vector<double>(20, 1.0)}}},
              {"inference", {{"samples", 200}}},
              {"output", "out"}};
    simbi_test::write_file(dir.file("m.json"), m.dump());
    for (std::string e : {R"({"type": "mlp", "hidden": [32], "features": 8})", R"({"type": "cnn", "channels": 2, "features": 8})"}) {
        INFO(e);
        auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --force --set 'estimator.config.embedding=" + e +
                                                    "' --out " + dir.file("o"));
        INFO(r.output);
        CHECK(r.exit_code == 0);
        json est = read_json_file(dir.file("o/artifact/estimator.json"));
        CHECK(est["config"]["embedding"] == json::parse(e));
    }
    // The kind of embedding is checked with the config (exit 2); its fit to x's shape when the
    // data arrives (exit 1).
    auto kind =
        simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q --set 'estimator.config.embedding={\"type\": \"rnn\"}'");
    CHECK(kind.exit_code == 2);
    CHECK_THAT(kind.output, Catch::Contains("embedding type must be"));
    auto bad = simbi_test::run_command_in_process("run " + dir.file("m.json") +
                                                  " -q --set 'estimator.config.embedding={\"type\": \"cnn\", \"channels\": 3}'");
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.output, Catch::Contains("channels must divide"));
}

TEST_CASE("every sample manifest runs with every estimator", "[estimators][samples]") {
    std::vector<std::string> manifests;
    for (const auto& e : fs::recursive_directory_iterator(std::string(SIMBI_TEST_SOURCE_DIR) + "/samples"))
        if (e.path().filename() == "manifest.json") {
            // A sample whose plugin is built out of tree (its plugin_paths do not exist yet) is
            // the out-of-tree tests' to run.
            const json doc = read_json_file(e.path().string());
            bool built = true;
            for (const auto& p : doc.value("plugin_paths", json::array()))
                built = built && fs::exists(e.path().parent_path() / p.get<std::string>());
            if (built) manifests.push_back(e.path().string());
        }
    REQUIRE(manifests.size() >= 8);
    for (const auto& m : manifests) {
        TempDir dir;
        for (std::string id : {"simbi.npe", "simbi.nre", "simbi.bnre", "simbi.nle"}) {
            INFO(m << " with " << id);
            // Few MCMC chains keep the ratio and likelihood estimators' sampling short here; the
            // diagnostics, small, run with every estimator on every sample.
            std::vector<std::string> sets = {
                "simulation.budget=300",
                "simulation.store=" + dir.file("s.h5"),
                "estimator.id=" + id,
                "estimator.training.max_epochs=2",
                "inference.samples=100",
                R"(diagnostics=[{"id": "simbi.coverage", "config": {"pairs": 8, "samples": 40}},)"
                R"({"id": "simbi.sbc", "config": {"pairs": 8, "samples": 19, "bins": 5}}, {"id": "simbi.ppc", "config": {"draws": 40}}])"};
            if (id != "simbi.npe") sets.push_back("estimator.config.chains=50");
            auto r = simbi_test::run_in_process(m, sets, dir.file(id));
            INFO(r.output);
            CHECK(r.exit_code == 0);
            CHECK(fs::exists(dir.file(id + "/summary.json")));
            CHECK(fs::exists(dir.file(id + "/diagnostics/simbi.coverage.json")));
            CHECK(fs::exists(dir.file(id + "/report.html")));
        }
    }
}

TEST_CASE("switching the estimator is one line of the manifest", "[estimators][manifest]") {
    TempDir dir;
    fs::copy_file(std::string(SIMBI_TEST_SOURCE_DIR) + "/samples/projectile/manifest.json", dir.file("manifest.json"));
    fs::file_time_type stored;
    for (std::string id : {"simbi.npe", "simbi.nre", "simbi.bnre", "simbi.nle"}) {
        INFO(id);
        auto r = simbi_test::run_command_in_process(
            "run " + dir.file("manifest.json") + " -q --set simulation.budget=2000 --set estimator.id=" + id +
            " --set estimator.training.max_epochs=3 --set inference.samples=500 --set 'diagnostics=[]' --out " + dir.file(id));
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        json s = read_json_file(dir.file(id + "/summary.json"));
        double v = s["parameters"]["v"]["mean"].get<double>();
        CHECK(v > 10.0);
        CHECK(v < 40.0);
        // The simulation section did not change: the store is reused, not rewritten.
        if (id == "simbi.npe")
            stored = fs::last_write_time(dir.file("runs/sims.h5"));
        else
            CHECK(fs::last_write_time(dir.file("runs/sims.h5")) == stored);
    }
}

// theta ~ N(0, 1), x ~ N(theta, 1) at x = 0.5: the posterior is N(0.25, 1/2). Checks an ODE
// estimator's samples and, through its ODE, its density (for NPSE, the integral of its score).
void check_toy_posterior(const std::string& estimator, const std::string& extra_config, bool check_density) {
    TempDir dir;
    json m = json::parse(toy_manifest(estimator, 5000, R"(, "max_epochs": 200, "patience": 100)"));
    if (!extra_config.empty()) m["estimator"]["config"] = json::parse(extra_config);
    simbi_test::write_file(dir.file("m.json"), m.dump());
    auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
    INFO(estimator << " " << extra_config << "\n" << r.output);
    REQUIRE(r.exit_code == 0);
    json s = read_json_file(dir.file("out/summary.json"));
    CHECK(std::fabs(s["parameters"]["theta"]["mean"].get<double>() - 0.25) < 0.1);
    CHECK(std::fabs(s["parameters"]["theta"]["std"].get<double>() / std::sqrt(0.5) - 1) < 0.12);
    if (!check_density) return;
    simbi_test::write_file(dir.file("t.csv"), "theta\n-0.5\n0.25\n1.0\n");
    simbi_test::write_file(dir.file("x.csv"), "x\n0.5\n0.5\n0.5\n");
    auto lp = run_cli("log-prob " + dir.file("out/artifact") + " --theta " + dir.file("t.csv") + " --x " + dir.file("x.csv") +
                      " --plugin-path " SIMBI_TEST_TOY_DIR);
    INFO(lp.output);
    REQUIRE(lp.exit_code == 0);
    std::vector<double> got = parse_column(lp.output);
    REQUIRE(got.size() == 3);
    const double thetas[3] = {-0.5, 0.25, 1.0};
    for (int i = 0; i < 3; ++i) {
        const double exact = -0.5 * std::pow(thetas[i] - 0.25, 2) / 0.5 - 0.5 * std::log(2 * M_PI * 0.5);
        CHECK(std::fabs(got[size_t(i)] - exact) < 0.2);
    }
}

TEST_CASE("FMPE recovers the toy posterior and its density", "[estimators][fmpe]") { check_toy_posterior("simbi.fmpe", "", true); }

TEST_CASE("NPSE learns the score of the Gaussian toy posterior (VP, DDIM sampling, density by the probability-flow ODE)",
          "[estimators][npse]") {
    check_toy_posterior("simbi.npse", "", true);
}

TEST_CASE("NPSE samples the Gaussian toy posterior by the reverse SDE (VE), predictor-corrector and the ODE (VP)", "[estimators][npse]") {
    check_toy_posterior("simbi.npse", R"({"schedule": "ve", "sampler": "sde", "steps": 200})", true);
    check_toy_posterior("simbi.npse", R"({"sampler": "pc", "steps": 200})", false);
    check_toy_posterior("simbi.npse", R"({"sampler": "ode", "steps": 50})", false);
}

TEST_CASE("a changed sampling-only setting samples the kept network with the new sampler", "[estimators][npse][fmpe][sampling]") {
    for (const std::string id : {"simbi.npse", "simbi.fmpe"}) {
        INFO(id);
        TempDir dir;
        simbi_test::write_file(dir.file("m.json"), toy_manifest(id, 1000, R"(, "max_epochs": 5)"));
        REQUIRE(simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q").exit_code == 0);
        const std::string before = simbi_test::read_file(dir.file("out/artifact/simbi.json"));
        const std::string set = id == "simbi.npse" ? "estimator.config.steps=5" : "estimator.config.solver=rk4";
        auto again = run_cli("run " + dir.file("m.json") + " --set " + set, "SIMBI_DEBUG=1");
        INFO(again.output);
        REQUIRE(again.exit_code == 0);
        CHECK_THAT(again.output, Catch::Contains("train: up to date"));
        // ddim at 5 steps: 6 passes; rk4 at its 10 steps: 40.
        CHECK_THAT(again.output, Catch::Contains(id == "simbi.npse" ? "in 6 network passes (ddim)" : "in 40 network passes, 40"));
        CHECK(simbi_test::read_file(dir.file("out/artifact/simbi.json")) == before);
    }
}

TEST_CASE("the ODE estimators recover a 2-D mixture, and their densities integrate to 1", "[estimators][npse][fmpe]") {
    // test.mirror_2d at x = (2, 0.5): theta_1 an even mixture of N(+-m_1, v), theta_2 ~ N(m_2, v)
    // (mirror_2d.cpp); the truncation at 0 moves 5e-5 of the mass, far below what is checked.
    const double v = 4 * 0.25 / 4.25, m1 = 2.0 * v / 0.25, m2 = 0.5 * v / 0.25;
    TempDir dir;
    std::string exact = "theta_1,theta_2\n";
    simbi_rng rng;
    simbi_rng_init(&rng, 11, 0);
    for (int i = 0; i < 4000; ++i) {
        const double side = simbi_rng_uniform(&rng) < 0.5 ? -1 : 1;
        const double a = side * (m1 + std::sqrt(v) * simbi_rng_normal(&rng)), b = m2 + std::sqrt(v) * simbi_rng_normal(&rng);
        exact += std::to_string(a) + "," + std::to_string(b) + "\n";
    }
    simbi_test::write_file(dir.file("exact.csv"), exact);
    // The density on a grid of spacing 0.2 over [-4.6, 4.6] x [-2.2, 3.2], 7 posterior standard
    // deviations past every mode: a Riemann sum of a smooth density at a spacing of 0.4 of its
    // scale is exact to far below the tolerance.
    std::string grid = "theta_1,theta_2\n", xs = "x0,x1\n";
    int points = 0;
    for (int i = 0; i <= 46; ++i)
        for (int j = 0; j <= 27; ++j, ++points) {
            grid += std::to_string(-4.6 + 0.2 * i) + "," + std::to_string(-2.2 + 0.2 * j) + "\n";
            xs += "2.0,0.5\n";
        }
    simbi_test::write_file(dir.file("grid.csv"), grid);
    simbi_test::write_file(dir.file("x.csv"), xs);
    for (std::string id : {"simbi.npse", "simbi.fmpe"}) {
        INFO(id);
        simbi_test::write_file(dir.file("m.json"), std::string(R"({"simbi": 1, "plugin_paths": [")") + SIMBI_TEST_TOY_DIR + R"("],
          "simulator": {"id": "test.mirror_2d"}, "simulation": {"budget": 8000, "seed": 1, "store": "sims.h5"},
          "estimator": {"id": ")" + id + R"(", "training": {"max_epochs": 200}},
          "observation": {"x": [2.0, 0.5]}, "inference": {"samples": 4000, "seed": 2}, "output": ")" +
                                                       id + R"("})");
        auto r = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        auto c2st = run_cli("c2st " + dir.file("exact.csv") + " " + dir.file(id + "/posterior.csv"));
        INFO(c2st.output);
        REQUIRE(c2st.exit_code == 0);
        CHECK(std::stod(c2st.output) <= 0.55);
        auto lp = run_cli("log-prob " + dir.file(id + "/artifact") + " --theta " + dir.file("grid.csv") + " --x " + dir.file("x.csv") +
                          " --plugin-path " SIMBI_TEST_TOY_DIR);
        REQUIRE(lp.exit_code == 0);
        std::vector<double> got = parse_column(lp.output);
        REQUIRE(int(got.size()) == points);
        double mass = 0;
        for (double l : got) mass += std::exp(l) * 0.04;
        CHECK(std::fabs(mass - 1) < 0.05);
    }
}
#endif

TEST_CASE("a swapped-in vector-field estimator keeps training past a short patience, and says the patience is short",
          "[estimators][swap]") {
    TempDir dir;
    simbi_test::write_file(dir.file("m.json"), R"({"simbi": 1, "simulator": {"id": "sbibm.two_moons"},
        "simulation": {"budget": 300, "seed": 1, "store": "s.h5"},
        "estimator": {"id": "simbi.npe", "training": {"patience": 1, "max_epochs": 40}}, "output": "out"})");
    // NPE stops at its patience; FMPE, swapped in, trains to its declared minimum first.
    auto npe = simbi_test::run_command_in_process("run " + dir.file("m.json") + " -q");
    REQUIRE(npe.exit_code == 0);
    CHECK(read_json_file(dir.file("out/losses.json"))["train_loss"].size() < 30);
    auto fmpe = simbi_test::run_command_in_process("run " + dir.file("m.json") +
                                                   " -q --force --set estimator.id=simbi.fmpe --set estimator.training.min_epochs=30");
    INFO(fmpe.output);
    REQUIRE(fmpe.exit_code == 0);
    CHECK(read_json_file(dir.file("out/losses.json"))["train_loss"].size() >= 30);
    CHECK_THAT(
        fmpe.output,
        Catch::Contains("note: estimator 'simbi.fmpe': training.patience 1 is below the 50 it takes as sensible (its default is 100)"));
    // Each estimator judges by its own declaration.
    CHECK_THAT(npe.output, Catch::Contains("note: estimator 'simbi.npe': training.patience 1 is below the 10 it takes as sensible"));
}
