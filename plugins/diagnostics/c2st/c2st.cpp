// simbi.c2st: the classifier two-sample test (Lopez-Paz & Oquab 2017) with sbibm's protocol
// (Lueckmann et al. 2021), the one bench/ uses: a held-out accuracy of 0.5 means the two samples
// are indistinguishable, 1.0 that they are fully separated.
//
// It compares posterior draws at the run's observation with reference samples from a CSV file
// (a header row, one sample per row; e.g. sbibm's reference posterior), or two CSV files with
// no posterior at all (`simbi c2st A.csv B.csv`). Relative paths are taken from the working
// directory.
#include <fstream>
#include <sstream>

#include <simbi/diagnostic.hpp>

#include "neural/c2st.hpp"

namespace {

std::vector<std::vector<double>> read_csv(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::string line;
    std::getline(in, line);  // the header
    std::vector<std::vector<double>> rows;
    size_t line_no = 1;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.empty() || line == "\r") continue;
        std::vector<double> row;
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, ',')) {
            size_t used = 0;
            double v = 0;
            try {
                v = std::stod(cell, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            while (used < cell.size() && (cell[used] == ' ' || cell[used] == '\r')) ++used;
            if (used != cell.size() || cell.empty() || !std::isfinite(v))
                throw std::runtime_error(path + ":" + std::to_string(line_no) + ": '" + cell.substr(0, 40) + "' is not a finite number");
            row.push_back(v);
        }
        if (!rows.empty() && row.size() != rows[0].size())
            throw std::runtime_error(path + ":" + std::to_string(line_no) + ": " + std::to_string(row.size()) +
                                     " columns, the first row has " + std::to_string(rows[0].size()));
        rows.push_back(std::move(row));
    }
    if (rows.size() < 10) throw std::runtime_error(path + ": fewer than 10 samples");
    return rows;
}

torch::Tensor as_tensor(const std::vector<double>& flat, int64_t rows, int64_t cols) {
    return torch::tensor(flat, torch::kFloat64).view({rows, cols});
}

torch::Tensor as_tensor(const std::vector<std::vector<double>>& rows) {
    std::vector<double> flat;
    for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
    return as_tensor(flat, int64_t(rows.size()), int64_t(rows[0].size()));
}

class C2st final : public simbi::Diagnostic {
public:
    using adapter = simbi::DiagnosticAdapter<C2st>;

    static simbi::Info info() {
        simbi::Info i("simbi.c2st", "Classifier two-sample test", SIMBI_KIND_DIAGNOSTIC);
        i.version("1.0.0").vendor("simbi").description(
            "C2ST accuracy between posterior draws (or a sample file) and reference samples, with sbibm's protocol: 0.5 is "
            "indistinguishable.");
        i.option("reference", simbi::Option::string("").unset().doc("CSV of reference samples (header row); required"))
            .option("samples", simbi::Option::string("").unset().doc("CSV of samples to compare instead of the posterior's draws"))
            .option("draws", simbi::Option::integer(10000).minimum(10).maximum(10000000).doc(
                                 "posterior draws at the observation, at most as many as reference rows"))
            .option("folds", simbi::Option::integer(5).minimum(2).maximum(100).doc("cross-validation folds"));
        return i;
    }

    C2st(const simbi::Config& c, const simbi_host*) {
        reference_ = c.string("reference", "");
        samples_ = c.string("samples", "");
        draws_ = c.integer("draws");
        folds_ = c.integer("folds");
        if (reference_.empty()) throw std::invalid_argument("reference: a CSV file of reference samples is required");
    }

    void run(const simbi::DiagnosticContext& ctx) override {
        simbi::nn::ThreadScope one(1);
        const auto reference = read_csv(reference_);
        torch::Tensor ref = as_tensor(reference), other;
        if (!samples_.empty()) {
            other = as_tensor(read_csv(samples_));
        } else {
            const auto obs = ctx.observation();
            if (obs.empty()) throw std::runtime_error("C2ST against a reference needs the run's observation (or a samples file)");
            std::vector<double> x;
            for (const auto& r : obs) x.insert(x.end(), r.begin(), r.end());
            const uint64_t n = std::min<uint64_t>(uint64_t(draws_), reference.size());
            other = as_tensor(ctx.sample(x.data(), obs.size(), n, simbi_rng_mix(ctx.seed(), 1)), int64_t(n), int64_t(ctx.theta_dim()));
        }
        if (ref.size(1) != other.size(1))
            throw std::runtime_error("the reference has " + std::to_string(ref.size(1)) + " columns, the samples " +
                                     std::to_string(other.size(1)));
        const int64_t n = std::min(ref.size(0), other.size(0));
        const double accuracy = simbi::nn::c2st(ref.narrow(0, 0, n), other.narrow(0, 0, n), simbi_rng_mix(ctx.seed(), 2), folds_);
        ctx.put("accuracy", accuracy);
        ctx.put("samples", double(n));
        ctx.put("dimensions", double(ref.size(1)));
        char line[120];
        std::snprintf(line, sizeof line, "c2st: accuracy %.4f on %lld samples each (0.5: indistinguishable)", accuracy, (long long)n);
        ctx.log(SIMBI_LOG_INFO, line);
        ctx.report()
            .verdict(accuracy < 0.55  ? "indistinguishable"
                     : accuracy < 0.7 ? "close"
                                      : "distinguishable")
            .number("accuracy", accuracy)
            .number("samples", double(n));
    }

private:
    std::string reference_, samples_;
    long long draws_, folds_;
};

}  // namespace

SIMBI_EXPORT_PLUGINS(C2st)
