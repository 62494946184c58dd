// Where a simulator's invalid rows lie: per parameter, a chi-square test of homogeneity of the
// invalid fraction over bins of equal prior mass (Pearson's test on the 2 x B table of invalid and
// kept rows per bin, B - 1 degrees of freedom).
#include "simbi_host/pipeline/invalid_rows.hpp"

#include <simbi/stats.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

#include "simbi_host/pipeline/round_service.hpp"
#include "simbi_host/pipeline/simulation_engine.hpp"

namespace simbi::host {
namespace {

constexpr double kAlpha = 1e-3;               // before the Bonferroni split over parameters
constexpr uint64_t kMinInvalid = 20;          // fewer invalid rows test nothing worth a warning
constexpr uint64_t kMaxRowsTested = 1000000;  // the first rows suffice to place a region

// Rounded as the store keeps them, so that a kept value equals the attempted value it came from.
double as_stored(double v, bool float64) { return float64 ? v : double(float(v)); }

InvalidRowsByParameter test_one(const std::string& name, const std::vector<double>& attempted, const std::vector<double>& kept,
                                uint64_t invalid) {
    InvalidRowsByParameter r;
    r.parameter = name;
    std::vector<double> sorted = attempted;
    std::sort(sorted.begin(), sorted.end());
    const uint64_t n = sorted.size();
    // At least five expected invalid rows per bin, as Pearson's approximation asks.
    const unsigned bins = unsigned(std::clamp<uint64_t>(invalid / 5, 2, 10));
    std::vector<double> edges;  // bin b holds values in [edges[b-1], edges[b])
    for (unsigned b = 1; b < bins; ++b) edges.push_back(sorted[b * n / bins]);
    edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
    const size_t nb = edges.size() + 1;
    auto bin_of = [&](double v) { return size_t(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin()); };
    std::vector<double> drawn(nb, 0), left(nb, 0);
    for (double v : attempted) drawn[bin_of(v)] += 1;
    for (double v : kept) left[bin_of(v)] += 1;
    const double total = double(n), bad = double(invalid), good = total - bad;
    double chi2 = 0;
    unsigned used = 0;
    std::vector<double> lost(nb);
    for (size_t b = 0; b < nb; ++b) {
        lost[b] = std::max(0.0, drawn[b] - left[b]);
        if (drawn[b] == 0) continue;
        ++used;
        const double e_bad = drawn[b] * bad / total, e_good = drawn[b] * good / total;
        chi2 += (lost[b] - e_bad) * (lost[b] - e_bad) / e_bad + (left[b] - e_good) * (left[b] - e_good) / e_good;
    }
    r.bins = used;
    r.statistic = chi2;
    r.p_value = used > 1 ? simbi::gamma_q(0.5 * double(used - 1), 0.5 * chi2) : 1.0;
    // The over-represented span: from the first to the last bin whose invalid fraction exceeds
    // the overall one.
    size_t first = nb, last = 0;
    for (size_t b = 0; b < nb; ++b)
        if (drawn[b] > 0 && lost[b] / drawn[b] > bad / total) {
            first = std::min(first, b);
            last = b;
        }
    if (first < nb) {
        // The span's bounds: its first and last invalid values (attempted less kept, as multisets).
        std::vector<double> kept_sorted = kept, lost_values;
        std::sort(kept_sorted.begin(), kept_sorted.end());
        std::set_difference(sorted.begin(), sorted.end(), kept_sorted.begin(), kept_sorted.end(), std::back_inserter(lost_values));
        r.low = sorted.back();
        r.high = sorted.front();
        for (double v : lost_values) {
            const size_t b = bin_of(v);
            if (b < first || b > last) continue;
            r.low = std::min(r.low, v);
            r.high = std::max(r.high, v);
        }
        double in_lost = 0, in_drawn = 0;
        for (size_t b = first; b <= last; ++b) {
            in_lost += lost[b];
            in_drawn += drawn[b];
        }
        r.invalid_share = in_lost / bad;
        r.draw_share = in_drawn / total;
    }
    return r;
}

}  // namespace

InvalidRowsReport test_invalid_rows(const SimulationPart& part, const StoreTotals& totals, const std::string& store_path) {
    InvalidRowsReport r;
    r.simulated = totals.simulated;
    r.invalid = totals.invalid;
    r.kept = totals.kept;
    const bool drop = part.settings.invalid == "drop";
    r.dropped = drop ? totals.simulated - totals.kept : 0;
    // Under "drop", row i's parameters are the prior's draw i, kept or not; the test compares them
    // with the kept rows. ("resample" redraws where the simulator failed, which narrows the same
    // region, but its attempts are not rows of the store.)
    if (!drop || r.invalid < kMinInvalid || r.kept == 0 || r.simulated > kMaxRowsTested) return r;
    const std::unique_ptr<DatasetReader> store = open_training_store(store_path, *part.simulator);
    if (store->rows() != r.kept) return r;
    const uint64_t d = part.prior->dim(), n = r.simulated;
    std::vector<double> attempted(n * d), kept(r.kept * d);
    part.prior->sample_rows(n, SimulationEngine::prior_seed(part.settings.seed, 0), 0, attempted.data());
    store->read(0, r.kept, kept.data(), nullptr);
    r.tested = true;
    const auto& names = part.simulator->param_names;
    for (uint64_t j = 0; j < d; ++j) {
        std::vector<double> a(n), k(r.kept);
        for (uint64_t i = 0; i < n; ++i) a[i] = as_stored(attempted[i * d + j], part.settings.float64);
        for (uint64_t i = 0; i < r.kept; ++i) k[i] = kept[i * d + j];
        InvalidRowsByParameter t = test_one(j < names.size() ? names[j] : "theta" + std::to_string(j), a, k, r.invalid);
        t.concentrated = t.p_value < kAlpha / double(d);
        r.parameters.push_back(t);
    }
    return r;
}

json InvalidRowsReport::to_json() const {
    json j = {{"simulated", simulated}, {"invalid", invalid}, {"dropped", dropped}, {"kept", kept}};
    if (!tested) return j;
    json per = json::array();
    for (const auto& p : parameters)
        per.push_back({{"parameter", p.parameter},
                       {"bins", p.bins},
                       {"chi_square", p.statistic},
                       {"p_value", p.p_value},
                       {"concentrated", p.concentrated},
                       {"region", {p.low, p.high}},
                       {"invalid_share", p.invalid_share},
                       {"draw_share", p.draw_share}});
    j["invalid_by_parameter"] = per;
    return j;
}

std::string p_text(double p) {
    char text[32];
    if (p < 1e-300) return "< 1e-300";
    std::snprintf(text, sizeof text, "= %.2g", p);
    return text;
}

std::string InvalidRowsReport::warning() const {
    const InvalidRowsByParameter* worst = nullptr;
    for (const auto& p : parameters)
        if (p.concentrated && (!worst || p.p_value < worst->p_value)) worst = &p;
    if (!worst) return "";
    char text[640];
    std::snprintf(text, sizeof text,
                  "warning: %llu of %llu simulations were invalid and dropped, and they gather where %s is in [%.4g, %.4g]: "
                  "%.0f%% of the invalid rows, %.0f%% of the prior's draws (chi-square p %s). Dropping them narrows the "
                  "effective prior there; the posterior is conditioned on the simulator succeeding",
                  (unsigned long long)invalid, (unsigned long long)simulated, worst->parameter.c_str(), worst->low, worst->high,
                  100 * worst->invalid_share, 100 * worst->draw_share, p_text(worst->p_value).c_str());
    return text;
}

}  // namespace simbi::host
