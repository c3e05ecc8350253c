"""kb learn: what buyers' real messages teach the bank.

From messages (kb.learn.sources, masked on reading) and the bank, one ``LearnReport``:

  new questions   messages where the agent copied phrase P while search (on the bank as it is
                  now) does not answer P as the confident top-1. The message, masked and cleaned
                  of platform boilerplate, becomes a question of P, unless its normalised form
                  (kb.search.normalize: the tokens search compares) is already a question of any
                  phrase of the bank, or of another proposal. A message copied for two phrases
                  goes to the one with a clear majority (more than twice the copies of the
                  other), else to none: it is listed as a conflict.
  what to write   messages nobody copied a reply for and search does not answer confidently,
  next            grouped by their normalised words (same words, or an idf-weighted Jaccard overlap of
                  at least CLUSTER_OVERLAP with the group's first words), largest groups first, each with
                  counts, examples and the phrase search finds nearest.
  usage           per phrase: times copied, times answered (the confident answer logged, or
                  search now for messages without a log record), last use; most and least used,
                  never used since a date.

``apply_report`` writes the new questions into the books in place (ruamel round trip: comments,
key order and formatting kept; under the bank lock; every edited book is checked to hold exactly
the old content plus the new questions before anything is written). Nothing else is written:
not the versions (the report names the bump ``kb review`` will require), not the index cache.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..errors import KbError
from ..model import Bank, BookFile
from .mask import strip_placeholders
from .sources import Message, Source

MAX_QUESTION_CHARS = 60  # longer messages are chatter around a question: not added as one
MIN_KEY_CHARS = 2  # a message whose normalised form is shorter says nothing (在吗, ？)
CLUSTER_OVERLAP = 0.5
MAJORITY = 2  # a message copied for two phrases goes to one with more than MAJORITY x the other's copies
EXAMPLES = 3


@dataclass
class NewQuestion:
    phrase_id: str
    title: str
    book: str
    question: str
    count: int  # messages with this normalised form copied for the phrase
    sources: list[str] = field(default_factory=list)  # "file:line" of the first few

    def as_dict(self) -> dict:
        return {"phrase": self.phrase_id, "title": self.title, "book": self.book, "question": self.question,
                "count": self.count, "sources": self.sources}


@dataclass
class Skipped:
    question: str
    reason: str  # duplicate, conflict, too long, too short, unknown phrase
    phrases: dict[str, int] = field(default_factory=dict)
    detail: str = ""

    def as_dict(self) -> dict:
        return {"question": self.question, "reason": self.reason, "phrases": self.phrases, "detail": self.detail}


@dataclass
class Cluster:
    size: int
    words: list[str]
    examples: list[str]
    outcomes: dict[str, int]
    nearest: str | None
    nearest_title: str | None
    nearest_score: float

    def as_dict(self) -> dict:
        return {"size": self.size, "words": self.words, "examples": self.examples, "outcomes": self.outcomes,
                "nearest": self.nearest, "nearest_title": self.nearest_title,
                "nearest_score": self.nearest_score}


@dataclass
class Usage:
    id: str
    title: str
    book: str
    copied: int = 0
    answered: int = 0
    last: datetime | None = None

    @property
    def total(self) -> int:
        return self.copied + self.answered

    def as_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "book": self.book, "copied": self.copied,
                "answered": self.answered, "last": self.last.isoformat() if self.last else None}


@dataclass
class Bump:
    book: str
    path: str
    version: str
    level: str  # patch minor major (what kb review requires for the change)
    suggested: str

    def as_dict(self) -> dict:
        return {"book": self.book, "path": self.path, "version": self.version, "required": self.level,
                "suggested": self.suggested}


@dataclass
class LearnReport:
    bank: str
    root: str
    sources: list[str]
    messages: int
    copied: int  # messages with a phrase the agent copied
    covered: int  # of those, search already answers the copied phrase confidently
    new_questions: list[NewQuestion]
    skipped: list[Skipped]
    clusters: list[Cluster]
    unanswered: int
    usage: list[Usage]
    since: datetime | None
    untimed: int  # messages without a time (not counted for usage when --since is given)
    bumps: list[Bump]
    applied: bool = False
    written: list[str] = field(default_factory=list)
    other_banks: dict[str, int] = field(default_factory=dict)  # log records of other banks, left out

    def as_dict(self) -> dict:
        return {
            "bank": self.bank, "root": self.root, "sources": self.sources, "messages": self.messages,
            "copied": self.copied, "covered": self.covered,
            "new_questions": [q.as_dict() for q in self.new_questions],
            "skipped": [s.as_dict() for s in self.skipped],
            "clusters": [c.as_dict() for c in self.clusters], "unanswered": self.unanswered,
            "usage": [u.as_dict() for u in self.usage],
            "since": self.since.isoformat() if self.since else None,
            "bumps": [b.as_dict() for b in self.bumps], "applied": self.applied, "written": self.written,
            "other_banks": self.other_banks,
        }


# --- text forms -------------------------------------------------------------------------------


def question_text(masked: str) -> str:
    """A masked message as a question of the bank: platform boilerplate ([图片], links, 咨询订单号: …)
    and control/format characters removed, spaces collapsed; placeholders (<金额>) kept."""
    from ..search.normalize import clean_message

    text = clean_message(masked)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs"))
    return " ".join(text.split())


class _Forms:
    """The normalised forms search compares, computed once per text."""

    def __init__(self, index) -> None:
        self.tk = index.tokenizer
        self._cache: dict[str, list[str]] = {}

    def tokens(self, text: str) -> list[str]:
        from ..search.normalize import clean_message, normalize

        if text not in self._cache:
            self._cache[text] = self.tk.tokens(normalize(clean_message(strip_placeholders(text))))
        return self._cache[text]

    def key(self, text: str) -> str:
        return "".join(self.tokens(text))


def _loader_key(q: str) -> str:
    """The loader's duplicate-question key (kb.bank.load): NFKC, case-folded, no spaces."""
    return "".join(unicodedata.normalize("NFKC", q).casefold().split())


