# scripts/lib.sh: shared by the scripts: installing Debian packages when missing.

# sf_install PKG...: apt-get install the packages that are not installed yet.
sf_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# What building and testing seqfuse needs (the CUDA toolkit is optional).
sf_install_build_deps() {
    sf_install build-essential cmake pkg-config check libsentencepiece-dev sentencepiece \
        libopenblas-dev libcjson-dev libdnnl-dev
}
