// The subcommands of `simbi`. Each returns an exit code; errors are thrown as UsageError (2) or
// RunError (1) and printed by main().
#pragma once
#include <string>
#include <vector>

namespace simbi_cli {

using Args = std::vector<std::string>;  // the arguments after the subcommand's name

int cmd_plugins(const Args& args);
int cmd_bundle(const Args& args);  // plugins pack | install | remove
int cmd_simulate(const Args& args);
int cmd_dataset(const Args& args);
int cmd_run(const Args& args);
int cmd_sample(const Args& args);
int cmd_log_prob(const Args& args);
int cmd_artifact(const Args& args);
int cmd_new(const Args& args);
int cmd_check(const Args& args);
int cmd_diagnose(const Args& args);
int cmd_c2st(const Args& args);
int cmd_report(const Args& args);
int cmd_worker(const Args& args);
int cmd_config(const Args& args);
int cmd_cache(const Args& args);
int cmd_serve(const Args& args);

}  // namespace simbi_cli
