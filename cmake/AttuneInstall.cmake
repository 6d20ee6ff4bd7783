# Install tree: headers, libattune.a (runtime, kernels and a Halide runtime inside), the runtime
# objects and attune_add_kernels() for building one's own kernel library, the shipped tuned
# configs, the `attune` CLI with its tools, and the CMake package.
include(CMakePackageConfigHelpers)

set(ATTUNE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/attune)
set(ATTUNE_LIBEXEC_DIR ${CMAKE_INSTALL_LIBEXECDIR}/attune)
install(TARGETS attune attune_runtime EXPORT attuneTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        OBJECTS DESTINATION ${CMAKE_INSTALL_LIBDIR}/attune/objects
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The generator executable is what attune_add_kernels() runs in users' builds (attune::generators).
set_target_properties(attune_generators PROPERTIES EXPORT_NAME generators)
install(TARGETS attune_generators EXPORT attuneTargets RUNTIME DESTINATION ${ATTUNE_LIBEXEC_DIR})
install(TARGETS attune-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS attune-runner RUNTIME DESTINATION ${ATTUNE_LIBEXEC_DIR})
install(DIRECTORY runtime/include/attune DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES cmake/AttuneKernels.cmake DESTINATION ${ATTUNE_CMAKE_DIR})
install(DIRECTORY schedules/tuned/ DESTINATION ${CMAKE_INSTALL_DATADIR}/attune/tuned FILES_MATCHING PATTERN "*.json")

install(EXPORT attuneTargets NAMESPACE attune:: DESTINATION ${ATTUNE_CMAKE_DIR})
set(ATTUNE_INSTALL_TUNED_DIR ${CMAKE_INSTALL_DATADIR}/attune/tuned)
configure_package_config_file(cmake/attuneConfig.cmake.in
  "${PROJECT_BINARY_DIR}/attuneConfig.cmake" INSTALL_DESTINATION ${ATTUNE_CMAKE_DIR}
  PATH_VARS ATTUNE_INSTALL_TUNED_DIR)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/attuneConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/attuneConfig.cmake" "${PROJECT_BINARY_DIR}/attuneConfigVersion.cmake"
        DESTINATION ${ATTUNE_CMAKE_DIR})
