// A lab's defaults for every run of one installation: plugin folders, the simulation cache, the
// thread count. Read from, in order, /etc/simbi/config.json (the machine), <prefix>/etc/simbi/
// config.json (this installation), $XDG_CONFIG_HOME/simbi/config.json (the user) and the file
// SIMBI_CONFIG names; a later file's key replaces an earlier one's. A manifest overrides all.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"

namespace simbi::host {

struct LabConfig {
    // Each setting with the file it came from ("" when no file sets it).
    std::vector<std::string> plugin_paths;  // absolute; searched after SIMBI_PLUGIN_PATH
    std::string plugin_paths_from;
    std::optional<unsigned> threads;  // simulation threads when a manifest names none (0: one per core)
    std::string threads_from;
    std::string cache;  // a folder of stores by setup fingerprint, for manifests that name no store
    std::string cache_from;
    // Every file looked at, and whether it was there.
    std::vector<std::pair<std::string, bool>> files;
};

// The configuration in effect, read once per process. Throws UsageError (exit 2) naming the file
// and key for a malformed file, and RunError for a file other users can write.
const LabConfig& lab_config();
// Reads the files anew (for `simbi config show` and tests).
LabConfig read_lab_config();

// Where a run looks for plugins: first_paths (the command line's, then the manifest's), then the
// lab's plugin folders, then the defaults; allow_unsafe as the command line or manifest asks.
RegistryOptions registry_options(std::vector<std::string> first_paths, bool allow_unsafe);

// Makes the cache folder and its stores/ if missing, and refuses (RunError) one that users
// outside its group can write.
void prepare_cache(const std::string& cache);
// <cache>/stores/<fingerprint>.h5, the cache folder made if missing (group-shared when its parent
// is setgid). Throws RunError for a cache folder that users outside its group can write.
std::string cached_store_path(const std::string& cache, const std::string& fingerprint);

}  // namespace simbi::host
