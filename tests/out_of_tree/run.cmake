# Installs simbi into a temporary prefix, builds the C99 and C++ samples against that install
# alone, and checks that the installed simbi loads them and that they pass the conformance suite.
# Called by CTest with SOURCE_DIR, BUILD_DIR, WORK_DIR and CONFORMANCE (the test binary).
file(REMOVE_RECURSE ${WORK_DIR})
set(PREFIX ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(LAST_OUTPUT "${out}${err}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
foreach(sample c_plugin cpp_plugin)
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/samples/${sample} -B ${WORK_DIR}/${sample} -DCMAKE_PREFIX_PATH=${PREFIX}
      -DCMAKE_BUILD_TYPE=Release)
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/${sample})
endforeach()

# The installed binary finds the installed plugins and, by --plugin-path, the samples.
run(${PREFIX}/bin/simbi plugins list --plugin-path ${WORK_DIR}/c_plugin --plugin-path ${WORK_DIR}/cpp_plugin)
foreach(id simbi.projectile sbibm.two_moons sample.projectile_c sample.projectile_cpp)
  string(FIND "${LAST_OUTPUT}" "${id}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "plugin ${id} not listed:\n${LAST_OUTPUT}")
  endif()
endforeach()
string(FIND "${LAST_OUTPUT}" "warning" at)
if(NOT at EQUAL -1)
  message(FATAL_ERROR "unexpected warnings:\n${LAST_OUTPUT}")
endif()

# The host stays torch-free.
run(ldd ${PREFIX}/bin/simbi)
string(FIND "${LAST_OUTPUT}" "libtorch" at)
if(NOT at EQUAL -1)
  message(FATAL_ERROR "the installed simbi links LibTorch:\n${LAST_OUTPUT}")
endif()

# The three projectiles share physics and random streams, so one seed gives one dataset.
file(WRITE ${WORK_DIR}/m.json "{\"simbi\": 1, \"simulator\": {\"id\": \"simbi.projectile\"}, \"simulation\": {\"budget\": 5000, \"seed\": 4, \"dtype\": \"float64\"}}")
foreach(id simbi.projectile sample.projectile_c sample.projectile_cpp)
  run(${PREFIX}/bin/simbi simulate ${WORK_DIR}/m.json -q --plugin-path ${WORK_DIR}/c_plugin --plugin-path ${WORK_DIR}/cpp_plugin
      --set simulator.id=${id} --out ${WORK_DIR}/${id}.h5)
  run(h5dump -d /x -o ${WORK_DIR}/${id}.x.txt ${WORK_DIR}/${id}.h5)
  file(READ ${WORK_DIR}/${id}.x.txt x_${id})
endforeach()
if(NOT x_simbi.projectile STREQUAL x_sample.projectile_c OR NOT x_simbi.projectile STREQUAL x_sample.projectile_cpp)
  message(FATAL_ERROR "the sample plugins' datasets differ from simbi.projectile's")
endif()

# The samples pass the conformance suite.
set(ENV{SIMBI_PLUGIN_PATH} "${WORK_DIR}/c_plugin:${WORK_DIR}/cpp_plugin")
run(${CONFORMANCE} "[conformance]")
message(STATUS "out-of-tree samples: built, loaded and conformant")
