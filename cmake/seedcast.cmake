# Shared compile settings and the one helper that makes a module a static library.

# libtorrent's pkg-config flags change Asio's configuration; every translation unit must see
# the same Asio, so they apply project-wide, not only where libtorrent is included.
add_compile_definitions(TORRENT_LINKING_SHARED BOOST_ASIO_ENABLE_CANCELIO BOOST_ASIO_NO_DEPRECATED
                        TORRENT_USE_OPENSSL TORRENT_USE_LIBCRYPTO TORRENT_SSL_PEERS
                        OPENSSL_NO_SSL2 BOOST_ALL_NO_LIB
                        BOOST_BEAST_USE_STD_STRING_VIEW SPDLOG_FMT_EXTERNAL)
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

if(SEEDCAST_SANITIZE)
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
