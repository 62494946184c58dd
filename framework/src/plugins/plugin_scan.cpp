#include "simbi_host/plugins/plugin_scan.hpp"

#include <simbi/ext/assimilator.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/dll/runtime_symbol_info.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/sha256.hpp"

extern char** environ;
namespace fs = std::filesystem;

namespace simbi::host {
namespace {

constexpr int kDescriptionFormat = 1;
constexpr int kScanTimeoutSeconds = 60;

simbi_kind kind_of(const std::string& name) {
    if (name == "simulator") return SIMBI_KIND_SIMULATOR;
    if (name == "estimator") return SIMBI_KIND_ESTIMATOR;
    if (name == "diagnostic") return SIMBI_KIND_DIAGNOSTIC;
    if (name == "assimilator") return SIMBI_KIND_ASSIMILATOR;
    return 0;
}

uint64_t file_size_of(const std::string& path) {
    std::error_code ec;
    uint64_t n = fs::file_size(path, ec);
    return ec ? UINT64_MAX : n;
}

// The `simbi` binary beside this program, which can describe a library in a child process.
std::string describer() {
    std::error_code ec;
    fs::path self = boost::dll::program_location(ec);
    if (ec) return "";
    fs::path sibling = self.parent_path() / "simbi";
    return fs::exists(sibling, ec) ? sibling.string() : "";
}

std::string signal_name(int sig) {
    switch (sig) {
        case SIGSEGV: return "SIGSEGV";
        case SIGBUS: return "SIGBUS";
        case SIGABRT: return "SIGABRT";
        case SIGILL: return "SIGILL";
        case SIGFPE: return "SIGFPE";
        case SIGKILL: return "SIGKILL";
        default: return "signal " + std::to_string(sig);
    }
}

// Runs `simbi plugins describe LIBRARY` and returns its JSON; throws RunError "could not scan".
json describe_in_child(const std::string& exe, const std::string& library) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw RunError("could not scan " + library + ": pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    std::vector<std::string> args = {exe, "plugins", "describe", library, "--allow-unsafe-plugins"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    pid_t pid;
    int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) {
        ::close(out[0]);
        ::close(err[0]);
        throw RunError("could not scan " + library + ": cannot start " + exe);
    }
    std::string text[2];
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kScanTimeoutSeconds);
    bool timed_out = false;
    int open = 2;
    while (open > 0) {
        int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
        if (left <= 0) {
            timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        if (poll(fds, 2, left) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[65536];
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                if (text[i].size() < (size_t(16) << 20)) text[i].append(buf, size_t(n));
            } else {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open;
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) ::close(f.fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (timed_out) throw RunError("could not scan " + library + ": it did not load within " + std::to_string(kScanTimeoutSeconds) + " s");
    if (WIFSIGNALED(status)) throw RunError("could not scan " + library + ": " + signal_name(WTERMSIG(status)) + " while loading it");
    std::string why = text[1];
    for (const std::string prefix : {"simbi plugins: failed: ", "simbi: failed: "})
        if (why.rfind(prefix, 0) == 0) why = why.substr(prefix.size());
    while (!why.empty() && why.back() == '\n') why.pop_back();
    why = clip(why, 600);
    if (!why.empty() && why.rfind(library, 0) != 0) why = "could not scan " + library + ": " + why;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || text[0].empty())
        throw RunError(why.empty() ? "could not scan " + library + ": it ended the process while loading (exit status " +
                                         std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")"
                                   : why);
    try {
        return json::parse(text[0]);
    } catch (const std::exception& e) {
        throw RunError("could not scan " + library + ": its description is not JSON: " + clip(e.what()));
    }
}

}  // namespace

std::string descriptor_file_for(const std::string& library) {
    fs::path p(library);
    return (p.parent_path() / (p.stem().string() + ".simbi.json")).string();
}

json describe_library(const std::string& library, bool allow_unsafe) {
    std::vector<PluginInfo> plugins = load_plugin_library(library, allow_unsafe);
    const std::string path = plugins.empty() ? fs::canonical(library).string() : plugins[0].path;
    json list = json::array();
    uint32_t major = SIMBI_ABI_MAJOR, minor = 0;
    for (const auto& p : plugins) {
        major = p.abi_major;
        minor = p.abi_minor;
        json j = {{"id", p.id},
                  {"name", p.name},
                  {"version", p.version},
                  {"vendor", p.vendor},
                  {"description", p.description},
                  {"kind", kind_name(p.kind)},
                  {"thread_safety", p.thread_safety == SIMBI_THREAD_SHARED ? "shared" : "instance"},
                  {"parameters", p.param_names},
                  {"output_dim", p.output_dim},
                  {"output_shape", p.output_shape},
                  {"default_prior", p.default_prior_json.empty() ? json(nullptr) : json::parse(p.default_prior_json)},
                  {"config_schema", json::parse(p.config_schema_json)},
                  {"training_schema", p.training_schema_json.empty() ? json(nullptr) : json::parse(p.training_schema_json)},
                  {"output_support", p.output_support_json.empty() ? json(nullptr) : json::parse(p.output_support_json)},
                  {"capabilities", p.capabilities}};
        list.push_back(j);
    }
    return {{"simbi_description", kDescriptionFormat},
            {"library", fs::path(path).filename().string()},
            {"size", file_size_of(path)},
            {"sha256", plugins.empty() ? sha256_file(path) : plugins[0].described_sha256},
            {"abi", {{"major", major}, {"minor", minor}}},
            {"plugins", list}};
}

std::vector<PluginInfo> plugins_from_description(const json& d, const std::string& library) {
    std::vector<PluginInfo> out;
    try {
        if (d.at("simbi_description").get<int>() != kDescriptionFormat)
            throw RunError(library + ": its description has an unknown format " + d["simbi_description"].dump());
        const uint32_t major = d.at("abi").at("major").get<uint32_t>(), minor = d.at("abi").at("minor").get<uint32_t>();
        if (major != SIMBI_ABI_MAJOR)
            throw RunError(library + ": plugin ABI " + std::to_string(major) + "." + std::to_string(minor) +
                           " is incompatible with this simbi's ABI " + std::to_string(SIMBI_ABI_MAJOR) + "." +
                           std::to_string(SIMBI_ABI_MINOR) + "; rebuild the plugin against this SDK");
        for (const auto& p : d.at("plugins")) {
            PluginInfo info;
            info.id = p.at("id").get<std::string>();
            info.name = p.at("name").get<std::string>();
            info.version = p.at("version").get<std::string>();
            info.vendor = p.value("vendor", "");
            info.description = p.value("description", "");
            info.kind = kind_of(p.at("kind").get<std::string>());
            if (!info.kind) throw RunError(library + ": plugin '" + info.id + "' has an unknown kind");
            info.thread_safety = p.value("thread_safety", "instance") == "shared" ? SIMBI_THREAD_SHARED : SIMBI_THREAD_INSTANCE;
            info.param_names = p.at("parameters").get<std::vector<std::string>>();
            info.output_dim = p.at("output_dim").get<uint64_t>();
            info.output_shape = p.value("output_shape", std::vector<uint64_t>{});
            info.default_prior_json = p.at("default_prior").is_null() ? "" : p["default_prior"].dump();
            info.config_schema_json = p.at("config_schema").dump();
            info.training_schema_json = p.value("training_schema", json(nullptr)).is_null() ? "" : p["training_schema"].dump();
            info.output_support_json = p.value("output_support", json(nullptr)).is_null() ? "" : p["output_support"].dump();
            info.capabilities = p.value("capabilities", uint64_t(0));
            info.path = library;
            info.abi_major = major;
            info.abi_minor = minor;
            info.described_sha256 = d.at("sha256").get<std::string>();
            if (info.kind == SIMBI_KIND_SIMULATOR && (info.param_names.empty() || info.output_dim == 0))
                throw RunError(library + ": plugin '" + info.id + "': a simulator needs parameters and outputs");
            if (!valid_plugin_id(info.id)) throw RunError(library + ": its description names a bad plugin id '" + printable(info.id) + "'");
            check_parameter_names(info.param_names, library + ": plugin '" + info.id + "': ");
            out.push_back(info);
        }
    } catch (const json::exception& e) {
        throw RunError(library + ": its description is malformed: " + clip(e.what()));
    }
    return out;
}

std::vector<PluginInfo> scan_library(const std::string& library, bool allow_unsafe) {
    std::error_code ec;
    const std::string path = fs::canonical(library, ec).string();
    if (ec) throw RunError(library + ": " + ec.message());
    // Nothing of a file another user could replace is run, not even in a child.
    check_safe_file(path, allow_unsafe);
    std::vector<PluginInfo> plugins;
    const std::string file = descriptor_file_for(path);
    if (fs::exists(file, ec)) {
        // The descriptor file is a cache of the description, trusted no more than the library.
        check_safe_file(file, allow_unsafe, "read the descriptor file");
        try {
            std::ifstream in(file);
            std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            json d = json::parse(text);
            // A rebuilt library whose descriptor file was not rewritten is described afresh: the
            // file speaks for the bytes it names, and for no others.
            if (d.value("size", uint64_t(0)) == file_size_of(path) && d.value("sha256", "") == file_sha256_cached(path))
                plugins = plugins_from_description(d, path);
        } catch (const std::exception&) {
            plugins.clear();
        }
        if (!plugins.empty()) {
            for (auto& p : plugins) p.allow_unsafe = allow_unsafe;
            return plugins;
        }
    }
    const std::string exe = describer();
    if (exe.empty()) {
        plugins = load_plugin_library(path, allow_unsafe);
    } else {
        plugins = plugins_from_description(describe_in_child(exe, path), path);
    }
    for (auto& p : plugins) p.allow_unsafe = allow_unsafe;
    return plugins;
}

const simbi_factory* plugin_factory(const PluginInfo& info) {
    if (info.factory) return info.factory;
    if (!info.bridge_command.empty())
        throw RunError("plugin '" + info.id + "' is a process bridge (" + info.path +
                       "): it runs only in worker processes, not as a library");
    // The bytes mapped must be the bytes this run hashed when it planned (and recorded, and
    // compared with any pin).
    for (const auto& loaded : load_plugin_library(info.path, info.allow_unsafe, info.sha256()))
        if (loaded.id == info.id) {
            if (loaded.kind != info.kind || loaded.param_names != info.param_names || loaded.output_dim != info.output_dim)
                throw RunError(info.path + ": plugin '" + info.id + "' differs from its description; rebuild it, or delete " +
                               descriptor_file_for(info.path));
            return loaded.factory;
        }
    throw RunError(info.path + ": plugin '" + info.id + "' is described but not in the library; rebuild it, or delete " +
                   descriptor_file_for(info.path));
}

}  // namespace simbi::host
