// A small SVG plotter for the run report: panels with axes and ticks, lines, bands, bars, points
// and density cells. Output is plain SVG text, the same bytes for the same data.
#pragma once
#include <string>
#include <vector>

namespace simbi::host::svg {

struct Range {
    double lo = 0, hi = 1;
    // The range of values (finite ones), widened by `pad` of its width on each side.
    static Range of(const std::vector<double>& values, double pad = 0.05);
};

// Tick positions at 1, 2 or 5 times a power of ten, about `target` of them (Heckbert 1990).
std::vector<double> nice_ticks(Range r, int target = 5);
// Escapes text for XML.
std::string escape(const std::string& text);
// A number for a tick label: short, no trailing zeros.
std::string format_number(double v);

// One plotting area at (left, top) of size width x height in the figure, mapping data ranges x
// and y onto it.
class Panel {
public:
    Panel(double left, double top, double width, double height, Range x, Range y);
    // Axes with ticks and labels; show_x/show_y false draw the frame without that axis' labels.
    void axes(const std::string& x_label, const std::string& y_label, bool show_x = true, bool show_y = true);
    void title(const std::string& text);
    void line(const std::vector<double>& xs, const std::vector<double>& ys, const std::string& color, double width = 1.5,
              const std::string& dash = "");
    void band(const std::vector<double>& xs, const std::vector<double>& lo, const std::vector<double>& hi, const std::string& color,
              double opacity = 0.25);
    // Bars over [edges[i], edges[i + 1]) with the given heights.
    void bars(const std::vector<double>& edges, const std::vector<double>& heights, const std::string& color, double opacity = 0.7);
    void points(const std::vector<double>& xs, const std::vector<double>& ys, const std::string& color, double radius = 2.5);
    // Rectangles of a 2-D histogram, shaded by count / max.
    void cells(const std::vector<double>& x_edges, const std::vector<double>& y_edges, const std::vector<double>& counts,
               const std::string& color);
    void hline(double y, const std::string& color, const std::string& dash = "4 3");
    void vline(double x, const std::string& color, const std::string& dash = "4 3");
    void cross(double x, double y, const std::string& color);
    void label(double x, double y, const std::string& text, const std::string& anchor = "start", double size = 11);
    const std::string& body() const { return out_; }

private:
    double px(double x) const;
    double py(double y) const;
    double left_, top_, width_, height_;
    Range x_, y_;
    std::string out_;
};

// A figure of panels; svg() is a standalone document with a class for the report's checks.
class Figure {
public:
    Figure(double width, double height, std::string id);
    void add(const Panel& p) { body_ += p.body(); }
    void text(double x, double y, const std::string& text, double size = 13, const std::string& anchor = "start");
    std::string svg() const;
    const std::string& id() const { return id_; }

private:
    double width_, height_;
    std::string id_, body_;
};

}  // namespace simbi::host::svg
