# yaml-cpp 0.7 (Debian 12) exports the target `yaml-cpp`; 0.8 (Ubuntu 24.04) exports
# `yaml-cpp::yaml-cpp` (and keeps `yaml-cpp` only as a deprecated alias). Give the rest of the
# build one name for either.
find_package(yaml-cpp REQUIRED)
add_library(mlrec::yaml-cpp INTERFACE IMPORTED)
if(TARGET yaml-cpp::yaml-cpp)
  target_link_libraries(mlrec::yaml-cpp INTERFACE yaml-cpp::yaml-cpp)
elseif(TARGET yaml-cpp)
  target_link_libraries(mlrec::yaml-cpp INTERFACE yaml-cpp)
else()
  message(FATAL_ERROR "yaml-cpp found, but it exports neither yaml-cpp nor yaml-cpp::yaml-cpp")
endif()
