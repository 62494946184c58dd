#include "simbi_host/csv.hpp"

#include "simbi_host/errors.hpp"

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

}  // namespace simbi::host
