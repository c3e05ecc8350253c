"""Rule packs and kb-lint.yaml: parsing rules of any registered kind, the default pack, a team's config.

kb-lint.yaml (at the bank root, or --config)::

    extends: default          # or none
    disable: [service.refusal]
    enable: [service.refusal.x]   # re-enable part of a disabled family
    severity: {adlaw.absolute_weak: info, hygiene.too_long: error}
    options: {max_reply_chars: 300}
    rules: [...]              # the team's own rules, same format as the default pack

The default pack is kb's own, reviewed and tested code: its patterns use Python's re (lookbehind is
handy there). Every pattern a team writes in kb-lint.yaml is compiled with RE2 (google-re2), whose
matching time is linear in the text, so no team regex such as ``(亲+)+$`` can hang kb.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import KbError
from . import kinds  # noqa: F401  (registers the kinds)
from .engine import KINDS, SEVERITIES, Pattern, Rule, RuleSet
from .hygiene import HYGIENE

ID_RE = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")
COMMON_KEYS = {"id", "severity", "message", "suggestion", "kind", "except", "unless_before", "negation",
               "negation_after", "refusal", "hedge", "cancel", "examples"}
DEFAULT_OPTIONS = {"max_reply_chars": None}  # None: the export target's own limit (lint.hygiene.export_limits)
_CONFIG_KEYS = {"extends", "disable", "enable", "severity", "defs", "rules", "options"}


def _check_keys(raw: Any, allowed: set[str] | frozenset[str], where: str, what: str) -> None:
    if not isinstance(raw, dict):
        raise KbError(f"{where}: {what}")
    unknown = set(raw) - set(allowed)
    if unknown:
        raise KbError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                      f"(allowed: {', '.join(sorted(allowed))})")


_DEF_RE = re.compile(r"%\{([a-z0-9_]+)\}")
_SPACE_RE = re.compile(r"\s+")


def _need_pattern(pattern: Any, where: str, defs: dict[str, str] | None = None) -> str:
    """The pattern with its %{name} fragments expanded and whitespace removed (normalized texts have none,
    so a pattern may be folded over several lines in YAML)."""
    if not isinstance(pattern, str) or not _SPACE_RE.sub("", pattern):
        raise KbError(f"{where}: a pattern must be a non-empty regular expression")
    defs = defs or {}

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in defs:
            raise KbError(f"{where}: %{{{m.group(1)}}} is not defined under defs: "
                          f"(defined: {', '.join(sorted(defs)) or 'none'})")
        return f"(?:{defs[m.group(1)]})"

    return _SPACE_RE.sub("", _DEF_RE.sub(sub, pattern))


def parse_defs(raw: Any, where: str, inherited: dict[str, str] | None = None) -> dict[str, str]:
    """A pack's `defs:` (name -> pattern fragment); a fragment may use the fragments defined before it."""
    defs = dict(inherited or {})
    if raw is None:
        return defs
    if not isinstance(raw, dict):
        raise KbError(f"{where}: defs is a mapping name: pattern")
    for name, value in raw.items():
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+", name):
            raise KbError(f"{where}: defs: name {name!r} must be lower-case letters, digits or _")
        defs[name] = _need_pattern(value, f"{where}: defs: {name}", defs)
    return defs


def compile_trusted(pattern: Any, where: str, defs: dict[str, str] | None = None) -> Pattern:
    """A pattern of kb's own pack (Python re)."""
    from .prefilter import with_prefilter

    try:
        return re.compile(with_prefilter(_need_pattern(pattern, where, defs)))
    except re.error as e:
        raise KbError(f"{where}: bad regular expression: {e}") from None


@lru_cache(maxsize=1)
def _re2_options():
    import re2

    opts = re2.Options()
    opts.log_errors = False
    return opts


