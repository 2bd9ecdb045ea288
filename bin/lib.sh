# Shared by the bin/ commands (source it, do not run it): builds the module a command needs when its
# sources changed, and prints the module's runtime classpath.

paratrain_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Aeron/Agrona need jdk.internal.misc; Spark 3.5 needs the --add-opens list of its launcher on Java 17.
paratrain_jvm_flags=(
  --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
  -XX:+IgnoreUnrecognizedVMOptions
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
  --add-opens=java.base/sun.security.action=ALL-UNNAMED
  --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  -Djdk.reflect.useDirectMethodHandle=false
)

paratrain_require_java17() {
  local version
  version="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  if [ -z "$version" ] || [ "$version" -lt 17 ]; then
    echo "error: Java 17 or newer is required on PATH (found: ${version:-none})" >&2
    exit 1
  fi
}

# paratrain_classpath MODULE: prints MODULE's classes and dependency jars, building first if needed.
# PARATRAIN_SCOPE=compile adds the provided dependencies (Spark) for running locally.
paratrain_classpath() {
  local module="$1"
  local scope="${PARATRAIN_SCOPE:-runtime}"
  local cp_file="$paratrain_root/$module/target/classpath-$scope.txt"
  if [ ! -f "$cp_file" ] || [ -n "$(find "$paratrain_root" -path '*/target' -prune -o \
       \( -path '*/src/*' -o -name pom.xml \) -newer "$cp_file" -print -quit)" ]; then
    echo "building $module (the first build downloads its dependencies) ..." >&2
    (cd "$paratrain_root" && mvn -q -B -pl "$module" -am -DskipTests \
        package dependency:build-classpath -Dmdep.outputFile="target/classpath-$scope.txt" \
        -DincludeScope="$scope" -Dparatrain.shade.skip=true) >&2
    # The plugin leaves an unchanged classpath file as it was: mark it built now, or every later run rebuilds.
    touch "$cp_file"
  fi
  echo "$paratrain_root/$module/target/classes:$(cat "$cp_file")"
}
