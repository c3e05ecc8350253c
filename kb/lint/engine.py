"""The lint engine: rule packs (YAML data) compiled into matchers, applied to normalized text.

A text is normalized for matching (NFKC, lower case, Traditional -> Simplified, spaces and
symbols between characters removed) while keeping a map back to the original offsets, so
findings point at the characters the author wrote.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import KbError

SEVERITIES = ("error", "warning", "info")
KINDS = ("terms", "regex", "proximity")
_CLAUSE = set("。！？!?；;\n")
NEG_WINDOW = 6  # characters before a match searched for a negation or hedge


@dataclass
class Finding:
    rule: str
    severity: str
    start: int
    end: int
    message: str
    suggestion: str = ""
    excerpt: str = ""
    # set for phrasebook findings
    path: str | None = None
    line: int | None = None
    col: int | None = None
    phrase_id: str | None = None
    field: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Rule:
    id: str
    severity: str
    message: str
    kind: str
    suggestion: str = ""
    pattern: re.Pattern[str] | None = None
    anchor: re.Pattern[str] | None = None
    near: list[re.Pattern[str]] = field(default_factory=list)
    window: int = 12
    unless_before: re.Pattern[str] | None = None
    excepts: list[re.Pattern[str]] = field(default_factory=list)
    examples_fail: list[str] = field(default_factory=list)
    examples_pass: list[str] = field(default_factory=list)
    source: str = ""

    def find(self, norm: str) -> list[tuple[int, int]]:
        """Spans (in the normalized text) this rule flags."""
        hits = []
        if self.kind == "proximity":
            assert self.anchor is not None
            for m in self.anchor.finditer(norm):
                lo, hi = max(0, m.start() - self.window), min(len(norm), m.end() + self.window)
                area = norm[lo:hi]
                if all(p.search(area) for p in self.near):
                    hits.append((m.start(), m.end()))
        else:
            assert self.pattern is not None
            hits = [(m.start(), m.end()) for m in self.pattern.finditer(norm) if m.end() > m.start()]
        out = []
        for s, e in hits:
            if self.unless_before is not None:
                before = norm[max(0, s - NEG_WINDOW):s]
                cut = max((i for i, ch in enumerate(before) if ch in _CLAUSE), default=-1)
                if self.unless_before.search(before[cut + 1:]):
                    continue
            if any(x.start() <= s and e <= x.end() or x.start() < e and s < x.end()
                   for p in self.excepts for x in p.finditer(norm)):
                continue
            out.append((s, e))
        return out


@dataclass
class RuleSet:
    rules: list[Rule]
    options: dict[str, Any] = field(default_factory=dict)

    def ids(self) -> list[str]:
        return [r.id for r in self.rules]

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


# --- text normalization --------------------------------------------------------------------


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def _squeezable(ch: str) -> bool:
    if ch in _CLAUSE or ch in "，,、：:":
        return ch in ":："  # keep clause marks; a colon glues 加V:abc
    cat = unicodedata.category(ch)
    return cat[0] in "ZSC" or (cat[0] == "P" and ch not in "%.")


def normalize_for_lint(text: str) -> tuple[str, list[int]]:
    """(normalized text, offset map): norm[i] came from text[offsets[i]]."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        n = unicodedata.normalize("NFKC", ch).lower()
        for c in n:
            if _squeezable(c):
                continue
            chars.append(c)
            offsets.append(i)
    norm = "".join(chars)
    if not norm.isascii():
        conv = _t2s().convert(norm)
        if len(conv) == len(norm):  # t2s is character for character for almost all text
            norm = conv
    return norm, offsets


def lint_text(text: str, ruleset: RuleSet) -> list[Finding]:
    norm, offsets = normalize_for_lint(text)
    out = []
    for rule in ruleset.rules:
        for s, e in rule.find(norm):
            os_, oe = offsets[s], offsets[e - 1] + 1
            out.append(Finding(rule=rule.id, severity=rule.severity, start=os_, end=oe, message=rule.message,
                               suggestion=rule.suggestion, excerpt=text[os_:oe]))
    out.sort(key=lambda f: (f.start, f.rule))
    return out


