// The lab cache: listing, publishing, verifying and trimming, from the files themselves.
#include "simbi_host/pipeline/lab_cache.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <regex>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/safe_files.hpp"
#include "simbi_host/core/text_file.hpp"
#include "simbi_host/pipeline/lab_config.hpp"
#include "simbi_host/store/artifact.hpp"
#include "simbi_host/store/store.hpp"

namespace fs = std::filesystem;

namespace simbi::host {
namespace {

uint64_t folder_bytes(const std::string& dir) {
    uint64_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(dir, ec))
        if (e.is_regular_file(ec)) n += e.file_size(ec);
    return n;
}

std::string utc_now() { return utc_time(std::time(nullptr)); }

std::string me() { return user_name(::geteuid()); }

// Whether another process holds the store's lock now (a writer, or a gc elsewhere).
bool in_use(const std::string& store) {
    const int fd = ::open((store + ".lock").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;
    const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
    ::close(fd);
    return held;
}

}  // namespace

std::string user_name(uid_t uid) {
    const struct passwd* pw = ::getpwuid(uid);
    return pw ? pw->pw_name : std::to_string(uid);
}

std::string utc_time(std::time_t t) {
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return text;
}

std::vector<CacheEntry> list_cache(const std::string& cache) {
    std::vector<CacheEntry> out;
    std::error_code ec;
    if (fs::is_directory(cache + "/stores", ec))
        for (const auto& e : fs::directory_iterator(cache + "/stores", ec)) {
            const std::string path = e.path().string();
            if (e.path().extension() != ".h5" || e.path().filename().string()[0] == '.') continue;
            struct stat st {};
            if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
            CacheEntry c{"store",       e.path().filename().string(), path, user_name(st.st_uid), uint64_t(st.st_size), st.st_mtime,
                         json::object()};
            try {
                DatasetReader r(path);
                const json a = r.attributes();
                c.details = {{"simulator", a.value("simulator_id", "")},
                             {"rows", r.rows()},
                             {"seed", a.value("seed", json())},
                             {"fingerprint", a.value("fingerprint", "")}};
            } catch (const std::exception& e2) {
                c.details = {{"problem", e2.what()}};
            }
            out.push_back(c);
        }
    if (fs::is_directory(cache + "/posteriors", ec))
        for (const auto& e : fs::directory_iterator(cache + "/posteriors", ec)) {
            const std::string path = e.path().string(), name = e.path().filename().string();
            if (name[0] == '.') continue;
            struct stat st {};
            if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
            CacheEntry c{"posterior", name, path, user_name(st.st_uid), folder_bytes(path), st.st_mtime, json::object()};
            try {
                c.details = parse_json_strict(read_text_file(path + "/provenance.json"), path + "/provenance.json");
            } catch (const std::exception& e2) {
                c.details = {{"problem", e2.what()}};
            }
            out.push_back(c);
        }
    std::sort(out.begin(), out.end(), [](const CacheEntry& a, const CacheEntry& b) { return a.modified < b.modified; });
    return out;
}

void share_with_group(const std::string& path) {
    auto fix = [](const fs::path& p) {
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return;
        mode_t mode = (st.st_mode & 07777 & ~(S_IWOTH | S_IWGRP)) | S_IRGRP | (S_ISDIR(st.st_mode) ? S_IXGRP : 0);
        if (mode != (st.st_mode & 07777)) ::chmod(p.c_str(), mode);
    };
    fix(path);
    std::error_code ec;
    if (fs::is_directory(fs::symlink_status(path, ec)))
        for (const auto& e : fs::recursive_directory_iterator(path, ec)) fix(e.path());
}

std::string publish_posterior(const std::string& cache, const std::string& run_dir, const std::string& name) {
    if (!std::regex_match(name, std::regex("[a-z0-9][a-z0-9_.-]{0,99}")))
        throw UsageError("NAME: expected lowercase letters, digits, '_', '.' and '-', not '" + name + "'");
    const std::string artifact = run_dir + "/artifact";
    const ArtifactMeta meta = read_artifact_meta(artifact);
    verify_artifact_files(artifact, meta);
    const std::string posteriors = cache + "/posteriors", target = posteriors + "/" + name;
    prepare_cache(cache);
    make_folder(posteriors);
    std::error_code ec;
    if (fs::exists(target, ec)) throw RunError(target + " exists: a published posterior is never replaced; publish under another name");
    // Provenance: who and when, what the run was, and what its diagnostics concluded.
    json provenance = {{"name", name},
                       {"published_by", me()},
                       {"published_at", utc_now()},
                       {"run", fs::absolute(run_dir).lexically_normal().string()},
                       {"estimator", {{"id", meta.estimator_id}, {"version", meta.estimator_version}}},
                       {"parameters", meta.parameter_names}};
    try {
        const json settings = parse_json_strict(read_text_file(run_dir + "/settings.json"), run_dir + "/settings.json");
        provenance["simulator"] = {{"id", settings["simulator"].value("id", "")}, {"version", settings["simulator"].value("version", "")}};
    } catch (const std::exception&) {}
    try {
        const json doc = parse_json_strict(read_text_file(run_dir + "/manifest.json"), run_dir + "/manifest.json");
        if (doc.contains("simulation") && doc["simulation"].contains("budget")) provenance["budget"] = doc["simulation"]["budget"];
    } catch (const std::exception&) {}
    json verdicts = json::object();
    if (fs::is_directory(run_dir + "/diagnostics", ec))
        for (const auto& e : fs::directory_iterator(run_dir + "/diagnostics", ec)) {
            try {
                const json d = parse_json_strict(read_text_file(e.path().string()), e.path().string());
                if (d.contains("report") && d["report"].contains("headline"))
                    verdicts[d.value("id", e.path().stem().string())] = d["report"]["headline"].value("verdict", "");
                if (d.value("id", "") == "simbi.c2st" && d.contains("results") && d["results"].value("accuracy", json()).is_number())
                    provenance["c2st"] = d["results"]["accuracy"];
            } catch (const std::exception&) {}
        }
    provenance["verdicts"] = verdicts;
    const std::string staging = posteriors + "/." + name + ".publishing." + std::to_string(::getpid());
    fs::remove_all(staging, ec);
    make_folder(staging);
    fs::copy(artifact, staging + "/artifact", fs::copy_options::recursive, ec);
    if (ec) {
        fs::remove_all(staging, ec);
        throw RunError("cannot copy " + artifact + " into the cache: " + ec.message());
    }
    write_text_atomic(staging + "/provenance.json", provenance.dump(2) + "\n");
    verify_artifact_files(staging + "/artifact", read_artifact_meta(staging + "/artifact"));
    share_with_group(staging);
    fs::rename(staging, target, ec);
    if (ec) {
        fs::remove_all(staging, ec);
        throw RunError("cannot publish " + target + ": " + ec.message());
    }
    return target;
}

std::string resolve_artifact(const std::string& text) {
    if (text.rfind("lab:", 0) != 0) return text;
    const std::string name = text.substr(4);
    const std::string cache = lab_config().cache;
    if (cache.empty()) throw UsageError(text + ": no lab cache is configured (`cache` in a configuration file; simbi config show)");
    const std::string dir = cache + "/posteriors/" + name + "/artifact";
    std::error_code ec;
    if (name.empty() || name.find('/') != std::string::npos || !fs::is_directory(dir, ec))
        throw UsageError(text + ": no posterior of that name in the lab cache " + cache + " (simbi cache list)");
    return dir;
}

std::vector<std::string> verify_cache(const std::string& cache) {
    std::vector<std::string> problems;
    for (const auto& e : list_cache(cache)) {
        try {
            if (e.kind == "store") {
                DatasetReader r(e.path);
                r.verify(true);
            } else {
                const ArtifactMeta meta = read_artifact_meta(e.path + "/artifact");
                verify_artifact_files(e.path + "/artifact", meta);
            }
        } catch (const std::exception& x) {
            problems.push_back(e.path + ": " + x.what());
        }
    }
    return problems;
}

std::vector<std::string> gc_cache(const std::string& cache, uint64_t max_bytes) {
    std::vector<CacheEntry> stores;
    uint64_t total = 0;
    for (const auto& e : list_cache(cache))
        if (e.kind == "store") {
            stores.push_back(e);
            total += e.bytes;
        }
    std::vector<std::string> removed;
    for (const auto& s : stores) {  // oldest first
        if (total <= max_bytes) break;
        if (in_use(s.path)) continue;
        std::error_code ec;
        if (!fs::remove(s.path, ec) || ec) continue;
        total -= s.bytes;
        removed.push_back(s.path);
    }
    return removed;
}

}  // namespace simbi::host
