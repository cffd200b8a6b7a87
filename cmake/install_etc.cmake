# Installs netcalld.service and netcalld.yaml; runs at install time, from the install script
# cmake/install.cmake generates (so CMAKE_INSTALL_PREFIX is the prefix of this install).
#
# In: NETCALL_SOURCE_DIR, NETCALL_BINARY_DIR, and the configure-time NETCALL_BINDIR,
# NETCALL_SYSCONFDIR (GNUInstallDirs' CMAKE_INSTALL_SYSCONFDIR) and NETCALL_SYSTEMDUNITDIR.
#
# The config goes where GNUInstallDirs puts CMAKE_INSTALL_FULL_SYSCONFDIR for this prefix:
# /etc for the prefixes / and /usr (the .deb), /etc/opt/NAME for /opt/NAME, PREFIX/etc
# otherwise; an absolute CMAKE_INSTALL_SYSCONFDIR is used as given. DESTDIR (CPack) is added by
# file(INSTALL) itself.

function(netcall_install_dir out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

string(REGEX REPLACE "/+$" "" netcall_prefix "${CMAKE_INSTALL_PREFIX}")
if(IS_ABSOLUTE "${NETCALL_SYSCONFDIR}")
  set(netcall_etc "${NETCALL_SYSCONFDIR}")
elseif(netcall_prefix STREQUAL "" OR netcall_prefix STREQUAL "/usr")
  set(netcall_etc "/etc")
elseif(netcall_prefix MATCHES "^/opt/([^/]+)$")
  set(netcall_etc "/etc/opt/${CMAKE_MATCH_1}")
else()
  set(netcall_etc "${netcall_prefix}/${NETCALL_SYSCONFDIR}")
endif()
netcall_install_dir(netcall_bin "${NETCALL_BINDIR}")
netcall_install_dir(netcall_unitdir "${NETCALL_SYSTEMDUNITDIR}")

# The unit names the installed binary and config; for /usr they are the file's own paths.
file(READ "${NETCALL_SOURCE_DIR}/packaging/netcalld.service" netcall_unit)
string(REPLACE "ExecStart=/usr/bin/netcalld --config /etc/netcall/netcalld.yaml"
       "ExecStart=${netcall_bin}/netcalld --config ${netcall_etc}/netcall/netcalld.yaml"
       netcall_unit "${netcall_unit}")
if(NOT netcall_unit MATCHES "\nExecStart=${netcall_bin}/netcalld --config")
  message(FATAL_ERROR "packaging/netcalld.service: its ExecStart line is not the expected "
                      "`/usr/bin/netcalld --config /etc/netcall/netcalld.yaml`")
endif()
# One staging copy per destination: `cmake --install` and CPack may run at the same time.
string(MD5 netcall_key "$ENV{DESTDIR}${netcall_unitdir}")
set(netcall_staged "${NETCALL_BINARY_DIR}/packaging/unit-${netcall_key}/netcalld.service")
file(WRITE "${netcall_staged}" "${netcall_unit}")
file(INSTALL DESTINATION "${netcall_unitdir}" TYPE FILE FILES "${netcall_staged}")

# Never overwrite an administrator's edited config (as dpkg does for a conffile): the new
# default then goes beside it as netcalld.yaml.default.
set(netcall_config "$ENV{DESTDIR}${netcall_etc}/netcall/netcalld.yaml")
set(netcall_default "${NETCALL_SOURCE_DIR}/packaging/netcalld.yaml")
if(EXISTS "${netcall_config}")
  file(SHA256 "${netcall_config}" netcall_have)
  file(SHA256 "${netcall_default}" netcall_new)
endif()
if(EXISTS "${netcall_config}" AND NOT netcall_have STREQUAL netcall_new)
  message(STATUS "Keeping: ${netcall_config} (edited); the default is installed beside it")
  file(INSTALL DESTINATION "${netcall_etc}/netcall" TYPE FILE
       FILES "${netcall_default}" RENAME netcalld.yaml.default)
else()
  file(INSTALL DESTINATION "${netcall_etc}/netcall" TYPE FILE FILES "${netcall_default}")
endif()
