# Install and packaging: the header, libarrjit.so (versioned SONAME),
# libarrjit.a, the tools, a CMake package (find_package(arrjit CONFIG):
# arrjit::arrjit, arrjit::arrjit_static) and arrjit.pc. Also the checks
# that keep the header's version macros, the library and the reference docs
# honest. Included by CMakeLists.txt after the library's targets.
include(CMakePackageConfigHelpers)

# The header carries the version (it is not generated); it must agree with
# project(VERSION).
file(STRINGS ${CMAKE_SOURCE_DIR}/include/arrjit.h aj_version_lines
  REGEX "^#define AJ_VERSION_(MAJOR|MINOR|PATCH|STRING) ")
set(aj_header_version "")
foreach(part MAJOR MINOR PATCH)
  string(REGEX MATCH "AJ_VERSION_${part} ([0-9]+)" m "${aj_version_lines}")
  list(APPEND aj_header_version "${CMAKE_MATCH_1}")
endforeach()
list(JOIN aj_header_version "." aj_header_version)
string(REGEX MATCH "AJ_VERSION_STRING \"([^\"]*)\"" m "${aj_version_lines}")
if(NOT aj_header_version STREQUAL PROJECT_VERSION
    OR NOT CMAKE_MATCH_1 STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "include/arrjit.h says version ${aj_header_version} "
    "(\"${CMAKE_MATCH_1}\"), project() says ${PROJECT_VERSION}")
endif()

# ABI policy (include/arrjit.h): SOVERSION 0.MINOR while 0.x, then MAJOR.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(AJ_SOVERSION 0.${PROJECT_VERSION_MINOR})
  set(aj_compat SameMinorVersion)
else()
  set(AJ_SOVERSION ${PROJECT_VERSION_MAJOR})
  set(aj_compat SameMajorVersion)
endif()
set_target_properties(arrjit PROPERTIES VERSION ${PROJECT_VERSION}
  SOVERSION ${AJ_SOVERSION})

# libarrjit.so exports the header's functions and nothing else (lib/'s and
# jit/'s own aj_ functions stay inside): a version script made from the
# header's declarations, the static inline ones left out.
file(STRINGS ${CMAKE_SOURCE_DIR}/include/arrjit.h aj_decl_lines
  REGEX "^[a-z][a-z0-9_ ]*[ *]aj_[a-z0-9_]+\\(")
set(aj_exports "")
foreach(line IN LISTS aj_decl_lines)
  if(NOT line MATCHES "^static " AND line MATCHES "(aj_[a-z0-9_]+)\\(")
    string(APPEND aj_exports "    ${CMAKE_MATCH_1};\n")
  endif()
endforeach()
file(WRITE ${CMAKE_BINARY_DIR}/arrjit.map
  "{\n  global:\n${aj_exports}  local: *;\n};\n")
target_link_options(arrjit PRIVATE
  -Wl,--version-script=${CMAKE_BINARY_DIR}/arrjit.map)
set_property(TARGET arrjit APPEND PROPERTY LINK_DEPENDS
  ${CMAKE_BINARY_DIR}/arrjit.map)

set(aj_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/arrjit)
install(TARGETS arrjit arrjit_static EXPORT arrjit-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES include/arrjit.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS arrjit-dump arrjit-eval DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT arrjit-targets NAMESPACE arrjit:: DESTINATION ${aj_cmakedir})
configure_package_config_file(cmake/arrjit-config.cmake.in
  ${CMAKE_BINARY_DIR}/arrjit-config.cmake INSTALL_DESTINATION ${aj_cmakedir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/arrjit-config-version.cmake
  COMPATIBILITY ${aj_compat})
install(FILES ${CMAKE_BINARY_DIR}/arrjit-config.cmake
  ${CMAKE_BINARY_DIR}/arrjit-config-version.cmake DESTINATION ${aj_cmakedir})
# arrjit.pc finds its prefix from its own place (${pcfiledir}), so an
# install to another --prefix or DESTDIR needs no reconfigure.
file(RELATIVE_PATH AJ_PC_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig
  ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" AJ_PC_PREFIX "\${pcfiledir}/${AJ_PC_PREFIX}")
configure_file(cmake/arrjit.pc.in ${CMAKE_BINARY_DIR}/arrjit.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/arrjit.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

add_executable(test_version tests/test_version.c)
target_compile_definitions(test_version PRIVATE
  AJ_PROJECT_VERSION="${PROJECT_VERSION}")
target_link_libraries(test_version PRIVATE arrjit PkgConfig::CMOCKA)
add_test(NAME version COMMAND test_version)

# Packaging and docs are the same in every build; the sanitizer builds
# skip them (an ASan libarrjit.so needs an ASan consumer).
if(AJ_SANITIZE STREQUAL "")
  add_test(NAME install COMMAND ${CMAKE_SOURCE_DIR}/tests/install_test.sh
    ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
  add_test(NAME docs COMMAND ${CMAKE_SOURCE_DIR}/tests/docs_test.sh
    ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/docs)
endif()
