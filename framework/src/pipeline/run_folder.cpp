#include "simbi_host/pipeline/run_folder.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/core/text_file.hpp"

namespace fs = std::filesystem;

namespace simbi::host {
namespace {

// What a run writes at the top of its folder.
const char* const kRunOutputs[] = {"manifest.json",   "settings.json",    "plugins.lock.json", "summary.json",   "posterior.csv",
                                   "posterior.h5",    "losses.json",      "losses.csv",        "isolation.json", "report.html",
                                   "plots",           "diagnostics",      "diagnostics.json",  "artifact",       "checkpoint",
                                   "simulation.json", "trajectories.csv", "assimilation.json", "assimilator"};

std::string canonical_or_same(const std::string& p) {
    std::error_code ec;
    const fs::path c = fs::weakly_canonical(p, ec);
    return ec ? p : c.lexically_normal().string();
}

bool is_home_folder(const std::string& canonical) {
    std::vector<std::string> homes;
    if (const char* h = std::getenv("HOME"); h && *h) homes.push_back(canonical_or_same(h));
    if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_dir) homes.push_back(canonical_or_same(pw->pw_dir));
    return std::find(homes.begin(), homes.end(), canonical) != homes.end();
}

bool legacy_run_folder(const std::string& dir) {
    try {
        const json m = parse_json_strict(read_text_file(dir + "/manifest.json"), "manifest.json");
        const json lock = parse_json_strict(read_text_file(dir + "/plugins.lock.json"), "plugins.lock.json");
        return m.is_object() && m.contains("simbi") && lock.is_object() && lock.contains("plugins");
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

RunFolder check_run_folder(const std::string& dir) {
    RunFolder f;
    f.path = fs::absolute(dir).lexically_normal().string();
    const std::string canonical = canonical_or_same(f.path);
    if (canonical == "/" || is_home_folder(canonical))
        throw UsageError(dir + ": simbi does not write a run into " + (canonical == "/" ? "the root folder" : "a home folder") +
                         "; name a folder of its own, e.g. --out " + (canonical == "/" ? "" : canonical + "/") + "runs/my_run");
    std::error_code ec;
    const fs::file_status st = fs::status(f.path, ec);
    if (!fs::exists(st)) return f;
    if (!fs::is_directory(st)) throw UsageError(dir + ": exists and is not a folder; name a new folder for the run");
    f.exists = true;
    const std::string marker = f.path + "/" + kRunMarker;
    if (fs::exists(fs::symlink_status(marker, ec))) {
        json m;
        try {
            m = parse_json_strict(read_text_file(marker), marker);
        } catch (const std::exception& e) {
            throw UsageError(marker + ": not a readable run marker (" + std::string(e.what()) +
                             "); remove the folder's contents or choose another");
        }
        if (!m.is_object() || m.value("simbi_run", 0) != 1 || !m.value("setup", json("")).is_string())
            throw UsageError(marker + ": not a simbi run marker; choose another folder");
        f.marked = true;
        f.setup = m.value("setup", "");
    } else {
        std::vector<std::string> entries;
        for (const auto& e : fs::directory_iterator(f.path, ec)) entries.push_back(e.path().filename().string());
        std::sort(entries.begin(), entries.end());
        if (!entries.empty() && !legacy_run_folder(f.path)) {
            std::string there, clobbered;
            for (size_t i = 0; i < entries.size() && i < 8; ++i) there += (i ? ", " : "") + entries[i];
            if (entries.size() > 8) there += ", ... (" + std::to_string(entries.size()) + " in all)";
            for (const char* out : kRunOutputs)
                if (std::find(entries.begin(), entries.end(), out) != entries.end())
                    clobbered += (clobbered.empty() ? "" : ", ") + std::string(out);
            throw UsageError(dir + ": is neither empty nor a simbi run folder (it holds " + there + ")" +
                             (clobbered.empty() ? "" : "; a run would overwrite " + clobbered) +
                             ". Name a new or empty folder for the run (--out DIR or the manifest's \"output\")");
        }
    }
    f.has_artifact = fs::exists(f.path + "/artifact/simbi.json", ec);
    return f;
}

void create_run_folder(const RunFolder& folder) {
    std::error_code ec;
    fs::create_directories(folder.path, ec);
    if (ec) throw RunError("cannot create the output folder " + folder.path + ": " + ec.message());
}

void mark_run_folder(const std::string& dir, const std::string& setup) {
    write_text_atomic(dir + "/" + kRunMarker, json{{"simbi_run", 1}, {"setup", setup}}.dump() + "\n");
}

void require_run_folder(const std::string& dir) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(dir + "/" + kRunMarker, ec)) || legacy_run_folder(dir)) return;
    throw UsageError(dir + ": not a simbi run folder (no " + kRunMarker + ")");
}

}  // namespace simbi::host
