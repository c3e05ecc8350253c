"""The phrasebook data model: pydantic models (one per concept) and plain result types.

Everything else in kb depends on this module; it depends on nothing in kb.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = 1
ID_RE = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*\Z")  # \Z: a trailing newline never passes
SHORTCUT_RE = re.compile(r"[a-z][a-z0-9]*\Z")
SEMVER_RE = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)\Z")


@dataclass(frozen=True)
class Step:
    """One reply text of a phrase: the whole reply (name None) or one step of a flow."""

    name: str | None
    text: str
    key: tuple  # where the text stands in the phrase: ("reply",) or ("flow", N, "reply")

    @property
    def field(self) -> str:
        """The key as a dotted path: 'reply' or 'flow.N.reply'."""
        return ".".join(str(k) for k in self.key)


def _whole(rx: re.Pattern[str], v: str, message: str) -> str:
    """v when rx matches all of it (a trailing newline included), else ValueError(message)."""
    if not rx.fullmatch(v):
        raise ValueError(message.format(v=v))
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=False)


class FlowStep(_Strict):
    step: str = Field(min_length=1)
    reply: str

    @field_validator("reply")
    @classmethod
    def _reply_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("reply is empty")
        return v


class LintSuppression(_Strict):
    allow: list[str] = Field(min_length=1)
    reason: str | None = None


class Phrase(_Strict):
    id: str
    title: str = Field(min_length=1)
    group: str | None = None
    shortcut: str | None = None
    questions: list[str] = Field(min_length=1)
    reply: str | None = None
    flow: list[FlowStep] | None = None
    tags: list[str] = Field(default_factory=list)
    lint: LintSuppression | None = None

    @field_validator("id")
    @classmethod
    def _id_ok(cls, v: str) -> str:
        return _whole(ID_RE, v, "id {v!r} must be dotted lower-case words: [a-z0-9_] separated by '.'")

    @field_validator("shortcut")
    @classmethod
    def _shortcut_ok(cls, v: str | None) -> str | None:
        msg = "shortcut {v!r} must be lower-case letters/digits starting with a letter (e.g. fhsj)"
        return v if v is None else _whole(SHORTCUT_RE, v, msg)

    @field_validator("questions")
    @classmethod
    def _questions_ok(cls, v: list[str]) -> list[str]:
        for i, q in enumerate(v):
            if not q.strip():
                raise ValueError(f"question {i + 1} is empty")
        return v

    @field_validator("reply")
    @classmethod
    def _reply_not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("reply is empty")
        return v

    @model_validator(mode="after")
    def _reply_or_flow(self) -> Phrase:
        if (self.reply is None) == (self.flow is None):
            raise ValueError("a phrase needs exactly one of 'reply' (one text) or 'flow' (ordered steps)")
        if self.flow is not None and not self.flow:
            raise ValueError("flow has no steps")
        return self

    def steps(self) -> list[Step]:
        """Every reply text of the phrase, in order: one Step for a reply, one per flow step."""
        if self.reply is not None:
            return [Step(None, self.reply, ("reply",))]
        return [Step(s.step, s.reply, ("flow", i, "reply")) for i, s in enumerate(self.flow or [])]

    def group_of(self, book: Book) -> str:
        """The group the phrase is shown and exported under: its own, else its book's title."""
        return self.group or book.title


class _Schema(_Strict):
    """A file kb reads: it starts with the schema version it is written in."""

    schema_: int = Field(alias="schema")

    @field_validator("schema_")
    @classmethod
    def _schema_ok(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ValueError(f"schema {v} is not supported (this kb reads schema {SCHEMA_VERSION})")
        return v


class Book(_Schema):
    name: str
    version: str
    title: str = Field(min_length=1)
    description: str = ""
    phrases: list[Phrase] = Field(default_factory=list)

    @field_validator("version")
    @classmethod
    def _semver(cls, v: str) -> str:
        return _whole(SEMVER_RE, v, "version {v!r} is not semver MAJOR.MINOR.PATCH (e.g. 1.0.0)")


class Campaign(_Strict):
    title: str
    start: date
    end: date
    aliases: list[str] = Field(default_factory=list)  # other names --campaign accepts (双11, 11.11 ...)
    vars: dict[str, str] = Field(default_factory=dict)

    @field_validator("aliases")
    @classmethod
    def _aliases_ok(cls, v: list[str]) -> list[str]:
        for a in v:
            if not str(a).strip() or str(a) != str(a).strip():
                raise ValueError(f"alias {a!r} is empty or has surrounding spaces")
        return v

    @model_validator(mode="after")
    def _dates(self) -> Campaign:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Manifest(_Schema):
    name: str
    description: str = ""
    vars: dict[str, str] = Field(default_factory=dict)
    campaigns: dict[str, Campaign] = Field(default_factory=dict)
    log: bool = False  # opt-in local usage log (kb learn); off unless the bank says so

    @model_validator(mode="after")
    def _aliases_unique(self) -> Manifest:
        seen: dict[str, str] = {}
        for name, c in self.campaigns.items():
            for a in (name, *c.aliases):
                key = str(a).casefold()
                if key == "none":
                    raise ValueError(f"campaign {name}: 'none' is reserved (--campaign none = normal time)")
                if key in seen and seen[key] != name:
                    raise ValueError(f"campaign alias '{a}' names both {seen[key]} and {name}")
                seen[key] = name
        return self


Loc = tuple[int, int]  # 1-based line, column


def nearest_loc(locs: dict[tuple, Loc], path: tuple) -> Loc:
    """Line/column of the value at path, or of its nearest parent that has one."""
    while path:
        if path in locs:
            return locs[path]
        path = path[:-1]
    return locs.get((), (1, 1))


@dataclass
class Problem:
    """One problem found in a file, reported as path:line:col: [id: ]message."""

    path: str
    line: int
    col: int
    message: str
    phrase_id: str | None = None
    severity: Literal["error", "warning", "info"] = "error"

    def __str__(self) -> str:
        who = f"{self.phrase_id}: " if self.phrase_id else ""
        return f"{self.path}:{self.line}:{self.col}: {who}{self.message}"


@dataclass
class BookFile:
    """A loaded phrasebook with where each of its values stands in the file."""

    book: Book
    path: Path
    display: str  # path as shown in messages (relative to the cwd when possible)
    locs: dict[tuple, Loc] = field(default_factory=dict)

    def loc(self, *keys: object) -> Loc:
        """Line/column of the value at keys, or of its nearest parent that has one."""
        return nearest_loc(self.locs, tuple(keys))

    def phrase_loc(self, index: int, *keys: object) -> Loc:
        return self.loc("phrases", index, *keys)


@dataclass
class Bank:
    root: Path
    manifest: Manifest
    books: list[BookFile]
    manifest_display: str = "bank.yaml"

    def phrases(self) -> list[tuple[BookFile, int, Phrase]]:
        return [(bf, i, p) for bf in self.books for i, p in enumerate(bf.book.phrases)]

    def find(self, phrase_id: str) -> tuple[BookFile, int, Phrase] | None:
        for item in self.phrases():
            if item[2].id == phrase_id:
                return item
        return None

    def campaign_vars(self) -> dict[str, dict[str, str]]:
        return {k: dict(c.vars) for k, c in self.manifest.campaigns.items()}

    def book(self, name: str) -> BookFile | None:
        return next((b for b in self.books if b.book.name == name), None)
