// The config that the time-conditioned estimators (FMPE, NPSE) share: the field network's widths,
// the x embedding, and the dimension above which log_prob estimates the divergence.
#pragma once
#include "neural.hpp"

namespace simbi::nn {

struct TimeFieldOptions {
    std::vector<int64_t> hidden;
    json embedding;
    int64_t exact_divergence_dim = 10;

    // network: what the MLP computes, e.g. "vector field" or "score network".
    static void declare(simbi::Info& i, const std::string& network) {
        i.option("hidden", widths_option({128, 128, 128}, "hidden widths of the " + network + "'s MLP (ELU units)"));
        declare_embedding_option(i);
        i.option("exact_divergence_dim",
                 simbi::Option::integer(10).minimum(0).maximum(10000).doc(
                     "up to this many parameters log_prob uses the exact divergence, above it Hutchinson's estimate"));
    }

    static TimeFieldOptions read(const simbi::Config& c) {
        return {int_list(c, "hidden"), read_embedding(c), c.integer("exact_divergence_dim")};
    }
};

}  // namespace simbi::nn
