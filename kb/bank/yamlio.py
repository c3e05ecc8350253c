"""YAML in and out.

Reading phrasebooks: ruamel.yaml composes the node tree and kb builds plain Python
values from it itself, so that
  * no tag other than YAML's core types is ever constructed (``!!python/...`` is an error),
  * every value keeps its line and column,
  * aliases are bounded (a billion-laughs document is refused, not expanded),
  * duplicate keys are errors.
  * the total size of what aliases expand to is bounded (a long text aliased thousands of
    times is refused before it is built).
Writing (round trip, atomic, never damaging): kb/bank/write.py.
"""

from __future__ import annotations

import io
from typing import Any

import ruamel.yaml.main as ruamel_main
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from ..model import Loc
from .files import MAX_FILE_BYTES, too_large

MAX_NODES = 50_000  # values built from one document, aliases counted each time they are used
MAX_ALIAS_EXPANSIONS = 10_000  # a value built again through an alias
MAX_ALIAS_CHARS = 1_000_000  # characters of text built again through aliases, in total
MAX_DEPTH = 64

# ruamel.yaml.clib: libyaml's scanner and parser (kb builds the values itself either way)
_HAS_CLIB = getattr(ruamel_main, "CParser", None) is not None

_CORE = "tag:yaml.org,2002:"
_STR = f"{_CORE}str"


class _Resolver(VersionedResolver):
    """YAML 1.2's implicit types, without looking the version up again for every scalar (half the
    parse time of a book)."""

    @property
    def processing_version(self) -> tuple[int, int]:
        return (1, 2)


_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}


