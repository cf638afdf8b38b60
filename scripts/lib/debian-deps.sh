# Sourced by scripts/serve and scripts/test: installs the Debian packages the build needs
# (cmake and g++ compile the JPEG-LS codec and libjpeg-turbo from source; nasm gives
# libjpeg-turbo its SIMD code, without which previews encode 3x slower), plus any extra
# commands the caller names as "command:package". Installs only what is missing.

# install_build_deps [command:package ...]
install_build_deps() {
    local need=() pair
    for pair in cmake:cmake g++:g++ nasm:nasm "$@"; do
        command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
    done
    ((${#need[@]})) || return 0
    if ! command -v apt-get >/dev/null; then
        echo "missing ${need[*]}: install them with your package manager, then run this again" >&2
        return 1
    fi
    echo "installing ${need[*]} (Debian packages the build needs)"
    local sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}"
}

# have_postgres_server: true when the PostgreSQL server binaries are here. The metadata store's
# tests start a throwaway cluster with them (crates/sv-testkit/src/pg.rs); Debian keeps them off
# PATH, under /usr/lib/postgresql/<major>/bin. SV_TEST_PG_BIN, when set, names the one to use.
have_postgres_server() {
    local bin dirs=(/usr/lib/postgresql/*/bin)
    [ -z "${SV_TEST_PG_BIN:-}" ] || dirs=("$SV_TEST_PG_BIN")
    for bin in "${dirs[@]}"; do
        [ -x "$bin/postgres" ] && [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && return 0
    done
    return 1
}
