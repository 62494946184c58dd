// Helpers shared by the subcommands.
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "simbi_host/plugins/plugin_registry.hpp"

namespace simbi_cli {

namespace po = boost::program_options;

// --plugin-path and --allow-unsafe-plugins, which every command that loads plugins accepts.
struct PluginFlags {
    std::vector<std::string> paths;
    bool allow_unsafe = false;
    void add_to(po::options_description& desc);
    simbi::host::RegistryOptions options(const std::vector<std::string>& manifest_paths = {}, bool manifest_allows_unsafe = false) const;
};

// Parses args against desc (+ positionals); prints help and returns false if --help was given.
bool parse(const std::vector<std::string>& args, const po::options_description& desc, const po::positional_options_description& pos,
           po::variables_map& vm, const std::string& usage);

// A command-line count: the whole token a decimal integer in [min, max], or UsageError naming the
// flag ("--budget -1" is an error, not 2^64 - 1).
uint64_t parse_count_flag(const std::string& text, const std::string& flag, uint64_t min, uint64_t max);

// A file's format from its extension: "csv" (.csv) or "h5" (.h5, .hdf5), among those allowed;
// any other extension is a UsageError naming the flag, never a file of one format under another's
// name.
std::string file_format(const std::string& path, const std::string& flag, bool csv_allowed = true);

// Prints the registry's problems as warnings on stderr.
void warn_problems(const simbi::host::PluginRegistry& registry);

}  // namespace simbi_cli
