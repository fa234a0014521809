# ctest layering_<DIR> (see sbx_layer in the root CMakeLists.txt). Compiles,
# with the include path library DIR's own sources get (INCLUDES), one probe
# per directory under src/: `#include "<dir>/<its first header>"`. A probe of
# a directory in SEES must compile (the control: it shows the path and the
# compiler work); any other must fail because that header is not found (an
# upward or sideways include). Also refuses relative includes that climb out
# of src/DIR ("../"), which an include path cannot stop.
#
# cmake -DCXX=... -DSRC=<src> -DDIR=<dir> -DSEES=a|b -DINCLUDES=x|y
#       -DIMPLICIT=<the compiler's own include dirs, a|b> -DWORK=<dir> -P layering_check.cmake
cmake_minimum_required(VERSION 3.25)
string(REPLACE "|" ";" SEES "${SEES}")
string(REPLACE "|" ";" INCLUDES "${INCLUDES}")
string(REPLACE "|" ";" IMPLICIT "${IMPLICIT}")
# As in the build, the compiler's own directories stay off the command line
# (an -I/usr/include would break #include_next in the C++ library).
list(REMOVE_DUPLICATES INCLUDES)
list(REMOVE_ITEM INCLUDES ${IMPLICIT})
if(NOT DIR IN_LIST SEES)
  message(FATAL_ERROR "layering ${DIR}: SEES must name ${DIR} itself")
endif()
set(flags)
foreach(i IN LISTS INCLUDES)
  list(APPEND flags "-I${i}")
endforeach()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

set(failures "")
set(probed "")
file(GLOB entries LIST_DIRECTORIES true RELATIVE ${SRC} ${SRC}/*)
list(SORT entries)
foreach(d IN LISTS entries)
  if(NOT IS_DIRECTORY ${SRC}/${d})
    continue()
  endif()
  file(GLOB headers RELATIVE ${SRC} ${SRC}/${d}/*.h)
  if(NOT headers)
    continue()
  endif()
  list(SORT headers)
  list(GET headers 0 header)
  list(APPEND probed ${d})
  set(probe ${WORK}/probe_${d}.cc)
  file(WRITE ${probe} "#include \"${header}\"\n")
  execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only ${flags} ${probe}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(REPLACE "." "\\." header_re "${header}")
  if(d IN_LIST SEES)
    if(rc EQUAL 0)
      message(STATUS "ok: ${DIR} includes ${header}")
    else()
      string(APPEND failures "${DIR} must be able to include ${header}, but:\n${out}\n")
    endif()
  elseif(rc EQUAL 0)
    string(APPEND failures "${DIR} can include ${header}: a layer it must not see\n")
  elseif(out MATCHES "${header_re}: No such file|'${header_re}' file not found")
    message(STATUS "ok: ${DIR} cannot include ${header}")
  else()
    string(APPEND failures "probe of ${header} from ${DIR} failed for another reason:\n${out}\n")
  endif()
endforeach()
foreach(d IN LISTS SEES)
  if(NOT d IN_LIST probed)
    string(APPEND failures "SEES names ${d}, which is no directory of headers under src/\n")
  endif()
endforeach()

file(GLOB_RECURSE sources ${SRC}/${DIR}/*.h ${SRC}/${DIR}/*.cc)
foreach(f IN LISTS sources)
  file(STRINGS ${f} climbs REGEX "^[ \t]*#[ \t]*include[ \t]*\"\\.\\./")
  if(climbs)
    string(APPEND failures "${f} climbs with a relative include: ${climbs}\n")
  endif()
endforeach()

if(failures)
  message(FATAL_ERROR "layering ${DIR}:\n${failures}")
endif()
