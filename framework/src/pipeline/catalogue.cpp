#include "simbi_host/pipeline/catalogue.hpp"

#include <pwd.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/core/safe_files.hpp"
#include "simbi_host/core/sha256.hpp"
#include "simbi_host/core/text_file.hpp"
#include "simbi_host/pipeline/lab_cache.hpp"
#include "simbi_host/plugins/plugin_registry.hpp"

namespace fs = std::filesystem;

namespace simbi::host {
namespace {

constexpr const char* kSchema = "simbi-catalogue/1";

json read_json_or_null(const std::string& path) {
    try {
        return parse_json_strict(read_text_file(path), path);
    } catch (const std::exception&) {
        return nullptr;
    }
}

// Run folders (those holding summary.json) under root, at most `depth` levels down, never through links.
void find_runs(const fs::path& root, int depth, std::vector<std::string>& out) {
    std::error_code ec;
    if (fs::is_regular_file(root / "summary.json", ec)) {
        out.push_back(root.string());
        return;
    }
    if (depth == 0) return;
    for (const auto& e : fs::directory_iterator(root, ec))
        if (e.is_directory(ec) && !e.is_symlink(ec) && e.path().filename().string()[0] != '.') find_runs(e.path(), depth - 1, out);
}

// The files the catalogue is read from, each as "path size mtime": what the signature covers.
std::vector<std::string> source_files(const std::string& cache, const std::vector<std::string>& runs) {
    std::vector<std::string> files;
    auto add = [&](const fs::path& p) {
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode))
            files.push_back(p.string() + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
                            std::to_string(st.st_mtim.tv_nsec));
    };
    std::error_code ec;
    if (!cache.empty()) {
        for (const auto& e : fs::directory_iterator(cache + "/stores", ec))
            if (e.path().extension() == ".h5") add(e.path());
        for (const auto& e : fs::directory_iterator(cache + "/posteriors", ec)) add(e.path() / "provenance.json");
    }
    for (const auto& r : runs) {
        add(fs::path(r) / "summary.json");
        add(fs::path(r) / "settings.json");
        add(fs::path(r) / "report.html");
        for (const auto& e : fs::directory_iterator(fs::path(r) / "diagnostics", ec)) add(e.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::vector<CatalogueEntry> read_from_files(const std::string& cache, const std::vector<std::string>& runs) {
    std::vector<CatalogueEntry> out;
    if (!cache.empty())
        for (const auto& c : list_cache(cache)) {
            CatalogueEntry e;
            e.kind = c.kind;
            e.name = c.name;
            e.path = c.path;
            e.owner = c.owner;
            e.modified = utc_time(c.modified);
            if (c.kind == "store") {
                e.simulator = c.details.value("simulator", "");
                if (c.details.contains("rows")) e.budget = c.details["rows"].get<long long>();
            } else {
                const json& d = c.details;
                if (d.contains("simulator") && d["simulator"].is_object()) e.simulator = d["simulator"].value("id", "");
                if (d.contains("estimator") && d["estimator"].is_object()) e.estimator = d["estimator"].value("id", "");
                if (d.value("budget", json()).is_number_integer()) e.budget = d["budget"].get<long long>();
                if (d.contains("verdicts") && d["verdicts"].is_object()) e.coverage = d["verdicts"].value("simbi.coverage", "");
                if (d.value("c2st", json()).is_number()) e.c2st = d["c2st"].get<double>();
                if (d.value("published_at", json()).is_string()) e.modified = d["published_at"];
            }
            out.push_back(e);
        }
    for (const auto& r : runs) {
        CatalogueEntry e;
        e.kind = "run";
        e.path = r;
        e.name = fs::path(r).filename().string();
        struct stat st {};
        if (::stat((r + "/summary.json").c_str(), &st) == 0) {
            e.owner = user_name(st.st_uid);
            e.modified = utc_time(st.st_mtime);
        }
        const json summary = read_json_or_null(r + "/summary.json");
        if (summary.is_object()) {
            e.estimator = summary.value("estimator", "");
            if (summary.value("simulations", json()).is_number_integer()) e.budget = summary["simulations"].get<long long>();
        }
        const json settings = read_json_or_null(r + "/settings.json");
        if (settings.is_object() && settings.contains("simulator") && settings["simulator"].is_object())
            e.simulator = settings["simulator"].value("id", "");
        const json coverage = read_json_or_null(r + "/diagnostics/simbi.coverage.json");
        if (coverage.is_object() && coverage.contains("report") && coverage["report"].contains("headline"))
            e.coverage = coverage["report"]["headline"].value("verdict", "");
        const json c2st = read_json_or_null(r + "/diagnostics/simbi.c2st.json");
        if (c2st.is_object() && c2st.contains("results") && c2st["results"].value("accuracy", json()).is_number())
            e.c2st = c2st["results"]["accuracy"].get<double>();
        e.has_report = fs::is_regular_file(r + "/report.html");
        out.push_back(e);
    }
    return out;
}

// A thin RAII over sqlite3, with errors as RunError naming the index.
struct Db {
    sqlite3* db = nullptr;
    std::string path;
    Db(const std::string& p, int flags) : path(p) {
        if (sqlite3_open_v2(p.c_str(), &db, flags, nullptr) != SQLITE_OK) {
            const std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
            sqlite3_close(db);
            db = nullptr;
            throw RunError("the catalogue index " + p + ": " + msg);
        }
    }
    ~Db() { sqlite3_close(db); }
    void exec(const std::string& sql) {
        char* err = nullptr;
        if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            const std::string msg = err ? err : "error";
            sqlite3_free(err);
            throw RunError("the catalogue index " + path + ": " + msg);
        }
    }
};

struct Stmt {
    sqlite3_stmt* s = nullptr;
    Stmt(Db& db, const char* sql) {
        if (sqlite3_prepare_v2(db.db, sql, -1, &s, nullptr) != SQLITE_OK)
            throw RunError("the catalogue index " + db.path + ": " + sqlite3_errmsg(db.db));
    }
    ~Stmt() { sqlite3_finalize(s); }
    void text(int i, const std::string& v) { sqlite3_bind_text(s, i, v.c_str(), -1, SQLITE_TRANSIENT); }
    std::string column(int i) {
        const unsigned char* t = sqlite3_column_text(s, i);
        return t ? reinterpret_cast<const char*>(t) : "";
    }
};

void write_index(Db& db, const std::vector<CatalogueEntry>& entries, const std::string& signature) {
    db.exec(
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
        "CREATE TABLE entries(kind TEXT, name TEXT, path TEXT, owner TEXT, modified TEXT, simulator TEXT, estimator TEXT,"
        " budget INTEGER, coverage TEXT, c2st REAL, has_report INTEGER);"
        "BEGIN;");
    {
        Stmt m(db, "INSERT INTO meta VALUES (?, ?)");
        for (const auto& [k, v] : {std::pair<std::string, std::string>{"schema", kSchema}, {"signature", signature}}) {
            m.text(1, k);
            m.text(2, v);
            sqlite3_step(m.s);
            sqlite3_reset(m.s);
        }
        Stmt ins(db, "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        for (const auto& e : entries) {
            int i = 1;
            for (const std::string* t : {&e.kind, &e.name, &e.path, &e.owner, &e.modified, &e.simulator, &e.estimator}) ins.text(i++, *t);
            sqlite3_bind_int64(ins.s, i++, e.budget);
            ins.text(i++, e.coverage);
            sqlite3_bind_double(ins.s, i++, e.c2st);
            sqlite3_bind_int(ins.s, i++, e.has_report ? 1 : 0);
            if (sqlite3_step(ins.s) != SQLITE_DONE) throw RunError("the catalogue index " + db.path + ": " + sqlite3_errmsg(db.db));
            sqlite3_reset(ins.s);
        }
    }
    db.exec("COMMIT;");
}

// The index's entries if it is trustworthy and its signature is `signature`; false otherwise.
bool read_index(const std::string& path, const std::string& signature, std::vector<CatalogueEntry>& out) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    if ((st.st_uid != ::geteuid() && st.st_uid != 0) || !unsafe_reason(path).empty()) return false;
    try {
        Db db(path, SQLITE_OPEN_READONLY);
        Stmt meta(db, "SELECT key, value FROM meta");
        std::string schema, sig;
        while (sqlite3_step(meta.s) == SQLITE_ROW) (meta.column(0) == "schema" ? schema : sig) = meta.column(1);
        if (schema != kSchema || sig != signature) return false;
        Stmt q(db, "SELECT kind, name, path, owner, modified, simulator, estimator, budget, coverage, c2st, has_report FROM entries");
        while (sqlite3_step(q.s) == SQLITE_ROW) {
            CatalogueEntry e;
            int i = 0;
            for (std::string* t : {&e.kind, &e.name, &e.path, &e.owner, &e.modified, &e.simulator, &e.estimator}) *t = q.column(i++);
            e.budget = sqlite3_column_int64(q.s, i++);
            e.coverage = q.column(i++);
            e.c2st = sqlite3_column_double(q.s, i++);
            e.has_report = sqlite3_column_int(q.s, i++) != 0;
            out.push_back(e);
        }
        return true;
    } catch (const std::exception&) {
        out.clear();
        return false;
    }
}

}  // namespace

