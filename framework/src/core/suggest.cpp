#include "simbi_host/core/suggest.hpp"

#include <algorithm>

namespace simbi::host {

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}
}  // namespace

std::string closest_word(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    size_t best_distance = std::min<size_t>(2, (word.size() + 1) / 2);
    for (const auto& c : candidates) {
        const size_t d = edit_distance(word, c);
        if (d > 0 && d <= best_distance && (best.empty() || d < edit_distance(word, best))) best = c;
    }
    return best;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
    const std::string c = closest_word(word, candidates);
    return c.empty() ? "" : "; did you mean '" + c + "'?";
}

}  // namespace simbi::host
