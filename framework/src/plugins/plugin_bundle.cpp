#include "simbi_host/plugins/plugin_bundle.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <simbi/version.h>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/safe_files.hpp"
#include "simbi_host/core/sha256.hpp"
#include "simbi_host/core/tar_archive.hpp"
#include "simbi_host/plugins/plugin_scan.hpp"

namespace simbi::host {

namespace fs = std::filesystem;

namespace {

constexpr int kBundleFormat = 1;
constexpr uint64_t kMaxFileBytes = uint64_t(4) << 30;

bool starts_with_ci(const std::string& name, const std::string& prefix) {
    if (name.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(name[i])) != prefix[i]) return false;
    return true;
}

// The first file in `folder` whose name starts with one of the prefixes (case-insensitive).
std::string find_beside(const fs::path& folder, const std::vector<std::string>& prefixes) {
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(folder, ec))
        for (const auto& p : prefixes)
            if (e.is_regular_file(ec) && starts_with_ci(e.path().filename().string(), p)) found.push_back(e.path().string());
    std::sort(found.begin(), found.end());
    return found.empty() ? "" : found.front();
}

bool valid_version(const std::string& v) {
    if (v.empty() || v.size() > 40 || !std::isalnum(static_cast<unsigned char>(v[0]))) return false;
    return std::all_of(v.begin(), v.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+'; });
}

json read_json_file(const std::string& path, const std::string& what) {
    std::ifstream in(path);
    if (!in) throw RunError(what + ": cannot read " + path);
    try {
        return json::parse(in);
    } catch (const std::exception& e) {
        throw RunError(what + ": " + fs::path(path).filename().string() + " is not valid JSON: " + e.what());
    }
}

// Removes files or folders however the work ends (a staging folder, temporary files).
struct RemoveOnExit {
    std::vector<std::string> paths;
    ~RemoveOnExit() {
        std::error_code ec;
        for (const auto& p : paths) fs::remove_all(p, ec);
    }
};

}  // namespace

std::string user_plugin_dir() {
    const std::string folder = user_plugin_folder();
    if (folder.empty()) throw UsageError("--user: neither XDG_DATA_HOME nor HOME is set");
    return folder;
}

std::string system_plugin_dir() { return default_plugin_paths().back(); }

std::string pack_bundle(const PluginInfo& info, const PackOptions& o, std::vector<std::string>& warnings) {
    const bool bridge = !info.bridge_command.empty();
    const fs::path entry = fs::path(info.path);
    const fs::path folder = entry.parent_path();
    if (!valid_version(info.version))
        throw RunError(info.path + ": version '" + info.version + "' cannot name a bundle (letters, digits, '.', '-', '+')");
    std::vector<TarEntry> files;
    RemoveOnExit temps;
    files.push_back({entry.filename().string(), entry.string()});
    if (bridge) {
        for (const auto& f : info.bridge_files) {
            const fs::path rel = fs::path(f).lexically_relative(folder);
            if (rel.empty() || *rel.begin() == "..")
                throw RunError(info.path + ": the bridge runs " + f + ", outside its folder; a bundle carries only its folder's files");
            if (rel.generic_string() != entry.filename().string()) files.push_back({rel.generic_string(), f});
        }
    } else {
        // The descriptor as the library describes itself now, never a stale file beside it.
        const fs::path desc = fs::temp_directory_path() / ("simbi-pack-" + std::to_string(::getpid()) + ".simbi.json");
        temps.paths.push_back(desc.string());
        std::ofstream(desc) << o.description.dump(2) << "\n";
        files.push_back({fs::path(descriptor_file_for(entry.string())).filename().string(), desc.string()});
    }
    for (const auto& w : o.with) files.push_back({fs::path(w).filename().string(), w});
    auto add_doc = [&](const std::string& given, const std::vector<std::string>& prefixes, const std::string& what) {
        const std::string path = given.empty() ? find_beside(folder, prefixes) : given;
        if (path.empty()) {
            warnings.push_back("no " + what + " beside " + entry.string() + " (give one with --" + what + ")");
            return;
        }
        const std::string name = fs::path(path).filename().string();
        if (std::none_of(files.begin(), files.end(), [&](const TarEntry& t) { return t.name == name; })) files.push_back({name, path});
    };
    add_doc(o.license, {"LICENSE", "LICENCE", "COPYING"}, "license");
    add_doc(o.readme, {"README"}, "readme");
    std::string example = o.example;
    if (example.empty()) {
        for (const auto& name : {entry.stem().string() + ".example.json", std::string("example.json"), std::string("manifest.json")})
            if (fs::is_regular_file(folder / name)) {
                example = (folder / name).string();
                break;
            }
    }
    if (example.empty())
        warnings.push_back("no example manifest beside " + entry.string() + " (give one with --example)");
    else
        files.push_back({"example.json", example});

    json list = json::array();
    for (const auto& f : files) {
        std::error_code ec;
        const auto size = fs::file_size(f.path, ec);
        if (ec) throw RunError("cannot read " + f.path + " to pack it");
        list.push_back({{"name", f.name}, {"size", size}, {"sha256", sha256_file(f.path)}});
    }
    json bundle = {{"simbi_bundle", kBundleFormat},
                   {"id", info.id},
                   {"version", info.version},
                   {"kind", kind_name(info.kind)},
                   {"abi", std::to_string(info.abi_major) + "." + std::to_string(info.abi_minor)},
                   {"entry", entry.filename().string()},
                   {"files", list}};
    if (!bridge) {
        json ids = json::array();
        for (const auto& p : o.description["plugins"]) ids.push_back(p["id"]);
        bundle["plugins"] = ids;
    }
    const fs::path bundle_json = fs::temp_directory_path() / ("simbi-pack-" + std::to_string(::getpid()) + ".bundle.json");
    temps.paths.push_back(bundle_json.string());
    std::ofstream(bundle_json) << bundle.dump(2) << "\n";
    files.insert(files.begin(), {"bundle.json", bundle_json.string()});
    const std::string out = o.out.empty() ? info.id + "@" + info.version + ".simbi-bundle" : o.out;
    write_tar(out, files);
    return out;
}

