// The batched posterior file: fixed-size datasets written by hyperslab, block by block.
#include "simbi_host/store/batch_samples.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "hdf5_io.hpp"
#include "simbi_host/core/safe_files.hpp"
#include "simbi_host/store/artifact.hpp"

namespace simbi::host {

namespace {
const char* const kSummaries[] = {"mean", "std", "q05", "q50", "q95"};
}  // namespace

struct BatchSamplesWriter::Impl {
    std::string path, tmp;
    uint64_t n_obs = 0, n_per = 0, d = 0;
    h5::Id file, samples;
    h5::Id summaries[5];
    std::vector<uint8_t> failed;
    bool committed = false;
};

BatchSamplesWriter::BatchSamplesWriter(const std::string& path, const std::vector<std::string>& names, uint64_t n_obs, uint64_t n_per_obs,
                                       const json& attributes)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.path = path;
    m.tmp = unique_temp_path(path);
    m.n_obs = n_obs;
    m.n_per = n_per_obs;
    m.d = names.size();
    h5::Id fcpl = h5::untimed_file_plist();
    m.file = h5::Id(H5Fcreate(m.tmp.c_str(), H5F_ACC_EXCL, fcpl, H5P_DEFAULT), &H5Fclose, "creating " + m.tmp);
    h5::Id dcpl(H5Pcreate(H5P_DATASET_CREATE), &H5Pclose, "dataset property list");
    H5Pset_obj_track_times(dcpl, 0);  // no timestamps: equal samples give equal bytes
    {
        hsize_t dims[3] = {n_obs, n_per_obs, m.d};
        h5::Id space(H5Screate_simple(3, dims, nullptr), &H5Sclose, "dataspace");
        m.samples =
            h5::Id(H5Dcreate2(m.file, "samples", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), &H5Dclose, "creating /samples");
    }
    for (int s = 0; s < 5; ++s) {
        hsize_t dims[2] = {n_obs, m.d};
        h5::Id space(H5Screate_simple(2, dims, nullptr), &H5Sclose, "dataspace");
        m.summaries[s] = h5::Id(H5Dcreate2(m.file, kSummaries[s], H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), &H5Dclose,
                                std::string("creating /") + kSummaries[s]);
    }
    h5::write_attribute(m.file, "parameter_names", names);
    for (auto it = attributes.begin(); it != attributes.end(); ++it)
        h5::write_attribute(m.file, it.key(), it.value().is_string() ? it.value() : json(it.value().dump()));
}

BatchSamplesWriter::~BatchSamplesWriter() {
    if (impl_ && !impl_->committed) {
        impl_->samples.close();
        for (auto& s : impl_->summaries) s.close();
        impl_->file.close();
        ::unlink(impl_->tmp.c_str());
    }
}

void BatchSamplesWriter::write(uint64_t first, uint64_t count, const std::vector<double>& samples) {
    Impl& m = *impl_;
    if (count == 0) return;
    if (first + count > m.n_obs || samples.size() != count * m.n_per * m.d) throw RunError("batched samples: a block out of range");
    {
        hsize_t start[3] = {first, 0, 0}, size[3] = {count, m.n_per, m.d};
        h5::Id file_space(H5Dget_space(m.samples), &H5Sclose, "dataspace");
        h5::check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, size, nullptr), "selecting samples");
        h5::Id mem_space(H5Screate_simple(3, size, nullptr), &H5Sclose, "dataspace");
        h5::check(H5Dwrite(m.samples, H5T_NATIVE_DOUBLE, mem_space, file_space, H5P_DEFAULT, samples.data()), "writing " + m.path);
    }
    std::vector<std::vector<double>> summary(5, std::vector<double>(count * m.d));
    std::vector<double> column(m.n_per);
    for (uint64_t i = 0; i < count; ++i)
        for (uint64_t p = 0; p < m.d; ++p) {
            for (uint64_t j = 0; j < m.n_per; ++j) column[j] = samples[(i * m.n_per + j) * m.d + p];
            if (std::isnan(column[0])) {  // an observation that could not be sampled
                for (int s = 0; s < 5; ++s) summary[s][i * m.d + p] = std::nan("");
                continue;
            }
            const SampleSummary v = summarize_values(column);
            const double values[5] = {v.mean, v.std, v.q05, v.q50, v.q95};
            for (int s = 0; s < 5; ++s) summary[s][i * m.d + p] = values[s];
        }
    for (int s = 0; s < 5; ++s) {
        hsize_t start[2] = {first, 0}, size[2] = {count, m.d};
        h5::Id file_space(H5Dget_space(m.summaries[s]), &H5Sclose, "dataspace");
        h5::check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, size, nullptr), "selecting a summary");
        h5::Id mem_space(H5Screate_simple(2, size, nullptr), &H5Sclose, "dataspace");
        h5::check(H5Dwrite(m.summaries[s], H5T_NATIVE_DOUBLE, mem_space, file_space, H5P_DEFAULT, summary[s].data()), "writing " + m.path);
    }
}

void BatchSamplesWriter::set_failed(const std::vector<uint64_t>& observations) {
    impl_->failed.assign(impl_->n_obs, 0);
    for (uint64_t i : observations)
        if (i < impl_->n_obs) impl_->failed[i] = 1;
}

void BatchSamplesWriter::commit() {
    Impl& m = *impl_;
    if (m.failed.size() != m.n_obs) m.failed.assign(m.n_obs, 0);
    {
        hsize_t dims[1] = {m.n_obs};
        h5::Id space(H5Screate_simple(1, dims, nullptr), &H5Sclose, "dataspace");
        h5::Id dcpl(H5Pcreate(H5P_DATASET_CREATE), &H5Pclose, "dataset property list");
        H5Pset_obj_track_times(dcpl, 0);
        h5::Id ds(H5Dcreate2(m.file, "failed", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), &H5Dclose, "creating /failed");
        h5::check(H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.failed.data()), "writing /failed of " + m.path);
    }
    m.samples.close();
    for (auto& s : m.summaries) s.close();
    if (m.file.close() < 0) throw RunError("cannot write " + m.path + " (is the disk full?)");
    rename_over(m.tmp, m.path);
    m.committed = true;
}

std::vector<std::vector<double>> read_table_h5(const std::string& path, const std::string& dataset) {
    h5::Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), &H5Fclose, "opening " + path);
    if (H5Lexists(file, dataset.c_str(), H5P_DEFAULT) <= 0) throw UsageError(path + ": no dataset /" + dataset);
    h5::Id ds(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT), &H5Dclose, "opening /" + dataset);
    h5::Id space(H5Dget_space(ds), &H5Sclose, "dataspace");
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(space) != 2) throw UsageError(path + ": /" + dataset + " is not a 2-D table");
    H5Sget_simple_extent_dims(space, dims, nullptr);
    std::vector<double> flat(dims[0] * dims[1]);
    if (!flat.empty()) h5::check(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, flat.data()), "reading /" + dataset);
    std::vector<std::vector<double>> rows(dims[0]);
    for (hsize_t i = 0; i < dims[0]; ++i) {
        rows[i].assign(flat.begin() + long(i * dims[1]), flat.begin() + long((i + 1) * dims[1]));
        for (double v : rows[i])
            if (!std::isfinite(v))
                throw UsageError(path + ": /" + dataset + " row " + std::to_string(i) + " holds a value that is not finite");
    }
    return rows;
}

}  // namespace simbi::host
