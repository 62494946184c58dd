#include "simbi_host/store/artifact.hpp"

#include <hdf5.h>
#include <unistd.h>
#include <simbi/version.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "simbi_host/core/csv.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/safe_files.hpp"
#include "simbi_host/core/text_file.hpp"
#include "simbi_host/core/sha256.hpp"
#include "hdf5_io.hpp"

namespace fs = std::filesystem;

namespace simbi::host {

namespace {

constexpr uint64_t kMaxParameters = 100000;
constexpr uint64_t kMaxXDim = uint64_t(1) << 24;

json files_of(const std::string& dir) {
    json files = json::object();
    std::vector<std::string> names;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) {
            std::string rel = fs::relative(e.path(), dir).generic_string();
            if (rel != "simbi.json" && rel.rfind("simbi.json.", 0) != 0) names.push_back(rel);
        }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) files[n] = sha256_file(dir + "/" + n);
    return files;
}

// The SHA-256 of the record without its "checksum" field, as compact JSON.
std::string record_checksum(json j) {
    j.erase("checksum");
    return sha256_hex(j.dump());
}

}  // namespace

void write_artifact_meta(const std::string& dir, const ArtifactMeta& m) {
    json j = {{"format", "simbi-artifact"},
              {"format_version", 1},
              {"estimator",
               {{"id", m.estimator_id}, {"version", m.estimator_version}, {"sha256", m.estimator_sha256}, {"config", m.estimator_config}}},
              {"training", m.training},
              {"training_rows", m.training_rows},
              {"training_fingerprint", m.training_fingerprint},
              {"record", m.record},
              {"parameter_names", m.parameter_names},
              {"x_dim", m.x_dim},
              {"prior", m.prior},
              {"simulator_id", m.simulator_id},
              {"simbi_version", SIMBI_VERSION_STRING},
              {"abi", {{"major", SIMBI_ABI_MAJOR}, {"minor", SIMBI_ABI_MINOR}}},
              {"files", files_of(dir)}};
    j["checksum"] = record_checksum(j);
    write_text_atomic(dir + "/simbi.json", j.dump(2) + "\n");
}

ArtifactMeta read_artifact_meta(const std::string& dir) {
    std::string file = dir + "/simbi.json";
    std::ifstream in(file);
    if (!in) throw UsageError(dir + ": not a simbi artifact (no simbi.json)");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    json j;
    try {
        j = parse_json_strict(text, file);
    } catch (const std::exception& e) {
        throw RunError(e.what());
    }
    ArtifactMeta m;
    try {
        m.abi_major = j.at("abi").at("major").get<uint32_t>();
        m.abi_minor = j.at("abi").at("minor").get<uint32_t>();
        if (m.abi_major != SIMBI_ABI_MAJOR)
            throw RunError(file + ": written with plugin ABI " + std::to_string(m.abi_major) + "." + std::to_string(m.abi_minor) +
                           ", but this simbi has ABI " + std::to_string(SIMBI_ABI_MAJOR) + "." + std::to_string(SIMBI_ABI_MINOR));
        if (!j.contains("checksum") || !j["checksum"].is_string())
            throw RunError(file + ": has no checksum: written by an older simbi, or not by simbi; train it again");
        if (j["checksum"].get<std::string>() != record_checksum(j))
            throw RunError(file + ": its content does not match its checksum (it was edited or damaged); train it again");
        const json& e = j.at("estimator");
        m.estimator_id = e.at("id").get<std::string>();
        m.estimator_version = e.value("version", "");
        m.estimator_sha256 = e.value("sha256", "");
        m.estimator_config = e.value("config", json::object());
        m.training = j.value("training", json::object());
        m.training_rows = j.value("training_rows", uint64_t(0));
        m.training_fingerprint = j.value("training_fingerprint", "");
        m.record = j.value("record", json::object());
        m.files = j.at("files");
        if (!m.files.is_object()) throw RunError(file + ": \"files\" must be an object");
        m.parameter_names = j.at("parameter_names").get<std::vector<std::string>>();
        if (!j.at("x_dim").is_number_unsigned()) throw RunError(file + ": x_dim must be a positive integer, not " + brief(j["x_dim"]));
        m.x_dim = j.at("x_dim").get<uint64_t>();
        m.prior = j.at("prior");
        m.simulator_id = j.value("simulator_id", "");
        m.simbi_version = j.value("simbi_version", "");
    } catch (const json::exception& e) {
        throw RunError(file + ": missing or malformed field: " + clip(e.what()));
    }
    if (m.parameter_names.empty() || m.parameter_names.size() > kMaxParameters)
        throw RunError(file + ": parameter_names must list between 1 and " + std::to_string(kMaxParameters) + " names");
    if (m.x_dim == 0 || m.x_dim > kMaxXDim) throw RunError(file + ": x_dim must be between 1 and " + std::to_string(kMaxXDim));
    return m;
}

