#include "hdf5_io.hpp"

#include <algorithm>
#include <vector>

namespace simbi::host::h5 {
namespace {

// Silences HDF5's own error printing (our messages name the file), and keeps HDF5 from closing
// its files again at exit: every file is closed where it is written, and after a failed flush
// (a full disk) HDF5's own shutdown would crash the process on its way out.
struct QuietHdf5 {
    QuietHdf5() {
        H5dont_atexit();
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    }
};
const QuietHdf5 quiet_hdf5;

Id utf8_string_type() {
    Id type(H5Tcopy(H5T_C_S1), &H5Tclose, "string type");
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    return type;
}

}  // namespace

void write_attribute(hid_t obj, const std::string& name, const json& value) {
    const std::string what = "writing attribute " + name;
    if (value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0)) {
        Id space(H5Screate(H5S_SCALAR), &H5Sclose, what);
        Id attr(H5Acreate2(obj, name.c_str(), H5T_STD_U64LE, space, H5P_DEFAULT, H5P_DEFAULT), &H5Aclose, what);
        uint64_t v = value.get<uint64_t>();
        check(H5Awrite(attr, H5T_NATIVE_UINT64, &v), what);
        return;
    }
    std::vector<std::string> texts;
    const bool array =
        value.is_array() && !value.empty() && std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); });
    if (array)
        for (const auto& v : value) texts.push_back(v.get<std::string>());
    else
        texts.push_back(value.is_string() ? value.get<std::string>() : value.dump());
    Id type = utf8_string_type();
    hsize_t n = texts.size();
    Id space(array ? H5Screate_simple(1, &n, nullptr) : H5Screate(H5S_SCALAR), &H5Sclose, what);
    Id attr(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), &H5Aclose, what);
    std::vector<const char*> ptrs;
    for (const auto& t : texts) ptrs.push_back(t.c_str());
    check(H5Awrite(attr, type, ptrs.data()), what);
}

json read_attributes(hid_t obj) {
    json out = json::object();
    H5Aiterate2(
        obj, H5_INDEX_NAME, H5_ITER_INC, nullptr,
        [](hid_t loc, const char* name, const H5A_info_t*, void* data) -> herr_t {
            json& o = *static_cast<json*>(data);
            try {
                Id attr(H5Aopen(loc, name, H5P_DEFAULT), &H5Aclose, "opening an attribute");
                Id type(H5Aget_type(attr), &H5Tclose, "attribute type");
                Id space(H5Aget_space(attr), &H5Sclose, "attribute space");
                hssize_t n = H5Sget_simple_extent_npoints(space);
                if (n < 0 || n > (1 << 20)) return 0;
                bool scalar = H5Sget_simple_extent_type(space) == H5S_SCALAR;
                H5T_class_t cls = H5Tget_class(type);
                if (cls == H5T_STRING && H5Tis_variable_str(type) > 0) {
                    Id mem(H5Tcopy(H5T_C_S1), &H5Tclose, "string type");
                    H5Tset_size(mem, H5T_VARIABLE);
                    H5Tset_cset(mem, H5Tget_cset(type));  // HDF5 does not convert between character sets
                    std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
                    if (H5Aread(attr, mem, ptrs.data()) < 0) return 0;
                    json arr = json::array();
                    for (char* p : ptrs) arr.push_back(p ? std::string(p) : std::string());
                    H5Dvlen_reclaim(mem, space, H5P_DEFAULT, ptrs.data());
                    o[name] = scalar ? arr[0] : arr;
                } else if (cls == H5T_INTEGER) {
                    std::vector<uint64_t> v(static_cast<size_t>(n));
                    if (H5Aread(attr, H5T_NATIVE_UINT64, v.data()) < 0) return 0;
                    o[name] = scalar ? json(v[0]) : json(v);
                } else if (cls == H5T_FLOAT) {
                    std::vector<double> v(static_cast<size_t>(n));
                    if (H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()) < 0) return 0;
                    o[name] = scalar ? json(v[0]) : json(v);
                }
            } catch (const RunError&) {
                // an unreadable attribute is left out; the caller checks for the ones it needs
            }
            return 0;
        },
        &out);
    return out;
}

Id untimed_file_plist() {
    Id fcpl(H5Pcreate(H5P_FILE_CREATE), &H5Pclose, "file property list");
    H5Pset_obj_track_times(fcpl, 0);
    return fcpl;
}

}  // namespace simbi::host::h5
