// The lab configuration files: later files replace earlier ones' keys, unknown keys are errors,
// and a file that another user could have written is refused, as a plugin library would be.
#include "simbi_host/pipeline/lab_config.hpp"

#include <boost/dll/runtime_symbol_info.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/text_file.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"

namespace fs = std::filesystem;

namespace simbi::host {
namespace {

std::vector<std::string> config_files() {
    std::vector<std::string> files = {"/etc/simbi/config.json"};
    std::error_code ec;
    const fs::path prefix = boost::dll::program_location(ec).parent_path().parent_path();
    if (!ec) {
        const std::string installed = (prefix / "etc" / "simbi" / "config.json").lexically_normal().string();
        if (installed != files[0]) files.push_back(installed);
    }
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg)
        files.push_back(std::string(xdg) + "/simbi/config.json");
    else if (const char* home = std::getenv("HOME"); home && *home)
        files.push_back(std::string(home) + "/.config/simbi/config.json");
    if (const char* named = std::getenv("SIMBI_CONFIG"); named && *named) files.push_back(named);
    return files;
}

void read_one(const std::string& file, LabConfig& c) {
    check_safe_file(file, false, "read the configuration");
    const json doc = parse_json_strict(read_text_file(file), file);
    JsonReader r(doc, file, "");
    if (!doc.is_object()) r.fail_here("expected a JSON object of settings");
    const fs::path dir = fs::absolute(file).parent_path();
    auto resolve = [&](const std::string& p) { return (fs::path(p).is_absolute() ? fs::path(p) : dir / p).lexically_normal().string(); };
    if (r.has("plugin_paths")) {
        c.plugin_paths.clear();
        for (const auto& p : r.strings("plugin_paths")) c.plugin_paths.push_back(resolve(p));
        c.plugin_paths_from = file;
    }
    if (r.has("threads")) {
        const uint64_t t = r.count("threads", 0, true);
        if (t > 1024) r.fail("threads", "0 (one per core) or a thread count up to 1024");
        c.threads = unsigned(t);
        c.threads_from = file;
    }
    if (r.has("cache")) {
        const std::string cache = r.string("cache");
        if (cache.empty()) r.fail("cache", "a folder path");
        c.cache = resolve(cache);
        c.cache_from = file;
    }
    r.check_no_unknown_keys();
}

}  // namespace

LabConfig read_lab_config() {
    LabConfig c;
    for (const auto& file : config_files()) {
        std::error_code ec;
        const bool there = fs::is_regular_file(file, ec);
        c.files.emplace_back(file, there);
        if (there) read_one(file, c);
    }
    return c;
}

void prepare_cache(const std::string& cache) {
    for (const std::string& folder : {cache, cache + "/stores"}) {
        std::error_code ec;
        fs::create_directories(folder, ec);
        if (ec) throw RunError("cannot create the lab cache " + folder + ": " + ec.message());
        struct stat st {};
        if (::stat(folder.c_str(), &st) != 0) throw RunError("cannot read the lab cache " + folder);
        if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
            throw RunError("refused to use the lab cache " + folder + ": any user can write it; chmod o-w " + folder +
                           " (share it through a group: chgrp LAB, chmod g+ws)");
    }
}

std::string cached_store_path(const std::string& cache, const std::string& fingerprint) {
    prepare_cache(cache);
    return (fs::path(cache) / "stores").lexically_normal().string() + "/" + fingerprint.substr(0, 32) + ".h5";
}

const LabConfig& lab_config() {
    static const LabConfig config = read_lab_config();
    return config;
}

RegistryOptions registry_options(std::vector<std::string> first_paths, bool allow_unsafe) {
    RegistryOptions o;
    o.first_paths = std::move(first_paths);
    for (const auto& p : lab_config().plugin_paths) o.first_paths.push_back(p);
    o.allow_unsafe = allow_unsafe;
    return o;
}

}  // namespace simbi::host
