#!/usr/bin/env bash
# Make a Java runtime (17 or newer) available for the Spark source's tests (pyspark starts a JVM):
# install Debian's openjdk-17-jre-headless when java is missing or older. Fails loudly: the Spark
# tests run on a real SparkSession, they are never skipped.
set -euo pipefail
java_major() {
  # "17.0.15" -> 17, "1.8.0_392" -> 8; nothing when there is no java
  command -v java >/dev/null || return 0
  java -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'
}
MAJOR=$(java_major)
if [ -z "$MAJOR" ] || [ "$MAJOR" -lt 17 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing openjdk-17-jre-headless (Debian package) for Spark..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq openjdk-17-jre-headless >/dev/null
    MAJOR=$(java_major)
  fi
fi
if [ -z "$MAJOR" ] || [ "$MAJOR" -lt 17 ]; then
  echo "Java 17 or newer is needed for the Spark tests (found: ${MAJOR:-none}): run 'sudo apt-get install openjdk-17-jre-headless'" >&2
  exit 1
fi
echo "java $MAJOR on $(command -v java)"
