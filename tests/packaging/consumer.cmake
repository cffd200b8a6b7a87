# packaging.consumer_*: builds tests/consumer/ (a project outside netcall) one way and runs it;
# the program exits 0 only when its call through netcall gave the right answer.
#   cmake -DMODE=package|subdirectory|pkgconfig -DCONSUMER=tests/consumer -DWORK=DIR
#         -DPREFIX=DIR -DLIBDIR=lib (package, pkgconfig) -DNETCALL_SOURCE_DIR=DIR (subdirectory)
#         -DGENERATOR=Ninja -DCXX=c++ -P consumer.cmake
# WORK is removed at the start and at the end, whatever the outcome.
function(fail what)
  file(REMOVE_RECURSE "${WORK}")
  message(FATAL_ERROR "${what}")
endfunction()

file(REMOVE_RECURSE "${WORK}")
set(args -S "${CONSUMER}" -B "${WORK}" -G "${GENERATOR}" -DCMAKE_CXX_COMPILER=${CXX}
    -DNETCALL_CONSUMER_MODE=${MODE})
if(MODE STREQUAL "package")
  # Release: the installed netcallTargets-release.cmake is the one this build exported.
  list(APPEND args -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${PREFIX})
elseif(MODE STREQUAL "pkgconfig")
  set(ENV{PKG_CONFIG_PATH} "${PREFIX}/${LIBDIR}/pkgconfig")
  list(APPEND args -DCMAKE_BUILD_TYPE=Release)
elseif(MODE STREQUAL "subdirectory")
  # netcall is compiled again here: no optimization (no build type) halves the time.
  list(APPEND args -DNETCALL_SOURCE_DIR=${NETCALL_SOURCE_DIR})
else()
  fail("MODE: package, subdirectory or pkgconfig")
endif()

string(TIMESTAMP t0 "%s")
execute_process(COMMAND ${CMAKE_COMMAND} ${args}
                OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc TIMEOUT 120)
if(NOT rc EQUAL 0)
  fail("configuring the consumer (${MODE}) failed (${rc}):\n${out}")
endif()
# The netcall that was found is the one under test, not one installed on the machine.
if(MODE STREQUAL "package")
  file(STRINGS "${WORK}/CMakeCache.txt" found REGEX "^netcall_DIR:")
  if(NOT found STREQUAL "netcall_DIR:PATH=${PREFIX}/${LIBDIR}/cmake/netcall")
    fail("find_package(netcall) found another netcall: ${found}")
  endif()
elseif(MODE STREQUAL "pkgconfig")
  file(STRINGS "${WORK}/CMakeCache.txt" found REGEX "^NETCALL_INCLUDEDIR:")
  if(NOT found MATCHES "${PREFIX}/")
    fail("pkg-config found another netcall: ${found}")
  endif()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK}"
                OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc TIMEOUT 600)
if(NOT rc EQUAL 0)
  fail("building the consumer (${MODE}) failed (${rc}):\n${out}")
endif()
string(TIMESTAMP t1 "%s")
execute_process(COMMAND "${WORK}/consumer" OUTPUT_VARIABLE out ERROR_VARIABLE out
                RESULT_VARIABLE rc TIMEOUT 30)
if(NOT rc EQUAL 0)
  fail("the consumer (${MODE}) failed (${rc}):\n${out}")
endif()
math(EXPR took "${t1} - ${t0}")
message(STATUS "${MODE}: configured and built in ${took} s; ${out}")
file(REMOVE_RECURSE "${WORK}")
