// simbi dataset info FILE [--json]
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/pipeline/lab_cache.hpp"
#include "simbi_host/pipeline/lab_config.hpp"
#include "simbi_host/store/artifact.hpp"
#include "simbi_host/store/store.hpp"

namespace simbi_cli {

using simbi::host::json;

int cmd_artifact(const Args& args) {
    if (args.size() == 3 && args[0] == "publish") {
        const std::string cache = simbi::host::lab_config().cache;
        if (cache.empty())
            throw simbi::host::UsageError("artifact publish: no lab cache is configured (\"cache\" in a configuration file)");
        const std::string where = simbi::host::publish_posterior(cache, args[1], args[2]);
        std::cout << "published " << where << "; sample it with: simbi sample lab:" << args[2] << " --x ...\n";
        return 0;
    }
    if (args.size() != 2 || args[0] != "verify")
        throw simbi::host::UsageError("expected 'artifact verify DIR' or 'artifact publish RUN_DIR NAME'");
    simbi::host::ArtifactMeta meta = simbi::host::read_artifact_meta(args[1]);
    simbi::host::verify_artifact_files(args[1], meta);
    std::cout << args[1] << ": ok (estimator '" << meta.estimator_id << "', " << meta.files.size() << " files match their checksums)\n";
    return 0;
}

int cmd_dataset(const Args& args) {
    if (args.empty() || (args[0] != "info" && args[0] != "verify" && args[0] != "--help"))
        throw simbi::host::UsageError("expected 'dataset info FILE' or 'dataset verify FILE'");
    if (args[0] == "verify") {
        if (args.size() != 2) throw simbi::host::UsageError("expected 'dataset verify FILE'");
        simbi::host::DatasetReader r(args[1]);
        r.verify(true);
        std::cout << args[1] << ": ok (" << r.rows() << " rows; the file, each dataset and the shapes match their record)\n";
        return 0;
    }
    po::options_description desc("options");
    std::string file;
    desc.add_options()("help,h", "show this help")("json", "print JSON")("file", po::value<std::string>(&file)->required(), "HDF5 store");
    po::positional_options_description pos;
    pos.add("file", 1);
    po::variables_map vm;
    if (!parse(Args(args.begin() + (args[0] == "--help" ? 0 : 1), args.end()), desc, pos, vm, "simbi dataset info FILE [--json]")) return 0;
    simbi::host::DatasetReader r(file);
    json a = r.attributes();
    json j = {{"file", file},       {"rows", r.rows()},   {"theta_dim", r.theta_dim()},
              {"x_dim", r.x_dim()}, {"dtype", r.dtype()}, {"attributes", a}};
    if (vm.count("json")) {
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    std::cout << file << "\n"
              << "  rows:       " << r.rows() << "\n"
              << "  theta:      [" << r.rows() << ", " << r.theta_dim() << "] " << r.dtype() << "\n"
              << "  x:          [" << r.rows() << ", " << r.x_dim() << "] " << r.dtype() << "\n";
    for (const char* key : {"parameter_names", "simulator_id", "simulator_version", "simulator_sha256", "simulator_config", "prior", "seed",
                            "budget", "invalid_policy", "n_simulated", "n_invalid", "n_resampled", "n_dropped", "fingerprint",
                            "theta_sha256", "x_sha256", "simbi_version"}) {
        if (!a.contains(key)) continue;
        std::string label = std::string(key) + ":";
        label.resize(std::max<size_t>(label.size() + 1, 18), ' ');
        std::cout << "  " << label << (a[key].is_string() ? a[key].get<std::string>() : a[key].dump()) << "\n";
    }
    return 0;
}

}  // namespace simbi_cli
