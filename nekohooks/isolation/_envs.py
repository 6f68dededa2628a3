"""Per-plugin environments: a plugin with its own dependencies, in a venv under the home.

``neko install --isolated PKG`` makes ``<home>/envs/<name>/``: a venv (``uv venv`` when uv is
on ``PATH``, else the standard ``venv``) that sees the host's own nekohooks and its
dependencies through a ``.pth`` file placed *after* its own site-packages, so the plugin's
pins win and both sides speak the same frame protocol; then pip (or ``uv pip``) installs the
package and its dependencies into it. The plugins found there are described once, by the
venv's interpreter, into ``neko-env.json``; the host reads that file at start, lists the
plugins like any other, and runs each in a process on that interpreter. So two plugins that
need incompatible versions of one library both run in one host.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .._config import HostConfig
from .._errors import Phase
from .._model import EntryKind, EntrySpec, JobSpec, LoadFailure, PluginInfo, RunsOn
from .._registry import LoadedPlugin, Registry
from .._schedule import Cron, Every, Schedule

__all__ = ["ENV_FILE", "EnvPlugin", "InstallError", "add_env_plugins", "install_isolated"]

ENV_FILE = "neko-env.json"


class InstallError(Exception):
    """Creating the environment or installing into it failed; the message says which step."""


@attrs.frozen
class EnvPlugin:
    """Stands in the host's registry for a plugin that lives in its own environment."""

    python: str
    root: str


def _remote_only(**_: Any) -> Any:
    raise RuntimeError("this plugin runs in its own environment; call it through the host")


def _env_name(requirement: str) -> str:
    path = Path(requirement)
    if path.exists():
        stem = path.name.split("-")[0] if path.suffix == ".whl" else path.resolve().name
        return str(canonicalize_name(stem))
    try:
        return str(canonicalize_name(Requirement(requirement).name))
    except InvalidRequirement as exc:
        raise InstallError(f"not a requirement or a path: {requirement!r}") from exc


def install_isolated(
    home: Path,
    requirements: Sequence[str],
    *,
    pip_args: Sequence[str] = (),
    echo: Callable[[str], None] = lambda line: None,
) -> list[str]:
    """Install ``requirements`` into a fresh environment under ``home / "envs"``.

    Returns the names of the plugins it provides. Raises :class:`InstallError` if the venv
    cannot be made, the installer fails, or the packages provide no plugin (the environment
    is removed again then).
    """
    if not requirements:
        raise InstallError("nothing to install")
    root = home / "envs" / _env_name(requirements[0])
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    uv = shutil.which("uv")
    try:
        if uv:
            echo(f"creating {root} with uv")
            _run([uv, "venv", "--quiet", "--python", sys.executable, str(root)], "uv venv")
        else:
            echo(f"creating {root} with venv")
            venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
        python = str(root / "bin" / "python")
        site = subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
        ).strip()
        host_sites = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
        lines = "".join(f"import site; site.addsitedir({s!r})\n" for s in host_sites)
        Path(site, "_neko_host.pth").write_text(lines)  # after the venv's own packages
        if uv:
            command = [uv, "pip", "install", "--python", python, *requirements, *pip_args]
        else:
            command = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
            command += [*requirements, *pip_args]
        echo("installing " + " ".join(requirements))
        _run(command, "installing")
        described = _run([python, "-m", "nekohooks.isolation", "describe", str(root)], "describing")
        plugins = json.loads(described)
        if not plugins:
            raise InstallError(f"{', '.join(requirements)} provides no neko.plugins entry point")
        record = {"python": python, "requirements": list(requirements), "plugins": plugins}
        (root / ENV_FILE).write_text(json.dumps(record, indent=2))
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return [plugin["name"] for plugin in plugins]


