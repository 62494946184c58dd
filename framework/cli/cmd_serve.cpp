// simbi serve: the lab's catalogue as a read-only web page (Boost.Beast), on localhost unless
// told otherwise. Routes: / (the page), /catalogue.json, and /run/<id>/<file> for the files of a
// listed run folder (its report.html and plots); anything else, and any path that leaves a run
// folder (.., encoded or not, or a link out of it), is 404.
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/json_reader.hpp"
#include "simbi_host/core/sha256.hpp"
#include "simbi_host/pipeline/catalogue.hpp"
#include "simbi_host/pipeline/lab_config.hpp"
#include "simbi_host/report/svg_plot.hpp"

namespace simbi_cli {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using simbi::host::Catalogue;
using simbi::host::CatalogueEntry;
using simbi::host::json;
using simbi::host::svg::escape;  // report/svg_plot.hpp: markup-safe text, for double-quoted attributes too

namespace {

std::string run_id(const std::string& path) { return simbi::host::sha256_hex(path).substr(0, 16); }

// Percent-decoding; nullopt on a malformed escape.
std::optional<std::string> percent_decode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
            return std::nullopt;
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
    }
    return out;
}

// The file `rest` names inside `root`, or nullopt if it is not a regular file there: no "." or
// ".." part, no NUL or backslash, and, links resolved, still inside root.
std::optional<fs::path> file_inside(const fs::path& root, const std::string& rest) {
    const auto decoded = percent_decode(rest);
    if (!decoded || decoded->find('\0') != std::string::npos || decoded->find('\\') != std::string::npos) return std::nullopt;
    const std::string name = decoded->empty() ? "report.html" : *decoded;
    if (name.front() == '/') return std::nullopt;
    for (const auto& part : fs::path(name))
        if (part == ".." || part == "." || part.empty()) return std::nullopt;
    std::error_code ec;
    const fs::path base = fs::canonical(root, ec);
    if (ec) return std::nullopt;
    const fs::path file = fs::canonical(base / name, ec);
    if (ec || !fs::is_regular_file(file, ec)) return std::nullopt;
    const std::string b = base.string() + "/", f = file.string();
    if (f.compare(0, b.size(), b) != 0) return std::nullopt;
    return file;
}

std::string content_type(const fs::path& p) {
    const std::string ext = p.extension().string();
    if (ext == ".html") return "text/html; charset=utf-8";
    if (ext == ".svg") return "image/svg+xml";
    if (ext == ".png") return "image/png";
    if (ext == ".json") return "application/json";
    if (ext == ".csv" || ext == ".txt" || ext == ".log") return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

std::string number_or_dash(double v, int digits) {
    if (v < 0) return "&ndash;";
    char text[32];
    std::snprintf(text, sizeof text, "%.*f", digits, v);
    return text;
}

std::string page(const Catalogue& c, const std::string& cache) {
    std::string rows;
    for (const auto& e : c.entries) {
        std::string name = escape(e.name);
        if (e.kind == "run" && e.has_report) name = "<a href=\"/run/" + run_id(e.path) + "/report.html\">" + name + "</a>";
        rows += "<tr class=\"" + e.kind + "\"><td>" + e.kind + "</td><td>" + name + "</td><td>" + escape(e.owner) + "</td><td>" +
                escape(e.modified) + "</td><td>" + escape(e.simulator) + "</td><td>" + escape(e.estimator) + "</td><td>" +
                (e.budget < 0 ? std::string("&ndash;") : std::to_string(e.budget)) + "</td><td>" +
                (e.coverage.empty() ? std::string("&ndash;") : escape(e.coverage)) + "</td><td>" + number_or_dash(e.c2st, 3) +
                "</td><td class=\"path\">" + escape(e.path) + "</td></tr>\n";
    }
    return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>simbi: the lab's catalogue</title>\n"
           "<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
           "th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}th{background:#f4f4f4}"
           "td{white-space:nowrap}td.path{color:#777;font-size:12px}tr.store td:first-child{color:#2a6}tr.posterior "
           "td:first-child{color:#26a}"
           "tr.run td:first-child{color:#a62}</style></head>\n<body>\n<h1>The lab's catalogue</h1>\n<p>Cache: " +
           (cache.empty() ? std::string("none configured") : escape(cache)) + ". " + std::to_string(c.entries.size()) + " entries, " +
           (c.rebuilt ? "read from the files" : "from the index") + " (" + escape(c.index) +
           ").</p>\n<table id=\"catalogue\" data-entries=\"" + std::to_string(c.entries.size()) +
           "\">\n<tr><th>kind</th><th>name</th><th>who</th><th>when</th><th>simulator</th><th>estimator</th><th>budget</th>"
           "<th>coverage</th><th>C2ST</th><th>where</th></tr>\n" +
           rows + "</table>\n</body></html>\n";
}

json catalogue_json(const Catalogue& c) {
    json list = json::array();
    for (const auto& e : c.entries) {
        json j = {{"kind", e.kind},           {"name", e.name},
                  {"path", e.path},           {"owner", e.owner},
                  {"modified", e.modified},   {"simulator", e.simulator},
                  {"estimator", e.estimator}, {"budget", e.budget < 0 ? json(nullptr) : json(e.budget)},
                  {"coverage", e.coverage},   {"c2st", e.c2st < 0 ? json(nullptr) : json(e.c2st)}};
        if (e.kind == "run" && e.has_report) j["report"] = "/run/" + run_id(e.path) + "/report.html";
        list.push_back(j);
    }
    return {{"index", c.index}, {"rebuilt", c.rebuilt}, {"entries", list}};
}

http::response<http::string_body> answer(const http::request<http::string_body>& req, const std::string& cache,
                                         const std::vector<std::string>& roots) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.set(http::field::server, "simbi");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(false);
    auto reply = [&](http::status s, const std::string& type, std::string body) {
        res.result(s);
        res.set(http::field::content_type, type);
        res.body() = std::move(body);
        res.prepare_payload();
        return res;
    };
    if (req.method() != http::verb::get) return reply(http::status::method_not_allowed, "text/plain", "read-only: GET only\n");
    std::string target(req.target());
    target = target.substr(0, target.find('?'));
    if (target == "/" || target == "/index.html") {
        const Catalogue c = simbi::host::load_catalogue(cache, roots, false);
        return reply(http::status::ok, "text/html; charset=utf-8", page(c, cache));
    }
    if (target == "/catalogue.json")
        return reply(http::status::ok, "application/json", catalogue_json(simbi::host::load_catalogue(cache, roots, false)).dump(2) + "\n");
    if (target.rfind("/run/", 0) == 0) {
        const size_t slash = target.find('/', 5);
        const std::string id = target.substr(5, slash == std::string::npos ? std::string::npos : slash - 5);
        const std::string rest = slash == std::string::npos ? "" : target.substr(slash + 1);
        for (const auto& e : simbi::host::load_catalogue(cache, roots, false).entries)
            if (e.kind == "run" && run_id(e.path) == id)
                if (const auto file = file_inside(e.path, rest)) {
                    std::ifstream in(*file, std::ios::binary);
                    return reply(http::status::ok, content_type(*file),
                                 std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
                }
    }
    return reply(http::status::not_found, "text/plain", "not found\n");
}

}  // namespace

