"""Every road by which risky text reaches a buyer is linted; kb check runs the same checks; the output
formats cannot be forged; teams' regexes cannot hang kb; linting stays linear in the text."""

from __future__ import annotations

import json

import pytest

from kb.bank.load import load_bank
from kb.cli import cli
from kb.errors import KbError
from kb.lint import lint_bank, lint_text, load_rules
from kb.lint.engine import Finding
from kb.lint.output import format_github, sarif
from tests.conftest import MINI_BOOK, MINI_MANIFEST

RULES = load_rules()


def write(bank, manifest=MINI_MANIFEST, book=MINI_BOOK):
    (bank / "bank.yaml").write_text(manifest, encoding="utf-8")
    (bank / "shipping.yaml").write_text(book, encoding="utf-8")
    b, problems = load_bank(bank)
    assert b is not None, problems
    return b


def lint_json(runner, bank, *args):
    r = runner.invoke(cli, ["--bank", str(bank), "lint", "--format", "json", *args])
    return r, json.loads(r.stdout)


# --- campaigns and variables -----------------------------------------------------------------


def test_campaign_variable_renders_a_promise_named_by_campaign(runner, mini_bank):
    write(mini_bank, MINI_MANIFEST.replace("      ship_window: 7天", "      ship_window: 明天保证"))
    r, found = lint_json(runner, mini_bank)
    promise = [f for f in found if f["rule"] == "promise.ship_date" and f.get("phrase_id")]
    assert r.exit_code == 1
    assert [f["campaign"] for f in promise] == ["double11"]
    assert promise[0]["path"].endswith("shipping.yaml") and promise[0]["line"] == 13
    assert "{ship_window}" in promise[0]["message"]
    r = runner.invoke(cli, ["--bank", str(mini_bank), "lint"])
    assert "[campaign double11]" in r.output


def test_base_variable_is_linted_in_bank_yaml_with_its_line(runner, mini_bank):
    write(mini_bank, MINI_MANIFEST.replace("  ship_window: 3天", "  ship_window: 保证明天发货"))
    r, found = lint_json(runner, mini_bank)
    in_manifest = [f for f in found if f["path"].endswith("bank.yaml")]
    assert r.exit_code == 1
    assert [(f["rule"], f["line"], f["field"]) for f in in_manifest] == [("promise.ship_date", 4, "vars.ship_window")]
    assert in_manifest[0]["col"] == 18  # the column of 明天 in `  ship_window: 保证明天发货`


def test_variable_value_only_in_a_campaign_is_linted_with_the_campaign(mini_bank):
    b = write(mini_bank, MINI_MANIFEST.replace("      ship_window: 7天", "      ship_window: 加我微信"))
    found = lint_bank(b, RULES)
    f = next(f for f in found if f.path.endswith("bank.yaml"))
    assert (f.rule, f.campaign, f.line, f.field) == ("offplatform", "double11", 11, "campaigns.double11.vars.ship_window")


def test_a_finding_produced_by_every_variant_is_reported_once(mini_bank):
    b = write(mini_bank, book=MINI_BOOK.replace("亲，预计", "亲，加我微信，预计"))
    found = [f for f in lint_bank(b, RULES) if f.rule == "offplatform"]
    assert len(found) == 1 and found[0].campaign is None


# --- titles, groups, control characters ------------------------------------------------------


def test_formula_leading_title_group_and_book_title(mini_bank):
    book = (MINI_BOOK.replace("title: 发货物流", "title: '@发货物流'")
            .replace("    title: 发货时间\n", "    title: '=1+1'\n    group: '-2+3'\n"))
    b = write(mini_bank, book=book)
    found = {(f.rule, f.field, f.phrase_id) for f in lint_bank(b, RULES)}
    assert ("hygiene.formula_injection", "title", None) in found  # the book title: the default group
    assert ("hygiene.formula_injection", "title", "shipping.when_ship") in found
    assert ("hygiene.formula_injection", "group", "shipping.when_ship") in found


@pytest.mark.parametrize("esc", ["\\e", "\\u202e", "\\u202d", "\\u202c", "\\u200b", "\\a", "\\ufeff"])
def test_control_and_bidi_characters_with_position(mini_bank, esc):
    book = (MINI_BOOK.replace("    reply: |-\n      亲，预计", f"    reply: \"亲，{esc}预计").replace("为准哦～\n", "为准哦～\"\n")
            .replace("    title: 发货时间\n", f"    title: \"发货{esc}时间\"\n"))
    b = write(mini_bank, book=book)
    found = [f for f in lint_bank(b, RULES) if f.rule == "hygiene.control_char"]
    assert {(f.field, f.start, f.line) for f in found} == {("reply", 2, 12), ("title", 2, 7)}
    ch = b.books[0].book.phrases[0].title[2]
    assert all(f"U+{ord(ch):04X}" in f.message for f in found)


