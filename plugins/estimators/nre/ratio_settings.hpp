// The settings of simbi.nre and simbi.bnre: declared once with their bounds, read from a checked
// config, resolved against the training rows for those left unset, and kept in the artifact.
#pragma once
#include <optional>

#include "neural/classifier.hpp"
#include "neural/neural.hpp"

namespace simbi::nn {

struct RatioSettings {
    // Five classifiers whose mixture is the ratio: on sbibm's tasks it lowered C2ST where
    // anything changed, at 2-5 times the training time.
    static constexpr int64_t kDefaultEnsemble = 5;
    // Small datasets (fewer training rows than this): NRE gets dropout 0.1 and early stopping
    // judged on the ensemble's mixture, which help at 10^3 simulations and hurt at 10^4; BNRE
    // trains one classifier, as in the paper, whose expected coverage was conservative there
    // where the ensemble's was not (docs/benchmarks.md).
    static constexpr int64_t kSmallData = 2000;
    // Held-out rows that estimate the balance, at most (each is evaluated at every step).
    static constexpr int64_t kHeldOutRows = 2048;

    std::vector<int64_t> hidden;
    std::string network = "mlp";
    json embedding;
    double lambda = 0, dropout = 0;
    int64_t negatives = 1, ensemble = 1;
    bool contrastive = false, validate_mixture = false;
    BalancePenalty::Settings balance;

    static void declare(simbi::Info& i, bool balanced) {
        using simbi::Option;
        const std::string small = std::to_string(kSmallData), members = std::to_string(kDefaultEnsemble);
        i.option("hidden",
                 widths_option({64, 64, 64}, "hidden widths of the classifier on (theta, x); residual: one equal width per block"))
            .option("network", kind_option(network_kinds(), "mlp").doc("classifier: " + kind_choices(network_kinds())));
        declare_embedding_option(i);
        Option dropout = Option::number(0).minimum(0).below(1);
        if (!balanced) dropout.unset();
        i.option("dropout", dropout.doc("dropout probability after each hidden layer of an mlp classifier" +
                                        std::string(balanced ? "" : "; unset: 0.1 below " + small + " training rows, else 0")))
            .option(
                "validation",
                Option::choice({"mixture", "members"}, "mixture")
                    .unset()
                    .doc("what early stopping judges: mixture (the ensemble's classifier, the one sampled from) | members (the sum of the "
                         "members' losses); unset: mixture below " +
                         small + " training rows, else members"))
            .option("negatives", Option::integer(8).minimum(1).maximum(64).doc(
                                     "marginal pairs per joint pair in a batch (each x paired with this many other rows' theta)"))
            .option("ensemble",
                    Option::integer(kDefaultEnsemble)
                        .unset()
                        .minimum(1)
                        .maximum(32)
                        .doc("classifiers trained side by side from different initial weights; the posterior is their mixture; unset: " +
                             (balanced ? "1 below " + small + " training rows, else " + members
                                       : members + " (with the contrastive loss: 1)")));
        if (balanced) {
            i.option("lambda", Option::number(100).minimum(0).maximum(1e6).doc("weight of the balancing penalty"))
                .option(
                    "penalty",
                    Option::choice({"batch", "unbiased", "pooled"}, "pooled")
                        .doc(
                            "estimate of the penalty: batch (square of the batch mean, as the paper) | unbiased (U-statistic over distinct "
                            "rows) | pooled (its gradient's factor from this epoch's recent batches at the current weights)"))
                .option("pool", Option::integer(8).minimum(1).maximum(256).doc(
                                    "pooled penalty: how many recent batches, this one included, estimate E_joint[d] + E_marginal[d] - 1"))
                .option("pool_pairs",
                        Option::integer(1).minimum(1).maximum(64).doc(
                            "pooled penalty: marginal pairs per row when an earlier batch is re-evaluated (at most negatives)"))
                .option("balance", Option::choice({"batches", "held_out"}, "batches")
                                       .doc("rows the penalty is estimated on: batches (each training batch, by `penalty`) | held_out (the "
                                            "validation rows, up "
                                            "to " +
                                            std::to_string(kHeldOutRows) +
                                            ", all at every step; early stopping then judges the cross-entropy alone)"));
        } else {
            i.option(
                "loss",
                Option::choice({"binary", "contrastive"}, "binary")
                    .doc("binary: cross-entropy of joint against marginal pairs; contrastive: pick the joint theta among K + 1 (NRE-B, "
                         "Durkan et al. 2020)"));
        }
    }

