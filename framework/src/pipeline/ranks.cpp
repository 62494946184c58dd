#include "simbi_host/pipeline/ranks.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/store/store.hpp"

namespace simbi::host {

RankInfo rank_from_environment() {
    // simbi run --ranks, then Open MPI, then MPICH and Intel MPI (PMI), then a step of SLURM's
    // srun. A SLURM batch script itself (no srun) is no parallel job, though it has SLURM_PROCID
    // and SLURM_NTASKS: only a numbered step counts, with SLURM_STEP_NUM_TASKS ranks.
    const char* step = std::getenv("SLURM_STEP_ID");
    bool srun_step = step && *step && std::strlen(step) < 10;
    for (const char* c = step; srun_step && *c; ++c) srun_step = *c >= '0' && *c <= '9';
    std::vector<std::pair<const char*, const char*>> vars = {
        {"SIMBI_RANK", "SIMBI_RANKS"}, {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}, {"PMI_RANK", "PMI_SIZE"}};
    if (srun_step) vars.emplace_back("SLURM_PROCID", "SLURM_STEP_NUM_TASKS");
    for (const auto& [rank_var, size_var] : vars) {
        const char *r = std::getenv(rank_var), *n = std::getenv(size_var);
        if (!r || !n) continue;
        char *end_r = nullptr, *end_n = nullptr;
        const unsigned long rank = std::strtoul(r, &end_r, 10), size = std::strtoul(n, &end_n, 10);
        if (*end_r || *end_n || size < 1 || size > 65536 || rank >= size)
            throw UsageError(std::string(rank_var) + "=" + r + ", " + size_var + "=" + n + ": not a rank and a size of a parallel job");
        return {unsigned(rank), unsigned(size)};
    }
    return {};
}

std::string rendezvous_address() {
    const char* v = std::getenv("SIMBI_RENDEZVOUS");
    if (!v || !*v) return "127.0.0.1:29500";
    const std::string a = v;
    const size_t colon = a.rfind(':');
    char* end = nullptr;
    const unsigned long port = colon == std::string::npos ? 0 : std::strtoul(a.c_str() + colon + 1, &end, 10);
    if (colon == 0 || colon == std::string::npos || !end || *end || port < 1 || port > 65535)
        throw UsageError("SIMBI_RENDEZVOUS=" + a + ": expected HOST:PORT, e.g. node01:29500");
    return a;
}

double rank_wait_seconds() {
    const char* v = std::getenv("SIMBI_RANK_TIMEOUT_S");
    if (!v || !*v) return 600;
    char* end = nullptr;
    const double s = std::strtod(v, &end);
    if (*end || !(s > 0 && s <= 1e7)) throw UsageError(std::string("SIMBI_RANK_TIMEOUT_S=") + v + ": expected seconds, e.g. 600");
    return s;
}

void wait_for_sealed_store(const std::string& store, const std::string& fingerprint, bool quiet) {
    const char* parent = std::getenv("SIMBI_PARENT_PID");
    const long parent_pid = parent ? std::strtol(parent, nullptr, 10) : 0;
    const double limit = rank_wait_seconds();
    const auto start = std::chrono::steady_clock::now();
    bool told = false;
    while (store_fingerprint(store) != fingerprint) {
        if (HostServices::cancelled()) throw RunError("interrupted while waiting for rank 0 to seal " + store);
        if (parent_pid > 0 && long(getppid()) != parent_pid)
            throw RunError("rank 0 (process " + std::to_string(parent_pid) + ") exited before it sealed " + store);
        if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > limit)
            throw RunError("rank 0 did not seal " + store + " within " + std::to_string(int(limit)) +
                           " s (SIMBI_RANK_TIMEOUT_S); is it running, with the same manifest?");
        if (!quiet && !told) std::fprintf(stderr, "waiting for rank 0 to seal %s\n", store.c_str());
        told = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

}  // namespace simbi::host
