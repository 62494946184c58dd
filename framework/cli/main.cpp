// simbi: the command-line host. It loads plugins and runs manifests; it never links LibTorch.
#include <simbi/version.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <map>

#include "commands.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"
#include "simbi_host/core/process_guard.hpp"

namespace {

const char* kUsage =
    "simbi: simulation-based inference with binary plugins\n"
    "\n"
    "usage: simbi COMMAND [options]   (simbi COMMAND --help for its options)\n"
    "\n"
    "commands:\n"
    "  plugins list [--json]            list the plugins found on the search path\n"
    "  plugins info ID [--json]         show one plugin's descriptor\n"
    "  plugins check FILE [--json]      run the conformance checks on one plugin library or .bridge.json\n"
    "  plugins verify MANIFEST          check that every plugin a manifest names matches its sha256 pin\n"
    "  plugins describe LIB [--out F]   write a library's descriptor file (done at build time)\n"
    "  plugins pack ID|LIB [--out F]    one bundle file: library, descriptor, license, README, example\n"
    "  plugins install F [--system]     check a bundle (checksums, ABI, conformance) and install it as ID@VERSION\n"
    "  plugins remove ID@VERSION        take an installed version back (--user, --system or --dir)\n"
    "  new simulator|estimator|diagnostic|bridge NAME [--lang c|cpp|fortran]\n"
    "                                   write a plugin folder that builds and passes plugins check\n"
    "  simulate MANIFEST [--budget N] [--threads N] [--seed S] [--out FILE] [--force]\n"
    "                                   simulate the manifest's dataset into an HDF5 store\n"
    "  simulate MANIFEST --at '[THETA]' [--rows N] [--out F.csv|F.h5]\n"
    "                                   simulate N rows at one fixed theta (to check a simulator)\n"
    "  dataset info FILE [--json]       describe a stored dataset\n"
    "  dataset verify FILE              check a store's shapes and checksums\n"
    "  artifact verify DIR              check a trained artifact's record and checksums\n"
    "  artifact publish RUN_DIR NAME    put a run's trained posterior in the lab cache, as lab:NAME\n"
    "  cache list|verify|gc|reindex     the lab cache's stores and posteriors (gc --max-size SIZE)\n"
    "  serve [--port P] [--runs DIR]    the lab's catalogue (cache and runs) as a read-only web page on localhost\n"
    "  run MANIFEST [--set PATH=VALUE ...] [--out DIR] [--force] [--ranks N | --data-parallel]\n"
    "                                   simulate, train, sample and diagnose (or assimilate)\n"
    "  sample ARTIFACT|lab:NAME --x VALUES|FILE [--each-row] [--n N] [--seed S] [--out FILE]\n"
    "                                   draw posterior samples; --each-row: every row its own observation\n"
    "  log-prob ARTIFACT --theta VALUES|FILE --x VALUES|FILE\n"
    "                                   evaluate a trained estimator's log density\n"
    "  diagnose RUN_DIR [--diagnostic ID ...]\n"
    "                                   run diagnostics (coverage, sbc, tarp, ppc, ...) on a saved run\n"
    "  report RUN_DIR                   write RUN_DIR/report.html and its plots as SVG files\n"
    "  c2st REFERENCE.csv SAMPLES.csv   classifier two-sample test of two sample files\n"
    "  config show [--json]             the lab settings in effect and the files they came from\n"
    "  --version                        print the versions of simbi, its ABI, build and LibTorch\n"
    "\n"
    "exit codes: 0 ok, 1 the run failed, 2 usage or manifest error\n";

}  // namespace

int main(int argc, char** argv) {
    using namespace simbi_cli;
    if (argc < 2) {
        std::cerr << kUsage;
        return simbi::host::kExitUsage;
    }
    std::string cmd = argv[1];
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
        std::cout << kUsage;
        return 0;
    }
    if (cmd == "--version") {
        std::cout << "simbi " << SIMBI_VERSION_STRING << "\n"
                  << "  plugin ABI:  " << SIMBI_ABI_MAJOR << "." << SIMBI_ABI_MINOR << "\n"
                  << "  build type:  " << (*SIMBI_BUILD_TYPE ? SIMBI_BUILD_TYPE : "unspecified") << "\n"
                  << "  LibTorch:    " << SIMBI_TORCH_VERSION << " (estimator and diagnostic plugins; the host links none)\n"
                  << "  installed:   " << simbi::host::install_prefix() << "\n";
        return 0;
    }
    static const std::map<std::string, int (*)(const Args&)> commands = {
        {"plugins", &cmd_plugins},   {"simulate", &cmd_simulate}, {"dataset", &cmd_dataset},   {"run", &cmd_run},
        {"sample", &cmd_sample},     {"log-prob", &cmd_log_prob}, {"artifact", &cmd_artifact}, {"new", &cmd_new},
        {"diagnose", &cmd_diagnose}, {"c2st", &cmd_c2st},         {"report", &cmd_report},     {"worker", &cmd_worker},
        {"config", &cmd_config},     {"cache", &cmd_cache},       {"serve", &cmd_serve}};
    auto it = commands.find(cmd);
    if (it == commands.end()) {
        std::cerr << "simbi: unknown command '" << cmd << "'\n\n" << kUsage;
        return simbi::host::kExitUsage;
    }
    simbi::host::HostServices::install_interrupt_handler();
    simbi::host::install_process_guards();
    try {
        return it->second(Args(argv + 2, argv + argc));
    } catch (const simbi::host::Interrupted& e) {
        std::cerr << "simbi " << cmd << ": stopped: " << e.what() << "\n";
        return 128 + (e.signal ? e.signal : SIGINT);
    } catch (const simbi::host::UsageError& e) {
        std::cerr << "simbi " << cmd << ": error: " << e.what() << "\n";
        return simbi::host::kExitUsage;
    } catch (const std::exception& e) {
        std::cerr << "simbi " << cmd << ": failed: " << e.what() << "\n";
        return simbi::host::kExitRunFailed;
    }
}
