// PNG output of the plots: the SVG that report/svg.h writes, rendered by librsvg (the library
// GNOME and ImageMagick render SVG with) onto a cairo image surface. Optional at build time:
// CMake builds it where pkg-config finds librsvg-2.0 (scripts/setup.sh installs it); without it
// the plots are SVG only and asking for a PNG is a configuration error saying so.
#pragma once

#include <string>

namespace mlrec::report {

/// Whether this build writes PNG.
bool png_supported();

/// The PNG file's bytes of an SVG document, rendered at `scale` times its size on white.
/// ConfigError where this build has no PNG support; std::runtime_error when librsvg fails.
std::string svg_to_png(const std::string& svg, double scale);

}  // namespace mlrec::report