def _run(command: list[str], step: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise InstallError(f"{step} failed: {exc}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise InstallError(f"{step} failed (exit {done.returncode}): " + " / ".join(detail))
    return done.stdout


# ---- describing (runs on the environment's interpreter) -------------------------------------


def _schedule(schedule: Schedule) -> dict[str, Any]:
    kind = "every" if isinstance(schedule, Every) else "cron"
    return {"type": kind, **attrs.asdict(schedule)}


def describe(root: Path) -> list[dict[str, Any]]:
    """The plugins installed under ``root``, as JSON-ready records (imports each)."""
    from .._discovery import scan

    found = []
    for cand in scan():
        dist = cand.entry_point.dist
        if dist is None or not Path(str(dist.locate_file(""))).resolve().is_relative_to(root):
            continue
        loaded = Registry().add(
            cand.name,
            cand.entry_point.load(),
            value=cand.value,
            distribution=cand.distribution,
            version=cand.version,
        )
        info = loaded.info
        found.append(
            {
                **{k: getattr(info, k) for k in ("name", "value", "distribution", "version")},
                **{k: getattr(info, k) for k in ("style", "module", "description")},
                "entries": [
                    {
                        **{k: getattr(e, k) for k in ("id", "name", "description", "timeout")},
                        "input_schema": dict(e.input_schema),
                        "kind": e.kind.value,
                        "runs_on": e.runs_on.value,
                    }
                    for e in info.entries
                ],
                "jobs": [
                    {
                        "id": j.id,
                        "timeout": j.timeout,
                        "runs_on": j.runs_on.value,
                        "schedule": _schedule(j.schedule),
                    }
                    for j in info.jobs
                ],
            }
        )
    return found


# ---- the host's side ------------------------------------------------------------------------


def _info(plugin: dict[str, Any]) -> PluginInfo:
    entries = tuple(
        EntrySpec(
            id=e["id"],
            name=e["name"],
            description=e["description"],
            input_schema=e["input_schema"],
            timeout=e["timeout"],
            func=_remote_only,
            kind=EntryKind(e["kind"]),
            runs_on=RunsOn(e["runs_on"]),
            wants_ctx=False,
            is_method=False,
        )
        for e in plugin["entries"]
    )
    jobs = []
    for j in plugin["jobs"]:
        schedule = dict(j["schedule"])
        kind = Every if schedule.pop("type") == "every" else Cron
        jobs.append(
            JobSpec(
                id=j["id"],
                schedule=kind(**schedule),
                timeout=j["timeout"],
                func=_remote_only,
                runs_on=RunsOn(j["runs_on"]),
                wants_ctx=False,
                is_method=False,
            )
        )
    return PluginInfo(
        name=plugin["name"],
        value=plugin["value"],
        distribution=plugin["distribution"],
        version=plugin["version"],
        style=plugin["style"],
        module=plugin["module"],
        entries=entries,
        jobs=tuple(jobs),
        description=plugin["description"],
    )


def add_env_plugins(registry: Registry, config: HostConfig) -> HostConfig:
    """Register the plugins of every environment under ``config.home / "envs"``.

    Returns ``config`` with those plugins marked isolated. A plugin name taken already, or an
    unreadable environment record, becomes a load failure; the others load.
    """
    options = dict(config.plugin_options)
    for record in sorted((config.home / "envs").glob(f"*/{ENV_FILE}")):
        try:
            data = json.loads(record.read_text())
            python = str(data["python"])
            plugins = [_info(plugin) for plugin in data["plugins"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            failure = f"unreadable {record}: {type(exc).__name__}: {exc}"
            registry.failures.append(
                LoadFailure(record.parent.name, "", None, None, Phase.IMPORT, failure)
            )
            continue
        for info in plugins:
            if not config.plugin_filter.permits(info.name):
                registry.disabled.append(info.name)
            elif info.name in registry.plugins:
                other = registry.plugins[info.name].info.distribution or "another plugin"
                registry.failures.append(
                    LoadFailure(
                        info.name,
                        info.value,
                        info.distribution,
                        info.version,
                        Phase.REGISTER,
                        f"duplicate plugin name: already provided by {other}",
                    )
                )
            else:
                obj = EnvPlugin(python, str(record.parent))
                registry.plugins[info.name] = LoadedPlugin(info, obj, None)
                options[info.name] = attrs.evolve(config.options(info.name), isolation="process")
    return attrs.evolve(config, plugin_options=options)


def print_description(root: str) -> None:
    """Print :func:`describe` of ``root`` as JSON and exit (run on the environment's Python)."""
    print(json.dumps(describe(Path(root).resolve())))
    sys.stdout.flush()
    os._exit(0)  # a plugin's import may have started threads
