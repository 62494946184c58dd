#include "simbi_host/artifact.hpp"

#include <hdf5.h>
#include <simbi/version.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "simbi_host/errors.hpp"

namespace fs = std::filesystem;

namespace simbi::host {

void write_artifact_meta(const std::string& dir, const ArtifactMeta& m) {
    json j = {{"format", "simbi-artifact"},
              {"format_version", 1},
              {"estimator", {{"id", m.estimator_id}, {"version", m.estimator_version}, {"sha256", m.estimator_sha256}, {"config", m.estimator_config}}},
              {"training", m.training},
              {"training_rows", m.training_rows},
              {"parameter_names", m.parameter_names},
              {"x_dim", m.x_dim},
              {"prior", m.prior},
              {"simulator_id", m.simulator_id},
              {"simbi_version", SIMBI_VERSION_STRING},
              {"abi", {{"major", SIMBI_ABI_MAJOR}, {"minor", SIMBI_ABI_MINOR}}}};
    fs::create_directories(dir);
    std::ofstream out(dir + "/simbi.json");
    out << j.dump(2) << "\n";
    if (!out) throw RunError("cannot write " + dir + "/simbi.json");
}

ArtifactMeta read_artifact_meta(const std::string& dir) {
    std::string file = dir + "/simbi.json";
    std::ifstream in(file);
    if (!in) throw UsageError(dir + ": not a simbi artifact (no simbi.json)");
    json j;
    try {
        j = json::parse(in);
    } catch (const std::exception& e) {
        throw RunError(file + ": not valid JSON: " + e.what());
    }
    ArtifactMeta m;
    try {
        m.abi_major = j.at("abi").at("major").get<uint32_t>();
        m.abi_minor = j.at("abi").at("minor").get<uint32_t>();
        if (m.abi_major != SIMBI_ABI_MAJOR)
            throw RunError(file + ": written with plugin ABI " + std::to_string(m.abi_major) + "." + std::to_string(m.abi_minor) +
                           ", but this simbi has ABI " + std::to_string(SIMBI_ABI_MAJOR) + "." + std::to_string(SIMBI_ABI_MINOR));
        const json& e = j.at("estimator");
        m.estimator_id = e.at("id").get<std::string>();
        m.estimator_version = e.value("version", "");
        m.estimator_sha256 = e.value("sha256", "");
        m.estimator_config = e.value("config", json::object());
        m.training = j.value("training", json::object());
        m.training_rows = j.value("training_rows", uint64_t(0));
        m.parameter_names = j.at("parameter_names").get<std::vector<std::string>>();
        m.x_dim = j.at("x_dim").get<uint64_t>();
        m.prior = j.at("prior");
        m.simulator_id = j.value("simulator_id", "");
        m.simbi_version = j.value("simbi_version", "");
    } catch (const json::exception& e) {
        throw RunError(file + ": missing or malformed field: " + e.what());
    }
    return m;
}

void write_samples_h5(const std::string& path, const std::vector<std::string>& names, const std::vector<double>& samples,
                      const json& attributes) {
    const hsize_t d = names.size(), n = d ? samples.size() / d : 0;
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);
    hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    if (file < 0) throw RunError("cannot create " + path);
    hsize_t dims[2] = {n, d};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t ds = H5Dcreate2(file, "samples", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (n > 0) H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, samples.data());
    H5Dclose(ds);
    H5Sclose(space);
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, H5T_VARIABLE);
    H5Tset_cset(str, H5T_CSET_UTF8);
    auto put = [&](const std::string& name, const std::vector<std::string>& values, bool scalar) {
        hsize_t cnt = values.size();
        hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &cnt, nullptr);
        hid_t a = H5Acreate2(file, name.c_str(), str, sp, H5P_DEFAULT, H5P_DEFAULT);
        std::vector<const char*> p;
        for (const auto& v : values) p.push_back(v.c_str());
        H5Awrite(a, str, p.data());
        H5Aclose(a);
        H5Sclose(sp);
    };
    put("parameter_names", names, false);
    for (auto it = attributes.begin(); it != attributes.end(); ++it)
        put(it.key(), {it.value().is_string() ? it.value().get<std::string>() : it.value().dump()}, true);
    H5Tclose(str);
    if (H5Fclose(file) < 0) throw RunError("cannot write " + path);
}

void write_samples_csv(const std::string& path, const std::vector<std::string>& names, const std::vector<double>& samples) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw RunError("cannot write " + path);
    for (size_t j = 0; j < names.size(); ++j) std::fprintf(f, "%s%s", j ? "," : "", names[j].c_str());
    std::fprintf(f, "\n");
    const size_t d = names.size();
    for (size_t i = 0; d && i < samples.size() / d; ++i) {
        for (size_t j = 0; j < d; ++j) std::fprintf(f, "%s%.9g", j ? "," : "", samples[i * d + j]);
        std::fprintf(f, "\n");
    }
    if (std::fclose(f) != 0) throw RunError("cannot write " + path);
}

json summarize_samples(const std::vector<std::string>& names, const std::vector<double>& samples) {
    json out = json::object();
    const size_t d = names.size(), n = d ? samples.size() / d : 0;
    for (size_t j = 0; j < d; ++j) {
        std::vector<double> v(n);
        double mean = 0.0;
        for (size_t i = 0; i < n; ++i) mean += (v[i] = samples[i * d + j]);
        mean /= double(std::max<size_t>(n, 1));
        double var = 0.0;
        for (double x : v) var += (x - mean) * (x - mean);
        var /= double(std::max<size_t>(n, 2) - 1);
        std::sort(v.begin(), v.end());
        auto q = [&](double p) {  // linear interpolation between order statistics
            if (n == 0) return std::nan("");
            double pos = p * double(n - 1);
            size_t lo = size_t(pos);
            double frac = pos - double(lo);
            return lo + 1 < n ? v[lo] * (1 - frac) + v[lo + 1] * frac : v[lo];
        };
        out[names[j]] = {{"mean", mean}, {"std", std::sqrt(var)}, {"q05", q(0.05)}, {"q50", q(0.5)}, {"q95", q(0.95)}};
    }
    return out;
}

}  // namespace simbi::host
