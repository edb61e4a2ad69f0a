#!/bin/bash -eu
# ClusterFuzzLite build script: the OSS-Fuzz one, from the repository copied to $SRC/protos7.
exec "$SRC/protos7/fuzz/oss-fuzz/build.sh"
