# Shared compile settings and the one helper that makes a module a static library.

# libtorrent's pkg-config flags change Asio's configuration; every translation unit must see
# the same Asio, so they apply project-wide, not only where libtorrent is included.
add_compile_definitions(TORRENT_LINKING_SHARED BOOST_ASIO_ENABLE_CANCELIO BOOST_ASIO_NO_DEPRECATED
                        TORRENT_USE_OPENSSL TORRENT_USE_LIBCRYPTO TORRENT_SSL_PEERS
                        OPENSSL_NO_SSL2 BOOST_ALL_NO_LIB
                        BOOST_BEAST_USE_STD_STRING_VIEW SPDLOG_FMT_EXTERNAL)
# Boost 1.74's Asio detects C++20 coroutines for GCC only; clang 14 with libstdc++ has them too.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  add_compile_definitions(BOOST_ASIO_HAS_CO_AWAIT=1 BOOST_ASIO_HAS_STD_COROUTINE=1)
  add_compile_options(-Wno-unknown-warning-option)
endif()
add_compile_options(-Wall -Wextra -Wno-unused-parameter -Wno-mismatched-new-delete -Wno-missing-field-initializers)

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
include(CheckLinkerFlag)
check_linker_flag(CXX "-fuse-ld=lld" SEEDCAST_HAVE_LLD)
if(SEEDCAST_HAVE_LLD)
  add_link_options(-fuse-ld=lld)
endif()

if(SEEDCAST_FUZZ)
  # The libFuzzer build (scripts/fuzz): every library instrumented for coverage and checked by
  # ASan+UBSan; the fuzz targets add libFuzzer's main.
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SEEDCAST_FUZZ needs clang: -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # -fsanitize=function is left out: clang 14 cannot emit its prologue data for the split
  # functions of C++20 coroutines ("Cannot represent a difference across sections").
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(SEEDCAST_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# seedcast_module(NAME SOURCES … DEPS …): static library seedcast_NAME with src/ on its path.
function(seedcast_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(seedcast_${name} STATIC ${M_SOURCES})
  target_include_directories(seedcast_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(seedcast_${name} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
endfunction()
