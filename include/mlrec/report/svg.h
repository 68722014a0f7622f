// A small SVG writer for the report's plots (report/learning_curves.h). SVG is text, and the
// plots need lines, areas, markers and labels only: written here rather than through a plotting
// library because none in Debian writes SVG without a helper program (gnuplot) at run time, and
// cairo's SVG turns text into glyph outlines with ids that clash when an HTML report inlines
// several plots. Text stays text: selectable, searchable, in the viewer's fonts.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mlrec::report {

/// Escapes &, <, >, " and ' for XML and HTML text and attribute values.
std::string xml_escape(const std::string& text);

/// One SVG drawing in user units (pixels at 100 %), y pointing down.
class SvgCanvas {
 public:
  using Point = std::pair<double, double>;

  SvgCanvas(double width, double height);

  double width() const { return width_; }
  double height() const { return height_; }

  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& stroke = "none");
  /// `dash`: an SVG stroke-dasharray ("6 4"), empty for a solid line.
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double stroke_width = 1,
            const std::string& dash = "");
  void polyline(const std::vector<Point>& points, const std::string& stroke, double stroke_width = 1.5,
                const std::string& dash = "");
  void polygon(const std::vector<Point>& points, const std::string& fill, double opacity);
  void circle(double cx, double cy, double r, const std::string& fill, const std::string& stroke = "none",
              double stroke_width = 1);
  /// `anchor`: start | middle | end. `rotate`: degrees about (x, y), e.g. -90 for a y-axis title.
  void text(double x, double y, const std::string& text, double size, const std::string& anchor = "start",
            const std::string& fill = "#222", bool bold = false, double rotate = 0);

  /// The <svg> element, for an HTML page to inline.
  std::string element() const;
  /// A standalone .svg file: the XML declaration and the element.
  std::string document() const;

 private:
  double width_, height_;
  std::string body_;
};

/// "Nice" axis ticks (Heckbert, Graphics Gems, 1990): about `count` round values (1, 2 or 5
/// times a power of ten) covering [lo, hi].
struct AxisTicks {
  double first = 0, last = 1, step = 1;
  int decimals = 0;  // enough to tell the ticks apart
  std::vector<double> values() const;
};
AxisTicks nice_ticks(double lo, double hi, int count = 5);

}  // namespace mlrec::report
