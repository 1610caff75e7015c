# library.cmake - what users link and install: libcirrus.so.MAJOR and
# libcirrus.a made of every subsystem's objects, the header, the `cirrus`
# binary, cirrus.pc, the CMake package (cirrus::cirrus, cirrus::cirrus_static)
# and the man page. Included by the top-level CMakeLists.txt after the
# subsystems are defined.

get_property(cirrus_objects GLOBAL PROPERTY CIRRUS_OBJECTS)
# what the objects need at link time: for the shared library, and for users
# of the static one (who get them from cirrus.pc or the CMake package)
set(cirrus_deps PkgConfig::ZSTD PkgConfig::LZ4 PkgConfig::SQLITE PkgConfig::CURL
                PkgConfig::JANSSON PkgConfig::LIBCRYPTO Threads::Threads)

# Shared: only cirrus_* is exported (hidden visibility, and the version
# script for anything that escapes it).
add_library(cirrus_shared SHARED ${cirrus_objects})
set_target_properties(cirrus_shared PROPERTIES
  OUTPUT_NAME cirrus EXPORT_NAME cirrus
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  LINK_DEPENDS ${CMAKE_SOURCE_DIR}/cmake/cirrus.map)
target_link_libraries(cirrus_shared PRIVATE ${cirrus_deps})
target_link_options(cirrus_shared PRIVATE -Wl,--version-script=${CMAKE_SOURCE_DIR}/cmake/cirrus.map)
target_include_directories(cirrus_shared INTERFACE
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
add_library(cirrus::cirrus ALIAS cirrus_shared)

# Static: the objects are first linked into one relocatable object whose
# only global symbols are cirrus_*, so that the engine's internal names
# (err_set, buf_put, memtable_get ...) cannot collide with a program's own.
set(cirrus_prelinked ${CMAKE_CURRENT_BINARY_DIR}/cirrus_prelinked.o)
add_custom_command(
  OUTPUT ${cirrus_prelinked}
  COMMAND ${CMAKE_LINKER} -r -o ${cirrus_prelinked}.tmp ${cirrus_objects}
  COMMAND ${CMAKE_OBJCOPY} -w --keep-global-symbol=cirrus_* ${cirrus_prelinked}.tmp
          ${cirrus_prelinked}
  COMMAND ${CMAKE_COMMAND} -E remove ${cirrus_prelinked}.tmp
  DEPENDS ${cirrus_objects}
  COMMAND_EXPAND_LISTS VERBATIM
  COMMENT "Prelinking libcirrus.a (only cirrus_* global)")
set_source_files_properties(${cirrus_prelinked} PROPERTIES EXTERNAL_OBJECT ON GENERATED ON)
add_library(cirrus_static STATIC ${cirrus_prelinked})
get_property(cirrus_object_libs GLOBAL PROPERTY CIRRUS_OBJECT_LIBS)
add_dependencies(cirrus_static ${cirrus_object_libs}) # the objects exist before the prelink
set_target_properties(cirrus_static PROPERTIES OUTPUT_NAME cirrus EXPORT_NAME cirrus_static
                                               LINKER_LANGUAGE C)
# installed users link the system libraries by name (cirrus.pc says the same)
target_link_libraries(cirrus_static INTERFACE
  $<BUILD_INTERFACE:${cirrus_deps}>
  $<INSTALL_INTERFACE:zstd;lz4;sqlite3;curl;jansson;crypto;Threads::Threads>)
target_include_directories(cirrus_static INTERFACE
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
add_library(cirrus::cirrus_static ALIAS cirrus_static)

# ---- install ---------------------------------------------------------------
include(CMakePackageConfigHelpers)
set(cirrus_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/cirrus)
install(TARGETS cirrus_shared cirrus_static EXPORT cirrusTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS cirrus RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/include/cirrus.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
configure_file(${CMAKE_SOURCE_DIR}/docs/cirrus.1.in ${CMAKE_CURRENT_BINARY_DIR}/cirrus.1 @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cirrus.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(EXPORT cirrusTargets NAMESPACE cirrus:: DESTINATION ${cirrus_cmake_dir})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/cirrusConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/cirrusConfig.cmake INSTALL_DESTINATION ${cirrus_cmake_dir})
# 0.x: a new minor version may change the API, so only the same minor matches
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/cirrusConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cirrusConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/cirrusConfigVersion.cmake
        DESTINATION ${cirrus_cmake_dir})
# cirrus.pc: paths relative to ${prefix}, so a DESTDIR copy moved elsewhere
# still works with --define-prefix
if(IS_ABSOLUTE ${CMAKE_INSTALL_LIBDIR})
  set(CIRRUS_PC_LIBDIR ${CMAKE_INSTALL_LIBDIR})
else()
  set(CIRRUS_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE ${CMAKE_INSTALL_INCLUDEDIR})
  set(CIRRUS_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
else()
  set(CIRRUS_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${CMAKE_SOURCE_DIR}/cmake/cirrus.pc.in ${CMAKE_CURRENT_BINARY_DIR}/cirrus.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cirrus.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