int cmd_serve(const Args& args) {
    po::options_description desc("options");
    std::string bind = "127.0.0.1", cache;
    unsigned port = 8470;
    std::vector<std::string> roots;
    desc.add_options()("help,h", "show this help")("port", po::value<unsigned>(&port), "TCP port (default 8470; 0 picks a free one)")(
        "bind", po::value<std::string>(&bind), "address to listen on (default 127.0.0.1: this machine only)")(
        "runs", po::value<std::vector<std::string>>(&roots), "a folder of run folders to list (repeatable; default: the current folder)")(
        "cache", po::value<std::string>(&cache), "the lab cache (default: the configuration's `cache`)");
    po::positional_options_description pos;
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi serve [--port P] [--bind ADDRESS] [--runs DIR ...]")) return 0;
    if (port > 65535) throw simbi::host::UsageError("--port " + std::to_string(port) + ": expected 0 to 65535");
    if (cache.empty()) cache = simbi::host::lab_config().cache;
    if (roots.empty()) roots.push_back(".");
    for (auto& r : roots) r = fs::absolute(r).lexically_normal().string();
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(bind, ec);
    if (ec) throw simbi::host::UsageError("--bind " + bind + ": not an IP address");
    boost::asio::io_context io;
    tcp::acceptor acceptor(io);
    acceptor.open(address.is_v6() ? tcp::v6() : tcp::v4());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind({address, static_cast<unsigned short>(port)}, ec);
    if (ec) throw simbi::host::RunError("cannot listen on " + bind + ":" + std::to_string(port) + ": " + ec.message());
    acceptor.listen();
    const Catalogue first = simbi::host::load_catalogue(cache, roots, false);
    std::cout << "serving the catalogue (" << first.entries.size() << " entries) at http://" << bind << ":"
              << acceptor.local_endpoint().port() << "/" << std::endl;
    for (;;) {
        tcp::socket socket(io);
        acceptor.accept(socket, ec);
        if (ec) continue;
        // A client that stalls is dropped after 10 s, so it cannot hold the server.
        const timeval timeout{10, 0};
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        try {
            boost::beast::flat_buffer buffer;
            http::request<http::string_body> req;
            http::read(socket, buffer, req);
            http::write(socket, answer(req, cache, roots));
        } catch (const std::exception& e) {
            // A malformed request, a closed or stalled connection: that client's loss only.
        }
        socket.shutdown(tcp::socket::shutdown_both, ec);
    }
}

}  // namespace simbi_cli
