#include "simbi_host/plugins/plugin_registry.hpp"

#include <simbi/ext/assimilator.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/suggest.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/core/prior.hpp"
#include "simbi_host/plugins/plugin_scan.hpp"
#include "simbi_host/core/process_guard.hpp"
#include "simbi_host/core/sha256.hpp"

namespace fs = std::filesystem;

namespace simbi::host {
namespace {

// Loaded libraries live until the process exits (see the header).
std::map<std::string, std::vector<PluginInfo>>& loaded_libraries() {
    static auto* libs = new std::map<std::string, std::vector<PluginInfo>>();
    return *libs;
}
std::mutex& load_mutex() {
    static std::mutex m;
    return m;
}

std::string str_or_empty(const char* s) { return s ? std::string(s) : std::string(); }

// kind: the only kind the factory may list (the assimilator factory's), or 0 for the main
// factory's simulators, estimators and diagnostics.
PluginInfo check_descriptor(const simbi_descriptor* d, const std::string& path, uint64_t index, simbi_kind kind = 0) {
    std::string where = path + ": plugin " + std::to_string(index) + ": ";
    if (!d) throw RunError(where + "descriptor is NULL");
    if (d->size < SIMBI_DESCRIPTOR_SIZE_1_0)
        throw RunError(where + "descriptor size " + std::to_string(d->size) + " is smaller than ABI 1.0's");
    if (!d->id || !valid_plugin_id(d->id))
        throw RunError(where + "bad id '" + str_or_empty(d->id) + "': expected a namespaced id like 'vendor.name'");
    where = path + ": plugin '" + d->id + "': ";
    if (!d->name || !d->version) throw RunError(where + "name and version are required");
    if (kind ? d->kind != kind : d->kind < SIMBI_KIND_SIMULATOR || d->kind > SIMBI_KIND_DIAGNOSTIC)
        throw RunError(where + "unknown kind " + std::to_string(d->kind) +
                       (kind ? std::string(" in the ") + kind_name(kind) + " factory" : ""));
    if (d->thread_safety != SIMBI_THREAD_INSTANCE && d->thread_safety != SIMBI_THREAD_SHARED)
        throw RunError(where + "unknown thread_safety " + std::to_string(d->thread_safety));
    PluginInfo info;
    info.id = d->id;
    info.name = d->name;
    info.version = d->version;
    info.vendor = str_or_empty(d->vendor);
    info.description = str_or_empty(d->description);
    info.kind = d->kind;
    info.thread_safety = d->thread_safety;
    if (d->kind == SIMBI_KIND_SIMULATOR) {
        if (d->param_dim == 0 || d->param_dim > 100000 || !d->param_names)
            throw RunError(where + "a simulator needs param_dim > 0 and param_names");
        if (d->output_dim == 0) throw RunError(where + "a simulator needs output_dim > 0");
    }
    for (uint64_t i = 0; i < d->param_dim && d->param_names; ++i) {
        if (!d->param_names[i]) throw RunError(where + "param_names[" + std::to_string(i) + "] is NULL");
        info.param_names.push_back(d->param_names[i]);
    }
    check_parameter_names(info.param_names, where);
    info.output_dim = d->output_dim;
    if (d->output_rank > 0) {
        if (!d->output_shape) throw RunError(where + "output_rank > 0 but output_shape is NULL");
        uint64_t prod = 1;
        for (uint64_t i = 0; i < d->output_rank; ++i) {
            info.output_shape.push_back(d->output_shape[i]);
            prod *= d->output_shape[i];
        }
        if (prod != d->output_dim) throw RunError(where + "output_shape does not multiply to output_dim");
    }
    info.default_prior_json = str_or_empty(d->default_prior_json);
    info.config_schema_json = d->config_schema_json ? d->config_schema_json : "{}";
    // 1.1: read only when the plugin's descriptor is long enough to hold it.
    if (d->size >= offsetof(simbi_descriptor, training_schema_json) + sizeof(const char*) && d->training_schema_json)
        info.training_schema_json = d->training_schema_json;
    if (d->size >= offsetof(simbi_descriptor, capabilities) + sizeof(uint64_t)) info.capabilities = d->capabilities;
    if (d->size >= offsetof(simbi_descriptor, output_support_json) + sizeof(const char*) && d->output_support_json) {
        info.output_support_json = d->output_support_json;
        try {
            json s = json::parse(info.output_support_json);
            if (!s.is_object() || !s.contains("low") || !s.contains("high") || s["low"].size() != d->output_dim ||
                s["high"].size() != d->output_dim)
                throw std::runtime_error("expected {\"low\": [" + std::to_string(d->output_dim) + " numbers or null], \"high\": [...]}");
        } catch (const std::exception& e) {
            throw RunError(where + "bad output support: " + e.what());
        }
    }
    for (const std::string* schema : {&info.config_schema_json, &info.training_schema_json}) {
        if (schema->empty()) continue;
        try {
            if (!json::parse(*schema).is_object()) throw std::runtime_error("not an object");
        } catch (const std::exception& e) {
            throw RunError(where + (schema == &info.config_schema_json ? "config" : "training") +
                           " schema is not a JSON object: " + e.what());
        }
    }
    if (!info.default_prior_json.empty()) {
        std::unique_ptr<Prior> prior;
        try {
            prior = parse_prior_json(info.default_prior_json, "default prior");
        } catch (const std::exception& e) {
            throw RunError(where + "bad default prior: " + e.what());
        }
        if (prior->dim() != info.param_names.size())
            throw RunError(where + "the default prior has " + std::to_string(prior->dim()) + " dimensions for " +
                           std::to_string(info.param_names.size()) + " parameters");
    }
    return info;
}

}  // namespace

std::string with_article(const std::string& noun) { return (noun.find_first_of("aeiou") == 0 ? "an " : "a ") + noun; }

const char* kind_name(simbi_kind kind) {
    switch (kind) {
        case SIMBI_KIND_SIMULATOR: return "simulator";
        case SIMBI_KIND_ESTIMATOR: return "estimator";
        case SIMBI_KIND_DIAGNOSTIC: return "diagnostic";
        case SIMBI_KIND_ASSIMILATOR: return "assimilator";
        default: return "unknown";
    }
}

namespace {

// command[0] as the bridge runs it: a bare name from PATH, else a path from the bridge's folder.
std::string find_executable(const std::string& program, const std::string& folder) {
    if (program.find('/') != std::string::npos) return (fs::path(folder) / program).lexically_normal().string();
    const char* path_env = std::getenv("PATH");
    std::string paths = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
    size_t start = 0;
    while (start <= paths.size()) {
        size_t end = paths.find(':', start);
        if (end == std::string::npos) end = paths.size();
        const std::string dir = end > start ? paths.substr(start, end - start) : ".";
        const fs::path candidate = fs::path(dir) / program;
        if (::access(candidate.c_str(), X_OK) == 0) return fs::absolute(candidate).lexically_normal().string();
        start = end + 1;
    }
    return "";
}

}  // namespace

PluginInfo read_bridge_definition(const std::string& path, bool allow_unsafe) {
    check_safe_file(path, allow_unsafe, "use the bridge definition");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw RunError(path + ": cannot read it");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    json doc;
    try {
        doc = parse_json_strict(text, path);
    } catch (const std::exception& e) {
        throw RunError(e.what());
    }
    JsonReader r(doc, path, "");
    PluginInfo info;
    info.id = r.string("id");
    if (!valid_plugin_id(info.id))
        r.fail("id", "a namespaced id like \"vendor.name\" (lowercase letters, digits, _ and -, words joined by dots)");
    info.name = r.string("name", info.id);
    info.version = r.string("version", "1.0.0");
    info.vendor = r.string("vendor", "");
    info.description = r.string("description", "a simulator behind the process bridge");
    info.kind = SIMBI_KIND_SIMULATOR;
    info.thread_safety = SIMBI_THREAD_INSTANCE;
    info.param_names = r.strings("parameters");
    if (info.param_names.empty()) r.fail("parameters", "the names of the parameters, at least one");
    info.output_dim = r.count("outputs");
    if (info.output_dim > (uint64_t(1) << 24)) r.fail("outputs", "at most 16777216 outputs");
    if (r.has("prior")) info.default_prior_json = r.object("prior").value().dump();
    try {
        check_parameter_names(info.param_names, path + ": /parameters: ");
    } catch (const RunError& e) {
        throw UsageError(e.what());
    }
    info.bridge_command = r.strings("command");
    if (info.bridge_command.empty()) r.fail("command", "the program and its arguments, e.g. [\"/usr/bin/python3\", \"sir.py\"]");
    const std::string folder = fs::absolute(path).parent_path().lexically_normal().string();
    // What the bridge runs: its program, the arguments that name files in its folder (its script),
    // and the files it lists (modules the script imports, data it reads).
    info.bridge_executable = find_executable(info.bridge_command[0], folder);
    if (info.bridge_executable.empty())
        throw RunError(path + ": /command/0: '" + clip(info.bridge_command[0], 80) + "' is not an executable on PATH");
    std::vector<std::string> files;
    for (size_t i = 0; i < info.bridge_command.size(); ++i) {
        const std::string& arg = info.bridge_command[i];
        if (arg.empty() || arg[0] == '-' || fs::path(arg).is_absolute()) continue;
        const std::string candidate = (fs::path(folder) / arg).lexically_normal().string();
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec)) files.push_back(candidate);
    }
    if (r.has("files"))
        for (const auto& f : r.strings("files")) {
            const std::string file = (fs::path(folder) / f).lexically_normal().string();
            std::error_code ec;
            if (!fs::is_regular_file(file, ec))
                r.fail("files", "files of the bridge, relative to its folder; '" + clip(f, 80) + "' is not a file there");
            files.push_back(file);
        }
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
    info.bridge_files = files;
    r.check_no_unknown_keys();
    // The same trust as a library: nothing another user could replace is run.
    check_safe_file(fs::weakly_canonical(info.bridge_executable).string(), allow_unsafe, "run the bridge program");
    for (const auto& f : info.bridge_files) check_safe_file(f, allow_unsafe, "run the bridge file");
    info.config_schema_json = "{}";
    info.path = fs::absolute(path).lexically_normal().string();
    info.abi_major = SIMBI_ABI_MAJOR;
    info.abi_minor = SIMBI_ABI_MINOR;
    info.allow_unsafe = allow_unsafe;
    info.described_sha256 = sha256_hex(text.data(), text.size());
    return info;
}

