"""The batch tab's input: uploaded files and zip archives turned into the list of images to read.

Pure apart from the files it reads and the copies it writes into a folder the UI owns. A zip member is
never extracted under its own name: its bytes are copied (at most the size limit, whatever its header
says) to a numbered file in that folder, so a member named ``../../x`` cannot write outside it. Every
file that is not read gets a row saying why, and the others are read all the same.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import stat
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from captcha_solver.common import escape_text, neutralise_formula
from captcha_solver.settings import Config

__all__ = ["TABLE_COLUMNS", "BatchEntry", "BatchLimits", "gather_batch", "read_batch", "table_csv"]

#: The batch table's columns, and the CSV download's.
TABLE_COLUMNS = ("file", "text", "confidence", "reader", "status", "error")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class BatchLimits:
    """How much one batch may read (``ui.batch_*``) and which file names are images (``input.extensions``)."""

    max_files: int
    max_file_bytes: int
    max_total_bytes: int
    extensions: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Config) -> BatchLimits:
        ui = config.ui
        extensions = tuple(
            e.lower() if e.startswith(".") else f".{e.lower()}" for e in config.input.extensions
        )
        return cls(ui.batch_max_files, ui.batch_max_file_bytes, ui.batch_max_total_bytes, extensions)


@dataclass
class BatchEntry:
    """One file of the batch: the name shown, and either the file to read or why it is not read."""

    name: str
    path: Path | None = None
    error: str = ""


@dataclass
class _Budget:
    limits: BatchLimits
    files: int = 0
    bytes: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def problem(self, size: int) -> str:
        """Why a file of ``size`` bytes may not be read, or "" (then it is counted)."""
        if size > self.limits.max_file_bytes:
            return f"too big: {size} bytes, over ui.batch_max_file_bytes = {self.limits.max_file_bytes}"
        if self.bytes + size > self.limits.max_total_bytes:
            return (
                f"not read: the batch would hold more than ui.batch_max_total_bytes = "
                f"{self.limits.max_total_bytes} bytes"
            )
        self.files += 1
        self.bytes += size
        return ""

    @property
    def full(self) -> bool:
        return self.files >= self.limits.max_files


def _unsafe_name(name: str) -> str:
    """Why a zip member's name is refused ('' if it is a plain relative path)."""
    if "\x00" in name:
        return "its name holds a NUL byte"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "its name is an absolute path"
    if ".." in re.split(r"[\\/]", name):
        return "its name leads out of the archive's folder ('..')"
    return ""