Catalogue load_catalogue(const std::string& cache, const std::vector<std::string>& run_roots, bool force) {
    std::vector<std::string> runs;
    for (const auto& root : run_roots) find_runs(fs::absolute(root).lexically_normal(), 3, runs);
    std::sort(runs.begin(), runs.end());
    runs.erase(std::unique(runs.begin(), runs.end()), runs.end());
    std::string listing;
    for (const auto& line : source_files(cache, runs)) listing += line + "\n";
    for (const auto& r : runs) listing += "run " + r + "\n";
    const std::string signature = sha256_hex(listing);

    Catalogue c;
    c.index = cache.empty() ? ":memory:" : cache + "/.simbi-index.sqlite";
    if (!force && !cache.empty() && read_index(c.index, signature, c.entries)) return c;
    c.rebuilt = true;
    c.entries = read_from_files(cache, runs);
    if (cache.empty() || ::access(cache.c_str(), W_OK) != 0) {
        c.index = ":memory:";
        return c;
    }
    // Written beside and renamed over: a reader sees the old index or the whole new one.
    const std::string temp = unique_temp_path(c.index);
    try {
        {
            Db db(temp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
            write_index(db, c.entries, signature);
        }
        ::chmod(temp.c_str(), 0644);
        rename_over(temp, c.index);
    } catch (const std::exception&) {
        ::unlink(temp.c_str());
        c.index = ":memory:";
    }
    return c;
}

}  // namespace simbi::host
