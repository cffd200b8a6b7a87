# Fails the build when an #include points the wrong way between netcall's layers (docs/style.md
# "Layout", docs/architecture.md). Run by the `netcall_layers` target before any layer compiles:
#   cmake -DROOT=<source dir> -DSTAMP=<file to touch> -P cmake/check_layers.cmake
#
# Layers, lowest first; a file may include its own layer and those below it:
#   common < value < protocol < transport < client < cluster < server (a server may be a
#   client of other nodes: the gateway; the client never includes the server) < serve
#   (serve_main: the flags, config file and logs of any server binary)
# Public headers (include/netcall/) belong to the layer that implements them, include only
# public headers of their layer or below, and no Boost (but Boost.Describe and Mp11), Asio or
# spdlog. Apps include only public
# headers and their own files. A layer folder is named by a quoted include from src/
# ("protocol/..."): the same path in angle brackets, or a relative "../" one, is refused too.

set(rank_common 0)
set(rank_value 1)
set(rank_protocol 2)
set(rank_transport 3)
set(rank_client 4)
set(rank_cluster 5)
set(rank_server 6)
set(rank_serve 7)

# The layer of each public header.
set(public_duration common)
set(public_version common)
set(public_log common)
set(public_serve serve)
set(public_histogram common)
set(public_text common)
set(public_value value)
set(public_status value)
set(public_binding value)
set(public_codec value)
set(public_task common)
set(public_outcome value)
set(public_metadata value)
set(public_protocol protocol)
set(public_server server)
set(public_openrpc server)
set(public_client client)
set(public_cluster cluster)
set(public_channel cluster)

set(violations "")

# Sets `out` to the layer a quoted include names, or "" when it is not netcall's.
function(layer_of_include include out)
  if(include MATCHES "^netcall/([a-z_]+)\\.hpp$")
    set(name ${CMAKE_MATCH_1})
    if(DEFINED public_${name})
      set(${out} ${public_${name}} PARENT_SCOPE)
    else()
      set(${out} "unknown-public:${name}" PARENT_SCOPE)
    endif()
    return()
  endif()
  if(include MATCHES "^(common|value|protocol|transport|server|client|cluster|serve)/")
    set(${out} ${CMAKE_MATCH_1} PARENT_SCOPE)
    return()
  endif()
  set(${out} "" PARENT_SCOPE)
endfunction()

function(check_file path layer)
  file(STRINGS ${path} lines REGEX "^[ \t]*#[ \t]*include")
  file(RELATIVE_PATH rel ${ROOT} ${path})
  # A public header's own layer: the rank it may include up to.
  set(own ${layer})
  if(layer STREQUAL "public" AND rel MATCHES "^include/netcall/([a-z_]+)\\.hpp$")
    set(own ${public_${CMAKE_MATCH_1}})
  endif()
  foreach(line IN LISTS lines)
    set(target "")
    set(to "")
    if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
      set(target ${CMAKE_MATCH_1})
      if(target MATCHES "^\\.\\./")
        list(APPEND violations "${rel}: includes ${target}: name a layer's header from src/, not by a relative path")
        continue()
      endif()
      layer_of_include(${target} to)
    elseif(line MATCHES "#[ \t]*include[ \t]*<([^>]+)>")
      set(target ${CMAKE_MATCH_1})
      if(target MATCHES "^(common|value|protocol|transport|server|client|cluster|serve)/")
        list(APPEND violations "${rel}: includes <${target}>: a layer's header is included in quotes")
        continue()
      endif()
      # Boost.Describe (and Mp11, which it is built on) are the exception: users describe their
      # structs and enums with it, and netcall/codec.hpp reads those descriptions (issue 13).
      if(layer STREQUAL "public" AND target MATCHES "^(boost|asio|spdlog|fmt)/" AND
         NOT target MATCHES "^boost/(describe|mp11)[/.]")
        set(to "third-party")
      endif()
      # spdlog's default logger writes to the host program's stdout: the library logs only
      # through the server's logger (common/log.hpp, SPEC §7).
      if(NOT layer STREQUAL "public" AND NOT layer STREQUAL "app" AND
         target STREQUAL "spdlog/spdlog.h")
        list(APPEND violations "${rel}: includes <spdlog/spdlog.h> (the default logger): log through common/log.hpp's logger")
        continue()
      endif()
    endif()
    if(to STREQUAL "")
      continue()
    endif()
    if(to MATCHES "^unknown-public:")
      list(APPEND violations "${rel}: includes ${target}, a public header with no layer (add it to cmake/check_layers.cmake)")
    elseif(layer STREQUAL "public")
      if(to STREQUAL "third-party" OR NOT target MATCHES "^netcall/")
        list(APPEND violations "${rel}: a public header includes ${target}")
      elseif(DEFINED rank_${own} AND (rank_${to} GREATER rank_${own} OR
             (rank_${to} EQUAL rank_${own} AND NOT to STREQUAL own)))
        list(APPEND violations "${rel}: a public header of layer ${own} includes ${target} of layer ${to}")
      endif()
    elseif(layer STREQUAL "app")
      if(NOT target MATCHES "^netcall/")
        list(APPEND violations "${rel}: apps use only include/netcall/, not ${target}")
      endif()
    else()
      set(from_rank ${rank_${layer}})
      set(to_rank ${rank_${to}})
      if(to_rank GREATER from_rank OR (to_rank EQUAL from_rank AND NOT to STREQUAL layer))
        list(APPEND violations "${rel}: layer ${layer} includes ${target} of layer ${to}")
      endif()
    endif()
  endforeach()
  set(violations ${violations} PARENT_SCOPE)
endfunction()

foreach(layer common value protocol transport client cluster server serve)
  file(GLOB_RECURSE files ${ROOT}/src/${layer}/*.hpp ${ROOT}/src/${layer}/*.cpp)
  foreach(f IN LISTS files)
    check_file(${f} ${layer})
  endforeach()
endforeach()
file(GLOB files ${ROOT}/include/netcall/*.hpp)
foreach(f IN LISTS files)
  check_file(${f} public)
endforeach()
file(GLOB_RECURSE files ${ROOT}/apps/*.hpp ${ROOT}/apps/*.cpp)
foreach(f IN LISTS files)
  check_file(${f} app)
endforeach()

if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "netcall layering: an include points the wrong way:\n  ${text}\n"
                      "(docs/architecture.md: common < value < protocol < transport < client < cluster < server < serve)")
endif()
file(TOUCH ${STAMP})
