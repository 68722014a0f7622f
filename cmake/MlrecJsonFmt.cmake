# JSON and string formatting, on well-kept libraries:
#
# nlohmann-json (Debian's nlohmann-json3-dev; header-only) for the run record (summary.json,
# metrics.jsonl) and every other JSON file mlrec writes or reads. Machines without the package
# (the GPU machines) take a copy of its headers carried to .gpu/nlohmann-json/include
# (scripts/gpu_carry.sh) or to MLREC_NLOHMANN_JSON_INCLUDE_DIR.
#
# fmt: LibTorch's own copy (torch/include/fmt), used header-only, so that the process holds one
# fmt of one version (LibTorch compiles its fmt in and exports none of it; a second fmt, such as
# Debian's libfmt, would be another version beside it). mlrec's torch-free code sees only the
# fmt/ folder, through a link in the build tree, not the rest of LibTorch's headers.
find_package(nlohmann_json 3.10 QUIET)
if(nlohmann_json_FOUND)
  add_library(mlrec::json ALIAS nlohmann_json::nlohmann_json)
else()
  find_path(MLREC_NLOHMANN_JSON_INCLUDE_DIR nlohmann/json.hpp
            PATHS "${CMAKE_CURRENT_SOURCE_DIR}/.gpu/nlohmann-json/include")
  if(NOT MLREC_NLOHMANN_JSON_INCLUDE_DIR)
    message(FATAL_ERROR "nlohmann-json not found: install nlohmann-json3-dev (scripts/setup.sh does) "
                        "or set MLREC_NLOHMANN_JSON_INCLUDE_DIR to a folder holding nlohmann/json.hpp")
  endif()
  add_library(mlrec_json INTERFACE)
  target_include_directories(mlrec_json SYSTEM INTERFACE "${MLREC_NLOHMANN_JSON_INCLUDE_DIR}")
  add_library(mlrec::json ALIAS mlrec_json)
endif()

find_path(MLREC_TORCH_FMT_PARENT fmt/format.h PATHS ${TORCH_INCLUDE_DIRS} NO_DEFAULT_PATH)
if(NOT MLREC_TORCH_FMT_PARENT)
  message(FATAL_ERROR "LibTorch's headers hold no fmt/format.h (searched ${TORCH_INCLUDE_DIRS})")
endif()
set(_mlrec_fmt_include "${CMAKE_BINARY_DIR}/mlrec-fmt-include")
file(MAKE_DIRECTORY "${_mlrec_fmt_include}")
file(CREATE_LINK "${MLREC_TORCH_FMT_PARENT}/fmt" "${_mlrec_fmt_include}/fmt" SYMBOLIC)
add_library(mlrec_fmt INTERFACE)
target_include_directories(mlrec_fmt SYSTEM INTERFACE "${_mlrec_fmt_include}")
target_compile_definitions(mlrec_fmt INTERFACE FMT_HEADER_ONLY)
add_library(mlrec::fmt ALIAS mlrec_fmt)
