// "Did you mean": the closest of a list of words to a misspelt one.
#pragma once
#include <string>
#include <vector>

namespace simbi::host {

// The candidate nearest to `word` by edit distance (Levenshtein), when it is near enough to be a
// likely typo (at most 2 edits, and fewer than half the word's letters); "" otherwise.
std::string closest_word(const std::string& word, const std::vector<std::string>& candidates);
// "; did you mean 'x'?" for closest_word, or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace simbi::host
