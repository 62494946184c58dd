// The run report: one self-contained HTML file (no script, font or image from elsewhere) that
// shows a run folder's posterior, training, diagnostics, manifest and provenance, and each plot
// again as a standalone SVG in plots/.
#pragma once
#include <string>
#include <vector>

namespace simbi::host {

// Reads what a run folder holds (manifest.json, settings.json, summary.json, losses.json,
// posterior.csv, diagnostics/, artifact/simbi.json; each optional but the manifest) and writes
// report.html and plots/*.svg there. Returns the files written, relative to the folder.
std::vector<std::string> write_report(const std::string& run_dir);

}  // namespace simbi::host
