#include "simbi_host/core/csv.hpp"

#include <cmath>
#include <fstream>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/json_reader.hpp"

namespace simbi::host {

std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::vector<std::string> split_csv_line(const std::string& line, const std::string& where) {
    std::vector<std::string> fields;
    std::string field;
    size_t i = 0;
    const size_t n = line.size() && line.back() == '\r' ? line.size() - 1 : line.size();
    for (;;) {
        field.clear();
        if (i < n && line[i] == '"') {
            for (++i;; ++i) {
                if (i >= n) throw UsageError(where + ": a quoted field is not closed");
                if (line[i] == '"') {
                    if (i + 1 < n && line[i + 1] == '"') {
                        field += '"';
                        ++i;
                        continue;
                    }
                    ++i;
                    break;
                }
                field += line[i];
            }
            if (i < n && line[i] != ',') throw UsageError(where + ": text after a closing quote");
        } else {
            while (i < n && line[i] != ',') field += line[i++];
        }
        fields.push_back(field);
        if (i >= n) break;
        ++i;  // the comma
    }
    return fields;
}

double parse_number_strict(const std::string& text, const std::string& where) {
    const size_t b = text.find_first_not_of(" \t\r"), e = text.find_last_not_of(" \t\r");
    if (b == std::string::npos) throw UsageError(where + ": an empty value where a number belongs");
    const std::string token = text.substr(b, e - b + 1);
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(token, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != token.size()) throw UsageError(where + ": '" + clip(token, 60) + "' is not a number");
    if (!std::isfinite(v)) throw UsageError(where + ": '" + clip(token, 60) + "' is not a finite number");
    return v;
}

std::vector<std::vector<double>> read_csv_rows(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw UsageError(path + ": cannot read");
    std::string line;
    std::vector<std::vector<double>> rows;
    size_t lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        if (lineno == 1 || line.find_first_not_of(" \t\r") == std::string::npos) continue;  // header
        std::vector<double> row;
        const std::string where = path + ":" + std::to_string(lineno);
        for (const auto& cell : split_csv_line(line, where))
            row.push_back(parse_number_strict(cell, where + ": column " + std::to_string(row.size() + 1)));
        if (!rows.empty() && row.size() != rows[0].size())
            throw UsageError(path + ":" + std::to_string(lineno) + ": expected " + std::to_string(rows[0].size()) + " values, found " +
                             std::to_string(row.size()));
        rows.push_back(row);
    }
    if (rows.empty()) throw UsageError(path + ": no data rows below the header");
    return rows;
}

}  // namespace simbi::host
