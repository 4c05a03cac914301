# Shared set-up for scripts/muse and scripts/check (sourced, not run).
# Installs what scripts/packages.txt lists (as root with apt-get) or prints the
# exact command, then configures and builds with Meson.

MUSE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

muse_packages() {
    sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$MUSE_ROOT/scripts/packages.txt" | tr -s ' \t' '\n' | sed '/^$/d'
}

# Prints the packages that are not installed.
muse_missing_packages() {
    local p
    for p in $(muse_packages); do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            echo "$p"
        fi
    done
}

muse_ensure_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "muse: this is not a Debian or Ubuntu system; install the equivalents of: $(muse_packages | tr '\n' ' ')" >&2
        command -v meson >/dev/null 2>&1 && command -v ninja >/dev/null 2>&1 && return 0
        return 1
    fi
    local missing
    missing=$(muse_missing_packages | tr '\n' ' ')
    [ -z "${missing// /}" ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "muse: installing missing packages: $missing" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 || { echo "muse: apt-get update failed" >&2; return 1; }
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >&2 || {
            echo "muse: apt-get install failed for: $missing" >&2
            return 1
        }
        return 0
    fi
    echo "muse: these Debian packages are missing: $missing" >&2
    echo "muse: install them with:" >&2
    echo "    sudo apt-get install -y $missing" >&2
    return 1
}

# muse_build DIR [meson setup options...]: configure once, then build
# incrementally. Output goes to stderr so stdout stays the program's.
muse_build() {
    local dir=$1
    shift
    if [ ! -f "$MUSE_ROOT/$dir/build.ninja" ]; then
        meson setup "$MUSE_ROOT/$dir" "$MUSE_ROOT" "$@" >"$MUSE_ROOT/.$(basename "$dir")-setup.log" 2>&1 || {
            cat "$MUSE_ROOT/.$(basename "$dir")-setup.log" >&2
            echo "muse: meson setup failed (log above)" >&2
            return 1
        }
    fi
    local log="$MUSE_ROOT/.$(basename "$dir")-build.log"
    ninja -C "$MUSE_ROOT/$dir" >"$log" 2>&1 || {
        tail -n 60 "$log" >&2
        echo "muse: build failed (full log: $log)" >&2
        return 1
    }
}
