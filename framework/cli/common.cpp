#include "common.hpp"

#include <cctype>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/pipeline/lab_config.hpp"

namespace simbi_cli {

void PluginFlags::add_to(po::options_description& desc) {
    desc.add_options()("plugin-path", po::value<std::vector<std::string>>(&paths)->composing(),
                       "also search this folder for plugins (repeatable; searched first)")(
        "allow-unsafe-plugins", po::bool_switch(&allow_unsafe),
        "load plugins even if other users could have replaced them (files or folders writable by others)");
}

simbi::host::RegistryOptions PluginFlags::options(const std::vector<std::string>& manifest_paths, bool manifest_allows_unsafe) const {
    std::vector<std::string> first;
    for (const auto& p : paths) first.push_back(std::filesystem::absolute(p).string());
    first.insert(first.end(), manifest_paths.begin(), manifest_paths.end());
    return simbi::host::registry_options(std::move(first), allow_unsafe || manifest_allows_unsafe);
}

bool parse(const std::vector<std::string>& args, const po::options_description& desc, const po::positional_options_description& pos,
           po::variables_map& vm, const std::string& usage) {
    try {
        po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
        if (vm.count("help")) {
            std::cout << "usage: " << usage << "\n\n" << desc << "\n";
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw simbi::host::UsageError(std::string(e.what()) + "\nusage: " + usage + " (see --help)");
    }
    return true;
}

std::string file_format(const std::string& path, const std::string& flag, bool csv_allowed) {
    std::string ext = std::filesystem::path(path).extension().string();
    for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".h5" || ext == ".hdf5") return "h5";
    if (ext == ".csv" && csv_allowed) return "csv";
    throw simbi::host::UsageError(flag + " " + path + ": the extension names the format: " + (csv_allowed ? ".csv or .h5" : ".h5 (HDF5)"));
}

uint64_t parse_count_flag(const std::string& text, const std::string& flag, uint64_t min, uint64_t max) {
    const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos)
        throw simbi::host::UsageError(flag + " " + simbi::host::clip(text, 40) + ": expected " + range);
    errno = 0;
    unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
    if (errno == ERANGE || v < min || v > max) throw simbi::host::UsageError(flag + " " + text + ": expected " + range);
    return v;
}

void warn_problems(const simbi::host::PluginRegistry& registry) {
    for (const auto& p : registry.problems()) std::cerr << "warning: " << p << "\n";
}

}  // namespace simbi_cli
