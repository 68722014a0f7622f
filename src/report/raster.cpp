#include "mlrec/report/raster.h"

#include "mlrec/common/error.h"

#if MLREC_WITH_PNG
#include <cairo.h>
#include <librsvg/rsvg.h>

#include <memory>
#include <stdexcept>
#endif

namespace mlrec::report {

#if MLREC_WITH_PNG

namespace {

struct GObjectUnref {
  void operator()(void* object) const { g_object_unref(object); }
};
struct SurfaceDestroy {
  void operator()(cairo_surface_t* surface) const { cairo_surface_destroy(surface); }
};
struct ContextDestroy {
  void operator()(cairo_t* context) const { cairo_destroy(context); }
};

[[noreturn]] void fail(const std::string& what, GError* error) {
  const std::string message = what + (error ? std::string(": ") + error->message : "");
  if (error) g_error_free(error);
  throw std::runtime_error(message);
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

bool png_supported() { return true; }

std::string svg_to_png(const std::string& svg, double scale) {
  GError* error = nullptr;
  std::unique_ptr<RsvgHandle, GObjectUnref> handle(
      rsvg_handle_new_from_data(reinterpret_cast<const guint8*>(svg.data()), svg.size(), &error));
  if (!handle) fail("librsvg cannot read the plot's SVG", error);
  gdouble width = 0, height = 0;
  if (!rsvg_handle_get_intrinsic_size_in_pixels(handle.get(), &width, &height)) {
    throw std::runtime_error("the plot's SVG has no size in pixels");
  }
  std::unique_ptr<cairo_surface_t, SurfaceDestroy> surface(cairo_image_surface_create(
      CAIRO_FORMAT_RGB24, static_cast<int>(width * scale + 0.5), static_cast<int>(height * scale + 0.5)));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) throw std::runtime_error("cairo cannot make the image");
  std::unique_ptr<cairo_t, ContextDestroy> cr(cairo_create(surface.get()));
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  const RsvgRectangle viewport{0, 0, width * scale, height * scale};
  if (!rsvg_handle_render_document(handle.get(), cr.get(), &viewport, &error)) fail("librsvg cannot draw the plot", error);
  std::string png;
  if (cairo_surface_write_to_png_stream(surface.get(), append_bytes, &png) != CAIRO_STATUS_SUCCESS) {
    throw std::runtime_error("cairo cannot encode the PNG");
  }
  return png;
}

#else

bool png_supported() { return false; }

std::string svg_to_png(const std::string&, double) {
  throw ConfigError(
      "this mlrec_dist was built without PNG support (librsvg; Debian: librsvg2-dev, then build again): write .svg");
}

#endif

}  // namespace mlrec::report