# --- rule packs ----------------------------------------------------------------------------


def _compile(pattern: Any, where: str) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise KbError(f"{where}: a pattern must be a non-empty regular expression")
    try:
        return re.compile(pattern)
    except re.error as e:
        raise KbError(f"{where}: bad regular expression: {e}") from None


_RULE_KEYS = {"id", "severity", "message", "suggestion", "kind", "terms", "pattern", "anchor", "near", "window",
              "unless_before", "except", "examples"}


def _check_keys(raw: Any, allowed: set[str], where: str, what: str) -> None:
    if not isinstance(raw, dict):
        raise KbError(f"{where}: {what}")
    unknown = set(raw) - allowed
    if unknown:
        raise KbError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                      f"(allowed: {', '.join(sorted(allowed))})")


def parse_rule(raw: Any, where: str) -> Rule:
    _check_keys(raw, _RULE_KEYS, where, "a rule is a mapping with id, severity, message, kind ...")
    rid = raw.get("id")
    if not isinstance(rid, str) or not re.match(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$", rid):
        raise KbError(f"{where}: rule id must be dotted lower-case words, got {rid!r}")
    where = f"{where} ({rid})"
    sev = raw.get("severity", "error")
    if sev not in SEVERITIES:
        raise KbError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise KbError(f"{where}: kind must be one of {', '.join(KINDS)}")
    if not isinstance(raw.get("message"), str):
        raise KbError(f"{where}: message is required")
    rule = Rule(id=rid, severity=sev, message=raw["message"], kind=kind,
                suggestion=str(raw.get("suggestion", "")), source=where)
    if kind == "terms":
        terms = raw.get("terms")
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t for t in terms):
            raise KbError(f"{where}: terms must be a non-empty list of words")
        words = sorted({normalize_for_lint(t)[0] for t in terms}, key=len, reverse=True)
        rule.pattern = re.compile("|".join(re.escape(w) for w in words if w))
    elif kind == "regex":
        rule.pattern = _compile(raw.get("pattern"), where)
    else:
        rule.anchor = _compile(raw.get("anchor"), where)
        near = raw.get("near")
        if not isinstance(near, list) or not near:
            raise KbError(f"{where}: a proximity rule needs near: [patterns that must occur close to the anchor]")
        rule.near = [_compile(p, where) for p in near]
        window = raw.get("window", 12)
        if not isinstance(window, int) or not 1 <= window <= 200:
            raise KbError(f"{where}: window must be a number of characters from 1 to 200")
        rule.window = window
    if raw.get("unless_before") is not None:
        rule.unless_before = _compile(raw["unless_before"], where)
    exc = raw.get("except", [])
    if isinstance(exc, str):
        exc = [exc]
    rule.excepts = [_compile(p, where) for p in exc]
    ex = raw.get("examples") or {}
    if not isinstance(ex, dict):
        raise KbError(f"{where}: examples must be a mapping with fail: and pass: lists")
    rule.examples_fail = [str(x) for x in ex.get("fail", []) or []]
    rule.examples_pass = [str(x) for x in ex.get("pass", []) or []]
    return rule


def parse_pack(data: Any, where: str) -> list[Rule]:
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise KbError(f"{where}: a rule pack is a mapping with 'rules: [...]'")
    rules = [parse_rule(r, f"{where}: rule {i + 1}") for i, r in enumerate(data["rules"])]
    seen = set()
    for r in rules:
        if r.id in seen:
            raise KbError(f"{where}: rule id {r.id} is defined twice")
        seen.add(r.id)
    return rules