bool valid_plugin_id(const std::string& id) {
    static const std::regex id_re("[a-z0-9_-]+(\\.[a-z0-9_-]+)+");
    return id.size() <= 200 && std::regex_match(id, id_re);
}

void check_parameter_names(const std::vector<std::string>& names, const std::string& where) {
    for (size_t i = 0; i < names.size(); ++i) {
        const std::string& n = names[i];
        if (n.empty()) throw RunError(where + "parameter " + std::to_string(i) + " has an empty name");
        for (unsigned char c : n)
            if (c < 0x20 || c == 0x7f)
                throw RunError(where + "parameter " + std::to_string(i) + "'s name '" + printable(n) + "' holds a control character");
        for (size_t j = 0; j < i; ++j)
            if (names[j] == n)
                throw RunError(where + "parameters " + std::to_string(j) + " and " + std::to_string(i) + " are both named '" + n + "'");
    }
}

std::string file_sha256_cached(const std::string& path) {
    struct Entry {
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime, ctime;
        std::string sha;
    };
    static std::mutex m;
    static auto* cache = new std::map<std::string, Entry>();
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) throw RunError("cannot read " + path + ": " + std::strerror(errno));
    auto same = [&](const Entry& e) {
        return e.dev == st.st_dev && e.ino == st.st_ino && e.size == st.st_size && e.mtime.tv_sec == st.st_mtim.tv_sec &&
               e.mtime.tv_nsec == st.st_mtim.tv_nsec && e.ctime.tv_sec == st.st_ctim.tv_sec && e.ctime.tv_nsec == st.st_ctim.tv_nsec;
    };
    {
        std::lock_guard<std::mutex> lock(m);
        auto it = cache->find(path);
        if (it != cache->end() && same(it->second)) return it->second.sha;
    }
    const std::string sha = sha256_file(path);
    std::lock_guard<std::mutex> lock(m);
    (*cache)[path] = Entry{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim, sha};
    return sha;
}