void verify_artifact_files(const std::string& dir, const ArtifactMeta& meta) {
    json now = files_of(dir);
    for (auto it = meta.files.begin(); it != meta.files.end(); ++it) {
        if (!now.contains(it.key())) throw RunError(dir + "/" + it.key() + ": missing from the artifact; train it again");
        if (now[it.key()] != it.value())
            throw RunError(dir + "/" + it.key() +
                           ": does not match the checksum recorded in simbi.json (changed, damaged, or taken from "
                           "another artifact); train it again");
    }
    for (auto it = now.begin(); it != now.end(); ++it)
        if (!meta.files.contains(it.key()))
            throw RunError(dir + "/" + it.key() + ": not part of the artifact as it was written; remove it, or train again");
}

void write_samples_h5(const std::string& path, const std::vector<std::string>& names, const std::vector<double>& samples,
                      const json& attributes) {
    write_table_h5(path, "samples", "parameter_names", names, samples, attributes);
}

void write_table_h5(const std::string& path, const std::string& dataset, const std::string& names_attribute,
                    const std::vector<std::string>& names, const std::vector<double>& samples, const json& attributes) {
    const hsize_t d = names.size(), n = d ? samples.size() / d : 0;
    const std::string tmp = unique_temp_path(path);
    struct Cleanup {
        const std::string& tmp;
        bool done = false;
        ~Cleanup() {
            if (!done) ::unlink(tmp.c_str());
        }
    } cleanup{tmp};
    h5::Id fcpl = h5::untimed_file_plist();
    h5::Id file(H5Fcreate(tmp.c_str(), H5F_ACC_EXCL, fcpl, H5P_DEFAULT), &H5Fclose, "creating " + tmp);
    {
        hsize_t dims[2] = {n, d};
        h5::Id space(H5Screate_simple(2, dims, nullptr), &H5Sclose, "dataspace");
        h5::Id dcpl(H5Pcreate(H5P_DATASET_CREATE), &H5Pclose, "dataset property list");
        H5Pset_obj_track_times(dcpl, 0);  // no timestamps: equal samples give equal bytes
        h5::Id ds(H5Dcreate2(file, dataset.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), &H5Dclose,
                  "creating /" + dataset);
        if (n > 0) h5::check(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, samples.data()), "writing " + path);
    }
    h5::write_attribute(file, names_attribute, names);
    for (auto it = attributes.begin(); it != attributes.end(); ++it)
        h5::write_attribute(file, it.key(), it.value().is_string() ? it.value() : json(it.value().dump()));
    if (file.close() < 0) throw RunError("cannot write " + path + " (is the disk full?)");
    rename_over(tmp, path);
    cleanup.done = true;
}

void write_samples_csv(const std::string& path, const std::vector<std::string>& names, const std::vector<double>& samples) {
    AtomicFile file(path);
    std::FILE* f = file.stream();
    for (size_t j = 0; j < names.size(); ++j) std::fprintf(f, "%s%s", j ? "," : "", csv_field(names[j]).c_str());
    std::fprintf(f, "\n");
    const size_t d = names.size();
    for (size_t i = 0; d && i < samples.size() / d; ++i) {
        for (size_t j = 0; j < d; ++j) std::fprintf(f, "%s%.9g", j ? "," : "", samples[i * d + j]);
        std::fprintf(f, "\n");
    }
    file.commit();
}

SampleSummary summarize_values(std::vector<double>& v) {
    const size_t n = v.size();
    double mean = 0.0;
    for (double x : v) mean += x;
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
    return {mean, std::sqrt(var), q(0.05), q(0.5), q(0.95)};
}

json summarize_samples(const std::vector<std::string>& names, const std::vector<double>& samples) {
    json out = json::object();
    const size_t d = names.size(), n = d ? samples.size() / d : 0;
    for (size_t j = 0; j < d; ++j) {
        std::vector<double> v(n);
        for (size_t i = 0; i < n; ++i) v[i] = samples[i * d + j];
        const SampleSummary s = summarize_values(v);
        out[names[j]] = {{"mean", s.mean}, {"std", s.std}, {"q05", s.q05}, {"q50", s.q50}, {"q95", s.q95}};
    }
    return out;
}

}  // namespace simbi::host