    // The settings of a checked config; those left unset wait for resolve().
    RatioSettings(const simbi::Config& c, bool balanced)
        : hidden(int_list(c, "hidden")), network(c.string("network")), embedding(read_embedding(c)), negatives(c.integer("negatives")) {
        contrastive = !balanced && c.string("loss") == "contrastive";
        if (c.has("dropout"))
            dropout_ = c.number("dropout");
        else if (network != "mlp")
            dropout_ = 0.0;
        network_kind(network).check(hidden, dropout_.value_or(0));
        if (c.has("validation")) mixture_ = c.string("validation") == "mixture";
        if (c.has("ensemble"))
            ensemble_ = c.integer("ensemble");
        else if (!balanced)
            ensemble_ = contrastive ? 1 : kDefaultEnsemble;
        // Each contrastive member's ratio carries its own factor c_m(x), which would weight the
        // mixture's members unequally.
        if (contrastive && ensemble_.value_or(1) > 1)
            throw std::invalid_argument("an ensemble needs the binary loss: contrastive ratios are known only up to a factor of x");
        if (balanced) {
            lambda = c.number("lambda");
            balance = {c.string("penalty"), c.integer("pool"), c.integer("pool_pairs"), c.string("balance") == "held_out"};
        }
    }

    // Fills the settings left unset from the number of training rows.
    void resolve(int64_t train_rows) {
        const bool small = train_rows < kSmallData;
        dropout = dropout_.value_or(small ? 0.1 : 0.0);
        validate_mixture = mixture_.value_or(small);
        ensemble = ensemble_.value_or(small ? 1 : kDefaultEnsemble);
    }

    json to_json() const {
        return {{"hidden", hidden},
                {"network", network},
                {"embedding", embedding},
                {"lambda", lambda},
                {"negatives", negatives},
                {"dropout", dropout},
                {"validation", validate_mixture ? "mixture" : "members"},
                {"ensemble", ensemble},
                {"loss", contrastive ? "contrastive" : "binary"},
                {"penalty", balance.estimate},
                {"pool", balance.pool},
                {"pool_pairs", balance.pool_pairs},
                {"balance", balance.held_out ? "held_out" : "batches"}};
    }

    // From an artifact's config; older artifacts lack the later keys.
    static RatioSettings from_json(const json& c) {
        RatioSettings s;
        s.hidden = c.at("hidden").get<std::vector<int64_t>>();
        s.embedding = c.at("embedding");
        s.network = c.value("network", std::string("mlp"));
        s.lambda = c.value("lambda", 0.0);
        s.negatives = c.value("negatives", int64_t(1));
        s.dropout = c.value("dropout", 0.0);
        s.validate_mixture = c.value("validation", std::string("members")) == "mixture";
        s.balance.estimate = c.value("penalty", std::string("batch"));
        s.balance.pool = c.value("pool", int64_t(1));
        s.balance.pool_pairs = c.value("pool_pairs", s.negatives);  // older artifacts re-evaluated the pool with all K pairs
        s.balance.held_out = c.value("balance", std::string("batches")) == "held_out";
        s.ensemble = c.value("ensemble", int64_t(1));
        s.contrastive = c.value("loss", std::string("binary")) == "contrastive";
        return s;
    }

private:
    RatioSettings() = default;
    std::optional<double> dropout_;
    std::optional<bool> mixture_;
    std::optional<int64_t> ensemble_;
};

}  // namespace simbi::nn