std::string bridge_fingerprint(const PluginInfo& bridge) {
    const std::string folder = fs::path(bridge.path).parent_path().string();
    json files = json::object();
    for (const auto& f : bridge.bridge_files) files[fs::relative(f, folder).generic_string()] = file_sha256_cached(f);
    // A bridge without files is its definition alone: its SHA-256 is the file's, as for a library.
    const std::string definition = file_sha256_cached(bridge.path);
    if (files.empty()) return definition;
    return sha256_hex(json{{"definition", definition}, {"files", files}}.dump());
}

std::string PluginInfo::sha256() const { return bridge_command.empty() ? file_sha256_cached(path) : bridge_fingerprint(*this); }

namespace {
std::string unsafe_reason_of(const std::string& path, const struct stat& st);
}

std::string unsafe_reason(const std::string& path) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return "cannot stat " + path;
    return unsafe_reason_of(path, st);
}

void check_safe_file(const std::string& path, bool allow_unsafe, const std::string& verb) {
    if (allow_unsafe) return;
    const std::string why = unsafe_reason(path);
    if (!why.empty())
        throw RunError(path + ": refused to " + verb + ": " + why +
                       " (another user could replace it; pass --allow-unsafe-plugins if you trust it)");
}

namespace {
// st: the file's own status (of the descriptor being loaded, when there is one).
std::string unsafe_reason_of(const std::string& path, const struct stat& st) {
    const uid_t me = geteuid();
    auto who = [](mode_t mode) {
        return std::string((mode & S_IWGRP) && (mode & S_IWOTH) ? "its group and other users"
                           : (mode & S_IWGRP)                   ? "its group"
                                                                : "other users");
    };
    if (st.st_uid != me && st.st_uid != 0)
        return path + " is owned by another user (uid " + std::to_string(st.st_uid) + "); fix: copy it to a folder of your own";
    if (st.st_mode & (S_IWGRP | S_IWOTH)) return path + " is writable by " + who(st.st_mode) + "; fix: chmod go-w " + path;
    std::string dir = fs::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    struct stat ds;
    if (stat(dir.c_str(), &ds) != 0) return "cannot stat " + dir;
    // A sticky folder (like /tmp) lets others add files but not replace ours.
    if ((ds.st_mode & (S_IWGRP | S_IWOTH)) && !(ds.st_mode & S_ISVTX))
        return "its folder " + dir + " is writable by " + who(ds.st_mode) + "; fix: chmod go-w " + dir;
    if (ds.st_uid != me && ds.st_uid != 0 && !(ds.st_mode & S_ISVTX))
        return "its folder " + dir + " is owned by another user (uid " + std::to_string(ds.st_uid) +
               "); fix: copy it to a folder of your own";
    return "";
}
}  // namespace