def test_control_character_in_a_variable(mini_bank):
    b = write(mini_bank, MINI_MANIFEST.replace("  ship_window: 3天", "  ship_window: \"3\\u202e天\""))
    found = [f for f in lint_bank(b, RULES) if f.rule == "hygiene.control_char"]
    assert [(f.path.endswith("bank.yaml"), f.field) for f in found] == [(True, "vars.ship_window")]


# --- kb check: the same checks as kb lint ----------------------------------------------------


@pytest.mark.parametrize("text,rule", [
    ("=HYPERLINK(\"http://x\")", "hygiene.formula_injection"),
    ("亲，\u202e好的", "hygiene.control_char"),
    ("亲，\x1b[31m好的", "hygiene.control_char"),
])
def test_check_runs_text_hygiene(runner, text, rule):
    r = runner.invoke(cli, ["check", "--format", "json", text])
    assert r.exit_code == 1 and rule in [f["rule"] for f in json.loads(r.stdout)]


def test_check_jsonl_runs_hygiene(runner):
    r = runner.invoke(cli, ["check", "--jsonl"], input="+1 好的\n亲，好的\n")
    out = [json.loads(x) for x in r.output.splitlines()]
    assert [f["rule"] for f in out[0]["findings"]] == ["hygiene.formula_injection"]
    assert out[1]["findings"] == [] and r.exit_code == 1


# --- kb validate: campaign variables ---------------------------------------------------------


def test_validate_campaign_variable_typo_did_you_mean(runner, mini_bank):
    write(mini_bank, MINI_MANIFEST.replace("      ship_window: 7天", "      ship_windw: 7天"))
    r = runner.invoke(cli, ["--bank", str(mini_bank), "validate"])
    assert r.exit_code == 1
    assert "bank.yaml:11:7: campaign double11: variable 'ship_windw' is not defined in the base vars; " \
           "did you mean 'ship_window'?" in r.output


# --- output formats --------------------------------------------------------------------------


def test_github_annotation_cannot_be_forged():
    forged = "x\n::error file=README.md,line=1::forged"
    f = Finding(rule="offplatform", severity="error", start=0, end=1, message=f"variable {forged}",
                path="a\nb.yaml", line=1, col=1, phrase_id=forged, campaign=forged)
    out = format_github([f])
    assert len(out.splitlines()) == 1 and out.startswith("::error file=a%0Ab.yaml,line=1,col=1,title=offplatform::")
    assert "%0A::error file=README.md" in out


def _finding(**kw):
    base = dict(rule="offplatform", severity="error", start=0, end=2, message="m", excerpt="微信",
                path="p.yaml", line=3, col=5, phrase_id="a.b", field="reply")
    return Finding(**{**base, **kw})


def test_sarif_fingerprints_stable_and_distinct():
    def fp(f):
        return sarif([f], RULES)["runs"][0]["results"][0]["partialFingerprints"]["phraseId/v1"]

    a = fp(_finding())
    assert a == fp(_finding(line=30, col=1))  # moved in the file: same finding
    others = [fp(_finding(phrase_id="a.c")), fp(_finding(rule="promise.outcome")), fp(_finding(field="flow.1.reply")),
              fp(_finding(campaign="double11")), fp(_finding(excerpt="vx"))]
    assert len({a, *others}) == 6


def test_sarif_rules_include_every_hygiene_check_with_its_configured_level(tmp_path):
    cfg = tmp_path / "kb-lint.yaml"
    cfg.write_text("severity: {hygiene.too_long: error}\n", encoding="utf-8")
    rules = load_rules(cfg)
    driver = sarif([], rules)["runs"][0]["tool"]["driver"]["rules"]
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in driver}
    assert levels["hygiene.too_long"] == "error" and levels["hygiene.control_char"] == "error"
    assert levels["lint.unused_suppression"] == "warning"


def test_hygiene_severity_override_and_disable(runner, mini_bank):
    (mini_bank / "kb-lint.yaml").write_text("options: {max_reply_chars: 10}\nseverity: {hygiene.too_long: error}\n",
                                            encoding="utf-8")
    r, found = lint_json(runner, mini_bank)
    assert [(f["rule"], f["severity"]) for f in found] == [("hygiene.too_long", "error")] and r.exit_code == 1
    (mini_bank / "kb-lint.yaml").write_text("options: {max_reply_chars: 10}\ndisable: [hygiene]\n", encoding="utf-8")
    r, found = lint_json(runner, mini_bank)
    assert found == [] and r.exit_code == 0


