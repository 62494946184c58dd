// simbi plugins pack | install | remove: plugin bundles (plugin_bundle.hpp).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/dll/runtime_symbol_info.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/plugin_bundle.hpp"
#include "simbi_host/plugins/plugin_scan.hpp"

namespace simbi_cli {

namespace fs = std::filesystem;

namespace {

std::string slurp_and_remove(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    fs::remove(path);
    return text;
}

// This binary as a child process: a library under test may crash, and the installer must not.
int run_self(const std::vector<std::string>& args, std::string& out, std::string& err) {
    const std::string self = boost::dll::program_location().string();
    std::string out_path = (fs::temp_directory_path() / "simbi-child-out-XXXXXX").string();
    std::string err_path = (fs::temp_directory_path() / "simbi-child-err-XXXXXX").string();
    const int out_fd = ::mkstemp(out_path.data()), err_fd = ::mkstemp(err_path.data());
    if (out_fd < 0 || err_fd < 0) throw simbi::host::RunError("cannot create a temporary file for a child process");
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        std::vector<char*> argv{const_cast<char*>(self.c_str())};
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(self.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(out_fd);
    ::close(err_fd);
    int status = 0;
    while (pid > 0 && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    out = slurp_and_remove(out_path);
    err = slurp_and_remove(err_path);
    if (pid < 0) throw simbi::host::RunError("cannot start a child process");
    if (WIFSIGNALED(status)) err += "(killed by signal " + std::to_string(WTERMSIG(status)) + ")\n";
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// --user (the default), --system or --dir DIR: where bundles are installed or removed.
struct Destination {
    bool user = false, system = false;
    std::string dir;
    void add_to(po::options_description& desc) {
        desc.add_options()("user", po::bool_switch(&user), "your own plugin folder (the default)")(
            "system", po::bool_switch(&system), "this installation's plugin folder, found by every user")(
            "dir", po::value<std::string>(&dir), "another plugin folder, such as one on the lab's plugin_paths");
    }
    std::string folder() const {
        if (int(user) + int(system) + int(!dir.empty()) > 1) throw simbi::host::UsageError("give one of --user, --system and --dir");
        if (system) return simbi::host::system_plugin_dir();
        if (!dir.empty()) return fs::absolute(dir).lexically_normal().string();
        return simbi::host::user_plugin_dir();
    }
};

int cmd_pack(const Args& args) {
    po::options_description desc("options");
    std::string what;
    simbi::host::PackOptions o;
    PluginFlags flags;
    desc.add_options()("help,h", "show this help")("plugin", po::value<std::string>(&what)->required(),
                                                   "a plugin id, a library (.so) or a .bridge.json")(
        "out,o", po::value<std::string>(&o.out), "the bundle file (default <id>@<version>.simbi-bundle here)")(
        "license", po::value<std::string>(&o.license), "its license file (default LICENSE* or COPYING* beside it)")(
        "readme", po::value<std::string>(&o.readme), "its README (default README* beside it)")(
        "example", po::value<std::string>(&o.example),
        "an example manifest (default <stem>.example.json, example.json or manifest.json beside it)")(
        "with", po::value<std::vector<std::string>>(&o.with),
        "another file to install beside the library (a library it links); repeatable");
    flags.add_to(desc);
    po::positional_options_description pos;
    pos.add("plugin", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi plugins pack ID|LIBRARY|BRIDGE.json [--out FILE]")) return 0;
    simbi::host::PluginInfo info;
    const auto ends_with = [&](const std::string& s) {
        return what.size() >= s.size() && what.compare(what.size() - s.size(), s.size(), s) == 0;
    };
    if (ends_with(".bridge.json")) {
        info = simbi::host::read_bridge_definition(fs::absolute(what).string(), flags.allow_unsafe);
    } else if (ends_with(".so")) {
        const auto found = simbi::host::load_plugin_library(what, flags.allow_unsafe);
        if (found.empty()) throw simbi::host::RunError(what + ": the library holds no plugin");
        info = found.front();
    } else {
        simbi::host::PluginRegistry registry(flags.options());
        info = registry.find(what);
    }
    if (info.bridge_command.empty()) o.description = simbi::host::describe_library(info.path, flags.allow_unsafe);
    std::vector<std::string> warnings;
    const std::string out = simbi::host::pack_bundle(info, o, warnings);
    for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
    std::cout << "packed " << info.id << "@" << info.version << " into " << out << "\n";
    return 0;
}

int cmd_install(const Args& args) {
    po::options_description desc("options");
    std::string file;
    Destination dest;
    desc.add_options()("help,h", "show this help")("bundle", po::value<std::string>(&file)->required(), "a .simbi-bundle file");
    dest.add_to(desc);
    po::positional_options_description pos;
    pos.add("bundle", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi plugins install BUNDLE [--user | --system | --dir DIR]")) return 0;
    const std::string folder = dest.folder();
    simbi::host::PluginRegistry registry(simbi::host::RegistryOptions{});
    const auto r = simbi::host::install_bundle(file, folder, run_self, registry.plugins());
    if (r.already)
        std::cout << r.id << "@" << r.version << " is already installed in " << r.folder << "\n";
    else
        std::cout << "installed " << r.id << "@" << r.version << " in " << r.folder << "\n";
    return 0;
}

int cmd_remove(const Args& args) {
    po::options_description desc("options");
    std::string spec;
    Destination dest;
    desc.add_options()("help,h", "show this help")("plugin", po::value<std::string>(&spec)->required(), "ID@VERSION");
    dest.add_to(desc);
    po::positional_options_description pos;
    pos.add("plugin", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi plugins remove ID@VERSION [--user | --system | --dir DIR]")) return 0;
    std::cout << "removed " << simbi::host::remove_bundle(dest.folder(), spec) << "\n";
    return 0;
}

}  // namespace

int cmd_bundle(const Args& args) {
    const Args rest(args.begin() + 1, args.end());
    if (args[0] == "pack") return cmd_pack(rest);
    if (args[0] == "install") return cmd_install(rest);
    return cmd_remove(rest);
}

}  // namespace simbi_cli
