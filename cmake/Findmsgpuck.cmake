# Findmsgpuck: msgpuck, the MessagePack codec netcall's MessagePack-RPC protocol uses.
#
# Debian's libmsgpuck-dev ships a header (msgpuck.h) and a static library (libmsgpuck.a) with
# neither a CMake package nor a pkg-config file, so this module finds them. netcall's own build
# uses it, and it is installed beside netcallConfig.cmake because the installed, static
# netcall_protocol library needs msgpuck at link time.
#
# Result:
#   msgpuck::msgpuck      IMPORTED library target (include directory + library)
#   msgpuck_FOUND         true when both were found
#   MSGPUCK_INCLUDE_DIR   the directory holding msgpuck.h (cache)
#   MSGPUCK_LIBRARY       the library (cache)
# Hints: msgpuck_ROOT / CMAKE_PREFIX_PATH.

find_path(MSGPUCK_INCLUDE_DIR msgpuck.h)
# Prefer the static library (the only one Debian ships); accept a shared one elsewhere.
find_library(MSGPUCK_LIBRARY NAMES libmsgpuck.a msgpuck)
mark_as_advanced(MSGPUCK_INCLUDE_DIR MSGPUCK_LIBRARY)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(msgpuck REQUIRED_VARS MSGPUCK_LIBRARY MSGPUCK_INCLUDE_DIR)

if(msgpuck_FOUND AND NOT TARGET msgpuck::msgpuck)
  add_library(msgpuck::msgpuck UNKNOWN IMPORTED)
  set_target_properties(msgpuck::msgpuck PROPERTIES
    IMPORTED_LOCATION "${MSGPUCK_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${MSGPUCK_INCLUDE_DIR}")
endif()