namespace {
// Whether this process maps `path` from the file (dev, ino), per /proc/self/maps.
bool maps_file(const std::string& path, dev_t dev, ino_t ino) {
    std::ifstream maps("/proc/self/maps");
    if (!maps) return true;  // no procfs: nothing to compare with
    std::string line;
    while (std::getline(maps, line)) {
        const size_t slash = line.find('/');
        if (slash == std::string::npos || line.compare(slash, std::string::npos, path) != 0) continue;
        unsigned major = 0, minor = 0;
        unsigned long long inode = 0;
        char range[64], perms[8];
        unsigned long long offset = 0;
        if (std::sscanf(line.c_str(), "%63s %7s %llx %x:%x %llu", range, perms, &offset, &major, &minor, &inode) == 6 &&
            makedev(major, minor) == dev && inode == ino)
            return true;
    }
    return false;
}

[[noreturn]] void wrong_bytes(const std::string& path, const std::string& actual, const std::string& expected) {
    throw RunError(path + ": its SHA-256 is " + actual + ", not the " + expected +
                   " this run was planned with and records (the library was replaced or rebuilt); run again, or restore the library");
}
}  // namespace

std::vector<PluginInfo> load_plugin_library(const std::string& path_in, bool allow_unsafe, const std::string& expected_sha256) {
    std::error_code ec;
    std::string path = fs::canonical(path_in, ec).string();
    if (ec) throw RunError(path_in + ": " + ec.message());
    std::lock_guard<std::mutex> lock(load_mutex());
    auto cached = loaded_libraries().find(path);
    if (cached != loaded_libraries().end()) {
        if (!expected_sha256.empty() && !cached->second.empty() && cached->second[0].described_sha256 != expected_sha256)
            wrong_bytes(path, cached->second[0].described_sha256, expected_sha256);
        return cached->second;
    }

    // One descriptor for every check: its permissions and its bytes' SHA-256; the loader then maps
    // the file by its path (so that $ORIGIN works), and the mapping must be of that same file.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw RunError(path + ": cannot open: " + std::strerror(errno));
    struct FdCloser {
        int fd;
        ~FdCloser() { ::close(fd); }
    } closer{fd};
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) throw RunError(path + ": not a regular file");
    if (!allow_unsafe) {
        const std::string why = unsafe_reason_of(path, st);
        if (!why.empty())
            throw RunError(path + ": refused to load: " + why +
                           " (another user could replace it; pass --allow-unsafe-plugins if you trust it)");
    }
    const std::string sha = sha256_fd(fd, path);
    if (!expected_sha256.empty() && sha != expected_sha256) wrong_bytes(path, sha, expected_sha256);
    // Never destroyed: see the header.
    auto* lib = new boost::dll::shared_library();
    PluginActivity activity("loading the plugin library " + path);
    try {
        lib->load(path, boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now);
    } catch (const std::exception& e) {
        delete lib;
        throw RunError(path + ": cannot load: " + e.what());
    }
    if (!maps_file(path, st.st_dev, st.st_ino))
        throw RunError(path +
                       ": the file was replaced while it was being loaded; the bytes that were checked are not the ones mapped. Run again");
    if (!lib->has(SIMBI_ENTRY_SYMBOL))
        throw RunError(path + ": no entry symbol '" SIMBI_ENTRY_SYMBOL "': not a simbi plugin, or built without SIMBI_EXPORT");
    const simbi_entry& entry = lib->get<const simbi_entry>(SIMBI_ENTRY_SYMBOL);
    if (entry.size < SIMBI_ENTRY_SIZE_1_0)
        throw RunError(path + ": entry size " + std::to_string(entry.size) + " is smaller than ABI 1.0's");
    if (entry.abi_major != SIMBI_ABI_MAJOR)
        throw RunError(path + ": plugin ABI " + std::to_string(entry.abi_major) + "." + std::to_string(entry.abi_minor) +
                       " is incompatible with this simbi's ABI " + std::to_string(SIMBI_ABI_MAJOR) + "." + std::to_string(SIMBI_ABI_MINOR) +
                       " (the major versions differ); rebuild the plugin against this SDK");
    if (!entry.init || !entry.get_factory) throw RunError(path + ": entry has NULL init or get_factory");
    char message[1024] = {0};
    simbi_error err{sizeof(simbi_error), SIMBI_OK, 0, message, sizeof message};
    if (entry.init(path.c_str(), &err) != SIMBI_OK) throw RunError(path + ": init failed: " + message);
    const simbi_factory* factory = entry.get_factory();
    if (!factory || factory->size < SIMBI_FACTORY_SIZE_1_0 || !factory->count || !factory->descriptor || !factory->create)
        throw RunError(path + ": get_factory returned an incomplete factory");
    std::vector<PluginInfo> out;
    auto list = [&](const simbi_factory* f, simbi_kind kind) {
        const uint64_t n = f->count(f);
        if (n > 10000) throw RunError(path + ": factory reports " + std::to_string(n) + " plugins");
        for (uint64_t i = 0; i < n; ++i) {
            PluginInfo info = check_descriptor(f->descriptor(f, i), path, i, kind);
            info.path = path;
            info.abi_major = entry.abi_major;
            info.abi_minor = entry.abi_minor;
            info.factory = f;
            info.described_sha256 = sha;
            info.allow_unsafe = allow_unsafe;
            for (const auto& other : out)
                if (other.id == info.id) throw RunError(path + ": plugin id '" + info.id + "' appears twice in this library");
            out.push_back(info);
        }
    };
    list(factory, 0);
    // The assimilators, if the library offers their factory (simbi/ext/assimilator.h).
    if (factory->size >= offsetof(simbi_factory, get_extension) + sizeof(void*) && factory->get_extension) {
        const auto* assimilators = static_cast<const simbi_factory*>(factory->get_extension(factory, SIMBI_EXT_ASSIMILATOR_FACTORY));
        if (assimilators) {
            if (assimilators->size < SIMBI_FACTORY_SIZE_1_0 || !assimilators->count || !assimilators->descriptor || !assimilators->create)
                throw RunError(path + ": its " SIMBI_EXT_ASSIMILATOR_FACTORY " factory is incomplete");
            list(assimilators, SIMBI_KIND_ASSIMILATOR);
        }
    }
    loaded_libraries()[path] = out;
    return out;
}

