// CSV as simbi writes and reads it (RFC 4180): a field with a comma, a quote or a line break is
// quoted, with its quotes doubled; every other field is written as it is.
#pragma once
#include <string>
#include <vector>

namespace simbi::host {

// One field, quoted when it must be.
std::string csv_field(const std::string& text);
// The fields of one line (without its line break); throws UsageError "<where>: ..." for an
// unterminated quote or text after a closing quote.
std::vector<std::string> split_csv_line(const std::string& line, const std::string& where);

// The whole of text as one finite number, or UsageError naming `where`.
double parse_number_strict(const std::string& text, const std::string& where);

// Reads observations from a CSV file with a header row: one row per observation.
std::vector<std::vector<double>> read_csv_rows(const std::string& path);

}  // namespace simbi::host
