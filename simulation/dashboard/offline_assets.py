"""The dashboard's browser assets, kept on disk so the page works with no CDN.

Solara's server hands the browser its JavaScript, CSS and fonts through a proxy to a public CDN
(`/_solara/cdn/<package>@<version>/<file>`) and keeps what it fetched in a cache folder,
`<venv>/share/solara/cdn`. Offline that proxy fails and the page stays blank, so this module
fills the cache ahead of time from the npm registry with `npm pack`, the registry's own client.

The packages are the ones a PeerScale dashboard page requests (checked by loading the page in
headless Chromium with request logging, see tests/test_dashboard_browser.py); their versions are
read from the installed solara, so an upgrade of solara asks for the versions it needs.

Run `python -m simulation.dashboard.offline_assets` to fill the cache (idempotent: packages
already present are skipped) or with `--check` to only report what is missing.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

# npm packages behind the URLs the dashboard page requests (solara's page shell, RequireJS,
# Font Awesome, and the draggable grid Mesa's SolaraViz lays its figures out with).
PACKAGES = (
    "@widgetti/solara-vuetify-app",
    "requirejs",
    "font-awesome",
    "@widgetti/vue-grid-layout",
)

# Files of the installed solara that name the exact versions of those packages in their URLs.
_VERSION_SOURCES = (
    "server/templates/solara.html.j2",
    "server/settings.py",
    "widgets/vue/gridlayout.vue",
)


class AssetsError(RuntimeError):
    """The assets could not be found or fetched; the message says what to do."""


@dataclass(frozen=True)
class Asset:
    """One npm package version as the Solara CDN proxy stores it."""

    name: str
    version: str

    @property
    def spec(self) -> str:
        """The npm package spec, e.g. 'requirejs@2.3.6'."""
        return f"{self.name}@{self.version}"

    def folder(self, cache: Path) -> Path:
        """Where the proxy looks for the package's files: <cache>/<name>@<version>/."""
        return cache / self.spec


def cache_dir() -> Path:
    """Solara's CDN cache folder of the running Python environment."""
    import solara.server.settings

    return Path(solara.server.settings.assets.proxy_cache_dir)


def required_assets() -> list[Asset]:
    """The package versions the installed solara asks for, one per entry of PACKAGES."""
    import solara

    root = Path(solara.__file__).parent
    text = "\n".join(
        (root / rel).read_text(encoding="utf-8")
        for rel in _VERSION_SOURCES
        if (root / rel).is_file()
    )
    assets = []
    for name in PACKAGES:
        versions = sorted(set(re.findall(re.escape(name) + r"@(\d+\.\d+\.\d+[\w.+-]*)/", text)))
        if not versions:
            raise AssetsError(
                f"solara {solara.__version__} names no version of {name}; update "
                "simulation/dashboard/offline_assets.py for this solara version"
            )
        assets += [Asset(name, v) for v in versions]
    return assets


def is_present(asset: Asset, cache: Path) -> bool:
    """Whether the package was unpacked completely (package.json is written last)."""
    return (asset.folder(cache) / "package.json").is_file()


def missing(cache: Path | None = None) -> list[Asset]:
    """The required assets not yet in the cache."""
    cache = cache or cache_dir()
    return [a for a in required_assets() if not is_present(a, cache)]


def _npm_pack(spec: str, destination: Path, npm: str) -> Path:
    """Download one package tarball from the npm registry; return its path."""
    try:
        done = subprocess.run(
            [npm, "pack", spec, "--json", "--pack-destination", str(destination)],
            cwd=destination,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except FileNotFoundError:
        raise AssetsError(
            f"'{npm}' not found: install Node.js's npm (Debian: apt-get install -y npm) "
            f"to fetch {spec}"
        ) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise AssetsError(f"npm pack {spec} failed: {last}")
    try:
        filename = json.loads(done.stdout)[0]["filename"]
    except (ValueError, LookupError):
        tarballs = sorted(destination.glob("*.tgz"))
        if len(tarballs) != 1:
            raise AssetsError(f"npm pack {spec}: could not tell which tarball it wrote") from None
        return tarballs[0]
    # npm names scoped tarballs 'widgetti-name-1.0.0.tgz' but has printed '@widgetti/...' too.
    return destination / filename.replace("@", "").replace("/", "-")


def _unpack(tarball: Path, target: Path) -> None:
    """Unpack an npm tarball's top folder ('package/') as `target`, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            members = []
            for member in archive.getmembers():
                parts = Path(member.name).parts
                # Plain files and folders inside the package only: no links, devices, '..'.
                inside = (
                    len(parts) >= 2 and ".." not in parts and not Path(member.name).is_absolute()
                )
                if not inside or not (member.isfile() or member.isdir()):
                    continue
                member.name = str(Path(*parts[1:]))  # drop npm's top folder, whatever its name
                members.append(member)
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 (Debian 12 ships 3.11.2)
                archive.extractall(staging, members=members, filter="data")
            else:
                archive.extractall(staging, members=members)  # members checked above
        if target.exists():
            shutil.rmtree(target)  # an incomplete earlier attempt (no package.json)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def fill(cache: Path | None = None, npm: str = "npm", log=print) -> list[Asset]:
    """Fetch every missing asset into the cache; return those fetched (none if all present)."""
    cache = cache or cache_dir()
    todo = missing(cache)
    for asset in todo:
        log(f"fetching {asset.spec} from the npm registry")
        with tempfile.TemporaryDirectory(prefix="peerscale-npm-") as tmp:
            _unpack(_npm_pack(asset.spec, Path(tmp), npm), asset.folder(cache))
    return todo


def main(argv: list[str] | None = None) -> int:
    """Command line: fill Solara's CDN cache (or only check it with --check)."""
    parser = argparse.ArgumentParser(
        prog="python -m simulation.dashboard.offline_assets",
        description="Fill Solara's CDN cache from the npm registry so the dashboard works offline.",
    )
    parser.add_argument(
        "--check", action="store_true", help="only report missing assets (exit 1 if any)"
    )
    parser.add_argument("--npm", default="npm", help="the npm executable (default: npm)")
    args = parser.parse_args(argv)
    cache = cache_dir()
    try:
        if args.check:
            absent = missing(cache)
            for asset in absent:
                print(f"missing: {asset.spec}")
            print(f"{cache}: {'incomplete' if absent else 'complete'}")
            return 1 if absent else 0
        fetched = fill(cache, npm=args.npm)
        still = missing(cache)
        if still:
            raise AssetsError(f"still missing after fetching: {', '.join(a.spec for a in still)}")
    except AssetsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    status = f"fetched {len(fetched)} package(s)" if fetched else "already complete"
    print(f"dashboard assets in {cache}: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