class YamlProblem(Exception):
    def __init__(self, message: str, line: int = 1, col: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


def check_text(data: bytes) -> str:
    """Decode a YAML file's bytes, refusing what kb will not read. Raises YamlProblem."""
    if len(data) > MAX_FILE_BYTES:
        raise YamlProblem(too_large(len(data), MAX_FILE_BYTES))
    if data.count(b"\n") > MAX_NODES:  # cheap: refused before the parser builds a node per line
        raise YamlProblem(f"file has more than {MAX_NODES:,} lines: split it into several books")
    if data.startswith(b"\xef\xbb\xbf"):
        raise YamlProblem("file starts with a byte-order mark (BOM): save it as UTF-8 without BOM")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        raise YamlProblem(
            f"invalid UTF-8 (byte 0x{data[e.start]:02x}): save the file as UTF-8", line, col
        ) from None
    if "\x00" in text:
        i = text.index("\x00")
        raise YamlProblem("file contains a NUL character", text.count("\n", 0, i) + 1, 1)
    for n, raw in enumerate(text.split("\n"), 1):
        if "\t" in raw:
            stripped = raw.lstrip(" ")
            if stripped.startswith("\t"):
                raise YamlProblem(
                    "tab used for indentation: YAML indents with spaces only", n, raw.index("\t") + 1
                )
    return text


class _Builder:
    def __init__(self, constructor: SafeConstructor) -> None:
        self.locs: dict[tuple, Loc] = {}
        self.count = 0
        self.expansions = 0
        self.alias_chars = 0
        self._seen: set[int] = set()
        self._size: dict[int, int] = {}
        self._scalars = constructor

    def build(self, node: Node, path: tuple, depth: int = 0, active: frozenset = frozenset()) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblem(
                f"document holds more than {MAX_NODES:,} values (aliases counted each time they are used): "
                "split it into several books",
                *_mark(node),
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(f"document is nested deeper than {MAX_DEPTH} levels", *_mark(node))
        if id(node) in active:
            raise YamlProblem("recursive alias: an anchor refers to itself", *_mark(node))
        self.locs.setdefault(path, _mark(node))
        tag = node.tag if isinstance(node.tag, str) else getattr(node.tag, "value", str(node.tag))
        if id(node) in self._seen:  # built again through an alias
            self.expansions += 1
            self.alias_chars += self._chars(node)
            if self.expansions > MAX_ALIAS_EXPANSIONS:
                raise YamlProblem(
                    "too many alias expansions (a 'billion laughs' document?): write values out", *_mark(node)
                )
            if self.alias_chars > MAX_ALIAS_CHARS:
                raise YamlProblem(
                    f"too many alias expansions: aliases repeat more than {MAX_ALIAS_CHARS:,} characters of "
                    "text in total (a long value aliased over and over?): write the values out", *_mark(node)
                )
        self._seen.add(id(node))
        if isinstance(node, ScalarNode):
            if tag == _STR:
                return node.value
            if tag not in _SCALAR_TAGS:
                raise YamlProblem(f"tag '{tag}' is not allowed: phrasebooks hold plain values only", *_mark(node))
            try:
                return self._scalars.construct_object(node, deep=True)
            except (YAMLError, ValueError, TypeError, OverflowError) as e:
                raise YamlProblem(f"bad value {_short(node.value)}: {e}", *_mark(node)) from None
        active = active | {id(node)}
        if isinstance(node, SequenceNode):
            if tag != f"{_CORE}seq":
                raise YamlProblem(f"tag '{tag}' is not allowed on a list", *_mark(node))
            return [self.build(child, path + (i,), depth + 1, active) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if tag != f"{_CORE}map":
                raise YamlProblem(f"tag '{tag}' is not allowed on a mapping", *_mark(node))
            out: dict[Any, Any] = {}
            for knode, vnode in node.value:
                if not isinstance(knode, ScalarNode):
                    raise YamlProblem("a key must be a plain value", *_mark(knode))
                if knode.tag == f"{_CORE}merge" or knode.value == "<<" and knode.tag != f"{_CORE}str":
                    raise YamlProblem("merge keys (<<) are not supported in phrasebooks", *_mark(knode))
                key = self.build(knode, path + ("<key>",), depth + 1, active)
                if isinstance(key, (list, dict)):
                    raise YamlProblem("a key must be a plain value", *_mark(knode))
                if key in out:
                    raise YamlProblem(f"duplicate key '{key}'", *_mark(knode))
                self.locs[path + (key,)] = _mark(vnode)
                self.locs[path + (key, "<key>")] = _mark(knode)
                out[key] = self.build(vnode, path + (key,), depth + 1, active)
            return out
        raise YamlProblem("unsupported YAML node", *_mark(node))


    def _chars(self, node: Node) -> int:
        """Characters of text in the value a node builds (memoized; iterative, so neither deep nor
        recursive documents can exhaust the stack)."""
        memo = self._size
        stack: list[tuple[Node, bool]] = [(node, False)]
        open_: set[int] = set()
        while stack:
            n, done = stack.pop()
            k = id(n)
            if k in memo:
                continue
            if isinstance(n, ScalarNode):
                memo[k] = len(n.value) if isinstance(n.value, str) else 0
                continue
            kids = [c for pair in n.value for c in pair] if isinstance(n, MappingNode) else list(n.value)
            if done:
                open_.discard(k)
                memo[k] = sum(memo.get(id(c), 0) for c in kids)
            elif k not in open_:  # a node already open is a recursive alias: build() refuses it
                open_.add(k)
                stack.append((n, True))
                stack.extend((c, False) for c in kids)
        return memo.get(id(node), 0)


def _short(value: object, n: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def _mark(node: Node) -> Loc:
    m = node.start_mark
    return (m.line + 1, m.column + 1) if m is not None else (1, 1)


def load_document(data: bytes) -> tuple[Any, dict[tuple, Loc]]:
    """Parse one YAML document safely. Returns (value, locations). Raises YamlProblem."""
    text = check_text(data)
    yaml = YAML(typ="safe", pure=not _HAS_CLIB)  # libyaml's parser when installed: 5x faster, same nodes
    yaml.Resolver = _Resolver
    try:
        nodes = list(yaml.compose_all(io.StringIO(text)))
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        msg = " ".join(x for x in (e.context, e.problem) if x) or "YAML syntax error"
        raise YamlProblem(f"YAML syntax error: {msg}", line, col) from None
    except YAMLError as e:
        raise YamlProblem(f"YAML error: {e}") from None
    except RecursionError:
        raise YamlProblem(f"document is nested deeper than {MAX_DEPTH} levels") from None
    if len(nodes) > 1:
        raise YamlProblem("file holds more than one YAML document (---): one book per file", *_mark(nodes[1]))
    if not nodes or nodes[0] is None:
        return None, {}
    b = _Builder(yaml.constructor)
    try:
        value = b.build(nodes[0], ())
    except RecursionError:
        raise YamlProblem(f"document is nested deeper than {MAX_DEPTH} levels") from None
    return value, b.locs


# --- round-trip editing: kb/bank/write.py (kept importable from here) ------------------------

from .write import atomic_write, rt_dump, rt_load, rt_yaml  # noqa: E402,F401