std::string install_prefix() {
    std::error_code ec;
    const fs::path prefix = boost::dll::program_location(ec).parent_path().parent_path();
    return prefix.lexically_normal().string();
}

std::string simbi_share_dir() { return (fs::path(install_prefix()) / "share" / "simbi").lexically_normal().string(); }

std::string user_plugin_folder() {
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::string(xdg) + "/simbi/plugins";
    if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/share/simbi/plugins";
    return "";
}

std::vector<std::pair<std::string, std::string>> default_plugin_paths_with_origin() {
    std::vector<std::pair<std::string, std::string>> paths;
    if (const char* env = std::getenv("SIMBI_PLUGIN_PATH")) {
        std::string s = env;
        size_t start = 0;
        while (start <= s.size()) {
            size_t end = s.find(':', start);
            if (end == std::string::npos) end = s.size();
            if (end > start) paths.emplace_back(s.substr(start, end - start), "env");
            start = end + 1;
        }
    }
    if (const std::string user = user_plugin_folder(); !user.empty()) paths.emplace_back(user, "user");
    fs::path prefix = boost::dll::program_location().parent_path().parent_path();
    paths.emplace_back((prefix / "lib" / "simbi" / "plugins").lexically_normal().string(), "system");
#ifdef SIMBI_INSTALL_PLUGIN_RELDIR
    std::string installed = (prefix / SIMBI_INSTALL_PLUGIN_RELDIR).lexically_normal().string();
    if (installed != paths.back().first) paths.emplace_back(installed, "system");
#endif
    return paths;
}

