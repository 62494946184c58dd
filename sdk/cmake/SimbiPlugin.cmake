# simbi_add_plugin(NAME SOURCES src... [OUTPUT_DIRECTORY dir])
# Builds a simbi plugin library simbi_<NAME>.so that exports only the entry symbol.
set(_SIMBI_PLUGIN_MAP "${CMAKE_CURRENT_LIST_DIR}/simbi_plugin.map")
function(simbi_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE simbi::sdk)
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
endfunction()
