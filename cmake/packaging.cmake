# `cpack -G DEB` (in a build with PROTOS7_INSTALL_SERVICE=ON and CMAKE_INSTALL_PREFIX=/usr, as
# deploy/debian/build_deb.sh configures it): the Debian package protos7_<version>_<arch>.deb with
# the binary, man pages, docs, bundled profiles, the systemd unit and its configuration file.
set(CPACK_PACKAGE_NAME protos7)
set(CPACK_PACKAGE_VENDOR "the protos7 contributors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "S7comm-compatible PLC server and conformance test kit")
set(CPACK_PACKAGE_DESCRIPTION
    "protos7 serves S7comm (ISO-on-TCP, COTP, S7 protocol id 0x32) as Siemens S7-300/400 CPUs do,
with durable data blocks, a web admin, metrics and a health endpoint; and it dumps, replays and
learns PLC profiles from packet captures. The package runs it as a systemd service with a
dynamic user and only CAP_NET_BIND_SERVICE.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "protos7 contributors <protos7@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