# --- safety and speed ------------------------------------------------------------------------


def test_team_regex_is_linear_time_re2(tmp_path):
    cfg = tmp_path / "kb-lint.yaml"
    cfg.write_text("rules:\n  - {id: team.qin, kind: regex, pattern: '(亲+)+$', message: m,"
                   " examples: {fail: [亲], pass: [好]}}\n", encoding="utf-8")
    rules = load_rules(cfg)
    rule = rules.get("team.qin")
    assert type(rule.pattern).__module__.startswith("re2")
    # a backtracking engine takes minutes on this (exponential in the run of 亲 before the x)
    assert [f.rule for f in lint_text("亲" * 5000 + "x", rules, hygiene=False)] == []
    assert [f.rule for f in lint_text("亲亲", rules, hygiene=False)] == ["team.qin"]


def test_team_regex_with_lookbehind_is_a_clear_error(tmp_path):
    cfg = tmp_path / "kb-lint.yaml"
    cfg.write_text("rules:\n  - {id: team.x, kind: regex, pattern: '(?<!不)包邮', message: m}\n", encoding="utf-8")
    with pytest.raises(KbError, match="RE2 syntax"):
        load_rules(cfg)


def test_each_pattern_scans_the_text_once():
    """Cost is linear in the text: every pattern runs over it once, however many hits it has."""
    calls: dict[int, int] = {}

    class Counting:
        def __init__(self, p):
            self.p = p

        def finditer(self, s, *a):
            calls[id(self)] = calls.get(id(self), 0) + 1
            return self.p.finditer(s, *a)

        def __getattr__(self, name):
            return getattr(self.p, name)

    rules = load_rules()
    for r in rules.rules:
        for k, v in list(vars(r).items()):
            if hasattr(v, "finditer"):
                setattr(r, k, Counting(v))
            elif isinstance(v, list) and v and hasattr(v[0], "finditer"):
                setattr(r, k, [Counting(p) for p in v])
    text = "亲，今天保证发货，加我微信，全网最低价，好评返现5元，赔您50元，" * 300
    found = lint_text(text, rules, hygiene=False)
    assert len(found) > 1000
    assert calls and max(calls.values()) == 1


def test_team_rule_examples_are_checked(tmp_path):
    cfg = tmp_path / "kb-lint.yaml"
    cfg.write_text("rules:\n  - {id: team.sf, kind: terms, terms: [顺丰], message: m,"
                   " examples: {fail: [发中通], pass: []}}\n", encoding="utf-8")
    with pytest.raises(KbError, match="fail example '发中通' is not flagged"):
        load_rules(cfg)


def test_readme_lint_config_example_works(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("`kb-lint.yaml` at the bank root"):]
    start = section.index("```yaml\n") + 8
    block = section[start:section.index("\n```", start)]
    cfg = tmp_path / "kb-lint.yaml"
    cfg.write_text(block, encoding="utf-8")
    rules = load_rules(cfg)
    assert [f.rule for f in lint_text("给您发顺丰", rules)] == ["team.no_sf"]
    assert lint_text("我们不发顺丰", rules) == [] and rules.get("service.refusal") is None


def test_prefilter_keeps_every_match():
    import re

    from kb.lint.config import _need_pattern as expand
    from kb.lint.config import default_defs
    from kb.lint.prefilter import with_prefilter

    texts = [t for r in RULES.rules for t in r.examples_fail + r.examples_pass]
    from kb.lint.engine import normalize_for_lint

    norms = [normalize_for_lint(t)[0] for t in texts]
    for r in RULES.rules:
        for key in ("pattern", "anchor"):
            p = getattr(r, key, None)
            if p is None:
                continue
            raw = re.compile(p.pattern[p.pattern.index("(?:") + 3:-1] if p.pattern.startswith("(?=[") else p.pattern)
            assert p.pattern.startswith("(?=["), f"{r.id}.{key} has no prefilter"
            for n in norms:
                assert [m.span() for m in raw.finditer(n)] == [m.span() for m in p.finditer(n)]
    assert with_prefilter("a|") == "a|" and with_prefilter(".x") == ".x"
    assert expand("%{time}", "t", default_defs())


