// simbi report RUN_DIR
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/report/report.hpp"
#include "simbi_host/pipeline/run_folder.hpp"

namespace simbi_cli {

int cmd_report(const Args& args) {
    po::options_description desc("options");
    std::string run_dir;
    desc.add_options()("help,h", "show this help")("run", po::value<std::string>(&run_dir)->required(),
                                                   "a run folder written by simbi run");
    po::positional_options_description pos;
    pos.add("run", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi report RUN_DIR")) return 0;
    simbi::host::require_run_folder(run_dir);
    for (const auto& f : simbi::host::write_report(run_dir)) std::cout << "  " << f << "\n";
    return 0;
}

}  // namespace simbi_cli