def _hit(pid: str, want: str) -> bool:
    return pid == want or pid.startswith(want + ".")


# --- the report -------------------------------------------------------------------------------


def learn(bank: Bank, sources: list[Source], *, since: datetime | None = None, top: int = 10,
          problems: list | None = None) -> LearnReport:
    """Everything kb learn reports (nothing is written here)."""
    from ..search.index import Index

    index = Index.build(bank, problems or [])
    forms = _Forms(index)
    messages, other_banks = [], Counter()
    for s in sources:
        for m in s.messages:
            if m.bank and m.bank != bank.manifest.name:  # a log shared by several shops' banks
                other_banks[m.bank] += 1
            else:
                messages.append(m)
    phrases = {p.id: (bf, p) for bf, _, p in bank.phrases()}
    results: dict[str, object] = {}

    def search(m: Message):
        text = strip_placeholders(m.text)
        if text not in results:
            results[text] = index.search(text, k=3)
        return results[text]

    new_q, skipped, covered, copied = _new_questions(messages, phrases, bank, forms, search)
    unanswered = [m for m in messages if not (m.copied and m.copied in phrases) and not search(m).confident]
    clusters = _clusters(unanswered, forms, search, index)
    usage, untimed = _usage(messages, phrases, search, since)
    bumps = suggest_bumps(bank, new_q)
    return LearnReport(
        bank=bank.manifest.name, root=str(bank.root), sources=[s.describe() for s in sources],
        messages=len(messages), copied=copied, covered=covered, new_questions=new_q, skipped=skipped,
        clusters=clusters[:top] if top else clusters, unanswered=len(unanswered), usage=usage, since=since,
        untimed=untimed, bumps=bumps, other_banks=dict(other_banks),
    )


