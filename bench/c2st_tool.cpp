// C2ST between two sample files (CSV with a header row), with sbibm's protocol.
// usage: bench_c2st REFERENCE.csv APPROXIMATE.csv [seed]
#include <cstdio>

#include "neural/neural.hpp"
#include "simbi_host/pipeline/manifest.hpp"

namespace {
torch::Tensor load(const std::string& path) {
    auto rows = simbi::host::read_csv_rows(path);
    std::vector<double> flat;
    for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
    return torch::tensor(flat, torch::kFloat64).view({int64_t(rows.size()), int64_t(rows[0].size())});
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: bench_c2st REFERENCE.csv APPROXIMATE.csv [seed]\n");
        return 2;
    }
    simbi::nn::ThreadScope one(1);
    std::printf("%.4f\n", simbi::nn::c2st(load(argv[1]), load(argv[2]), argc > 3 ? std::stoull(argv[3]) : 42));
    return 0;
}
