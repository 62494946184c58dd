// The headline and figures of a diagnostic's report (simbi/ext/diagnostic_report.h): checked for
// their shape, and drawn. The host's report draws every diagnostic through these, knowing none by
// its id.
#pragma once
#include <string>

#include "simbi_host/core/json_reader.hpp"

namespace simbi::host {

// Checks a report against the form the extension's header gives: every figure's kind, its arrays'
// lengths and types. Throws RunError "<where>: figure N (kind): ..." for the first mismatch.
void check_diagnostic_report(const json& report, const std::string& where);

// One checked figure as HTML: a standalone SVG document for curves, histograms and points (also
// returned in *svg, for plots/<id>.svg), a table for tables (*svg empty).
std::string render_figure(const json& figure, const std::string& id, std::string* svg);

}  // namespace simbi::host