def compile_safe(pattern: Any, where: str, defs: dict[str, str] | None = None) -> Pattern:
    """A team's pattern: RE2, linear time whatever the pattern."""
    import re2

    pattern = _need_pattern(pattern, where, defs)
    try:
        return re2.compile(pattern, _re2_options())
    except re2.error as e:
        msg = e.args[0].decode("utf-8", "replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        raise KbError(f"{where}: bad regular expression: {msg} (kb-lint.yaml rules use RE2 syntax: "
                      "no lookbehind, lookahead or backreferences)") from None


def _literal_trusted(words: list[str]) -> Pattern:
    from .prefilter import with_prefilter

    return re.compile(with_prefilter("|".join(re.escape(w) for w in words)))


def _literal_safe(words: list[str]) -> Pattern:
    import re2

    return re2.compile("|".join(re.escape(w) for w in words), _re2_options())


def parse_rule(raw: Any, where: str, *, trusted: bool = False, defs: dict[str, str] | None = None) -> Rule:
    """One rule of a pack. trusted: kb's own pack (Python re); otherwise every pattern goes through RE2."""
    if not isinstance(raw, dict):
        raise KbError(f"{where}: a rule is a mapping with id, severity, message, kind ...")
    rid = raw.get("id")
    if not isinstance(rid, str) or not ID_RE.fullmatch(rid):
        raise KbError(f"{where}: rule id must be dotted lower-case words, got {rid!r}")
    where = f"{where} ({rid})"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise KbError(f"{where}: kind must be one of {', '.join(KINDS)}")
    cls = KINDS[kind]
    _check_keys(raw, COMMON_KEYS | cls.keys, where, "a rule is a mapping")
    sev = raw.get("severity", "error")
    if sev not in SEVERITIES:
        raise KbError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    if not isinstance(raw.get("message"), str):
        raise KbError(f"{where}: message is required")
    base = compile_trusted if trusted else compile_safe

    def compile(p: Any, w: str) -> Pattern:
        return base(p, w, defs)

    exc = raw.get("except", [])
    if isinstance(exc, str):
        exc = [exc]
    if not isinstance(exc, list):
        raise KbError(f"{where}: except is a list of patterns")
    ex = raw.get("examples") or {}
    if not isinstance(ex, dict) or set(ex) - {"fail", "pass"}:
        raise KbError(f"{where}: examples must be a mapping with fail: and pass: lists")

    def opt(key: str) -> Pattern | None:
        return compile(raw[key], f"{where} {key}") if raw.get(key) is not None else None

    common = dict(
        id=rid, severity=sev, message=raw["message"], suggestion=str(raw.get("suggestion", "")),
        excepts=[compile(p, f"{where} except") for p in exc],
        unless_before=opt("unless_before"), negation=opt("negation"), negation_after=opt("negation_after"),
        refusal=opt("refusal"), hedge=opt("hedge"), cancel=opt("cancel"),
        examples_fail=[str(x) for x in ex.get("fail", []) or []],
        examples_pass=[str(x) for x in ex.get("pass", []) or []],
        source=where,
    )
    return cls.build(raw, where, compile, _literal_trusted if trusted else _literal_safe, **common)


def parse_pack(data: Any, where: str, *, trusted: bool = False, defs: dict[str, str] | None = None) -> list[Rule]:
    """The rules of a pack ({defs: {...}, rules: [...]}); defs adds to the fragments given."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise KbError(f"{where}: a rule pack is a mapping with 'rules: [...]'")
    _check_keys(data, {"defs", "rules"}, where, "a rule pack is a mapping with 'rules: [...]'")
    defs = parse_defs(data.get("defs"), where, defs)
    rules = [parse_rule(r, f"{where}: rule {i + 1}", trusted=trusted, defs=defs)
             for i, r in enumerate(data["rules"])]
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise KbError(f"{where}: rule id {r.id} is defined twice")
        if r.id in HYGIENE:
            raise KbError(f"{where}: rule id {r.id} is a built-in hygiene check")
        seen.add(r.id)
    return rules


def _read_yaml(path: Path | None, text: bytes | None = None, where: str = "") -> Any:
    from ..bank.yamlio import YamlProblem, load_document

    try:
        data, _ = load_document(text if text is not None else path.read_bytes())  # type: ignore[union-attr]
    except OSError as e:
        raise KbError(f"{path}: cannot read: {e.strerror}", 2) from None
    except YamlProblem as e:
        raise KbError(f"{where or path}:{e.line}:{e.col}: {e.message}") from None
    return data


@lru_cache(maxsize=1)
def _default_pack() -> Any:
    """kb's own pack: package data (tests/test_lint_data.py checks it), read with ruamel's safe C loader,
    not kb.bank.yamlio (positions for a team's files, and the models it imports: ~0.1 s of `kb check`)."""
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(resources.files("kb").joinpath("data", "rules", "default.yaml").read_bytes())


@lru_cache(maxsize=1)
def default_defs() -> dict[str, str]:
    """The default pack's named fragments (a team's rules may use them as %{name})."""
    return parse_defs(_default_pack().get("defs"), "default rule pack")


@lru_cache(maxsize=1)
def default_rules() -> tuple[Rule, ...]:
    return tuple(parse_pack(_default_pack(), "default rule pack", trusted=True))


def check_examples(rule: Rule) -> None:
    """A team's rule ships with examples that hold: each fail example flagged, no pass example flagged."""
    from .engine import Text, normalize_for_lint

    for text in rule.examples_fail:
        if not rule.find(Text(normalize_for_lint(text)[0])):
            raise KbError(f"{rule.source}: fail example {text!r} is not flagged by the rule")
    for text in rule.examples_pass:
        if rule.find(Text(normalize_for_lint(text)[0])):
            raise KbError(f"{rule.source}: pass example {text!r} is flagged by the rule")


def _copy(rule: Rule) -> Rule:
    return type(rule)(**{k: v for k, v in rule.__dict__.items()})


def load_rules(config: Path | str | None = None) -> RuleSet:
    """The default pack, adjusted by a kb-lint.yaml (extends, disable, enable, severity, rules, options)."""
    rules = [_copy(r) for r in default_rules()]
    options: dict[str, Any] = dict(DEFAULT_OPTIONS)
    if config is None:
        return RuleSet(rules, options)
    config = Path(config)
    data = _read_yaml(config)
    if data is None:
        return RuleSet(rules, options)
    where = str(config)
    _check_keys(data, _CONFIG_KEYS, where, "kb-lint.yaml is a mapping (extends, disable, enable, severity, "
                "rules, options)")
    ext = data.get("extends", "default")
    if ext not in ("default", "none"):
        raise KbError(f"{where}: extends must be 'default' or 'none'")
    if ext == "none":
        rules = []
    if data.get("rules") or data.get("defs"):
        custom = parse_pack({"defs": data.get("defs"), "rules": data.get("rules") or []}, where,
                            defs=default_defs())
        have = {r.id for r in rules}
        for r in custom:
            check_examples(r)
            if r.id in have:
                rules = [r if x.id == r.id else x for x in rules]
            else:
                rules.append(r)
    ids = {r.id for r in rules}
    known = ids | set(HYGIENE)

    def check_ids(key: str, values: Any) -> list[str]:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise KbError(f"{where}: {key} must be a list of rule ids")
        for v in values:
            if v not in known and not any(i.startswith(v + ".") for i in known):
                raise KbError(f"{where}: {key}: no rule '{v}' (rules: {', '.join(sorted(known))})")
        return values

    disabled = set(check_ids("disable", data.get("disable", []) or []))
    enabled = set(check_ids("enable", data.get("enable", []) or []))
    sev = data.get("severity", {}) or {}
    if not isinstance(sev, dict):
        raise KbError(f"{where}: severity is a mapping rule-id: error|warning|info")
    for rid, level in sev.items():
        check_ids("severity", [rid])
        if level not in SEVERITIES:
            raise KbError(f"{where}: severity of {rid} must be error, warning or info")

    def matches(rid: str, names: set[str]) -> bool:
        return any(rid == n or rid.startswith(n + ".") for n in names)

    def level_of(rid: str, default: str) -> str:
        # the most specific name wins: severity {adlaw: info, adlaw.absolute: error}
        best = max((n for n in sev if rid == n or rid.startswith(n + ".")), key=len, default=None)
        return sev[best] if best is not None else default

    kept = []
    for r in rules:
        if matches(r.id, disabled) and not matches(r.id, enabled):
            continue
        r.severity = level_of(r.id, r.severity)
        kept.append(r)
    opts = data.get("options", {}) or {}
    if not isinstance(opts, dict):
        raise KbError(f"{where}: options is a mapping")
    for k, v in opts.items():
        if k not in DEFAULT_OPTIONS:
            raise KbError(f"{where}: unknown option '{k}' (options: {', '.join(DEFAULT_OPTIONS)})")
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise KbError(f"{where}: option {k} must be a positive number")
        options[k] = v
    hygiene_off = {h for h in HYGIENE if matches(h, disabled) and not matches(h, enabled)}
    hygiene_sev = {h: level_of(h, HYGIENE[h].severity) for h in HYGIENE}
    hygiene_sev = {h: s for h, s in hygiene_sev.items() if s != HYGIENE[h].severity}
    return RuleSet(kept, options, disabled=hygiene_off, severity=hygiene_sev)
