# `make package`: a .deb of everything cmake/install.cmake installs, built with CPack
# (`cpack -G DEB` in the build directory). Included by cmake/install.cmake.
#
#   /usr/bin, /usr/include/netcall, /usr/lib/libnetcall_*.a, /usr/lib/cmake/netcall,
#   /usr/lib/pkgconfig/netcall.pc, /usr/lib/systemd/system/netcalld.service,
#   /etc/netcall/netcalld.yaml (a conffile), /usr/share/doc/netcall/{copyright,changelog.Debian.gz}
#
# Depends: the shared libraries the programs use (dpkg-shlibdeps) and the -dev packages
# find_package(netcall) and pkg-config need, since the libraries are static.
if(NOT PROJECT_IS_TOP_LEVEL)
  return()  # CPack belongs to the parent project
endif()

set(NETCALL_PACKAGE_MAINTAINER "netcall maintainers <maintainers@netcall.example.org>"
    CACHE STRING "The .deb's Maintainer field")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME netcall)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR netcall)
set(CPACK_PACKAGE_CONTACT "${NETCALL_PACKAGE_MAINTAINER}")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "RPC toolkit and server: JSON-RPC 2.0, XML-RPC and MessagePack-RPC")
set(CPACK_PACKAGE_DESCRIPTION [=[
netcall is a C++20 remote procedure call toolkit. One server port speaks three
standard wire protocols: JSON-RPC 2.0 (raw TCP and HTTP), XML-RPC and
MessagePack-RPC, so existing clients in any language can call it.
.
This package holds the netcalld server daemon with its systemd unit and default
configuration, the netcall command-line client, and the C++ headers, static
libraries, CMake package (find_package(netcall)) and pkg-config file to write
servers and clients.]=])
# Install into a staging DESTDIR with the prefix /usr, so that cmake/install_etc.cmake sees the
# real prefix: the config then goes to /etc and the unit names /usr/bin/netcalld.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)  # the prefix CPack installs with under CPACK_SET_DESTDIR
set(CPACK_STRIP_FILES ON)
# The whole project, then the files only the .deb has (component deb, below).
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};netcall;ALL;/"
                                 "${PROJECT_BINARY_DIR};netcall;deb;/")

# netcall_VERSION-1_ARCH.deb: the Debian revision 1 of upstream VERSION.
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${NETCALL_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# What find_package(netcall) finds (cmake/netcallConfig.cmake.in) and netcall.pc requires.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libboost1.81-dev, libboost-json1.81-dev, libpugixml-dev, libspdlog-dev, libfmt-dev, \
libyaml-cpp-dev, libcli11-dev, libssl-dev, prometheus-cpp-dev, libsystemd-dev, libmsgpuck-dev, \
pkgconf | pkg-config")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# Debian wants /usr/share/doc/PACKAGE/copyright (cmake/install.cmake) and changelog.Debian.gz
# (compressed with -9n: no name, no time stamp, so the .deb is reproducible). The changelog
# date is SOURCE_DATE_EPOCH when set, else the configure time.
string(TIMESTAMP netcall_changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/changelog.in
               ${PROJECT_BINARY_DIR}/packaging/changelog.Debian @ONLY)
find_program(NETCALL_GZIP gzip REQUIRED)
execute_process(COMMAND ${NETCALL_GZIP} -9nc ${PROJECT_BINARY_DIR}/packaging/changelog.Debian
                OUTPUT_FILE ${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz
                COMMAND_ERROR_IS_FATAL ANY)
install(FILES ${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT deb EXCLUDE_FROM_ALL)

include(CPack)
