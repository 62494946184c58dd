#include "fuzz_targets.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/pipeline/manifest.hpp"
#include "simbi_host/core/prior.hpp"
#include "simbi_host/store/store.hpp"

int fuzz_manifest(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        simbi::host::Manifest m = simbi::host::load_manifest_text(text, "/nonexistent/fuzz.json", {"simulation.seed=3"});
        if (m.prior) simbi::host::parse_prior(simbi::host::JsonReader(*m.prior, m.file, "/prior"));
    } catch (const simbi::host::UsageError&) {
    } catch (const simbi::host::RunError&) {}
    return 0;
}

int fuzz_store(const uint8_t* data, size_t size) {
    char path[] = "/tmp/simbi-fuzz-store-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    size_t done = 0;
    while (done < size) {
        ssize_t w = ::write(fd, data + done, size - done);
        if (w <= 0) break;
        done += size_t(w);
    }
    ::close(fd);
    try {
        simbi::host::DatasetReader r(path);
        r.verify();
        std::vector<double> theta(r.theta_dim() * 4), x(r.x_dim() * 4);
        if (r.rows() >= 4 && r.theta_dim() < 1000 && r.x_dim() < 1000) r.read(0, 4, theta.data(), x.data());
    } catch (const simbi::host::RunError&) {}
    std::remove(path);
    return 0;
}
