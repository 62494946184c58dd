// A run folder: where `simbi run` writes, recognized by its marker file. simbi writes only into a
// folder that is new, empty, or a run folder, and never into "/" or a home folder.
#pragma once
#include <string>

namespace simbi::host {

// The marker: {"simbi_run": 1, "setup": "<key>"}, the key of the setup whose estimator the
// folder holds ("" when it holds none yet).
constexpr const char* kRunMarker = ".simbi-run.json";

struct RunFolder {
    std::string path;     // absolute
    bool exists = false;  // the folder is there already
    bool marked = false;  // it carries the marker
    std::string setup;    // the setup key the marker records
    bool has_artifact = false;
};

// Checks that `dir` may receive a run's outputs: a folder that does not exist yet, an empty one,
// or a run folder (its marker; or manifest.json and plugins.lock.json, as simbi wrote them before
// folders were marked). Throws UsageError for anything else, naming what is there and what a run
// would overwrite; "/" and home folders are refused even when empty.
RunFolder check_run_folder(const std::string& dir);
// Creates the folder (and its parents) if it is not there yet.
void create_run_folder(const RunFolder& folder);
// Writes the marker, recording `setup`.
void mark_run_folder(const std::string& dir, const std::string& setup);
// Throws UsageError unless dir is a run folder (for `simbi diagnose` and `simbi report`).
void require_run_folder(const std::string& dir);

}  // namespace simbi::host
