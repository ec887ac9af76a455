# The Debian package: `cpack -G DEB` in the build directory writes incq_<version>_<arch>.deb with
# everything `cmake --install` places, under /usr. The host finds its plugins relative to its own
# executable (/usr/bin/../lib/incq/plugins), so the install prefix chosen at configure time does
# not matter.
set(CPACK_PACKAGE_NAME "incq")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "incq developers")
set(CPACK_PACKAGE_CONTACT "incq developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Run Intel AutoRound / INC quantized LLM layers on CPUs through plugins")
set(CPACK_PACKAGE_DESCRIPTION
    "incq is a reference host and a set of plugins for Intel AutoRound / Neural Compressor quantized\
 checkpoints. This package holds the incq command, the inc_cpu plugin, and the plugin ABI headers,\
 CMake package and pkg-config file for third-party plugin authors.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)  # debug info stays in the build tree

set(CPACK_DEBIAN_PACKAGE_MAINTAINER "incq developers")
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Shared-library dependencies (libc6, libstdc++6, libfmt, libspdlog, ...) are computed from the
# binaries when dpkg-shlibdeps is there (package dpkg-dev); otherwise the ones every C++ binary needs.
find_program(INCQ_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(INCQ_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6, libstdc++6, libgcc-s1")
endif()

set(CPACK_GENERATOR "DEB")
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
