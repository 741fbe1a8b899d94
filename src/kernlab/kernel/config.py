"""The running kernel's build configuration (the .config it was built with).

The kernel embeds it as /proc/config.gz when built with CONFIG_IKCONFIG_PROC; distributions
install it as /boot/config-<release>. Options that are off appear as ``# CONFIG_X is not set``
and are reported as ``"n"``.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from pathlib import Path

from kernlab.errors import BadInput, NotSupported
from kernlab.fileio import file_error

PROC_CONFIG = "/proc/config.gz"

_SET = re.compile(r"^(CONFIG_\w+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_\w+) is not set$")


def config_candidates(release: str | None = None) -> list[str]:
    """Where the config of the running kernel may be, in the order tried."""
    release = release or os.uname().release
    return [PROC_CONFIG, f"/boot/config-{release}"]


def parse_config(text: str) -> dict[str, str]:
    """``CONFIG_X`` -> value; quotes are kept off strings, unset options map to ``"n"``."""
    config: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if match := _SET.match(line):
            value = match[2]
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            config[match[1]] = value
        elif match := _UNSET.match(line):
            config[match[1]] = "n"
    return config


def read_config_file(path: str) -> str:
    """The text of a config file, gunzipped when it is compressed."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise file_error(
            exc,
            path,
            "a kernel config",
            missing=lambda p: NotSupported(
                f"{p} does not exist", path=p, key="errors.kernel.no_config_file", fields={"path": p}
            ),
        ) from exc
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise BadInput(
                f"{path} is not valid gzip: {exc}",
                path=path,
                key="errors.kernel.bad_gzip",
                fields={"path": path, "reason": str(exc)},
            ) from exc
    return data.decode(errors="replace")


def find_kernel_config(release: str | None = None) -> str:
    """The first readable config file of the running kernel; NotSupported naming every place tried."""
    tried = []
    for path in config_candidates(release):
        if os.path.isfile(path):
            return path
        tried.append(path)
    raise NotSupported(
        f"no kernel config found: neither {' nor '.join(tried)} exists "
        "(build with CONFIG_IKCONFIG_PROC or install the distribution's config file)",
        key="errors.kernel.no_config",
        fields={"tried": ", ".join(tried)},
    )


def read_kernel_config(path: str | None = None) -> dict[str, str]:
    """The running kernel's config options (or those of the file at ``path``)."""
    return parse_config(read_config_file(path or find_kernel_config()))