def _read_yaml(path: Path | None, text: bytes | None = None, where: str = "") -> Any:
    from ..bank.yamlio import YamlProblem, load_document

    try:
        data, _ = load_document(text if text is not None else path.read_bytes())
    except OSError as e:
        raise KbError(f"{path}: cannot read: {e.strerror}", 2) from None
    except YamlProblem as e:
        raise KbError(f"{where or path}:{e.line}:{e.col}: {e.message}") from None
    return data


@lru_cache(maxsize=4)
def default_rules() -> tuple[Rule, ...]:
    raw = resources.files("kb").joinpath("data", "rules", "default.yaml").read_bytes()
    return tuple(parse_pack(_read_yaml(None, raw, "kb/data/rules/default.yaml"), "default rule pack"))


DEFAULT_OPTIONS = {"max_reply_chars": 500}
_CONFIG_KEYS = {"extends", "disable", "enable", "severity", "rules", "options"}


def load_rules(config: Path | None = None) -> RuleSet:
    """The default pack, adjusted by a kb-lint.yaml (extends, disable, severity, rules, options)."""
    rules = [Rule(**{**r.__dict__}) for r in default_rules()]
    options = dict(DEFAULT_OPTIONS)
    if config is None:
        return RuleSet(rules, options)
    data = _read_yaml(config)
    if data is None:
        return RuleSet(rules, options)
    where = str(config)
    _check_keys(data, _CONFIG_KEYS, where, "kb-lint.yaml is a mapping (extends, disable, severity, rules, options)")
    ext = data.get("extends", "default")
    if ext not in ("default", "none"):
        raise KbError(f"{where}: extends must be 'default' or 'none'")
    if ext == "none":
        rules = []
    if data.get("rules"):
        custom = parse_pack({"rules": data["rules"]}, where)
        have = {r.id for r in rules}
        for r in custom:
            if r.id in have:
                rules = [r if x.id == r.id else x for x in rules]
            else:
                rules.append(r)
    ids = {r.id for r in rules}
    hygiene = {"hygiene.formula_injection", "hygiene.undefined_variable", "hygiene.too_long", "hygiene.emoji",
               "lint.suppression_reason", "lint.unused_suppression"}

    def check_ids(key: str, values: Any) -> list[str]:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise KbError(f"{where}: {key} must be a list of rule ids")
        for v in values:
            if v not in ids and v not in hygiene and not any(i.startswith(v + ".") for i in ids):
                raise KbError(f"{where}: {key}: no rule '{v}' (rules: {', '.join(sorted(ids | hygiene))})")
        return values

    disabled = set(check_ids("disable", data.get("disable", [])))
    enabled = set(check_ids("enable", data.get("enable", [])))
    sev = data.get("severity", {}) or {}
    if not isinstance(sev, dict):
        raise KbError(f"{where}: severity is a mapping rule-id: error|warning|info")
    for rid, level in sev.items():
        check_ids("severity", [rid])
        if level not in SEVERITIES:
            raise KbError(f"{where}: severity of {rid} must be error, warning or info")

    def matches(rid: str, names: set[str]) -> bool:
        return any(rid == n or rid.startswith(n + ".") for n in names)

    kept = []
    for r in rules:
        if matches(r.id, disabled) and not matches(r.id, enabled):
            continue
        for name, level in sev.items():
            if r.id == name or r.id.startswith(name + "."):
                r.severity = level
        kept.append(r)
    opts = data.get("options", {}) or {}
    if not isinstance(opts, dict):
        raise KbError(f"{where}: options is a mapping")
    for k, v in opts.items():
        if k not in DEFAULT_OPTIONS:
            raise KbError(f"{where}: unknown option '{k}' (options: {', '.join(DEFAULT_OPTIONS)})")
        if not isinstance(v, int) or v < 1:
            raise KbError(f"{where}: option {k} must be a positive number")
        options[k] = v
    options["disabled"] = sorted(disabled - enabled)
    options["severity"] = {k: v for k, v in sev.items() if k in hygiene}
    return RuleSet(kept, options)