def _member_problem(info: zipfile.ZipInfo, limits: BatchLimits) -> str:
    unsafe = _unsafe_name(info.filename)
    if unsafe:
        return f"refused: {unsafe}"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "refused: a symbolic link"
    if info.flag_bits & 0x1:
        return "refused: encrypted"
    suffix = PurePosixPath(info.filename.replace("\\", "/")).suffix.lower()
    if suffix not in limits.extensions:
        return f"not an image file (extension {suffix or 'none'!r}; input.extensions: {', '.join(limits.extensions)})"
    return ""


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, max_bytes: int) -> str:
    """Copy a member's bytes to ``target``; '' or why not (the header's size is not trusted)."""
    try:
        with archive.open(info) as member:
            data = member.read(max_bytes + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as exc:
        return f"cannot be extracted: {exc}"
    if len(data) > max_bytes:
        return f"too big: more than ui.batch_max_file_bytes = {max_bytes} bytes once extracted"
    target.write_bytes(data)
    return ""


def _zip_entries(path: Path, shown: str, budget: _Budget, workdir: Path, next_name) -> Iterable[BatchEntry]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        yield BatchEntry(shown, error=f"not a readable zip archive: {exc}")
        return
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        for index, info in enumerate(members):
            name = f"{shown}/{info.filename}"
            if budget.full:
                budget.skipped[shown] = len(members) - index
                return
            problem = _member_problem(info, budget.limits) or budget.problem(info.file_size)
            if problem:
                yield BatchEntry(name, error=problem)
                continue
            suffix = PurePosixPath(info.filename.replace("\\", "/")).suffix.lower()
            target = workdir / f"{next_name()}{suffix}"
            problem = _copy_member(archive, info, target, budget.limits.max_file_bytes)
            yield BatchEntry(name, error=problem) if problem else BatchEntry(name, path=target)


def gather_batch(paths: Sequence[str | Path], limits: BatchLimits, workdir: str | Path) -> list[BatchEntry]:
    """The images of a batch, in order: plain files as they are, zip members copied into ``workdir``.

    Parameters
    ----------
    paths : sequence of path
        Uploaded files; a name ending in ``.zip`` is opened as an archive.
    limits : BatchLimits
        At most ``max_files`` images are read; the files over it get one row per upload saying how
        many were left out. A file or member over ``max_file_bytes``, or one that would take the
        batch over ``max_total_bytes``, gets an error row.
    workdir : path
        An existing folder the caller owns and later removes; members are copied into it.

    Returns
    -------
    entries : list of BatchEntry
        One per file or member (folders inside a zip are skipped); unsafe, non-image or
        oversized members have their ``error`` set and no ``path``.
    """
    workdir = Path(workdir)
    budget = _Budget(limits)
    counter = itertools.count(1)

    def next_name() -> str:
        return f"{next(counter):06d}"  # a numbered name, never the member's

    entries: list[BatchEntry] = []
    for raw in paths:
        path = Path(raw)
        shown = path.name
        if budget.full:
            budget.skipped[shown] = budget.skipped.get(shown, 0) + 1
            continue
        if path.suffix.lower() == ".zip":
            entries.extend(_zip_entries(path, shown, budget, workdir, next_name))
            continue
        try:
            size = path.stat().st_size
        except OSError as exc:
            entries.append(BatchEntry(shown, error=f"cannot be read: {exc.strerror or exc}"))
            continue
        problem = budget.problem(size)
        entries.append(BatchEntry(shown, error=problem) if problem else BatchEntry(shown, path=path))
    for shown, count in budget.skipped.items():
        entries.append(
            BatchEntry(
                shown,
                error=f"{count} file(s) not read: a batch reads at most ui.batch_max_files = {limits.max_files}",
            )
        )
    return entries


def read_batch(
    entries: Sequence[BatchEntry], read_row: Callable[[Path, str], dict]
) -> tuple[list[dict], list[dict]]:
    """Read a batch with ``read_row(path, name)`` (the solver's ``predict_row``).

    Returns
    -------
    table : list of dict
        One row per entry (:data:`TABLE_COLUMNS`); an entry that was not read keeps its error, and a
        file the reader cannot decode comes back as an error row: the batch goes on either way.
    readings : list of dict
        The reader's own rows of the files it read (for the results CSV).
    """
    table, readings = [], []
    for entry in entries:
        if entry.path is None:
            table.append(
                dict(file=entry.name, text="", confidence="", reader="", status="error", error=entry.error)
            )
            continue
        row = read_row(entry.path, entry.name)
        readings.append(row)
        ok = row.get("status") == "ok"
        table.append(
            dict(
                file=entry.name,
                text=row.get("prediction", "") if ok else "",
                confidence=f"{float(row['confidence']):.3f}" if ok else "",
                reader=row.get("reader", "") or "",
                status=row.get("status", "error"),
                error=row.get("error", "") or "",
            )
        )
    return table, readings


def table_csv(rows: Sequence[dict]) -> bytes:
    """The batch table as CSV (UTF-8): one line per row, text cells escaped and guarded against formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TABLE_COLUMNS)
    for row in rows:
        writer.writerow([neutralise_formula(escape_text(str(row.get(c, "")))) for c in TABLE_COLUMNS])
    return buffer.getvalue().encode("utf-8")
