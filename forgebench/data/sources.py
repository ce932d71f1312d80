"""What a user downloaded, read as one list of files: folders, zip, tar (any compression) and 7z archives.

``datasets prepare`` matches a dataset's variants against these relative paths, then asks for the files it needs:
a folder's files are used where they are (to be linked), an archive's are extracted into a staging folder. The user's
files are only read. A folder's paths start with its own name, as an archive's usually start with the folder it was
made from, so a download gives the same paths extracted or not. Operating-system clutter (``__MACOSX/``, ``._*``,
``.DS_Store``, ``Thumbs.db``) is not listed.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".7z")


class SourceError(ValueError):
    """A download that cannot be read; the message names the file."""


@dataclass(frozen=True)
class Source:
    """One path the user gave: a folder or an archive, with the relative paths of the files in it."""

    path: Path
    kind: str
    """"folder", "zip", "tar" or "7z"."""
    members: dict[str, str]
    """Each file's relative path ("/"-separated, no leading "./") → its name in the folder or archive."""

    @property
    def files(self) -> list[str]:
        return sorted(self.members)


def open_source(path: Path) -> Source:
    """List the files of a folder or archive; raises :class:`SourceError` naming the path when it cannot."""
    if not path.exists():
        raise SourceError(f"{path}: not found")
    if path.is_dir():
        names = [
            (Path(folder) / name).relative_to(path).as_posix()
            for folder, _, files in os.walk(path, followlinks=True)
            for name in files
        ]
        return Source(path, "folder", _kept(names, prefix=path.name))
    kind = _kind(path)
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                names = [info.filename for info in archive.infolist() if not info.is_dir()]
        elif kind == "tar":
            with tarfile.open(path) as archive:
                names = [member.name for member in archive.getmembers() if member.isfile() or member.islnk()]
        else:
            with _sevenzip().SevenZipFile(path) as archive:
                names = [info.filename for info in archive.list() if not info.is_directory]
    except Exception as error:  # noqa: BLE001 — damaged archives make each library raise its own errors
        raise SourceError(f"{path}: cannot read it as a {kind} archive: {error}") from None
    return Source(path, kind, _kept(names))


def merged(sources: Iterable[Source]) -> tuple[dict[str, Source], dict[str, list[Path]]]:
    """Relative path → the source holding it, over several downloads (e.g. images in one, masks in another), and the
    paths found in more than one download (an error only where the dataset uses one)."""
    found: dict[str, Source] = {}
    clashes: dict[str, list[Path]] = {}
    for source in sources:
        for name in source.files:
            if name in found:
                clashes.setdefault(name, [found[name].path]).append(source.path)
            found[name] = source
    return found, clashes


def materialise(wanted: dict[str, Source], staging: Path) -> dict[str, tuple[Path, bool]]:
    """Relative path → (a local file holding it, whether that file is the user's own and must not be moved).

    Files of folders are the user's files; archive members are extracted under ``staging``, each archive read from
    start to end once per call.
    """
    found: dict[str, tuple[Path, bool]] = {}
    by_source: dict[Path, tuple[Source, set[str]]] = {}
    for name, source in wanted.items():
        by_source.setdefault(source.path, (source, set()))[1].add(name)
    for index, (source, names) in enumerate(by_source.values()):
        if source.kind == "folder":
            found.update({name: (source.path / source.members[name], True) for name in names})
            continue
        target = staging / str(index)
        target.mkdir(parents=True, exist_ok=True)
        try:
            extracted = _extract(source, names, target)
        except Exception as error:  # noqa: BLE001 — archive libraries raise many kinds of errors on damaged data
            raise SourceError(f"{source.path}: cannot extract from it: {error}") from None
        found.update({name: (path, False) for name, path in extracted.items()})
    return found


def _extract(source: Source, names: set[str], target: Path) -> dict[str, Path]:
    """Write each wanted member to ``target/<n><suffix>`` (7z members are extracted under ``target/7z`` first, checked
    to stay inside it, then moved)."""
    paths = {
        source.members[name]: target / f"{n}{PurePosixPath(name).suffix.lower()}"
        for n, name in enumerate(sorted(names))
    }
    if source.kind == "zip":
        with zipfile.ZipFile(source.path) as archive:
            for member_name, path in paths.items():
                with archive.open(member_name) as member, path.open("wb") as out:
                    shutil.copyfileobj(member, out)
    elif source.kind == "tar":
        with tarfile.open(source.path) as archive:
            for member in archive:
                if member.name in paths and (member.isfile() or member.islnk()):
                    with archive.extractfile(member) as stream, paths[member.name].open("wb") as out:
                        shutil.copyfileobj(stream, out)
    else:
        with _sevenzip().SevenZipFile(source.path) as archive:
            archive.extract(path=target / "7z", targets=sorted(paths))
        for member_name, path in paths.items():
            os.replace(_inside(target / "7z", member_name), path)
    missing = [name for name in sorted(names) if not paths[source.members[name]].is_file()]
    if missing:
        raise SourceError(f"{source.path}: {len(missing)} listed members could not be extracted, e.g. {missing[0]}")
    return {name: paths[source.members[name]] for name in names}


def _inside(folder: Path, name: str) -> Path:
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise SourceError(f"archive member {name} points outside the extraction folder")
    return path


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith(".7z"):
        return "7z"
    if any(name.endswith(suffix) for suffix in ARCHIVE_SUFFIXES):
        return "tar"
    raise SourceError(f"{path}: not a folder or an archive forgebench reads ({', '.join(ARCHIVE_SUFFIXES)})")


def _kept(names: list[str], prefix: str = "") -> dict[str, str]:
    def clutter(name: str) -> bool:
        parts = PurePosixPath(name).parts
        return "__MACOSX" in parts or parts[-1].startswith("._") or parts[-1] in (".DS_Store", "Thumbs.db")

    kept = {}
    for name in names:
        relative = PurePosixPath(name.replace("\\", "/"))
        relative = PurePosixPath(*(part for part in relative.parts if part not in (".", "/")))
        if relative.parts and not clutter(relative.as_posix()):
            kept[(PurePosixPath(prefix) / relative).as_posix() if prefix else relative.as_posix()] = name
    return kept


def _sevenzip():
    try:
        import py7zr
    except ImportError:
        raise SourceError("reading .7z archives needs py7zr: pip install 'forgebench[archives]'") from None
    return py7zr
