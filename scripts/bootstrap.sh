# Sourced by scripts/demo and scripts/test: make sure the pinned uv is on PATH (fresh machines
# have only Python 3.11, pip and git). Everything else comes from uv.lock.
UV_VERSION="0.13.9"
PYTHON="$(command -v python3.11 || command -v python3)"
if ! command -v git >/dev/null 2>&1; then
    echo "git is required: install it (apt-get install git) and run again" >&2
    exit 2
fi
if [ "$(uv --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
    PATH="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
    export PATH
    hash -r
fi
export DVC_NO_ANALYTICS=1
