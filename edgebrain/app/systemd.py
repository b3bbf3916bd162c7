"""systemd integration: sd_notify (READY, WATCHDOG, STATUS, STOPPING) and installing the unit."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from edgebrain.base.errors import ConfigError
from edgebrain.base.schemas import data_dir

log = logging.getLogger(__name__)

UNIT_NAME = "edgebrain.service"
DEFAULT_EXEC = "/opt/edgebrain/.venv/bin/edgebrain"


def notify(message: str) -> bool:
    """Send one sd_notify message; False when not run by systemd (no NOTIFY_SOCKET)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        log.warning("sd_notify failed: %s", exc)
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between watchdog pings (half of WatchdogSec), or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1e6 / 2
    except ValueError:
        return None


def unit_text(executable: str | None = None) -> str:
    """The unit file with ExecStart pointing at this installation's edgebrain."""
    template = (data_dir("systemd") / UNIT_NAME).read_text(encoding="utf-8")
    return template.replace(DEFAULT_EXEC, executable or current_executable())


def current_executable() -> str:
    """The edgebrain command of the running installation."""
    found = Path(sys.executable).parent / "edgebrain"
    return str(found if found.is_file() else shutil.which("edgebrain") or DEFAULT_EXEC)


def _tool(name: str) -> str:
    found = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if found is None:
        raise ConfigError(f"install-service needs {name}, which is not installed")
    return found


def _known(database: str, name: str, root: Path) -> bool:
    """True when ``name`` is in the passwd or group database (``root``'s own files when it is not /)."""
    if root == Path("/"):
        return subprocess.run([_tool("getent"), database, name], capture_output=True, check=False).returncode == 0
    try:
        lines = (root / "etc" / database).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return False
    return any(line.split(":", 1)[0] == name for line in lines)


def install(root: Path = Path("/")) -> list[str]:
    """Install the unit, the service user and an example configuration under ``root`` (/, or the root
    of a system image being built); return what was done."""
    if os.geteuid() != 0:
        raise ConfigError("install-service needs root: run it with sudo")
    done = []
    prefix = [] if root == Path("/") else ["--prefix", str(root)]  # the image's /etc, not this machine's
    if not _known("passwd", "edgebrain", root):
        # --user-group: the unit's Group=edgebrain must exist whatever login.defs says.
        subprocess.run([_tool("useradd"), *prefix, "--system", "--user-group", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", "edgebrain"], check=True)
        done.append("created the system user edgebrain")
    for group in ("gpio", "audio"):
        if not _known("group", group, root):
            subprocess.run([_tool("groupadd"), *prefix, "--system", group], check=True)
            done.append(f"created the group {group}")
    unit = root / "etc/systemd/system" / UNIT_NAME
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(unit_text(), encoding="utf-8")
    done.append(f"wrote {unit}")
    config = root / "etc/edgebrain/edgebrain.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    if not config.exists():
        shutil.copyfile(data_dir("systemd") / "edgebrain.example.yaml", config)
        done.append(f"wrote {config} (edit it: broker, registry folder, password file)")
    if root == Path("/") and shutil.which("systemctl"):
        subprocess.run([_tool("systemctl"), "daemon-reload"], check=False)
        done.append("ran systemctl daemon-reload; start it with: systemctl enable --now edgebrain")
    return done
