# Install rules, the exported CMake package, the pkg-config file, the systemd unit and the
# default config (SPEC §7), then `make package` (cmake/package.cmake). Included at the end of
# the top CMakeLists.txt; docs/operations.md "Installing and packaging" describes the result.
#
#   PREFIX/bin/netcalld, PREFIX/bin/netcall
#   PREFIX/include/netcall/*.hpp (version.hpp included)
#   PREFIX/LIBDIR/libnetcall_*.a                   one static library per layer
#   PREFIX/LIBDIR/cmake/netcall/                   netcallConfig.cmake, version, targets,
#                                                  Findmsgpuck.cmake
#   PREFIX/LIBDIR/pkgconfig/netcall.pc
#   PREFIX/lib/systemd/system/netcalld.service
#   PREFIX/share/doc/netcall/copyright             packaging/debian/copyright
#   SYSCONFDIR/netcall/netcalld.yaml               /etc when PREFIX is /usr (or /), else PREFIX/etc
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# A parent project that add_subdirectory()s netcall usually links it into its own programs and
# does not want netcall's files in its install tree: off by default there.
option(NETCALL_INSTALL "Generate netcall's install rules and `make package`" ${PROJECT_IS_TOP_LEVEL})
if(NOT NETCALL_INSTALL)
  return()
endif()

set(NETCALL_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/netcall
    CACHE STRING "Where netcallConfig.cmake goes (relative to the prefix)")
set(NETCALL_INSTALL_PKGCONFIGDIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig
    CACHE STRING "Where netcall.pc goes (relative to the prefix)")
# Not LIBDIR: systemd reads /usr/lib/systemd/system and /usr/local/lib/systemd/system, never a
# multiarch directory.
set(NETCALL_INSTALL_SYSTEMDUNITDIR lib/systemd/system
    CACHE STRING "Where netcalld.service goes (relative to the prefix, or absolute)")

# The layers, and netcall_warnings because the static layers name it (link-only) in their
# exported link interface. Exported as netcall::netcall, netcall::netcall_server, ...
set(netcall_installed_libraries netcall netcall_common netcall_value netcall_protocol
    netcall_transport netcall_client netcall_cluster netcall_server netcall_serve netcall_warnings)
install(TARGETS ${netcall_installed_libraries}
        EXPORT netcallTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS netcalld netcall_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/netcall
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/generated/include/netcall/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/netcall)

# The CMake package: find_package(netcall) -> netcall::netcall.
install(EXPORT netcallTargets NAMESPACE netcall:: FILE netcallTargets.cmake
        DESTINATION ${NETCALL_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/netcallConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/netcallConfig.cmake
                              INSTALL_DESTINATION ${NETCALL_INSTALL_CMAKEDIR})
# 0.x: a minor version may break the API, so only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/netcallConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/netcallConfig.cmake
              ${PROJECT_BINARY_DIR}/netcallConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/Findmsgpuck.cmake
        DESTINATION ${NETCALL_INSTALL_CMAKEDIR})

# pkg-config. The prefix is found from the file's own place (${pcfiledir}), so the file stays
# right for any `cmake --install --prefix`, and in the .deb.
file(RELATIVE_PATH netcall_pc_prefix_from_pcfiledir
     /prefix/${NETCALL_INSTALL_PKGCONFIGDIR} /prefix)
string(REGEX REPLACE "/$" "" netcall_pc_prefix_from_pcfiledir "${netcall_pc_prefix_from_pcfiledir}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/netcall.pc.in ${PROJECT_BINARY_DIR}/netcall.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/netcall.pc DESTINATION ${NETCALL_INSTALL_PKGCONFIGDIR})

# The unit and the default config. Where they go and what the unit's ExecStart names depend on
# the prefix given at install time (`cmake --install --prefix P`, or /usr when CPack builds the
# .deb), not on the configure-time CMAKE_INSTALL_PREFIX that CMAKE_INSTALL_FULL_SYSCONFDIR was
# computed from; cmake/install_etc.cmake decides when the install runs.
install(CODE "
  set(NETCALL_SOURCE_DIR [[${PROJECT_SOURCE_DIR}]])
  set(NETCALL_BINARY_DIR [[${PROJECT_BINARY_DIR}]])
  set(NETCALL_BINDIR [[${CMAKE_INSTALL_BINDIR}]])
  set(NETCALL_SYSCONFDIR [[${CMAKE_INSTALL_SYSCONFDIR}]])
  set(NETCALL_SYSTEMDUNITDIR [[${NETCALL_INSTALL_SYSTEMDUNITDIR}]])
  include([[${CMAKE_CURRENT_LIST_DIR}/install_etc.cmake]])
")

# The copyright statement (Debian's /usr/share/doc/netcall/copyright): Apache-2.0, pointing at
# the license text rather than repeating LICENSE, which lintian counts as an error.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

include(${CMAKE_CURRENT_LIST_DIR}/package.cmake)
