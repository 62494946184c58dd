// Where a simulator's invalid rows lie. Dropping them is harmless when they are spread evenly over
// the prior; when they gather in one region, the estimator learns a narrower prior there, which
// nothing else would say.
#pragma once
#include <string>
#include <vector>

#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/pipeline/plan.hpp"
#include "simbi_host/store/store.hpp"

namespace simbi::host {

// One parameter's test: the invalid fraction across bins of equal prior mass.
struct InvalidRowsByParameter {
    std::string parameter;
    unsigned bins = 0;
    double statistic = 0, p_value = 1;
    // The span of bins where invalid rows are over-represented: its bounds, and its shares of the
    // invalid rows and of all draws.
    double low = 0, high = 0, invalid_share = 0, draw_share = 0;
    bool concentrated = false;  // p_value below 0.001 / (number of parameters)
};

struct InvalidRowsReport {
    uint64_t simulated = 0, invalid = 0, dropped = 0, kept = 0;
    bool tested = false;  // under the drop policy, with enough invalid rows to test
    std::vector<InvalidRowsByParameter> parameters;
    json to_json() const;
    // The warning for the most concentrated parameter, or "" when none is.
    std::string warning() const;
};

// Chi-square test of homogeneity (a 2 x B table: invalid and kept rows per bin) per parameter.
// The attempted parameters are the prior's draws at rows 0..simulated-1, redrawn from the seed;
// the kept ones are read from the sealed store at store_path, opened only when there is a test.
InvalidRowsReport test_invalid_rows(const SimulationPart& part, const StoreTotals& totals, const std::string& store_path);

}  // namespace simbi::host