std::vector<std::string> default_plugin_paths() {
    std::vector<std::string> paths;
    for (auto& [p, origin] : default_plugin_paths_with_origin()) paths.push_back(p);
    return paths;
}

int compare_versions(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        auto part = [](const std::string& s, size_t& k) {
            size_t start = k;
            while (k < s.size() && s[k] != '.' && s[k] != '-' && s[k] != '+') ++k;
            std::string p = s.substr(start, k - start);
            if (k < s.size()) ++k;
            return p;
        };
        const std::string x = part(a, i), y = part(b, j);
        const bool xn = !x.empty() && std::all_of(x.begin(), x.end(), ::isdigit),
                   yn = !y.empty() && std::all_of(y.begin(), y.end(), ::isdigit);
        if (xn && yn) {
            const std::string xs = x.substr(std::min(x.find_first_not_of('0'), x.size() - 1));
            const std::string ys = y.substr(std::min(y.find_first_not_of('0'), y.size() - 1));
            if (xs.size() != ys.size()) return xs.size() < ys.size() ? -1 : 1;
            if (xs != ys) return xs < ys ? -1 : 1;
        } else if (x != y) {
            return x < y ? -1 : 1;
        }
    }
    return 0;
}

PluginRegistry::PluginRegistry(RegistryOptions options) : allow_unsafe_(options.allow_unsafe) {
    std::vector<std::pair<std::string, std::string>> all;
    for (const auto& p : options.first_paths) all.emplace_back(p, "manifest");
    for (auto& p : default_plugin_paths_with_origin()) all.push_back(p);
    std::vector<std::string> seen;
    for (const auto& [p, origin] : all) {
        paths_.push_back(p);
        std::error_code ec;
        std::string canon = fs::weakly_canonical(p, ec).string();
        if (std::find(seen.begin(), seen.end(), canon) != seen.end()) continue;
        seen.push_back(canon);
        scan_folder(canon, origin, true);
    }
}

