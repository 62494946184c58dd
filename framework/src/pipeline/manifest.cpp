#include "simbi_host/pipeline/manifest.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/store/batch_samples.hpp"
#include "simbi_host/pipeline/lab_config.hpp"

namespace fs = std::filesystem;

namespace simbi::host {
namespace {

std::string resolve(const std::string& dir, const std::string& p) {
    if (p.empty() || fs::path(p).is_absolute()) return p;
    return (fs::path(dir) / p).lexically_normal().string();
}

PluginRef read_plugin_ref(const JsonReader& r) {
    PluginRef ref;
    ref.id = r.string("id");
    if (r.has("config")) ref.config = r.object("config").value();
    if (r.has("sha256")) {
        ref.sha256 = r.string("sha256");
        bool hex = ref.sha256.size() == 64;
        for (char c : ref.sha256) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
        if (!hex) r.fail("sha256", "the 64 hex digits of the plugin library's SHA-256 (`simbi plugins info ID` shows it)");
        for (char& c : ref.sha256) c = char(std::tolower(static_cast<unsigned char>(c)));
    }
    ref.json_path = r.path();
    return ref;
}

// Values given inline, or the name of a CSV file with a header row (relative to the manifest),
// read row by row.
std::vector<double> numbers_or_file(const JsonReader& r, const std::string& key, const std::string& dir) {
    if (!r.raw(key).is_string()) return r.numbers(key);
    std::vector<double> out;
    for (const auto& row : read_csv_rows(resolve(dir, r.string(key)))) out.insert(out.end(), row.begin(), row.end());
    return out;
}

AssimilationSection read_assimilation(const JsonReader& a, const std::string& dir) {
    AssimilationSection s;
    s.plugin = read_plugin_ref(a);
    if (a.has("training")) s.training = a.object("training").value();
    s.seed = a.count("seed", s.seed, true);
    s.length = a.count("length");
    if (s.length > (uint64_t(1) << 20)) a.fail("length", "at most 1048576 states");
    s.trajectories = a.count("trajectories", s.trajectories, false, uint64_t(1) << 16);
    s.posterior_seed = a.count("posterior_seed", s.posterior_seed, true);
    if (a.has("truth")) s.truth = numbers_or_file(a, "truth", dir);
    {
        JsonReader o = a.object("observation");
        for (double c : o.numbers("components")) {
            if (!(c >= 0 && c == std::floor(c) && c < 1e6)) o.fail("components", "state components, integers from 0");
            s.components.push_back(uint64_t(c));
        }
        if (s.components.empty()) o.fail("components", "at least one component");
        s.every = o.count("every", 1);
        s.first = o.count("first", 0, true);
        s.sigma = o.number("sigma");
        if (!(s.sigma > 0 && std::isfinite(s.sigma))) o.fail("sigma", "the observation noise's standard deviation, a positive number");
        s.y = numbers_or_file(o, "y", dir);
        o.check_no_unknown_keys();
    }
    a.check_no_unknown_keys();
    return s;
}

}  // namespace

void apply_override(json& doc, const std::string& assignment) {
    size_t eq = assignment.find('=');
    const std::string shown = clip(assignment);
    if (eq == std::string::npos || eq == 0) throw UsageError("--set " + shown + ": expected PATH=VALUE, e.g. simulation.budget=1000");
    std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
    json value;
    const size_t first = text.find_first_not_of(" \t");
    if (first != std::string::npos && (text[first] == '{' || text[first] == '[')) {
        value = parse_json_strict(text, "--set " + clip(path));  // a structure must be valid JSON
    } else {
        try {
            value = json::parse(text);
        } catch (const std::exception&) {
            value = text;  // a bare word is a string
        }
    }
    json* node = &doc;
    std::stringstream ss(path);
    std::string seg;
    std::vector<std::string> segs;
    while (std::getline(ss, seg, '.')) segs.push_back(seg);
    if (segs.size() > size_t(kMaxJsonDepth))
        throw UsageError("--set " + shown + ": the path is deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    for (size_t i = 0; i < segs.size(); ++i) {
        const std::string& s = segs[i];
        if (s.empty()) throw UsageError("--set " + shown + ": empty path segment");
        bool last = i + 1 == segs.size();
        if (node->is_array()) {
            // The whole segment must be a decimal index: "1abc" is not 1.
            if (s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
                throw UsageError("--set " + shown + ": '" + clip(s, 40) + "' must be an array index");
            size_t idx = std::stoul(s);
            if (idx >= node->size()) throw UsageError("--set " + shown + ": index " + s + " is out of range");
            node = &(*node)[idx];
        } else {
            if (node->is_null()) *node = json::object();
            if (!node->is_object()) throw UsageError("--set " + shown + ": '" + clip(s, 40) + "' is inside a value that is not an object");
            node = &(*node)[s];
        }
        if (last) *node = value;
    }
}

std::string manifest_for_record(const json& doc) {
    json copy = doc;
    // How rows are computed, not which: no part of the record.
    if (copy.contains("simulation") && copy["simulation"].is_object())
        for (const char* key : {"threads", "isolation", "timeout_s"}) copy["simulation"].erase(key);
    return copy.dump();
}

Manifest load_manifest(const std::string& path, const std::vector<std::string>& overrides) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError(path + ": cannot read the manifest");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return load_manifest_text(text, path, overrides);
}

Manifest load_manifest_text(const std::string& text, const std::string& path, const std::vector<std::string>& overrides) {
    Manifest m;
    m.file = path;
    m.doc = parse_json_strict(text, path);
    const json* before = m.doc.is_object() && m.doc.contains("estimator") && m.doc["estimator"].is_object() ? &m.doc["estimator"] : nullptr;
    const std::string written_id =
        before && before->contains("id") && (*before)["id"].is_string() ? (*before)["id"].get<std::string>() : "";
    for (const auto& o : overrides) apply_override(m.doc, o);
    if (!written_id.empty() && m.doc["estimator"].value("id", json()) != json(written_id)) m.switched_from = written_id;
    m.dir = fs::absolute(fs::path(path)).parent_path().lexically_normal().string();

    JsonReader root(m.doc, path, "");
    if (!root.has("simbi")) root.fail("simbi", "the manifest format version, 1");
    if (root.number("simbi") != 1) root.fail("simbi", "1 (the only manifest version this simbi reads)");
    if (root.has("plugin_paths"))
        for (const auto& p : root.strings("plugin_paths")) m.plugin_paths.push_back(resolve(m.dir, p));
    m.allow_unsafe_plugins = root.boolean("allow_unsafe_plugins", false);
    {
        JsonReader s = root.object("simulator");
        m.simulator = read_plugin_ref(s);
        s.check_no_unknown_keys();
    }
    if (root.has("prior")) m.prior = root.object("prior").value();

    if (root.has("simulation")) {
        JsonReader s = root.object("simulation");
        SimulationSection& sim = m.simulation;
        sim.budget = s.count("budget", sim.budget, false, kMaxBudget);
        sim.seed = s.count("seed", sim.seed, true);
        uint64_t threads = s.count("threads", lab_config().threads.value_or(0), true);
        if (threads > 1024) s.fail("threads", "0 (one per core) or a thread count up to 1024");
        sim.threads = unsigned(threads);
        sim.batch_rows = s.count("batch_size", sim.batch_rows, false, kMaxBatchRows);
        sim.chunk_rows = s.count("chunk_rows", sim.chunk_rows, false, kMaxChunkRows);
        sim.invalid = s.choice("invalid", {"drop", "resample", "fail"}, "drop");
        sim.max_attempts = unsigned(s.count("max_attempts", sim.max_attempts, false, kMaxAttempts));
        const std::string store = s.string("store", "sims.h5");
        if (store.empty() || store.back() == '/') s.fail("store", "a file path, e.g. \"runs/sims.h5\"");
        const std::string ext = fs::path(store).extension().string();
        if (ext != ".h5" && ext != ".hdf5") s.fail("store", "an HDF5 file path ending in .h5 or .hdf5, e.g. \"runs/sims.h5\"");
        sim.store = resolve(m.dir, store);
        sim.store_in_cache = !s.has("store") && !lab_config().cache.empty();
        sim.float64 = s.choice("dtype", {"float32", "float64"}, "float32") == "float64";
        sim.isolation = s.choice("isolation", {"none", "process"}, "none");
        if (s.has("timeout_s")) {
            sim.timeout_s = s.number("timeout_s");
            if (!(*sim.timeout_s >= 0 && *sim.timeout_s <= 1e6)) s.fail("timeout_s", "seconds from 0 (no limit) to 1000000");
        }
        s.check_no_unknown_keys();
    } else {
        m.simulation.store = resolve(m.dir, "sims.h5");
        m.simulation.store_in_cache = !lab_config().cache.empty();
        m.simulation.threads = lab_config().threads.value_or(0);
    }

    if (root.has("estimator")) {
        JsonReader e = root.object("estimator");
        EstimatorSection est;
        est.plugin = read_plugin_ref(e);
        // The training settings belong to the estimator plugin, which declares and checks them.
        if (e.has("training")) {
            JsonReader t = e.object("training");
            if (t.has("seed")) t.fail_here("\"seed\" is the host's, not the estimator's: write it as /estimator/seed");
            est.training = t.value();
        }
        if (e.has("seed")) est.seed = e.count("seed", 0, true);
        e.check_no_unknown_keys();
        m.estimator = est;
    }

    if (root.has("assimilation")) {
        m.assimilation = read_assimilation(root.object("assimilation"), m.dir);
    }

    if (root.has("observation")) {
        JsonReader o = root.object("observation");
        if (o.has("x") == o.has("file")) o.fail_here("expected exactly one of \"x\" (values) or \"file\" (a CSV with a header row)");
        if (o.has("file")) {
            m.observation_file = resolve(m.dir, o.string("file"));
            const std::string& f = m.observation_file;
            const bool h5 = f.size() > 3 && (f.compare(f.size() - 3, 3, ".h5") == 0 || f.compare(f.size() - 5, 5, ".hdf5") == 0);
            m.observation = h5 ? read_table_h5(f, "x") : read_csv_rows(f);
        } else {
            const json& x = o.raw("x");
            if (x.is_array() && !x.empty() && x[0].is_array())
                m.observation = o.matrix("x");
            else
                m.observation = std::vector<std::vector<double>>{o.numbers("x")};
        }
        if (o.boolean("each_row", false)) {
            if (o.has("theta")) o.fail("theta", "one parameter vector cannot be behind each of many observations");
            m.each_row = std::move(*m.observation);
            m.observation.reset();
        }
        if (o.has("theta")) m.truth = o.numbers("theta");
        o.check_no_unknown_keys();
    }

    if (root.has("inference")) {
        JsonReader i = root.object("inference");
        m.inference.samples = i.count("samples", m.inference.samples, false, kMaxSamples);
        m.inference.seed = i.count("seed", m.inference.seed, true);
        i.check_no_unknown_keys();
    }

    if (root.mentions("sequential"))
        throw UsageError(path +
                         ": /sequential: sequential rounds are estimator settings: estimator.training.rounds, "
                         "round_budget, truncation_quantile and max_candidates (see `simbi plugins info simbi.npe`)");

    if (root.has("diagnostics")) {
        const json& d = root.raw("diagnostics");
        if (!d.is_array()) root.fail("diagnostics", "an array of {\"id\": ..., \"config\": {...}}");
        for (size_t i = 0; i < d.size(); ++i) {
            JsonReader r(d[i], path, "/diagnostics/" + std::to_string(i));
            m.diagnostics.push_back(read_plugin_ref(r));
            if (r.has("held_out")) m.diagnostics.back().held_out = resolve(m.dir, r.string("held_out"));
            r.check_no_unknown_keys();
        }
    }
    if (m.assimilation)
        for (const char* key : {"estimator", "diagnostics", "observation", "inference"})
            if (root.has(key))
                throw UsageError(path + ": /" + key +
                                 ": a run estimates parameters or assimilates trajectories (\"assimilation\"), not both; "
                                 "an assimilation takes its observations in /assimilation/observation and has no \"" +
                                 key + "\"");
    const std::string output = root.string("output", "runs/" + fs::path(path).stem().string());
    if (output.empty()) root.fail("output", "a folder path, e.g. \"runs/my_run\"");
    m.output = resolve(m.dir, output);
    root.check_no_unknown_keys();
    return m;
}

json self_contained_doc(const Manifest& m) {
    json doc = m.doc;
    if (!m.plugin_paths.empty()) doc["plugin_paths"] = m.plugin_paths;
    doc["simulation"]["store"] = m.simulation.store;
    doc["output"] = m.output;
    if (m.observation) {
        doc["observation"].erase("file");
        doc["observation"]["x"] = *m.observation;
    } else if (!m.observation_file.empty()) {
        doc["observation"]["file"] = m.observation_file;  // many rows: named, not copied
    }
    for (size_t i = 0; i < m.diagnostics.size(); ++i)
        if (!m.diagnostics[i].held_out.empty()) doc["diagnostics"][i]["held_out"] = m.diagnostics[i].held_out;
    return doc;
}

}  // namespace simbi::host
