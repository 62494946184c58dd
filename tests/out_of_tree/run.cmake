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
foreach(sample c_plugin cpp_plugin linear_estimator rmse_diagnostic)
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

# An outside estimator, without LibTorch, is used by changing only estimator.id: the sample
# manifest names simbi.npe with NPE's settings, which the switch drops. On gaussian_linear the
# posterior is N(x / 2, 0.05 I): the means must be within 0.02 (about ten standard errors of
# 10,000 draws) of x / 2, and the standard deviations within 5% of sqrt(0.05).
run(${PREFIX}/bin/simbi run ${SOURCE_DIR}/samples/linear_estimator/manifest.json -q --plugin-path ${WORK_DIR}/linear_estimator
    --out ${WORK_DIR}/linear_run --set simulation.store=${WORK_DIR}/linear_sims.h5 --set estimator.id=sample.linear_gaussian)
string(FIND "${LAST_OUTPUT}" "dropped the settings only the first takes: config.flow, config.transforms, training.max_epochs" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the estimator switch did not drop NPE's settings:\n${LAST_OUTPUT}")
endif()
file(READ ${WORK_DIR}/linear_run/summary.json summary)
file(READ ${SOURCE_DIR}/samples/linear_estimator/manifest.json manifest)
foreach(i RANGE 0 9)
  math(EXPR n "${i} + 1")
  string(JSON x GET "${manifest}" observation x ${i})
  string(JSON mean GET "${summary}" parameters theta_${n} mean)
  string(JSON sd GET "${summary}" parameters theta_${n} std)
  execute_process(COMMAND awk -v m=${mean} -v x=${x} -v s=${sd}
                          "BEGIN { d = m - x / 2; r = s / sqrt(0.05); exit !(d < 0.02 && d > -0.02 && r > 0.95 && r < 1.05) }"
                  RESULT_VARIABLE bad)
  if(bad)
    message(FATAL_ERROR "sample.linear_gaussian: theta_${n} has mean ${mean} and std ${sd}; the posterior's are ${x}/2 and 0.2236")
  endif()
endforeach()
message(STATUS "out-of-tree estimator: sample.linear_gaussian ran by switching estimator.id")

# The samples pass the conformance suite.
set(ENV{SIMBI_PLUGIN_PATH} "${WORK_DIR}/c_plugin:${WORK_DIR}/cpp_plugin:${WORK_DIR}/linear_estimator")
run(${CONFORMANCE} "[conformance]")
message(STATUS "out-of-tree samples: built, loaded and conformant")
