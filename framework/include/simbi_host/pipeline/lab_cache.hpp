// The lab cache's contents: stores of simulations under their setup's fingerprint
// (<cache>/stores/<fingerprint>.h5) and published posteriors (<cache>/posteriors/<name>/, a
// trained artifact with provenance.json). Files are the truth; nothing here keeps an index.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "simbi_host/core/json_reader.hpp"

namespace simbi::host {

struct CacheEntry {
    std::string kind;  // "store" or "posterior"
    std::string name;  // the file name of a store, the published name of a posterior
    std::string path;
    std::string owner;
    uint64_t bytes = 0;
    std::time_t modified = 0;  // its modification time
    json details;              // a store's simulator, rows and seed; a posterior's provenance
    double age_days() const { return double(std::time(nullptr) - modified) / 86400.0; }
};

// A user's name for uid (the number itself when it has none), and a time as UTC ISO 8601.
std::string user_name(uid_t uid);
std::string utc_time(std::time_t t);

// Every store and posterior in the cache, oldest first.
std::vector<CacheEntry> list_cache(const std::string& cache);

// Copies RUN_DIR/artifact into <cache>/posteriors/NAME with provenance.json (who, when, the run's
// simulator, estimator, budget and its diagnostics' verdicts). NAME: [a-z0-9_.-]; an existing
// NAME is refused. Written beside and renamed into place: readers see all of it or none.
std::string publish_posterior(const std::string& cache, const std::string& run_dir, const std::string& name);

// What the cache shares, as a lab shares it: readable by the group (folders searchable by it),
// written once, so writable by its owner alone, whatever the writer's umask (a umask that hides a
// file from others stands). Files
// take a setgid folder's group from the system. Applied to a file, or to a folder and everything
// in it.
void share_with_group(const std::string& path);

// "lab:NAME" to <cache>/posteriors/NAME/artifact; any other text unchanged.
std::string resolve_artifact(const std::string& text);

// Checks every store's and posterior's checksums; returns one line per problem.
std::vector<std::string> verify_cache(const std::string& cache);

// Removes the oldest stores until the stores take at most max_bytes, skipping any whose lock is
// held (a store being written or read under its lock); returns what was removed.
std::vector<std::string> gc_cache(const std::string& cache, uint64_t max_bytes);

}  // namespace simbi::host
