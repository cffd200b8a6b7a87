# packaging.install (the fixture netcall_installed): `cmake --install` of this build into PREFIX,
# then checks the layout cmake/install.cmake promises. The consumer and unit tests use PREFIX;
# packaging.install_cleanup removes it.
#   cmake -DBUILD=DIR -DPREFIX=DIR -DLIBDIR=lib -P install.cmake   (LIBDIR: CMAKE_INSTALL_LIBDIR)
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD}" --prefix "${PREFIX}"
                OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc TIMEOUT 120)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc}):\n${out}")
endif()

set(libdir "${PREFIX}/${LIBDIR}")
set(expected bin/netcalld bin/netcall include/netcall/server.hpp include/netcall/client.hpp
    include/netcall/value.hpp include/netcall/version.hpp lib/systemd/system/netcalld.service
    etc/netcall/netcalld.yaml share/doc/netcall/copyright)
foreach(layer common value protocol transport client cluster server serve)
  list(APPEND expected "${libdir}/libnetcall_${layer}.a")
endforeach()
foreach(f netcallConfig.cmake netcallConfigVersion.cmake netcallTargets.cmake Findmsgpuck.cmake)
  list(APPEND expected "${libdir}/cmake/netcall/${f}")
endforeach()
list(APPEND expected "${libdir}/pkgconfig/netcall.pc")
foreach(f ${expected})
  if(NOT IS_ABSOLUTE "${f}")
    set(f "${PREFIX}/${f}")
  endif()
  if(NOT EXISTS "${f}")
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()

# Outside /usr the unit names the installed binary and config.
file(STRINGS "${PREFIX}/lib/systemd/system/netcalld.service" exec REGEX "^ExecStart=")
if(NOT exec STREQUAL "ExecStart=${PREFIX}/bin/netcalld --config ${PREFIX}/etc/netcall/netcalld.yaml")
  message(FATAL_ERROR "the installed unit's ExecStart does not name ${PREFIX}: ${exec}")
endif()
message(STATUS "installed into ${PREFIX}")
