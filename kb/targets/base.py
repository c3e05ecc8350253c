"""What every target is made of: its declared limits, its options, its profiles (data files under
kb/data/targets/), and the request/result types the CLI passes in and renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import KbError

DATA = Path(__file__).resolve().parent.parent / "data" / "targets"
FORMULA_PREFIXES = ("=", "+", "-", "@")  # a spreadsheet runs a cell starting with these as a formula


@dataclass(frozen=True)
class Limits:
    """What a target accepts: lint's export hygiene and each target's own checks read these.

    None means "no limit". max_chars is per exported text (phrase, answer or expansion).
    """

    encoding: str | None = None  # the file's encoding; None: any Unicode (UTF-8)
    max_chars: int | None = None
    max_question_chars: int | None = None
    max_similar: int | None = None  # similar questions per standard question
    max_items: int | None = None  # rows/pairs/matches per file
    code_re: str | None = None  # a phrase's code (shortcut) must fully match this; None: no code needed
    formula_prefixes: tuple[str, ...] = FORMULA_PREFIXES
    forbidden: tuple[str, ...] = ()  # substrings the target would interpret (espanso's {{ …)

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Option:
    """A target-specific command-line option (the CLI builds click options from these)."""

    name: str  # "--encoding"
    help: str
    kind: str = "str"  # str | flag | int | choice
    choices: tuple[str, ...] = ()
    default: Any = None
    metavar: str | None = None

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")


@dataclass
class ExportRequest:
    campaign: str | None = None
    books: list[str] | None = None
    allow_lint_errors: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class OutFile:
    """One file an export writes: name None means the single file (-o FILE or stdout)."""

    name: str | None
    data: bytes
    count: int  # rows / pairs / matches in it


@dataclass
class ExportResult:
    files: list[OutFile]
    notes: list[str] = field(default_factory=list)  # warnings to print (each names a phrase)
    binary: bool = False  # never printed to a terminal
    unit: str = "rows"

    @property
    def count(self) -> int:
        return sum(f.count for f in self.files)


@dataclass
class ImportRequest:
    name: str
    source: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Imported:
    """What an importer read: books (kb.model.Book) ready to write, with the rows they hold."""

    books: list  # list[Book]
    encoding: str
    rows: int  # data rows read that became phrases (or flow steps)
    warnings: list[str] = field(default_factory=list)
    header: str = ""  # YAML comment lines to put on top of each book
    lines: dict[str, int] = field(default_factory=dict)  # phrase id -> line/row it came from

    @property
    def phrases(self) -> int:
        return sum(len(b.phrases) for b in self.books)


class Target:
    """A format kb exports to and (optionally) imports from. Subclasses set the class attributes and
    implement export() and, when can_import, read()."""

    name: str = ""
    summary: str = ""  # one line for kb export --help
    export_help: str = ""  # the export command's help text, with examples
    import_help: str = ""
    export_options: tuple[Option, ...] = ()
    import_options: tuple[Option, ...] = ()
    can_import: bool = False
    binary: bool = False
    multi_file: bool = False  # writes one file per book (-o is a folder)
    output_help: str = "Write to FILE (default: stdout)."

    def describe_output(self, options: dict[str, Any]) -> str:
        """What the written bytes are, for messages (e.g. the encoding)."""
        return self.name

    def limits(self, options: dict[str, Any] | None = None) -> Limits:
        raise NotImplementedError

    def declared_limits(self) -> dict[str, Limits]:
        """Every profile's limits by profile name (for lint's export hygiene)."""
        return {self.name: self.limits({})}

    def export(self, bank, req: ExportRequest) -> ExportResult:
        raise NotImplementedError

    def read(self, data: bytes, req: ImportRequest) -> Imported:
        raise KbError(f"kb cannot import {self.name} files (export only)", 2)


@cache
def load_profile_file(name: str) -> dict[str, Any]:
    """kb/data/targets/<name>.yaml as plain data."""
    from ruamel.yaml import YAML

    path = DATA / f"{name}.yaml"
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict):
        raise KbError(f"{path}: a target profile file has a 'profiles:' mapping", 3)
    return data


def limits_from(profile: dict[str, Any]) -> Limits:
    lim = profile.get("limits", {}) or {}
    known = set(Limits.__dataclass_fields__)
    unknown = set(lim) - known
    if unknown:
        raise KbError(f"target profile: unknown limit(s) {', '.join(sorted(unknown))} (known: "
                      f"{', '.join(sorted(known))})", 3)
    return Limits(**{k: tuple(v) if isinstance(v, list) else v for k, v in lim.items()})


def pick_profile(target: str, requested: str | None) -> tuple[str, dict[str, Any]]:
    data = load_profile_file(target)
    profiles = data["profiles"]
    name = requested or data.get("default") or next(iter(profiles))
    if name not in profiles:
        import difflib

        close = difflib.get_close_matches(name, list(profiles), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise KbError(f"{target}: no profile '{name}'{hint} (profiles: {', '.join(profiles)})", 2)
    return name, profiles[name]