void PluginRegistry::scan_folder(const std::string& folder, const std::string& origin, bool bundles) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) return;
    std::vector<std::string> files, bundle_folders;
    auto is_bridge = [](const fs::path& p) {
        const std::string name = p.filename().string();
        return name.size() > 12 && name.compare(name.size() - 12, 12, ".bridge.json") == 0;
    };
    for (const auto& e : fs::directory_iterator(folder, ec)) {
        const std::string name = e.path().filename().string();
        if ((e.path().extension() == ".so" || is_bridge(e.path())) && e.is_regular_file(ec)) files.push_back(e.path().string());
        // An installed bundle's folder (a real folder, never a link out of the plugin folder).
        if (bundles && name.find('@') != std::string::npos && name[0] != '.' && e.is_directory(ec) && !e.is_symlink(ec))
            bundle_folders.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    std::sort(bundle_folders.begin(), bundle_folders.end());
    for (const auto& f : files) {
        try {
            std::vector<PluginInfo> found =
                is_bridge(f) ? std::vector<PluginInfo>{read_bridge_definition(f, allow_unsafe_)} : scan_library(f, allow_unsafe_);
            for (auto& info : found) {
                info.origin = origin;
                // One id in several versions lives side by side; the same version twice is ambiguous.
                auto dup = std::find_if(plugins_.begin(), plugins_.end(),
                                        [&](const PluginInfo& p) { return p.id == info.id && p.version == info.version; });
                if (dup != plugins_.end()) {
                    if (dup->path == info.path) continue;
                    problems_.push_back("duplicate plugin id '" + info.id + "' (version " + info.version + ") in " + dup->path + " and " +
                                        info.path);
                    duplicate_ids_.push_back(info.id + "@" + info.version);
                    continue;
                }
                plugins_.push_back(info);
            }
        } catch (const std::exception& e) {
            // One broken file on the path spoils no other plugin: it is named where it is asked for.
            problems_.push_back(e.what());
        }
    }
    for (const auto& b : bundle_folders) scan_folder(b, origin, false);
}

// The newest version of id (or the one version asked for with id@version) among plugins.
static const PluginInfo* pick(const std::vector<PluginInfo>& plugins, const std::string& spec, simbi_kind kind) {
    const size_t at = spec.find('@');
    const std::string id = spec.substr(0, at), version = at == std::string::npos ? "" : spec.substr(at + 1);
    const PluginInfo* best = nullptr;
    for (const auto& p : plugins)
        if (p.id == id && (!kind || p.kind == kind) && (version.empty() || p.version == version))
            if (!best || compare_versions(p.version, best->version) > 0) best = &p;
    return best;
}

const PluginInfo* PluginRegistry::try_find(const std::string& id, simbi_kind kind) const {
    const PluginInfo* p = pick(plugins_, id, kind);
    if (!p || std::find(duplicate_ids_.begin(), duplicate_ids_.end(), p->id + "@" + p->version) != duplicate_ids_.end()) return nullptr;
    return p;
}

const PluginInfo& PluginRegistry::find(const std::string& spec, simbi_kind kind) const {
    const std::string id = spec.substr(0, spec.find('@'));
    if (const PluginInfo* p = pick(plugins_, spec, 0)) {
        if (std::find(duplicate_ids_.begin(), duplicate_ids_.end(), p->id + "@" + p->version) != duplicate_ids_.end()) {
            for (const auto& problem : problems_)
                if (problem.find("'" + p->id + "' (version " + p->version + ")") != std::string::npos)
                    throw RunError(problem + "; remove one of them");
        }
        if (kind && p->kind != kind)
            throw UsageError("plugin '" + spec + "' is " + with_article(kind_name(p->kind)) + ", not " + with_article(kind_name(kind)) +
                             " (" + p->path + ")");
        return *p;
    }
    if (spec.find('@') != std::string::npos) {
        std::string versions;
        for (const auto& p : plugins_)
            if (p.id == id) versions += (versions.empty() ? "" : ", ") + p.version + " (" + p.path + ")";
        if (!versions.empty()) throw UsageError("no plugin '" + spec + "' was found; " + id + " is installed in version " + versions);
    }
    std::vector<std::string> ids;
    for (const auto& p : plugins_)
        if (!kind || p.kind == kind) ids.push_back(p.id);
    std::string msg =
        "no plugin with id '" + id + "' was found" + (did_you_mean(id, ids).empty() ? "." : did_you_mean(id, ids)) + " Searched:";
    for (const auto& s : paths_) msg += "\n  " + s;
    if (!problems_.empty()) {
        msg += "\nLibraries that could not be loaded:";
        for (const auto& p : problems_) msg += "\n  " + p;
    }
    // A manifest that names a plugin there is not: a usage error, as a misspelt key is.
    throw UsageError(msg);
}

}  // namespace simbi::host
