"""The learned second opinion of lint (kb/lint/learned.py, rule risk.model): what it reads, what it reports
and how it was trained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.errors import KbError
from kb.lint import lint_text, load_rules
from kb.lint.engine import Text, normalize_for_lint, parse_rule
from kb.lint.learned import CHUNK, MAX_CHARS, MIN_DISTINCT, chunks, load, probability

RULES = load_rules()
MODEL_FILE = Path(__file__).parent.parent / "kb" / "data" / "rules" / "risk_model.json"


def rules_of(text: str) -> list[str]:
    return [f.rule for f in lint_text(text, RULES) if f.severity == "error"]


def test_model_is_data_trained_without_the_set_aside_sets():
    model = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert set(model) == {"procedure", "trained_on", "threshold", "bias", "weights"}
    assert not {"holdout2.yaml", "holdout3.yaml"} & set(model["trained_on"])
    corpus = Path(__file__).parent / "data" / "lint_corpus"
    assert all((corpus / n).is_file() for n in model["trained_on"] if n.endswith(".yaml"))
    assert 0.5 <= model["threshold"] < 1 and all(isinstance(w, float) for w in model["weights"].values())


def test_wording_no_rule_names_is_flagged_by_the_model_alone():
    # certainty about arrival, a blanket guarantee and an absolute claim, none in the rules' word lists
    for text in ("放心吧亲，明早之前指定到您家", "出了问题我们全包，您放一百个心", "我们家的品质全网找不出第二家"):
        assert rules_of(text) == ["risk.model"], text
    for text in ("亲，发货后一般2-3天送达，具体以物流为准哦", "很抱歉给您带来不便，我们会按平台规则为您处理退换"):
        assert rules_of(text) == [], text


def test_the_model_reports_only_what_no_rule_reported():
    found = lint_text("亲，今天下单保证今天发货哦，晚一天赔您十块", RULES)
    assert "risk.model" not in [f.rule for f in found] and found
    # a rule's suppression or lowered severity stands for its sentence: the model does not bring it back
    lowered = load_rules()
    for r in lowered.rules:
        if r.id.startswith("adlaw"):
            r.severity = "warning"
    assert [f.rule for f in lint_text("亲，这是全网最低价哦", lowered) if f.severity == "error"] == []


def test_short_and_repetitive_text_is_left_to_the_rules():
    assert chunks("给您发顺丰", []) == []  # fewer than MIN_DISTINCT characters
    assert chunks("亲" * 5000, []) == []
    assert chunks("第一行,含逗号,andquotes,forsure100%", []) == []  # fewer than MIN_DISTINCT Chinese characters
    assert len(set("这个颜色偏暖建议您看")) >= MIN_DISTINCT and chunks("这个颜色偏暖建议您看", []) == [(0, 10)]


def test_a_long_reply_is_read_in_sentence_chunks_up_to_max_chars():
    sentence = "亲，这边帮您看一下订单的情况哦。"
    norm = normalize_for_lint(sentence * 3000)[0]
    spans = chunks(norm, Text(norm).sentence_marks)
    assert spans[0][0] == 0 and all(e - s <= CHUNK for s, e in spans)
    assert all(norm[e - 1] == "。" for s, e in spans[:-1])  # whole sentences
    assert spans[-1][1] <= MAX_CHARS and spans[-1][1] > MAX_CHARS - CHUNK


def test_risk_in_one_sentence_of_a_long_warm_reply_is_flagged_at_that_sentence():
    warm = "亲，感谢您的耐心等待，大促期间咨询量比较大，回复慢了还请见谅。"
    text = warm * 3 + "放心吧亲，明早之前指定到您家。" + warm * 3
    found = [f for f in lint_text(text, RULES) if f.rule == "risk.model"]
    assert len(found) == 1 and "指定到您家" in found[0].excerpt and "感谢" not in found[0].excerpt


def test_variables_are_judged_inside_the_replies_they_render_into(runner, mini_bank):
    from kb.cli import cli

    manifest = mini_bank / "bank.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert "vars:" in text
    # a date range alone reads like a ship-date promise to the model; as a variable it is a fragment
    manifest.write_text(text.replace("vars:\n", "vars:\n  sale_window: 10月20日20:00—10月24日23:59\n", 1),
                        encoding="utf-8")
    r = runner.invoke(cli, ["--bank", str(mini_bank), "lint", "--format", "json"])
    assert "risk.model" not in {f["rule"] for f in json.loads(r.stdout)}, r.output


def test_model_rule_keys_are_checked():
    base = {"id": "team.model", "severity": "error", "message": "m", "kind": "model"}
    with pytest.raises(KbError, match="model must name a model file"):
        parse_rule({**base, "model": "../../etc/passwd"}, "kb-lint.yaml")
    with pytest.raises(KbError, match="threshold must be a number between 0 and 1"):
        parse_rule({**base, "model": "risk_model.json", "threshold": 2}, "kb-lint.yaml")
    rule = parse_rule({**base, "model": "risk_model.json", "threshold": 0.99}, "kb-lint.yaml")
    model = load("risk_model.json")
    text = "放心吧亲，明早之前指定到您家"
    p = probability(model, normalize_for_lint(text)[0])
    assert model["threshold"] <= p < 0.99 and rule.find(Text(normalize_for_lint(text)[0])) == []
