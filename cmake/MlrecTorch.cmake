# LibTorch comes from the pinned PyTorch wheel in the checkout's .venv (scripts/setup.sh puts it
# there). Torch_DIR is taken from torch.utils.cmake_prefix_path unless the caller set it.
#
# Two builds against that one LibTorch (MLREC_CUDA):
#   CUDA      (ON; AUTO where a CUDA toolkit's nvcc is found) LibTorch's CMake package, which
#             needs the toolkit's headers and nvcc even on a machine without a GPU; mlrec's CUDA
#             kernels, NCCL and CUDA graphs are built in.
#   CPU-only  (OFF; AUTO without nvcc) mlrec links the wheel's CPU libraries (libtorch_cpu,
#             libc10) directly. LibTorch's CMake package cannot be used: the wheel's is the CUDA
#             build's and stops without a toolkit. train.device=cuda and dist.backend=nccl are
#             then refused with a clear error. This is the build of a machine without a CUDA
#             toolkit (scripts/setup.sh needs none) and of the plain-Debian container.
#
# NCCL: the wheel carries its own libnccl.so.2 (the nvidia-nccl package) and libtorch_cuda loads
# that one. mlrec calls NCCL directly, so it must link exactly that library and compile against
# the matching nccl.h; linking the toolkit's NCCL as well would put two NCCLs in one process.

set(MLREC_PYTHON "${CMAKE_CURRENT_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH
    "Python of the environment that holds the torch wheel")
set(MLREC_CUDA AUTO CACHE STRING "Build with CUDA: AUTO (where nvcc is found), ON or OFF")
set_property(CACHE MLREC_CUDA PROPERTY STRINGS AUTO ON OFF)

find_program(MLREC_NVCC nvcc HINTS ENV CUDA_HOME ENV CUDA_PATH /usr/local/cuda PATH_SUFFIXES bin)
if(MLREC_CUDA STREQUAL "AUTO")
  if(MLREC_NVCC)
    set(MLREC_WITH_CUDA ON)
  else()
    set(MLREC_WITH_CUDA OFF)
    message(STATUS "mlrec: no CUDA toolkit (nvcc) found: building the CPU-only mlrec")
  endif()
elseif(MLREC_CUDA)
  if(NOT MLREC_NVCC)
    message(FATAL_ERROR "MLREC_CUDA=ON but no nvcc was found (PATH, CUDA_HOME, /usr/local/cuda): "
                        "install the CUDA 13 toolkit, or configure with -DMLREC_CUDA=OFF")
  endif()
  set(MLREC_WITH_CUDA ON)
else()
  set(MLREC_WITH_CUDA OFF)
endif()

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
# <torch>/share/cmake/Torch -> <torch> (include/, lib/) and <site-packages> (nvidia/)
get_filename_component(MLREC_TORCH_ROOT "${Torch_DIR}/../../.." ABSOLUTE)
get_filename_component(_mlrec_site "${MLREC_TORCH_ROOT}/.." ABSOLUTE)
set(MLREC_TORCH_LIB_DIR "${MLREC_TORCH_ROOT}/lib")

add_library(mlrec::torch INTERFACE IMPORTED)
if(MLREC_WITH_CUDA)
  # The CUDA build of the wheel needs the toolkit's headers to compile (no GPU needed).
  if(NOT TORCH_CUDA_ARCH_LIST)   # Hopper (H100/H200), the GPUs we are lent
    set(TORCH_CUDA_ARCH_LIST "9.0")
  endif()
  find_package(Torch REQUIRED)
  target_link_libraries(mlrec::torch INTERFACE ${TORCH_LIBRARIES})
  target_include_directories(mlrec::torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  # torch's own flags (ABI and the like)
  separate_arguments(_mlrec_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_compile_options(mlrec::torch INTERFACE ${_mlrec_torch_flags})
  target_compile_definitions(mlrec::torch INTERFACE MLREC_WITH_CUDA=1)
else()
  # What LibTorch's package would give for its CPU part: its headers, libtorch_cpu and libc10,
  # and the ABI the wheel was built with (asked of torch once, with its version: "ABI;VERSION").
  execute_process(
    COMMAND "${MLREC_PYTHON}" -c "import torch; print(f'{int(torch._C._GLIBCXX_USE_CXX11_ABI)};{torch.__version__}')"
    OUTPUT_VARIABLE _mlrec_torch_facts OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _mlrec_rc)
  if(NOT _mlrec_rc EQUAL 0)
    message(FATAL_ERROR "${MLREC_PYTHON} cannot import torch: run scripts/setup.sh")
  endif()
  list(GET _mlrec_torch_facts 0 _mlrec_abi)
  list(GET _mlrec_torch_facts 1 Torch_VERSION)
  find_library(MLREC_TORCH_CPU_LIBRARY torch_cpu PATHS "${MLREC_TORCH_LIB_DIR}" NO_DEFAULT_PATH REQUIRED)
  find_library(MLREC_C10_LIBRARY c10 PATHS "${MLREC_TORCH_LIB_DIR}" NO_DEFAULT_PATH REQUIRED)
  target_link_libraries(mlrec::torch INTERFACE ${MLREC_TORCH_CPU_LIBRARY} ${MLREC_C10_LIBRARY})
  set(TORCH_INCLUDE_DIRS "${MLREC_TORCH_ROOT}/include" "${MLREC_TORCH_ROOT}/include/torch/csrc/api/include")
  target_include_directories(mlrec::torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  target_compile_definitions(mlrec::torch INTERFACE _GLIBCXX_USE_CXX11_ABI=${_mlrec_abi} MLREC_WITH_CUDA=0)
endif()

# The wheel's libtorch.so exports a std::filesystem of its own (linked statically from a newer
# GCC) whose directory walking crashes when mixed with the system libstdc++ (remove_all
# segfaults). Putting libstdc++ ahead of LibTorch in the executable's DT_NEEDED list makes every
# std::filesystem call, ours and LibTorch's, bind to the system library.
target_link_options(mlrec::torch INTERFACE "LINKER:--push-state,--no-as-needed" "-lstdc++" "LINKER:--pop-state")

# LibTorch's own OpenMP runtime (the wheel ships libgomp.so.1 beside libtorch_cpu.so).
find_file(MLREC_TORCH_GOMP NAMES libgomp.so.1 PATHS "${MLREC_TORCH_LIB_DIR}" NO_DEFAULT_PATH)

if(MLREC_WITH_CUDA)
  # The NCCL next to torch in site-packages: <site>/nvidia/nccl
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
  message(STATUS "mlrec: CUDA build on LibTorch ${Torch_VERSION} from ${Torch_DIR}; NCCL ${MLREC_NCCL_LIBRARY}")
else()
  add_library(mlrec::nccl INTERFACE IMPORTED)  # none: the CPU-only build has no NCCL
  message(STATUS "mlrec: CPU-only build on LibTorch ${Torch_VERSION} from ${MLREC_TORCH_ROOT}")
endif()