InstallResult install_bundle(const std::string& bundle, const std::string& dest, const RunSimbi& run_simbi,
                             const std::vector<PluginInfo>& found) {
    const std::string what = bundle;
    if (!fs::is_regular_file(bundle)) throw UsageError(bundle + ": no such bundle file");
    std::error_code ec;
    fs::create_directories(dest, ec);
    if (!fs::is_directory(dest)) throw RunError("cannot create the plugin folder " + dest + (ec ? ": " + ec.message() : ""));
    if (const std::string why = unsafe_reason(fs::canonical(dest).string()); !why.empty())
        throw RunError("refused to install into " + dest + ": " + why);

    RemoveOnExit staging;
    std::string pattern = (fs::path(dest) / ".install-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw RunError("cannot create a staging folder in " + dest + ": " + std::strerror(errno));
    staging.paths.push_back(pattern);
    const std::string staged = pattern;
    const std::vector<std::string> names = extract_tar(bundle, staged, kMaxFileBytes);

    // Checksums: bundle.json lists every other file, each once, with its size and SHA-256.
    if (names.empty() || names.front() != "bundle.json") throw RunError(what + ": not a simbi bundle (bundle.json is not its first file)");
    const json b = read_json_file(staged + "/bundle.json", what);
    if (!b.is_object() || b.value("simbi_bundle", json()) != kBundleFormat)
        throw RunError(what + ": bundle.json is not a simbi bundle of format " + std::to_string(kBundleFormat));
    for (const char* key : {"id", "version", "kind", "abi", "entry"})
        if (!b.contains(key) || !b[key].is_string()) throw RunError(what + ": bundle.json lacks the string '" + key + "'");
    const std::string id = b["id"], version = b["version"], entry = b["entry"];
    if (!valid_plugin_id(id)) throw RunError(what + ": bundle.json names a bad plugin id '" + id + "'");
    if (!valid_version(version)) throw RunError(what + ": bundle.json names a bad version '" + version + "'");
    std::map<std::string, json> listed;
    for (const auto& f : b.value("files", json::array())) {
        if (!f.is_object() || !f.value("name", json()).is_string()) throw RunError(what + ": bundle.json has a file entry without a name");
        listed[f["name"].get<std::string>()] = f;
    }
    for (size_t i = 1; i < names.size(); ++i)
        if (!listed.count(names[i])) throw RunError(what + ": it holds " + names[i] + ", which bundle.json does not list");
    for (const auto& [name, f] : listed) {
        const std::string path = staged + "/" + name;
        if (std::find(names.begin() + 1, names.end(), name) == names.end())
            throw RunError(what + ": bundle.json lists " + name + ", which the bundle does not hold");
        const std::string sum = sha256_file(path);
        if (sum != f.value("sha256", "") || fs::file_size(path) != f.value("size", uint64_t(0)))
            throw RunError(what + ": " + name + " does not match its checksum in bundle.json (SHA-256 " + sum + ", listed " +
                           f.value("sha256", std::string("none")) + "): the bundle is damaged or was altered");
    }
    if (!listed.count(entry)) throw RunError(what + ": its entry " + entry + " is not in the bundle");

    // ABI: the major version must be this host's; a newer minor is refused before loading.
    const std::string abi = b["abi"];
    const std::string host_abi = std::to_string(SIMBI_ABI_MAJOR) + "." + std::to_string(SIMBI_ABI_MINOR);
    unsigned major = 0, minor = 0;
    if (std::sscanf(abi.c_str(), "%u.%u", &major, &minor) != 2) throw RunError(what + ": bundle.json names a bad ABI '" + abi + "'");
    if (major != SIMBI_ABI_MAJOR || minor > SIMBI_ABI_MINOR)
        throw RunError(what + ": it is built for the plugin ABI " + abi + "; this simbi speaks " + host_abi);

    // The descriptor must be what the library says of itself, and the conformance checks must pass.
    const std::string entry_path = staged + "/" + entry;
    const bool bridge = entry.size() > 12 && entry.compare(entry.size() - 12, 12, ".bridge.json") == 0;
    std::string out, err;
    if (!bridge) {
        const std::string desc_name = fs::path(descriptor_file_for(entry_path)).filename().string();
        if (!listed.count(desc_name)) throw RunError(what + ": it lacks the descriptor file " + desc_name);
        if (run_simbi({"plugins", "describe", entry_path}, out, err) != 0)
            throw RunError(what + ": its library cannot be described: " + err);
        json fresh;
        try {
            fresh = json::parse(out);
        } catch (const std::exception&) {
            throw RunError(what + ": describing its library printed no description");
        }
        if (fresh != read_json_file(staged + "/" + desc_name, what))
            throw RunError(what + ": its descriptor file " + desc_name +
                           " does not describe its library; repack it with `simbi plugins pack`");
        bool named = false;
        for (const auto& p : fresh["plugins"])
            if (p.value("id", "") == id && p.value("version", "") == version) named = true;
        if (!named) throw RunError(what + ": its library holds no plugin " + id + " at version " + version + ", as bundle.json says");
    }
    if (run_simbi({"plugins", "check", entry_path}, out, err) != 0)
        throw RunError(what + ": the conformance checks failed; nothing was installed\n" + out + err);

    InstallResult result{(fs::path(dest) / (id + "@" + version)).string(), id, version, false};
    for (const auto& p : found) {
        const fs::path home = fs::weakly_canonical(fs::path(p.path).parent_path(), ec);
        if (p.id == id && p.version == version && home != fs::weakly_canonical(result.folder, ec))
            throw RunError(what + ": " + id + "@" + version + " is already on the plugin search path, in " + p.path +
                           "; a second copy would make the id ambiguous (remove one, or bump the version)");
    }
    if (fs::exists(fs::symlink_status(result.folder))) {
        const std::string existing = result.folder + "/bundle.json";
        if (fs::is_regular_file(existing) && sha256_file(existing) == sha256_file(staged + "/bundle.json")) {
            result.already = true;
            return result;
        }
        throw RunError(what + ": " + id + "@" + version + " is already installed in " + dest +
                       " with other files; remove it first (simbi plugins remove " + id + "@" + version + ")");
    }
    ::chmod(staged.c_str(), 0755);
    rename_over(staged, result.folder);
    staging.paths.clear();
    return result;
}

std::string remove_bundle(const std::string& dest, const std::string& spec) {
    const size_t at = spec.find('@');
    if (at == std::string::npos || !valid_plugin_id(spec.substr(0, at)) || !valid_version(spec.substr(at + 1)))
        throw UsageError("expected ID@VERSION (for example acme.sim@1.2.0), not '" + spec + "'");
    const fs::path folder = fs::path(dest) / spec;
    if (!fs::is_directory(fs::symlink_status(folder)) || !fs::is_regular_file(folder / "bundle.json")) {
        std::string installed;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dest, ec))
            if (e.path().filename().string().find('@') != std::string::npos) installed += "\n  " + e.path().filename().string();
        throw UsageError(spec + " is not installed in " + dest + (installed.empty() ? " (nothing is)" : "; installed there:" + installed));
    }
    // Renamed away first, so no reader ever sees half a plugin.
    std::string gone = (fs::path(dest) / ".remove-XXXXXX").string();
    if (!::mkdtemp(gone.data())) throw RunError("cannot remove " + folder.string() + ": " + std::strerror(errno));
    const std::string target = gone + "/" + spec;
    rename_over(folder.string(), target);
    std::error_code ec;
    fs::remove_all(gone, ec);
    return folder.string();
}

}  // namespace simbi::host
