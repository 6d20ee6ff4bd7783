# Install tree: headers, libattune.a (kernels and Halide runtime inside), CMake package.
include(CMakePackageConfigHelpers)

install(TARGETS attune EXPORT attuneTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY runtime/include/attune DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(ATTUNE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/attune)
install(EXPORT attuneTargets NAMESPACE attune:: DESTINATION ${ATTUNE_CMAKE_DIR})
configure_package_config_file(cmake/attuneConfig.cmake.in
  "${PROJECT_BINARY_DIR}/attuneConfig.cmake" INSTALL_DESTINATION ${ATTUNE_CMAKE_DIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/attuneConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/attuneConfig.cmake" "${PROJECT_BINARY_DIR}/attuneConfigVersion.cmake"
        DESTINATION ${ATTUNE_CMAKE_DIR})
