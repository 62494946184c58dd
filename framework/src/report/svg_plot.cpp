#include "simbi_host/report/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace simbi::host::svg {

namespace {

std::string num(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f", v);
    return b;
}

}  // namespace

Range Range::of(const std::vector<double>& values, double pad) {
    double lo = INFINITY, hi = -INFINITY;
    for (double v : values)
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    if (!std::isfinite(lo)) return {0, 1};
    if (hi - lo < 1e-12 * std::max(1.0, std::fabs(lo))) {
        const double w = std::max(1e-6, std::fabs(lo) * 0.1);
        return {lo - w, hi + w};
    }
    const double w = hi - lo;
    return {lo - pad * w, hi + pad * w};
}

std::vector<double> nice_ticks(Range r, int target) {
    const double span = r.hi - r.lo;
    if (!(span > 0) || !std::isfinite(span)) return {r.lo};
    const double raw = span / std::max(1, target), mag = std::pow(10.0, std::floor(std::log10(raw))), f = raw / mag;
    const double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
    std::vector<double> t;
    for (double v = std::ceil(r.lo / step) * step; v <= r.hi + 1e-9 * step; v += step) t.push_back(std::fabs(v) < 1e-12 * step ? 0.0 : v);
    return t;
}

std::string escape(const std::string& text) {
    std::string o;
    for (char c : text) {
        switch (c) {
            case '&': o += "&amp;"; break;
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '"': o += "&quot;"; break;
            default: o += c;
        }
    }
    return o;
}

std::string format_number(double v) {
    char b[32];
    if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-3))
        std::snprintf(b, sizeof b, "%.1e", v);
    else
        std::snprintf(b, sizeof b, "%.4g", v);
    return b;
}

Panel::Panel(double left, double top, double width, double height, Range x, Range y)
    : left_(left), top_(top), width_(width), height_(height), x_(x), y_(y) {}

double Panel::px(double x) const { return left_ + (x - x_.lo) / (x_.hi - x_.lo) * width_; }
double Panel::py(double y) const { return top_ + height_ - (y - y_.lo) / (y_.hi - y_.lo) * height_; }

void Panel::axes(const std::string& x_label, const std::string& y_label, bool show_x, bool show_y) {
    out_ += "<rect x=\"" + num(left_) + "\" y=\"" + num(top_) + "\" width=\"" + num(width_) + "\" height=\"" + num(height_) +
            "\" fill=\"none\" stroke=\"#444\" stroke-width=\"0.8\"/>\n";
    if (show_x) {
        for (double t : nice_ticks(x_, width_ > 250 ? 6 : 3)) {
            const double x = px(t);
            out_ += "<line x1=\"" + num(x) + "\" y1=\"" + num(top_ + height_) + "\" x2=\"" + num(x) + "\" y2=\"" + num(top_ + height_ + 4) +
                    "\" stroke=\"#444\"/>\n";
            out_ += "<text x=\"" + num(x) + "\" y=\"" + num(top_ + height_ + 15) + "\" font-size=\"10\" text-anchor=\"middle\">" +
                    escape(format_number(t)) + "</text>\n";
        }
        if (!x_label.empty())
            out_ += "<text x=\"" + num(left_ + width_ / 2) + "\" y=\"" + num(top_ + height_ + 30) +
                    "\" font-size=\"11\" text-anchor=\"middle\">" + escape(x_label) + "</text>\n";
    }
    if (show_y) {
        for (double t : nice_ticks(y_, height_ > 200 ? 5 : 3)) {
            const double y = py(t);
            out_ += "<line x1=\"" + num(left_ - 4) + "\" y1=\"" + num(y) + "\" x2=\"" + num(left_) + "\" y2=\"" + num(y) +
                    "\" stroke=\"#444\"/>\n";
            out_ += "<text x=\"" + num(left_ - 6) + "\" y=\"" + num(y + 3.5) + "\" font-size=\"10\" text-anchor=\"end\">" +
                    escape(format_number(t)) + "</text>\n";
        }
        if (!y_label.empty())
            out_ += "<text transform=\"translate(" + num(left_ - 42) + "," + num(top_ + height_ / 2) +
                    ") rotate(-90)\" font-size=\"11\" text-anchor=\"middle\">" + escape(y_label) + "</text>\n";
    }
}

void Panel::title(const std::string& text) {
    out_ += "<text x=\"" + num(left_ + width_ / 2) + "\" y=\"" + num(top_ - 6) +
            "\" font-size=\"12\" font-weight=\"bold\" text-anchor=\"middle\">" + escape(text) + "</text>\n";
}

void Panel::line(const std::vector<double>& xs, const std::vector<double>& ys, const std::string& color, double width,
                 const std::string& dash) {
    std::string pts;
    for (size_t i = 0; i < xs.size() && i < ys.size(); ++i)
        if (std::isfinite(xs[i]) && std::isfinite(ys[i])) pts += num(px(xs[i])) + "," + num(py(ys[i])) + " ";
    if (pts.empty()) return;
    out_ += "<polyline points=\"" + pts + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"" + num(width) + "\"" +
            (dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"") + "/>\n";
}