def _new_questions(messages, phrases, bank: Bank, forms: _Forms, search):
    skipped: list[Skipped] = []
    covered = copied = 0
    unknown: Counter[str] = Counter()
    proposals: dict[str, dict] = {}  # normalised key -> text, Counter of phrases, sources
    for m in messages:
        if not m.copied:
            continue
        if m.copied not in phrases:
            unknown[m.copied] += 1
            continue
        copied += 1
        r = search(m)
        if r.confident and r.matches and _hit(r.matches[0].id, m.copied):
            covered += 1
            continue
        text = question_text(m.text)
        key = forms.key(text)
        if len(key) < MIN_KEY_CHARS:
            skipped.append(Skipped(text, "too short", {m.copied: 1}, "nothing left to match once "
                                   "greetings, filler and personal data are taken out"))
            continue
        if len(text) > MAX_QUESTION_CHARS:
            skipped.append(Skipped(text, "too long", {m.copied: 1},
                                   f"over {MAX_QUESTION_CHARS} characters: add the question in it by hand"))
            continue
        p = proposals.setdefault(key, {"text": text, "phrases": Counter(), "sources": []})
        p["phrases"][m.copied] += 1
        if len(p["sources"]) < EXAMPLES:
            p["sources"].append(f"{m.source}:{m.line}")
    for pid, n in sorted(unknown.items()):
        close = difflib.get_close_matches(pid, list(phrases), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        skipped.append(Skipped("", "unknown phrase", {pid: n}, f"'{pid}' is no phrase of the bank{hint}"))
    existing: dict[str, str] = {}
    loader_keys: dict[str, str] = {}
    for _, _, p in bank.phrases():
        for q in p.questions:
            existing.setdefault(forms.key(q), p.id)
            loader_keys.setdefault(_loader_key(q), p.id)
    out: list[NewQuestion] = []
    for key, prop in proposals.items():
        counts: Counter[str] = prop["phrases"]
        text = prop["text"]
        owner = existing.get(key) or loader_keys.get(_loader_key(text))
        if owner:
            where = "the same phrase" if set(counts) == {owner} else f"{owner}"
            skipped.append(Skipped(text, "duplicate", dict(counts),
                                   f"already a question of {where} (normalised)"))
            continue
        ranked = counts.most_common()
        if len(ranked) > 1 and ranked[0][1] <= MAJORITY * ranked[1][1]:
            skipped.append(Skipped(text, "conflict", dict(counts),
                                   "agents copied different phrases for it: add it by hand to the right one"))
            continue
        pid = ranked[0][0]
        bf, ph = phrases[pid]
        out.append(NewQuestion(pid, ph.title, bf.book.name, text, ranked[0][1], prop["sources"]))
    order = {pid: i for i, pid in enumerate(phrases)}
    out.sort(key=lambda q: (order[q.phrase_id], -q.count, q.question))
    return out, skipped, covered, copied


def _overlap(a: frozenset, b: frozenset, weight) -> float:
    """Jaccard overlap of two word sets, each word weighted by its rarity in the bank (idf; a word
    the bank never uses weighs most), so that sharing 要 or 怎么 does not make two messages alike."""
    union = sum(weight(w) for w in a | b)
    return sum(weight(w) for w in a & b) / union if union else 0.0


def _clusters(unanswered: list[Message], forms: _Forms, search, index) -> list[Cluster]:
    groups: dict[frozenset, list[Message]] = {}
    for m in unanswered:
        words = frozenset(forms.tokens(m.text))
        if words:
            groups.setdefault(words, []).append(m)
    rarest = max(index.idf.values(), default=1.0)

    def weight(w: str) -> float:
        return index.idf.get(w, rarest)

    seeds: list[tuple[frozenset, list[Message]]] = []
    for words, ms in sorted(groups.items(), key=lambda kv: (-len(kv[1]), sorted(kv[0]))):
        best, best_j = None, 0.0
        for i, (seed, _) in enumerate(seeds):
            j = _overlap(words, seed, weight)
            if j >= CLUSTER_OVERLAP and j > best_j:
                best, best_j = i, j
        if best is None:
            seeds.append((words, list(ms)))
        else:
            seeds[best][1].extend(ms)
    titles = {p["id"]: p["title"] for p in index.phrases}
    out = []
    for seed, ms in seeds:
        texts = Counter(m.text for m in ms)
        outcomes = Counter(search(m).outcome for m in ms)
        near: Counter[str] = Counter()
        scores: dict[str, list[float]] = {}
        for m in ms:
            r = search(m)
            if r.matches:
                near[r.matches[0].id] += 1
                scores.setdefault(r.matches[0].id, []).append(r.matches[0].score)
        nid = near.most_common(1)[0][0] if near else None
        out.append(Cluster(
            size=len(ms), words=sorted(seed), examples=[t for t, _ in texts.most_common(EXAMPLES)],
            outcomes=dict(outcomes), nearest=nid, nearest_title=titles.get(nid) if nid else None,
            nearest_score=round(sum(scores[nid]) / len(scores[nid]), 3) if nid else 0.0,
        ))
    out.sort(key=lambda c: (-c.size, c.examples[0]))
    return out


def _usage(messages, phrases, search, since: datetime | None) -> tuple[list[Usage], int]:
    rows = {pid: Usage(pid, p.title, bf.book.name) for pid, (bf, p) in phrases.items()}
    untimed = 0
    for m in messages:
        if m.time is None:
            untimed += 1
            if since is not None:
                continue
        elif since is not None and m.time < since:
            continue
        used: str | None = None
        if m.copied and m.copied in rows:
            rows[m.copied].copied += 1
            used = m.copied
        else:
            if m.logged_outcome is not None:
                pid = m.logged_ids[0] if m.logged_outcome == "confident" and m.logged_ids else None
            else:
                r = search(m)
                pid = r.matches[0].id if r.confident and r.matches else None
            if pid in rows:
                rows[pid].answered += 1
                used = pid
        if used and m.time is not None and (rows[used].last is None or m.time > rows[used].last):
            rows[used].last = m.time
    return list(rows.values()), untimed


# --- versions ---------------------------------------------------------------------------------


def _with_questions(bank: Bank, add: dict[str, list[str]]) -> Bank:
    books = []
    for bf in bank.books:
        phrases = [p.model_copy(update={"questions": [*p.questions, *add[p.id]]}) if p.id in add else p
                   for p in bf.book.phrases]
        book = bf.book.model_copy(update={"phrases": phrases})
        books.append(BookFile(book=book, path=bf.path, display=bf.display, locs=bf.locs))
    return Bank(root=bank.root, manifest=bank.manifest, books=books, manifest_display=bank.manifest_display)


def _additions(questions: list[NewQuestion]) -> dict[str, list[str]]:
    add: dict[str, list[str]] = {}
    for q in questions:
        add.setdefault(q.phrase_id, []).append(q.question)
    return add


def _next_version(version: str, level: str) -> str:
    a, b, c = (int(x) for x in version.split("."))
    return {"major": f"{a + 1}.0.0", "minor": f"{a}.{b + 1}.0", "patch": f"{a}.{b}.{c + 1}"}.get(level, version)


def suggest_bumps(bank: Bank, questions: list[NewQuestion]) -> list[Bump]:
    """The version bump kb review will require of each book the new questions change."""
    if not questions:
        return []
    from ..review import required_bumps, semantic_diff

    new = _with_questions(bank, _additions(questions))
    need = required_bumps(semantic_diff(bank, new), bank, new)
    out = []
    for bf in bank.books:
        level = need.get(bf.book.name)
        if level and level != "none":
            out.append(Bump(bf.book.name, bf.display, bf.book.version, level, _next_version(bf.book.version, level)))
    return out


# --- writing ----------------------------------------------------------------------------------


def refuse_bundled(root: Path) -> None:
    from ..bank.files import BUNDLED

    if Path(root).absolute() == BUNDLED.absolute():
        raise KbError("kb learn --apply writes into your bank folder, and no bank was found: the bank in use "
                      "is the one bundled with kb. Pass --bank PATH (or run in a folder with phrasebank/)", 2)


def apply_report(bank: Bank, report: LearnReport) -> list[str]:
    """Write the report's new questions into the books. Returns the files written."""
    from ..bank.load import cross_check
    from ..bank.yamlio import atomic_write, rt_dump, rt_load
    from ..review import bank_lock

    refuse_bundled(bank.root)
    add = _additions(report.new_questions)
    if not add:
        return []
    books = {q.book for q in report.new_questions}
    before = len(cross_check(bank))
    if len(cross_check(_with_questions(bank, add))) > before:
        raise KbError("the new questions would make the bank invalid (run kb validate after adding them by hand)")
    pending: list[tuple[Path, str]] = []
    with bank_lock(Path(bank.root)):
        for bf in bank.books:
            if bf.book.name not in books:
                continue
            original = bf.path.read_text(encoding="utf-8")
            _unchanged_since_load(bf, original)
            data = rt_load(bf.path)
            edited = []
            for item in data.get("phrases") or []:
                pid = item.get("id") if hasattr(item, "get") else None
                if pid in add:
                    append_questions(item["questions"], add[pid])
                    edited.append(pid)
            missing = {q.phrase_id for q in report.new_questions if q.book == bf.book.name} - set(edited)
            if missing:
                raise KbError(f"{bf.display}: phrase(s) {', '.join(sorted(missing))} not found when editing; "
                              "nothing was written")
            text = rt_dump(data)
            _check_edit(bf, original, text, {pid: add[pid] for pid in edited})
            pending.append((bf.path, text))
        for path, text in pending:
            atomic_write(path, text)
    report.applied = True
    report.written = [str(p) for p, _ in pending]
    return report.written


def append_questions(seq, new: list[str]) -> None:
    """Append to a ruamel questions list. A comment below the last question that is indented like
    the phrase's keys (it introduces the next key: ``# 回复不承诺日期`` above ``reply:``) stays below
    the new questions; one indented like the questions (``# 大促问法``) stays above them."""
    import copy

    last = len(seq) - 1
    items = getattr(getattr(seq, "ca", None), "items", {})
    tok = items[last][0] if last >= 0 and items.get(last) else None
    for q in new:
        seq.append(q)
    if tok is None or seq.fa.flow_style() or seq.lc.col is None:
        return
    value = tok.value
    if value.startswith("#"):
        cut = value.index("\n") + 1 if "\n" in value else len(value)
    else:
        cut = 1 if value.startswith("\n") else 0
    eol, rest = value[:cut], value[cut:]
    lines = [ln for ln in rest.split("\n") if ln.strip()]
    if not lines or min(len(ln) - len(ln.lstrip(" ")) for ln in lines) >= seq.lc.col:
        return
    moved = copy.copy(tok)
    moved.value = "\n" + rest
    if eol.startswith("#"):
        tok.value = eol
    else:
        del items[last]
    items[len(seq) - 1] = [moved, None, None, None]


def _unchanged_since_load(bf: BookFile, text: str) -> None:
    from ..bank.yamlio import YamlProblem, load_document

    try:
        doc, _ = load_document(text.encode("utf-8"))
    except YamlProblem as e:
        raise KbError(f"{bf.display}:{e.line}:{e.col}: {e.message}") from None
    now = [(p.get("id"), list(p.get("questions") or [])) for p in (doc or {}).get("phrases") or []
           if isinstance(p, dict)]
    then = [(p.id, list(p.questions)) for p in bf.book.phrases]
    if now != then:
        raise KbError(f"{bf.display} changed while kb learn was running: run it again; nothing was written")


def _check_edit(bf: BookFile, original: str, edited: str, add: dict[str, list[str]]) -> None:
    """The edited text holds exactly the original content plus the new questions, and only the
    lines of the edited questions lists changed (nothing reformatted elsewhere)."""
    from ..bank.yamlio import load_document

    old, _ = load_document(original.encode("utf-8"))
    new, _ = load_document(edited.encode("utf-8"))
    for p in old.get("phrases") or []:
        if isinstance(p, dict) and p.get("id") in add:
            p["questions"] = [*p["questions"], *add[p["id"]]]
    if old != new:
        raise KbError(f"{bf.display}: the edit would change more than the questions: nothing was written")
    allowed: set[int] = set()
    for i, p in enumerate(bf.book.phrases):
        if p.id in add:
            first = bf.phrase_loc(i, "questions")[0]
            last = max(bf.phrase_loc(i, "questions", qi)[0] for qi in range(len(p.questions)))
            allowed.update(range(first - 1, last))
    a, b = original.splitlines(), edited.splitlines()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("replace", "delete") and not set(range(i1, i2)) <= allowed:
            raise KbError(f"{bf.display}:{i1 + 1}: writing the questions would reformat this line "
                          "(the ruamel round trip is not exact for this file): add them by hand; "
                          "nothing was written")
