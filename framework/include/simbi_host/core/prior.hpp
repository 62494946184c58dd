// Priors p(theta): box uniform, normal (diagonal or full covariance), log-uniform, log-normal, and
// independent products of these. Each samples, evaluates log p and checks its support.
#pragma once
#include <memory>
#include <simbi/rng.h>
#include <string>
#include <vector>

#include "simbi_host/core/json_reader.hpp"

namespace simbi::host {

class Prior {
public:
    virtual ~Prior() = default;
    size_t dim() const { return lower_.size(); }
    // Draws one row from rng.
    virtual void sample(simbi_rng& rng, double* theta) const = 0;
    // Draws global row `row` of a dataset; a proposal that fixes its rows in advance overrides it.
    virtual void sample_row(uint64_t row, simbi_rng& rng, double* theta) const {
        (void)row;
        sample(rng, theta);
    }
    // log p(theta); -inf outside the support.
    virtual double log_prob(const double* theta) const = 0;
    bool in_support(const double* theta) const;
    const std::vector<double>& lower() const { return lower_; }
    const std::vector<double>& upper() const { return upper_; }
    // The canonical JSON of this prior (what the manifest said, normalized).
    const json& spec() const { return spec_; }

    // Draws rows [row_offset, row_offset + n) of the stream `seed`, attempt 0.
    void sample_rows(uint64_t n, uint64_t seed, uint64_t row_offset, double* theta) const;

protected:
    std::vector<double> lower_, upper_;
    json spec_;
};

// Fixed rows drawn beforehand (e.g. from a truncated prior), in place of fresh prior draws: row i
// of the dataset is rows[i]. Densities and support are the base prior's.
class TableProposal : public Prior {
public:
    TableProposal(const Prior& base, std::vector<double> rows);
    void sample(simbi_rng& rng, double* theta) const override { base_.sample(rng, theta); }
    void sample_row(uint64_t row, simbi_rng& rng, double* theta) const override;
    double log_prob(const double* theta) const override { return base_.log_prob(theta); }
    uint64_t rows() const { return rows_.size() / dim(); }

private:
    const Prior& base_;
    std::vector<double> rows_;
};

// Parses a prior object; errors name the JSON path. `where` is the file for messages.
std::unique_ptr<Prior> parse_prior(const JsonReader& reader);
std::unique_ptr<Prior> parse_prior_json(const std::string& text, const std::string& where);

}  // namespace simbi::host
