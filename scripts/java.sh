#!/usr/bin/env bash
# Make sure a Java runtime (17 or newer) is installed for the Spark engine's tests: Debian's
# OpenJDK when missing. Prints the java executable's path.
set -euo pipefail
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then echo "$JAVA_HOME/bin/java"; exit 0; fi
if command -v java >/dev/null 2>&1; then command -v java; exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing Debian's OpenJDK 17 runtime for the Spark tests ..." >&2
export DEBIAN_FRONTEND=noninteractive
package=openjdk-17-jre-headless
$sudo apt-get install -y -q "$package" >&2 || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q "$package" >&2; }
command -v java
