// simbi new simulator|estimator|diagnostic|bridge NAME [--lang c|cpp|fortran] [--dir DIR]: a
// plugin folder from the templates installed with the SDK (<prefix>/share/simbi/templates) that
// builds (or, for a bridge, runs) and passes `simbi plugins check` as it is.
#include <boost/dll/runtime_symbol_info.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <regex>
#include <vector>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/errors.hpp"

namespace fs = std::filesystem;

namespace simbi_cli {
namespace {

// The templates, and the prefix that find_package(simbi) finds them under: the installed ones
// beside the binary, or the source tree's for a build tree (no prefix: it is not installed).
struct Templates {
    fs::path dir;
    std::string prefix;
};

Templates find_templates() {
    std::error_code ec;
    const fs::path prefix = boost::dll::program_location(ec).parent_path().parent_path();
    const fs::path installed = prefix / "share" / "simbi" / "templates";
    if (!ec && fs::exists(installed / "manifest.json.in", ec)) return {installed, fs::weakly_canonical(prefix, ec).string()};
#ifdef SIMBI_SOURCE_TEMPLATE_DIR
    if (fs::exists(fs::path(SIMBI_SOURCE_TEMPLATE_DIR) / "manifest.json.in", ec))
        return {SIMBI_SOURCE_TEMPLATE_DIR, "<the prefix simbi is installed at>"};
#endif
    throw simbi::host::RunError("the plugin templates are not installed (looked in " + installed.string() + ")");
}

std::string fill(const fs::path& file, const std::map<std::string, std::string>& values) {
    std::ifstream in(file);
    if (!in) throw simbi::host::RunError("cannot read the template " + file.string());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& [key, value] : values) {
        const std::string token = "@" + key + "@";
        for (size_t at = text.find(token); at != std::string::npos; at = text.find(token, at + value.size()))
            text.replace(at, token.size(), value);
    }
    return text;
}

}  // namespace

int cmd_new(const Args& args) {
    po::options_description desc("options");
    std::string kind, name, lang, dir;
    desc.add_options()("help,h", "show this help")("kind", po::value<std::string>(&kind)->required(),
                                                   "simulator, estimator, diagnostic or bridge")(
        "name", po::value<std::string>(&name)->required(), "the plugin's name: lowercase letters, digits and _")(
        "lang", po::value<std::string>(&lang), "a simulator's language: c, cpp or fortran (default cpp)")(
        "dir", po::value<std::string>(&dir), "the folder to create (default ./NAME)");
    po::positional_options_description pos;
    pos.add("kind", 1).add("name", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi new simulator|estimator|diagnostic|bridge NAME [--lang c|cpp|fortran] [--dir DIR]")) return 0;
    if (kind != "simulator" && kind != "estimator" && kind != "diagnostic" && kind != "bridge")
        throw simbi::host::UsageError("simbi new: expected simulator, estimator, diagnostic or bridge, not '" + kind + "'");
    if (!lang.empty() && kind != "simulator")
        throw simbi::host::UsageError("--lang: only a simulator has a choice of language (" + kind + "s are written in " +
                                      (kind == "bridge" ? "Python" : "C++") + ")");
    if (lang.empty()) lang = "cpp";
    if (lang != "c" && lang != "cpp" && lang != "fortran")
        throw simbi::host::UsageError("--lang: expected c, cpp or fortran, not '" + lang + "'");
    if (!std::regex_match(name, std::regex("[a-z][a-z0-9_]{0,63}")))
        throw simbi::host::UsageError("NAME: expected lowercase letters, digits and _, starting with a letter, not '" + name + "'");
    const fs::path out = dir.empty() ? fs::path(name) : fs::path(dir);
    std::error_code ec;
    if (fs::exists(out, ec)) throw simbi::host::RunError(out.string() + " exists already; choose another --dir");
    const Templates templates = find_templates();

    // What each kind writes: (template, file) pairs.
    std::vector<std::pair<std::string, std::string>> files;
    std::string source, language = "CXX";
    if (kind == "simulator") {
        const std::string ext = lang == "c" ? "c" : lang == "cpp" ? "cpp" : "f90";
        source = name + "." + ext;
        language = lang == "c" ? "C" : lang == "cpp" ? "CXX" : "Fortran C";
        files = {{"simulator." + ext + ".in", source}, {"CMakeLists.txt.in", "CMakeLists.txt"}, {"manifest.json.in", "manifest.json"}};
    } else if (kind == "bridge") {
        source = name + ".py";
        files = {{"bridge.json.in", name + ".bridge.json"}, {"bridge.py.in", source}, {"manifest_bridge.json.in", "manifest.json"}};
    } else {
        source = name + ".cpp";
        files = {{kind + ".cpp.in", source}, {"CMakeLists.txt.in", "CMakeLists.txt"}, {"manifest_" + kind + ".json.in", "manifest.json"}};
    }
    const std::map<std::string, std::string> values = {
        {"NAME", name}, {"KIND", kind}, {"LANGUAGE", language}, {"SOURCE", source}, {"PREFIX", templates.prefix}};
    fs::create_directories(out);
    std::string listed;
    for (const auto& [from, to] : files) {
        std::ofstream f(out / to);
        f << fill(templates.dir / from, values);
        if (!f) throw simbi::host::RunError("cannot write " + (out / to).string());
        listed += (listed.empty() ? "" : ", ") + to;
    }
    std::cout << "wrote " << out.string() << "/: " << listed << "\n";
    if (kind == "bridge") {
        std::cout << "check: simbi plugins check " << out.string() << "/" << name << ".bridge.json\n"
                  << "run:   simbi simulate " << out.string() << "/manifest.json --at '[1.0, 0.5]' --rows 10\n";
        return 0;
    }
    std::cout << "build: cmake -S " << out.string() << " -B " << out.string() << "/build -DCMAKE_PREFIX_PATH=" << templates.prefix
              << " && cmake --build " << out.string() << "/build\n"
              << "check: simbi plugins check " << out.string() << "/build/simbi_" << name << ".so\n";
    return 0;
}

}  // namespace simbi_cli
