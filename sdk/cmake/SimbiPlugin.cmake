# simbi_add_plugin(NAME SOURCES src... [OUTPUT_DIRECTORY dir] [NO_DESCRIPTOR])
#   Builds a simbi plugin library simbi_<NAME>.so that exports only the entry symbol, links what
#   the SDK's headers need (and, for Fortran sources, compiles the SDK's Fortran module in), and writes its descriptor file simbi_<NAME>.simbi.json beside it
#   (`simbi plugins describe`), from which simbi lists and plans without loading the library.
#   NO_DESCRIPTOR leaves the file out: simbi then describes the library in a child process.
# simbi_install_plugin(NAME [DESTINATION dir])
#   Installs the library and a descriptor file written for the installed copy.
set(_SIMBI_PLUGIN_MAP "${CMAKE_CURRENT_LIST_DIR}/simbi_plugin.map")

# The simbi binary that describes libraries: the one being built, or the installed one.
function(_simbi_describer out)
  if(TARGET simbi)
    set(${out} "$<TARGET_FILE:simbi>" PARENT_SCOPE)
  elseif(DEFINED SIMBI_EXECUTABLE AND EXISTS "${SIMBI_EXECUTABLE}")
    set(${out} "${SIMBI_EXECUTABLE}" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

function(simbi_add_plugin name)
  cmake_parse_arguments(ARG "NO_DESCRIPTOR" "OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  # A Fortran plugin gets the SDK's module (simbi.f90) and its C half (simbi_fortran.c), built
  # with the plugin's own compilers (project(... LANGUAGES Fortran C)).
  set(sources ${ARG_SOURCES})
  set(fortran OFF)
  foreach(source IN LISTS ARG_SOURCES)
    if(source MATCHES "\\.[fF](90|95|03|08)$")
      set(fortran ON)
    endif()
  endforeach()
  if(fortran)
    if(NOT SIMBI_FORTRAN_DIR OR NOT EXISTS "${SIMBI_FORTRAN_DIR}/simbi.f90")
      message(FATAL_ERROR "simbi_add_plugin(${name}): Fortran sources, but the SDK's Fortran module was not found (SIMBI_FORTRAN_DIR)")
    endif()
    list(APPEND sources "${SIMBI_FORTRAN_DIR}/simbi.f90" "${SIMBI_FORTRAN_DIR}/simbi_fortran.c")
  endif()
  add_library(${name} MODULE ${sources})
  target_link_libraries(${name} PRIVATE simbi::sdk)
  if(fortran)
    set_target_properties(${name} PROPERTIES Fortran_MODULE_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/${name}_modules" LINKER_LANGUAGE Fortran)
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "simbi_${name}"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  elseif(DEFINED SIMBI_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${SIMBI_PLUGIN_OUTPUT_DIR}")
  endif()
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    target_link_options(${name} PRIVATE "LINKER:--version-script=${_SIMBI_PLUGIN_MAP}" "LINKER:--no-undefined")
  endif()
  _simbi_describer(describer)
  if(NOT ARG_NO_DESCRIPTOR AND describer)
    if(TARGET simbi)
      add_dependencies(${name} simbi)
    endif()
    add_custom_command(TARGET ${name} POST_BUILD
      COMMAND "${describer}" plugins describe "$<TARGET_FILE:${name}>" --allow-unsafe-plugins
              --out "$<TARGET_FILE_DIR:${name}>/simbi_${name}.simbi.json"
      COMMENT "Describing simbi_${name}"
      VERBATIM)
  elseif(NOT ARG_NO_DESCRIPTOR)
    message(STATUS "simbi_add_plugin(${name}): no simbi binary found to write its descriptor file; simbi will describe it when it scans")
  endif()
endfunction()

function(simbi_install_plugin name)
  cmake_parse_arguments(ARG "" "DESTINATION" "" ${ARGN})
  if(NOT ARG_DESTINATION)
    if(DEFINED SIMBI_PLUGIN_INSTALL_DIR)
      set(ARG_DESTINATION "${SIMBI_PLUGIN_INSTALL_DIR}")
    else()
      set(ARG_DESTINATION "lib/simbi/plugins")
    endif()
  endif()
  install(TARGETS ${name} LIBRARY DESTINATION "${ARG_DESTINATION}")
  _simbi_describer(describer)
  if(describer)
    # Installing may rewrite the file (its RPATH): describe the installed copy itself.
    install(CODE "
      set(_lib \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${ARG_DESTINATION}/simbi_${name}.so\")
      execute_process(COMMAND \"${describer}\" plugins describe \"\${_lib}\" --allow-unsafe-plugins
                              --out \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${ARG_DESTINATION}/simbi_${name}.simbi.json\"
                      RESULT_VARIABLE _rc)
      if(NOT _rc EQUAL 0)
        message(WARNING \"could not describe \${_lib}; simbi will describe it when it scans\")
      endif()")
  endif()
endfunction()
