// The lab's catalogue: the cache's stores and published posteriors, and the runs under the
// folders given, each with who, when, simulator, estimator, budget, coverage verdict and C2ST.
//
// The files are the truth. An SQLite index (<cache>/.simbi-index.sqlite) keeps what was read from
// them, with a signature of every file it was read from (path, size, modification time): when the
// signature differs, the index is missing, or it is a file simbi must not trust (another user's,
// or writable by others), the catalogue is read from the files again and the index rewritten
// (whole, by rename) where this user may, or kept in memory where not.
#pragma once
#include <string>
#include <vector>

namespace simbi::host {

struct CatalogueEntry {
    std::string kind;  // "store", "posterior" or "run"
    std::string name;
    std::string path;  // the store file, the posterior's folder, the run folder
    std::string owner;
    std::string modified;  // UTC, ISO 8601
    std::string simulator, estimator;
    long long budget = -1;  // -1: unknown
    std::string coverage;   // simbi.coverage's verdict, "" if none
    double c2st = -1;       // -1: none
    bool has_report = false;
};

struct Catalogue {
    std::vector<CatalogueEntry> entries;  // stores, posteriors, then runs, each by path
    std::string index;                    // the index file used, or ":memory:"
    bool rebuilt = false;                 // read from the files this time
};

// The catalogue of `cache` (may be "") and the run folders under run_roots (searched three levels
// deep for summary.json). force: read the files even if the index is current.
Catalogue load_catalogue(const std::string& cache, const std::vector<std::string>& run_roots, bool force);

}  // namespace simbi::host
