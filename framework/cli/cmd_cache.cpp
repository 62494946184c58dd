// simbi cache list|verify|gc|reindex: the lab cache's stores and published posteriors, from the files.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/pipeline/catalogue.hpp"
#include "simbi_host/pipeline/lab_cache.hpp"
#include "simbi_host/pipeline/lab_config.hpp"

namespace simbi_cli {

using simbi::host::json;

namespace {

// "500M", "2G", "1048576": bytes.
uint64_t parse_size(const std::string& text) {
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    const std::string unit = text.substr(used);
    const double scale = unit.empty() || unit == "B" ? 1
                         : unit == "K"               ? 1024.0
                         : unit == "M"               ? 1048576.0
                         : unit == "G"               ? 1073741824.0
                         : unit == "T"               ? 1099511627776.0
                                                     : -1;
    if (used == 0 || scale < 0 || !(v >= 0) || v * scale > 1.8e19)
        throw simbi::host::UsageError("--max-size " + text + ": expected a size such as 500M, 20G or a number of bytes");
    return uint64_t(v * scale);
}

std::string human(uint64_t bytes) {
    char text[32];
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    std::snprintf(text, sizeof text, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return text;
}

}  // namespace

int cmd_cache(const Args& args) {
    if (args.empty() || (args[0] != "list" && args[0] != "verify" && args[0] != "gc" && args[0] != "reindex"))
        throw simbi::host::UsageError(
            "expected 'cache list [--json]', 'cache verify', 'cache gc --max-size SIZE' or 'cache reindex [--runs DIR]'");
    po::options_description desc("options");
    std::string max_size;
    desc.add_options()("help,h", "show this help")("json", "print JSON")("max-size", po::value<std::string>(&max_size),
                                                                         "gc: keep the stores within this size")(
        "runs", po::value<std::vector<std::string>>(), "reindex: a folder of run folders to index too, as `simbi serve --runs` does");
    po::variables_map vm;
    if (!parse(Args(args.begin() + 1, args.end()), desc, {}, vm,
               "simbi cache list|verify|gc|reindex [--json] [--max-size SIZE] [--runs DIR]"))
        return 0;
    const std::string cache = simbi::host::lab_config().cache;
    if (cache.empty())
        throw simbi::host::UsageError("no lab cache is configured: set \"cache\" in a configuration file (simbi config show)");
    if (args[0] == "list") {
        const auto entries = simbi::host::list_cache(cache);
        if (vm.count("json")) {
            json out = json::array();
            for (const auto& e : entries)
                out.push_back({{"kind", e.kind},
                               {"name", e.name},
                               {"path", e.path},
                               {"owner", e.owner},
                               {"bytes", e.bytes},
                               {"age_days", e.age_days()},
                               {"details", e.details}});
            std::cout << json{{"cache", cache}, {"entries", out}}.dump(2) << "\n";
            return 0;
        }
        std::cout << cache << ": " << entries.size() << " entries\n";
        for (const auto& e : entries) {
            char age[32];
            std::snprintf(age, sizeof age, "%.1f d", e.age_days());
            std::string what = e.kind == "store"
                                   ? e.details.value("simulator", "") + ", " + e.details.value("rows", json(0)).dump() + " rows"
                                   : e.details.value("estimator", json::object()).value("id", "") + " on " +
                                         e.details.value("simulator", json::object()).value("id", "");
            std::cout << "  " << (e.kind == "store" ? "store     " : "posterior ") << e.name << "  " << e.owner << "  " << human(e.bytes)
                      << "  " << age << "  " << what << "\n";
        }
        return 0;
    }
    if (args[0] == "verify") {
        const auto problems = simbi::host::verify_cache(cache);
        for (const auto& p : problems) std::cout << "FAIL  " << p << "\n";
        std::cout << cache << ": "
                  << (problems.empty() ? "every store and posterior matches its checksums"
                                       : std::to_string(problems.size()) + " problem(s)")
                  << "\n";
        return problems.empty() ? 0 : simbi::host::kExitRunFailed;
    }
    if (args[0] == "reindex") {
        std::vector<std::string> roots = vm.count("runs") ? vm["runs"].as<std::vector<std::string>>() : std::vector<std::string>{"."};
        for (auto& r : roots) r = std::filesystem::absolute(r).lexically_normal().string();
        const auto c = simbi::host::load_catalogue(cache, roots, true);
        std::cout << "indexed " << c.entries.size() << " entries from the files into " << c.index << "\n";
        return 0;
    }
    if (!vm.count("max-size")) throw simbi::host::UsageError("cache gc: give --max-size SIZE (e.g. 20G)");
    const auto removed = simbi::host::gc_cache(cache, parse_size(max_size));
    for (const auto& r : removed) std::cout << "removed " << r << "\n";
    std::cout << removed.size() << " store(s) removed; stores whose lock is held were kept\n";
    return 0;
}

}  // namespace simbi_cli