void Panel::band(const std::vector<double>& xs, const std::vector<double>& lo, const std::vector<double>& hi, const std::string& color,
                 double opacity) {
    std::string pts;
    for (size_t i = 0; i < xs.size(); ++i) pts += num(px(xs[i])) + "," + num(py(hi[i])) + " ";
    for (size_t i = xs.size(); i-- > 0;) pts += num(px(xs[i])) + "," + num(py(lo[i])) + " ";
    out_ += "<polygon points=\"" + pts + "\" fill=\"" + color + "\" fill-opacity=\"" + num(opacity) + "\" stroke=\"none\"/>\n";
}

void Panel::bars(const std::vector<double>& edges, const std::vector<double>& heights, const std::string& color, double opacity) {
    for (size_t i = 0; i + 1 < edges.size() && i < heights.size(); ++i) {
        const double x0 = px(edges[i]), x1 = px(edges[i + 1]), y = py(heights[i]), y0 = py(std::max(0.0, y_.lo));
        out_ += "<rect x=\"" + num(x0) + "\" y=\"" + num(std::min(y, y0)) + "\" width=\"" + num(std::max(0.0, x1 - x0 - 0.5)) +
                "\" height=\"" + num(std::fabs(y0 - y)) + "\" fill=\"" + color + "\" fill-opacity=\"" + num(opacity) + "\"/>\n";
    }
}

void Panel::points(const std::vector<double>& xs, const std::vector<double>& ys, const std::string& color, double radius) {
    for (size_t i = 0; i < xs.size() && i < ys.size(); ++i)
        if (std::isfinite(xs[i]) && std::isfinite(ys[i]))
            out_ +=
                "<circle cx=\"" + num(px(xs[i])) + "\" cy=\"" + num(py(ys[i])) + "\" r=\"" + num(radius) + "\" fill=\"" + color + "\"/>\n";
}

void Panel::cells(const std::vector<double>& xe, const std::vector<double>& ye, const std::vector<double>& counts,
                  const std::string& color) {
    double mx = 0;
    for (double c : counts) mx = std::max(mx, c);
    if (mx <= 0) return;
    const size_t nx = xe.size() - 1;
    for (size_t j = 0; j + 1 < ye.size(); ++j)
        for (size_t i = 0; i < nx; ++i) {
            const double c = counts[j * nx + i];
            if (c <= 0) continue;
            const double x0 = px(xe[i]), x1 = px(xe[i + 1]), y0 = py(ye[j + 1]), y1 = py(ye[j]);
            out_ += "<rect x=\"" + num(x0) + "\" y=\"" + num(y0) + "\" width=\"" + num(x1 - x0 + 0.3) + "\" height=\"" +
                    num(y1 - y0 + 0.3) + "\" fill=\"" + color + "\" fill-opacity=\"" + num(0.08 + 0.92 * c / mx) + "\"/>\n";
        }
}

void Panel::hline(double y, const std::string& color, const std::string& dash) { line({x_.lo, x_.hi}, {y, y}, color, 1.2, dash); }
void Panel::vline(double x, const std::string& color, const std::string& dash) { line({x, x}, {y_.lo, y_.hi}, color, 1.2, dash); }

void Panel::cross(double x, double y, const std::string& color) {
    if (!std::isfinite(x) || !std::isfinite(y)) return;
    const double cx = px(x), cy = py(y);
    out_ += "<path d=\"M" + num(cx - 5) + "," + num(cy - 5) + "L" + num(cx + 5) + "," + num(cy + 5) + "M" + num(cx - 5) + "," +
            num(cy + 5) + "L" + num(cx + 5) + "," + num(cy - 5) + "\" stroke=\"" + color + "\" stroke-width=\"2\"/>\n";
}

void Panel::label(double x, double y, const std::string& text, const std::string& anchor, double size) {
    out_ += "<text x=\"" + num(px(x)) + "\" y=\"" + num(py(y)) + "\" font-size=\"" + num(size) + "\" text-anchor=\"" + anchor + "\">" +
            escape(text) + "</text>\n";
}

Figure::Figure(double width, double height, std::string id) : width_(width), height_(height), id_(std::move(id)) {}

void Figure::text(double x, double y, const std::string& text, double size, const std::string& anchor) {
    body_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"" + num(size) + "\" text-anchor=\"" + anchor + "\">" +
             escape(text) + "</text>\n";
}

std::string Figure::svg() const {
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" id=\"" + escape(id_) + "\" width=\"" + num(width_) + "\" height=\"" +
           num(height_) + "\" viewBox=\"0 0 " + num(width_) + " " + num(height_) +
           "\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + body_ + "</svg>\n";
}

}  // namespace simbi::host::svg
