# CTest: the layering check (cmake/check_layers.cmake) passes on the tree and fails the build
# for an include that points the wrong way, in a copy of the tree with one such include added.
#   cmake -DROOT=<source dir> -DWORK=<scratch dir> -P tests/layers_test.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${ROOT} -DSTAMP=${WORK}/ok.stamp
                        -P ${ROOT}/cmake/check_layers.cmake
                RESULT_VARIABLE status ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the tree itself breaks the layering:\n${err}")
endif()

# Each case: a file of the copy and an include it must not have.
set(cases
    "src/protocol/message.hpp|server/pipeline.hpp"
    "src/value/json.cpp|protocol/message.hpp"
    "src/client/client.cpp|server/outcome_cache.hpp"
    "src/transport/connection.cpp|netcall/server.hpp"
    "include/netcall/value.hpp|boost/asio.hpp"
    "include/netcall/value.hpp|netcall/server.hpp"
    "src/protocol/protocols.cpp|../server/pipeline.hpp"
    "src/value/value.cpp|<protocol/message.hpp>"
    "apps/netcalld/main.cpp|transport/transport.hpp")
foreach(case IN LISTS cases)
  string(REPLACE "|" ";" parts ${case})
  list(GET parts 0 file)
  list(GET parts 1 include)
  file(REMOVE_RECURSE ${WORK}/tree)
  file(COPY ${ROOT}/src ${ROOT}/include ${ROOT}/apps DESTINATION ${WORK}/tree)
  file(READ ${WORK}/tree/${file} text)
  if(include MATCHES "^boost/")
    file(WRITE ${WORK}/tree/${file} "#include <${include}>\n${text}")
  elseif(include MATCHES "^<")
    file(WRITE ${WORK}/tree/${file} "#include ${include}\n${text}")
  else()
    file(WRITE ${WORK}/tree/${file} "#include \"${include}\"\n${text}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${WORK}/tree -DSTAMP=${WORK}/bad.stamp
                          -P ${ROOT}/cmake/check_layers.cmake
                  RESULT_VARIABLE status ERROR_VARIABLE err)
  if(status EQUAL 0)
    message(FATAL_ERROR "${file} including ${include} was not caught")
  endif()
  string(REGEX REPLACE "[<>.]" "." pattern "${include}")
  if(NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "the failure for ${file} does not name ${include}:\n${err}")
  endif()
  message(STATUS "caught: ${file} includes ${include}")
endforeach()
file(REMOVE_RECURSE ${WORK})
