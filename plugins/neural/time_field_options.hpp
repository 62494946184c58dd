// The config that the time-conditioned estimators (FMPE, NPSE) share: the field network's widths,
// the x embedding, and the dimension above which log_prob estimates the divergence.
#pragma once
#include <stdexcept>

#include "neural.hpp"

namespace simbi::nn {

struct TimeFieldOptions {
    std::vector<int64_t> hidden;
    json embedding;
    int64_t exact_divergence_dim = 10;

    // network: what the MLP computes, e.g. "vector field" or "score network".
    static void declare(simbi::Info& i, const std::string& network) {
        i.option("hidden", "array", "[128, 128, 128]", "hidden widths of the " + network + "'s MLP (ELU units)")
            .option("embedding", "object", "{\"type\": \"none\"}", "x embedding: {type: none|mlp|cnn, hidden, features, channels}")
            .option("exact_divergence_dim", "integer", "10", "up to this many parameters log_prob uses the exact divergence, above it Hutchinson's estimate");
    }

    static TimeFieldOptions read(const simbi::Config& c) {
        TimeFieldOptions o;
        o.hidden = int_list(c, "hidden", {128, 128, 128});
        o.embedding = EmbeddingImpl::validate(json::parse(c.json_text("embedding", R"({"type": "none"})")));
        o.exact_divergence_dim = c.integer("exact_divergence_dim", 10);
        if (o.hidden.empty()) throw std::invalid_argument("hidden needs at least one layer");
        for (int64_t h : o.hidden)
            if (h < 1 || h > 65536) throw std::invalid_argument("hidden widths must be in 1..65536");
        if (o.exact_divergence_dim < 0 || o.exact_divergence_dim > 10000) throw std::invalid_argument("exact_divergence_dim must be in 0..10000");
        return o;
    }
};

}  // namespace simbi::nn
