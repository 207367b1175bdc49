"""`staso update`: upgrade staso from where it was installed, refuse anything that is not
this project, then sync the hooks.

The predecessor of this project is on PyPI as `staso` (0.5.x), a different package with
no `staso_otel`. Installing it (or a later release of it) over this one
removes `staso_otel`, and every hook entry then fails with ModuleNotFoundError inside the
agent. So the update asks pip what it would install (a dry run), fetches exactly that,
looks inside, and installs it only if it provides `staso_otel` and `staso_cli`; until
then the working install and the hook entries are untouched.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import click

from staso_otel import __version__
from staso_otel.launch import module_argv

NAME = "staso"
MUST_PROVIDE = ("staso_otel/__init__.py", "staso_cli/entry.py")


def run_pip(args: list[str], *, capture: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(module_argv("pip", *args), capture_output=capture, text=True, check=False)


def _direct_url() -> dict:
    """How pip recorded this install (PEP 610): a VCS URL, a folder, or nothing (an index)."""
    from importlib import metadata

    try:
        text = metadata.distribution(NAME).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return {}
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def requirement(direct: dict) -> str:
    """What to upgrade from: the repository or folder it came from, else the index."""
    url = direct.get("url")
    vcs = direct.get("vcs_info")
    if url and vcs:
        return f"{NAME} @ {vcs['vcs']}+{url}"
    if url and "dir_info" in direct:
        return f"{NAME} @ {url}"
    return NAME


def _fail(message: str, pip: subprocess.CompletedProcess) -> click.ClickException:
    last = (pip.stderr or "").strip().splitlines()
    return click.ClickException(message + (f": {last[-1]}" if last else ""))


def _candidate(req: str, pip_args: list[str], folder: Path) -> dict | None:
    """What `pip install --upgrade` would put in place of this staso, or None."""
    report = folder / "report.json"
    pip = run_pip(
        ["install", "--upgrade", "--dry-run", "--quiet", "--report", str(report), req, *pip_args],
        capture=True,
    )
    if pip.returncode != 0:
        raise _fail("pip could not look for an update", pip)
    for item in json.loads(report.read_text()).get("install", []):
        if item["metadata"]["name"].lower().replace("_", "-") == NAME:
            return item
    return None


def _fetch(candidate: dict, pip_args: list[str], folder: Path) -> Path:
    """The candidate as a wheel on disk (built, if pip found a source tree or sdist)."""
    info = candidate["download_info"]
    url = info["url"]
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.path.endswith(".whl") and "vcs_info" not in info:
        return Path(unquote(parts.path))
    spec = url
    if "vcs_info" in info:
        vcs = info["vcs_info"]
        spec = f"{vcs['vcs']}+{url}@{vcs.get('commit_id', '')}".rstrip("@")
    out = folder / "wheel"
    pip = run_pip(["wheel", "--no-deps", "--quiet", "-w", str(out), spec, *pip_args], capture=True)
    wheels = sorted(out.glob("*.whl"))
    if pip.returncode != 0 or not wheels:
        raise _fail(f"pip could not fetch {url}", pip)
    return wheels[0]


def missing_modules(wheel: Path) -> list[str]:
    """The modules a hook entry or the `staso` command needs that the wheel lacks."""
    names = set(zipfile.ZipFile(wheel).namelist())
    return [path.split("/")[0] for path in MUST_PROVIDE if path not in names]


@click.command()
@click.option(
    "--pip-args",
    default="",
    help="Extra arguments for pip, e.g. '--pre' or '--index-url URL'.",
)
def command(pip_args: str) -> None:
    """Upgrade staso, then re-sync the hooks (their interpreter path and trust).

    Upgrades from where staso was installed (its repository or folder, else the package
    index) and refuses any package named staso that does not provide staso_otel, so the
    hooks keep working whatever the index holds.

    \b
    Example:
      staso update
      staso update --pip-args '--index-url https://pypi.example/simple'
    """
    args = shlex.split(pip_args)
    direct = _direct_url()
    if direct.get("dir_info", {}).get("editable"):
        click.echo(f"staso is an editable install from {direct['url']}: its code is the checkout's")
        _sync()
        return
    req = requirement(direct)
    click.echo(f"looking for a newer staso than {__version__} ({req})")
    with tempfile.TemporaryDirectory(prefix="staso-update-") as tmp:
        candidate = _candidate(req, args, Path(tmp))
        if candidate is None:
            click.echo(f"staso {__version__} is up to date")
            return
        version = candidate["metadata"]["version"]
        wheel = _fetch(candidate, args, Path(tmp))
        missing = missing_modules(wheel)
        if missing:
            raise click.ClickException(
                f"refusing to install staso {version} from {candidate['download_info']['url']}: "
                f"it does not provide {' or '.join(missing)} (not this project); "
                f"kept staso {__version__} and its hooks as they are"
            )
        if run_pip(["install", "--upgrade", "--quiet", str(wheel), *args]).returncode != 0:
            raise click.ClickException("pip could not upgrade staso (see its output above)")
    _sync()
    click.echo(f"staso is up to date ({version})")


def _sync() -> None:
    from staso_otel.targets import installers

    # a fresh interpreter, so the new version's code writes the entries
    sync = module_argv("staso_cli.entry", "sync")
    if installers.installed() and subprocess.call(sync) != 0:
        raise click.ClickException("upgraded, but `staso sync` failed: run it by hand")
