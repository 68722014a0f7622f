#include "mlrec/report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>

#include "mlrec/common/strings.h"

namespace mlrec::report {

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      // A whole UTF-8 character as it is; a byte that starts none (a Latin-1 folder name) would
      // make the SVG or page malformed: U+FFFD, the replacement character, instead.
      const size_t length = utf8_length_at(text, i);
      out += length > 0 ? text.substr(i, length) : "\xEF\xBF\xBD";
      i += std::max<size_t>(length, 1);
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\t': case '\n': case '\r': out += static_cast<char>(c); break;
      default: out += c < 0x20 ? "\xEF\xBF\xBD" : std::string(1, static_cast<char>(c));  // XML has no other controls
    }
    ++i;
  }
  return out;
}

namespace {

std::string points_attribute(const std::vector<SvgCanvas::Point>& points) {
  std::string out;
  for (const auto& [x, y] : points) out += fmt::format("{}{:.1f},{:.1f}", out.empty() ? "" : " ", x, y);
  return out;
}

std::string dash_attribute(const std::string& dash) {
  return dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", dash);
}

}  // namespace

SvgCanvas::SvgCanvas(double width, double height) : width_(width), height_(height) {}

void SvgCanvas::rect(double x, double y, double w, double h, const std::string& fill, const std::string& stroke) {
  body_ += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" stroke=\"{}\"/>\n",
                       x, y, w, h, fill, stroke);
}

void SvgCanvas::line(double x1, double y1, double x2, double y2, const std::string& stroke, double stroke_width,
                     const std::string& dash) {
  body_ += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n",
                       x1, y1, x2, y2, stroke, stroke_width, dash_attribute(dash));
}

void SvgCanvas::polyline(const std::vector<Point>& points, const std::string& stroke, double stroke_width,
                         const std::string& dash) {
  body_ += fmt::format(
      "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" stroke-linejoin=\"round\"{}/>\n",
      points_attribute(points), stroke, stroke_width, dash_attribute(dash));
}

void SvgCanvas::polygon(const std::vector<Point>& points, const std::string& fill, double opacity) {
  body_ += fmt::format("<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"{}\" stroke=\"none\"/>\n",
                       points_attribute(points), fill, opacity);
}

void SvgCanvas::circle(double cx, double cy, double r, const std::string& fill, const std::string& stroke,
                       double stroke_width) {
  body_ += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\" stroke=\"{}\" stroke-width=\"{}\"/>\n",
                       cx, cy, r, fill, stroke, stroke_width);
}

void SvgCanvas::text(double x, double y, const std::string& text, double size, const std::string& anchor,
                     const std::string& fill, bool bold, double rotate) {
  const std::string transform =
      rotate == 0 ? "" : fmt::format(" transform=\"rotate({} {:.1f} {:.1f})\"", rotate, x, y);
  body_ += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\" text-anchor=\"{}\" fill=\"{}\"{}{}>{}</text>\n",
                       x, y, size, anchor, fill, bold ? " font-weight=\"bold\"" : "", transform, xml_escape(text));
}

std::string SvgCanvas::element() const {
  return fmt::format(
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
             "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
             width_, height_) +
         body_ + "</svg>\n";
}

std::string SvgCanvas::document() const { return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element(); }

namespace {

// The round number (1, 2, 5 or 10 times a power of ten) nearest to x (round) or at least x.
double nice_number(double x, bool round) {
  const double exponent = std::floor(std::log10(x));
  const double fraction = x / std::pow(10.0, exponent);
  double nice;
  if (round) nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  else nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * std::pow(10.0, exponent);
}

}  // namespace

AxisTicks nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo)) {  // one value (or none): a unit-wide range around it
    const double centre = std::isfinite(lo) ? lo : 0;
    const double half = centre == 0 ? 1 : std::abs(centre) * 0.05;
    lo = centre - half;
    hi = centre + half;
  }
  AxisTicks t;
  const double range = nice_number(hi - lo, false);
  t.step = nice_number(range / std::max(count - 1, 1), true);
  t.first = std::floor(lo / t.step) * t.step;
  t.last = std::ceil(hi / t.step) * t.step;
  t.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(t.step))));
  return t;
}

std::vector<double> AxisTicks::values() const {
  std::vector<double> out;
  // Counted, not accumulated, so that rounding cannot add or drop the last tick.
  const int n = static_cast<int>(std::llround((last - first) / step));
  for (int i = 0; i <= n; ++i) out.push_back(first + i * step);
  return out;
}

}  // namespace mlrec::report
