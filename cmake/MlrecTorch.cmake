# LibTorch comes from the pinned PyTorch wheel in the checkout's .venv (scripts/setup.sh puts it
# there). Torch_DIR is taken from torch.utils.cmake_prefix_path unless the caller set it.
#
# NCCL: the wheel carries its own libnccl.so.2 (the nvidia-nccl package) and libtorch_cuda loads
# that one. mlrec calls NCCL directly, so it must link exactly that library and compile against
# the matching nccl.h; linking the toolkit's NCCL as well would put two NCCLs in one process.

set(MLREC_PYTHON "${CMAKE_CURRENT_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH
    "Python of the environment that holds the torch wheel")

if(NOT Torch_DIR)
  if(NOT EXISTS "${MLREC_PYTHON}")
    message(FATAL_ERROR "No ${MLREC_PYTHON}: run scripts/setup.sh first (or pass -DTorch_DIR=...)")
  endif()
  execute_process(
    COMMAND "${MLREC_PYTHON}" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE _mlrec_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _mlrec_rc)
  if(NOT _mlrec_rc EQUAL 0)
    message(FATAL_ERROR "${MLREC_PYTHON} cannot import torch: run scripts/setup.sh")
  endif()
  set(Torch_DIR "${_mlrec_torch_prefix}/Torch" CACHE PATH "LibTorch CMake package" FORCE)
endif()

# The CUDA build of the wheel needs the toolkit's headers to compile (no GPU needed).
if(NOT TORCH_CUDA_ARCH_LIST)   # Hopper (H100/H200), the GPUs we are lent
  set(TORCH_CUDA_ARCH_LIST "9.0")
endif()
find_package(Torch REQUIRED)

add_library(mlrec::torch INTERFACE IMPORTED)
# The wheel's libtorch.so exports a std::filesystem of its own (linked statically from a newer
# GCC) whose directory walking crashes when mixed with the system libstdc++ (remove_all
# segfaults). Putting libstdc++ ahead of LibTorch in the executable's DT_NEEDED list makes every
# std::filesystem call, ours and LibTorch's, bind to the system library.
target_link_options(mlrec::torch INTERFACE "LINKER:--push-state,--no-as-needed" "-lstdc++" "LINKER:--pop-state")
target_link_libraries(mlrec::torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(mlrec::torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
# torch's own flags (ABI and the like)
separate_arguments(_mlrec_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
target_compile_options(mlrec::torch INTERFACE ${_mlrec_torch_flags})

# LibTorch's own OpenMP runtime (the wheel ships libgomp.so.1 beside libtorch_cpu.so).
get_filename_component(_mlrec_torch_lib_dir "${TORCH_LIBRARY}" DIRECTORY)
find_file(MLREC_TORCH_GOMP NAMES libgomp.so.1 PATHS "${_mlrec_torch_lib_dir}" NO_DEFAULT_PATH)

# The NCCL next to torch in site-packages: <site>/torch/share/cmake/Torch -> <site>/nvidia/nccl
get_filename_component(_mlrec_site "${Torch_DIR}/../../../.." ABSOLUTE)
find_path(MLREC_NCCL_INCLUDE_DIR nccl.h PATHS "${_mlrec_site}/nvidia/nccl/include" NO_DEFAULT_PATH)
find_file(MLREC_NCCL_LIBRARY NAMES libnccl.so.2 libnccl.so
          PATHS "${_mlrec_site}/nvidia/nccl/lib" NO_DEFAULT_PATH)
if(NOT MLREC_NCCL_INCLUDE_DIR OR NOT MLREC_NCCL_LIBRARY)
  message(FATAL_ERROR "The NCCL that LibTorch loads was not found under ${_mlrec_site}/nvidia/nccl")
endif()
add_library(mlrec::nccl SHARED IMPORTED)
set_target_properties(mlrec::nccl PROPERTIES
  IMPORTED_LOCATION "${MLREC_NCCL_LIBRARY}"
  IMPORTED_NO_SONAME OFF
  INTERFACE_INCLUDE_DIRECTORIES "${MLREC_NCCL_INCLUDE_DIR}")
message(STATUS "mlrec: LibTorch ${Torch_VERSION} from ${Torch_DIR}; NCCL ${MLREC_NCCL_LIBRARY}")
