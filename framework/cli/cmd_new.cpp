// simbi new simulator NAME --lang c|cpp [--dir DIR]: a buildable plugin folder from the templates
// installed with the SDK (<prefix>/share/simbi/templates).
#include <boost/dll/runtime_symbol_info.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <regex>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/errors.hpp"

namespace fs = std::filesystem;

namespace simbi_cli {
namespace {

// The installed templates beside the binary, or the source tree's for a build tree.
fs::path template_dir() {
    std::error_code ec;
    fs::path installed = boost::dll::program_location(ec).parent_path().parent_path() / "share" / "simbi" / "templates";
    if (!ec && fs::exists(installed / "manifest.json.in", ec)) return installed;
#ifdef SIMBI_SOURCE_TEMPLATE_DIR
    if (fs::exists(fs::path(SIMBI_SOURCE_TEMPLATE_DIR) / "manifest.json.in", ec)) return SIMBI_SOURCE_TEMPLATE_DIR;
#endif
    throw simbi::host::RunError("the plugin templates are not installed (looked in " + installed.string() + ")");
}

std::string fill(const fs::path& file, const std::map<std::string, std::string>& values) {
    std::ifstream in(file);
    if (!in) throw simbi::host::RunError("cannot read the template " + file.string());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& [key, value] : values) {
        const std::string token = "@" + key + "@";
        for (size_t at = text.find(token); at != std::string::npos; at = text.find(token, at + value.size())) text.replace(at, token.size(), value);
    }
    return text;
}

}  // namespace

int cmd_new(const Args& args) {
    po::options_description desc("options");
    std::string kind, name, lang = "cpp", dir;
    desc.add_options()("help,h", "show this help")("kind", po::value<std::string>(&kind)->required(), "what to write: simulator")(
        "name", po::value<std::string>(&name)->required(), "the plugin's name: lowercase letters, digits and _")(
        "lang", po::value<std::string>(&lang), "c or cpp (default cpp)")("dir", po::value<std::string>(&dir), "the folder to create (default ./NAME)");
    po::positional_options_description pos;
    pos.add("kind", 1).add("name", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi new simulator NAME [--lang c|cpp] [--dir DIR]")) return 0;
    if (kind != "simulator") throw simbi::host::UsageError("simbi new: only 'simulator' can be written, not '" + kind + "'");
    if (lang != "c" && lang != "cpp") throw simbi::host::UsageError("--lang: expected c or cpp, not '" + lang + "'");
    if (!std::regex_match(name, std::regex("[a-z][a-z0-9_]{0,63}")))
        throw simbi::host::UsageError("NAME: expected lowercase letters, digits and _, starting with a letter, not '" + name + "'");
    const fs::path out = dir.empty() ? fs::path(name) : fs::path(dir);
    std::error_code ec;
    if (fs::exists(out, ec)) throw simbi::host::RunError(out.string() + " exists already; choose another --dir");
    const fs::path templates = template_dir();
    const std::string source = name + (lang == "c" ? ".c" : ".cpp");
    const std::map<std::string, std::string> values = {{"NAME", name}, {"LANGUAGE", lang == "c" ? "C" : "CXX"}, {"SOURCE", source}};
    fs::create_directories(out);
    const std::pair<std::string, std::string> files[] = {{lang == "c" ? "simulator.c.in" : "simulator.cpp.in", source},
                                                         {"CMakeLists.txt.in", "CMakeLists.txt"},
                                                         {"manifest.json.in", "manifest.json"}};
    for (const auto& [from, to] : files) {
        std::ofstream f(out / to);
        f << fill(templates / from, values);
        if (!f) throw simbi::host::RunError("cannot write " + (out / to).string());
    }
    std::cout << "wrote " << out.string() << "/: " << source << ", CMakeLists.txt, manifest.json\n"
              << "build: cmake -S " << out.string() << " -B " << out.string() << "/build -DCMAKE_PREFIX_PATH=<simbi prefix> && cmake --build "
              << out.string() << "/build\n"
              << "check: simbi plugins check " << out.string() << "/build/simbi_" << name << ".so\n";
    return 0;
}

}  // namespace simbi_cli