def _long_corpus_text() -> str:
    from pathlib import Path

    from kb.bank.yamlio import load_document

    corpus = Path(__file__).parent / "data" / "lint_corpus"
    texts = [c["text"] for name in ("tune.yaml", "tune2.yaml", "tune3.yaml", "tune4.yaml")
             for c in load_document((corpus / name).read_bytes())[0]["cases"]]
    return "\n".join(texts) + "，" + "亲，好评返现5元，我们今天保证发货" * 3_000


def test_screen_keeps_every_finding_of_a_long_text(monkeypatch):
    """A long text is screened by RE2 (prefilter.Screen): the findings are the same as without the screen, and
    the screen did leave patterns out (or the test would prove nothing)."""
    from kb.lint import engine
    from kb.lint.engine import normalize_for_lint

    text = _long_corpus_text()
    norm = normalize_for_lint(text)[0]
    assert len(norm) >= engine.SCREEN_MIN
    rules = load_rules()
    skipped = rules.screen_out(norm)
    assert 10 <= len(skipped) < len(rules.patterns())
    screened = lint_text(text, rules)
    monkeypatch.setattr(engine, "SCREEN_MIN", 10 ** 9)
    assert lint_text(text, load_rules()) == screened
    assert len({f.rule for f in screened}) >= 8


def test_screen_supersets_and_what_it_never_screens():
    import re

    from kb.lint.prefilter import Screen, re2_superset

    assert re2_superset(re.compile("(?<!不)保证(?=发货)")) is not None
    assert re2_superset(re.compile(r"(亲)\1")) is None  # a backreference
    assert re2_superset(re.compile(r"\d+元")) is None  # a category: Unicode digits differ between engines
    assert re2_superset(re.compile("保证", re.I)) is None
    # every pattern of kb's pack but a few is translated
    assert sum(re2_superset(p) is None for p in RULES.patterns()) <= 3
    lookbehind, backref, plain = re.compile("(?<!不)保证"), re.compile(r"(亲)\1"), re.compile("返现")
    screen = Screen([lookbehind, backref, plain])
    assert len(screen) == 2
    # 不保证: the superset (保证) matches, so the pattern is run (and finds nothing); 返现 cannot match
    assert screen.impossible("我们不保证发货") == {id(plain)}
    assert screen.impossible("好评返现") == {id(lookbehind)}
    # RE2 giving up (the sentinel missing) screens nothing out
    class GaveUp:
        def Match(self, data):  # noqa: N802 (RE2's name)
            return []

    screen._set = GaveUp()
    assert screen.impossible("我们不保证发货") == set()


def test_two_processes_give_the_findings_of_one(monkeypatch):
    """A long text's rules run in two processes (kb/lint/parallel.py): same findings, same order; a child that
    fails has its share run by the parent."""
    from kb.lint import parallel

    if not parallel.can_fork():
        pytest.skip("no fork or one processor here")
    text = _long_corpus_text()
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 50_000)
    monkeypatch.setenv("KB_LINT_JOBS", "1")
    one = lint_text(text, RULES)
    monkeypatch.delenv("KB_LINT_JOBS")
    forks = []
    real_fork = parallel.os.fork
    monkeypatch.setattr(parallel.os, "fork", lambda: forks.append(1) or real_fork())
    assert lint_text(text, RULES) == one and forks
    mine, theirs = parallel.split(RULES.rules)
    assert sorted(mine + theirs) == list(range(len(RULES.rules))) and mine and theirs

    def broken(*a):
        raise RuntimeError("the child fails")

    monkeypatch.setattr(parallel, "_child_share", broken)
    assert lint_text(text, RULES) == one and len(forks) == 2
    # short texts never fork
    lint_text("亲，今天保证发货", RULES)
    assert len(forks) == 2


def test_text_output_shows_invisible_characters_escaped(runner, mini_bank):
    write(mini_bank, book=MINI_BOOK.replace("    title: 发货时间\n", "    title: \"发货\\u202e时间\"\n"))
    r = runner.invoke(cli, ["--bank", str(mini_bank), "lint"])
    assert "\u202e" not in r.output and "«\\u202e»" in r.output


def test_lint_reports_a_book_that_does_not_load(runner, bank_copy):
    """A bank with a broken book is never clean: its load problems are error findings (issue 16)."""
    (bank_copy / "shipping.yaml").write_text("schema: 1\nname: shipping\nphrases: [oops\n", encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(bank_copy), "lint"])
    assert r.exit_code == 1
    assert "shipping.yaml:" in r.output and "bank.load" in r.output
