# `cmake --install`: the binary, the bundled profiles, the man pages the binary writes from its own
# command line definition, and the documentation, under the GNU install directories. Nothing
# installed names the prefix, so an installed tree can be moved (a relocatable prefix). With
# PROTOS7_INSTALL_SERVICE (the Debian package, cmake/packaging.cmake) also the systemd unit and
# /etc/protos7/protos7.conf.
include(GNUInstallDirs)
# `cmake --install` installs what was built (`cmake --build ... --target protos7` is enough); it
# does not build every target first.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
option(PROTOS7_INSTALL_SERVICE "Install the systemd unit and /etc/protos7/protos7.conf" OFF)

if(TARGET protos7)
  install(TARGETS protos7 RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  # Written by the POST_BUILD step of tools/CMakeLists.txt.
  install(DIRECTORY ${PROJECT_BINARY_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
          FILES_MATCHING PATTERN "*.1")
endif()
install(FILES ${PROJECT_SOURCE_DIR}/server/profiles/s7-300.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/protos7/profiles)
install(FILES
          ${PROJECT_SOURCE_DIR}/README.md
          ${PROJECT_SOURCE_DIR}/LICENSE
          ${PROJECT_SOURCE_DIR}/NOTICE
          ${PROJECT_SOURCE_DIR}/THIRD_PARTY_NOTICES.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
        FILES_MATCHING PATTERN "*.md")

if(PROTOS7_INSTALL_SERVICE)
  set(PROTOS7_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
  set(PROTOS7_DOCDIR ${CMAKE_INSTALL_FULL_DOCDIR})
  configure_file(${PROJECT_SOURCE_DIR}/deploy/debian/protos7.service.in
                 ${PROJECT_BINARY_DIR}/deploy/protos7.service @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/deploy/protos7.service
          DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/protos7.conf
          DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/protos7)
endif()
