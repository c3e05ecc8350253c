"""The kb command line: thin click commands that parse, call one library function and
map errors to a message and an exit code (0 ok, 1 problems found, 2 usage)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import KbError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class KbGroup(click.Group):
    def invoke(self, ctx: click.Context):  # map KbError to message + exit code, never a traceback
        try:
            return super().invoke(ctx)
        except KbError as e:
            from .view import term  # nothing from a phrasebook reaches the terminal raw

            click.echo(term(f"kb: {e.message}" if not e.message.startswith(("kb:", "\n")) and "\n" not in e.message
                            else e.message), err=True)
            ctx.exit(e.exit_code)
        except BrokenPipeError:
            sys.stderr.close()
            ctx.exit(0)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as e:  # a bug in kb: one clear line, the traceback only on request
            import os

            if os.environ.get("KB_DEBUG"):
                raise
            click.echo(f"kb: internal error: {type(e).__name__}: {e} (set KB_DEBUG=1 for details; "
                       "please report it)", err=True)
            ctx.exit(3)


def _bank_root(ctx: click.Context, *, quiet: bool = False) -> Path:
    """The bank the command reads. Says on stderr which one when it is not ./phrasebank or --bank
    (a parent's, $KB_BANK's, the bundled one) and which candidates were refused (another user's)."""
    from .bank.files import locate_bank

    obj = ctx.find_root().obj
    loc = obj.get("bank_location")
    if loc is None:
        loc = obj["bank_location"] = locate_bank(obj.get("bank"))
        note = loc.note()
        if note and not quiet:
            click.echo(note, err=True)
    return loc.path


def _bank_json(ctx: click.Context, name: str | None, problems) -> dict:
    from .view import bank_json

    loc = ctx.find_root().obj.get("bank_location")
    return bank_json(name, loc.path if loc else "", problems, loc.source if loc else None)


def _echo_bank_problems(problems) -> None:
    """A partial bank says so on stderr: the count and the first problems (file:line: what)."""
    if problems:
        from .view import bank_problems_text

        click.echo(bank_problems_text(problems), err=True)


def _echo_problems(problems, fmt: str = "text", context: dict | None = None) -> None:
    from .view import dumps, problem_json, problem_text

    if fmt == "json":
        ctx = {k: v for k, v in (context or {}).items() if k != "bank_problems"}
        click.echo(dumps({**ctx, "problems": [problem_json(p) for p in problems]}, indent=2))
        return
    for p in problems:
        click.echo(problem_text(str(p)))


@click.group(cls=KbGroup, context_settings=CONTEXT, invoke_without_command=True)
@click.option("--bank", metavar="PATH", help="Bank folder (default: $KB_BANK, ./phrasebank or a parent's, "
              "else the bundled bank).")
@click.version_option(__version__, prog_name="kb")
@click.pass_context
def cli(ctx: click.Context, bank: str | None) -> None:
    """kb: quick replies and FAQ for Taobao/Tmall customer service.

    \b
    Examples:
      kb search "双11拍的啥时候发啊"      find the approved reply
      kb show shipping.when_ship --campaign double11
      kb validate                         check every phrasebook
      kb lint                             catch risky promises before merging
      kb                                  interactive search (same as kb ui)
    """
    ctx.ensure_object(dict)
    ctx.obj["bank"] = bank
    if ctx.invoked_subcommand is None:
        ctx.invoke(ui)


@cli.command(context_settings=CONTEXT)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def validate(ctx: click.Context, fmt: str) -> None:
    """Check every phrasebook of the bank and report all problems.

    \b
    Each problem: path:line:col: phrase-id: what is wrong.
    Exit 0 clean, 1 problems found, 2 usage error.
    Example:  kb --bank phrasebank validate
    """
    from .bank.load import load_bank

    root = _bank_root(ctx)
    bank, problems = load_bank(root)
    if bank is not None and not problems:
        from .search.cache import load_index
        from .search.overlap import overlap_problems

        problems = overlap_problems(bank, load_index(root))  # warnings: phrases sharing a question
    _echo_problems(problems, fmt, _bank_json(ctx, bank.manifest.name if bank else None, []))
    errors = [p for p in problems if p.severity == "error"]
    if problems and fmt == "text":
        click.echo(f"{len(errors)} problem(s), {len(problems) - len(errors)} warning(s)", err=True)
    if errors:
        ctx.exit(1)
    if fmt == "text":
        n = len(bank.phrases()) if bank else 0
        click.echo(f"ok: {len(bank.books) if bank else 0} books, {n} phrases", err=True)


@cli.command("list", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: bank, bank_root, bank_problems, phrases.")
@click.option("--book", help="Only this book.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool, book: str | None) -> None:
    """List the phrases of the bank.

    \b
    A bank with problems still lists the books that load, and says so
    (stderr; "bank_problems" in JSON).
    Examples:
      kb list
      kb list --json --book shipping
    """
    from .bank.load import open_bank
    from .view import dumps, phrase_records, term

    bank, problems = open_bank(_bank_root(ctx))
    _echo_bank_problems(problems)
    records = phrase_records(bank, book)
    if as_json:
        click.echo(dumps({**_bank_json(ctx, bank.manifest.name, problems), "phrases": records}, indent=2))
        return
    for r in records:
        row = f"{r['id']:<40} {r['shortcut'] or '-':<8} {r['title']}"
        click.echo(term(row).replace("\n", "\\n"))


@cli.command(context_settings=CONTEXT)
@click.argument("phrase_id")
@click.option("--campaign", help="Overlay this campaign's variables (name or alias: double11, 双11, 618 ...; "
              "'none' = normal time; default: the campaign whose dates cover today).")
@click.pass_context
def show(ctx: click.Context, phrase_id: str, campaign: str | None) -> None:
    """Show one phrase (by id or shortcut) with its reply rendered (a flow step by step).

    \b
    Says which campaign is active: the one whose start..end covers today
    (KB_TODAY=YYYY-MM-DD dates a run), unless --campaign names one or 'none'.
    Examples:
      kb show shipping.when_ship --campaign double11
      kb show fhsj --campaign 双11
    """
    from .bank.load import open_bank
    from .view import show_phrase, term

    bank, problems = open_bank(_bank_root(ctx))
    _echo_bank_problems(problems)
    name, line = _campaign_line(bank, campaign)
    try:
        text = show_phrase(bank, phrase_id, name, line)
    except KbError as e:
        if problems:
            e.message += " (the bank is partial: it may be in a book that did not load; run 'kb validate')"
        raise
    click.echo(term(text))


def _clean(text: str) -> str:
    """Text safe to print and to put in JSON (lone surrogates from odd input replaced)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _json_line(obj) -> str:
    """One JSON Lines record: characters that str.splitlines() treats as line breaks (and control,
    bidi, zero-width characters) are escaped, so a reader splitting on lines always gets one record
    per input line and a terminal never receives them raw."""
    from .view import dumps

    return dumps(obj) + "\n"


@cli.command(context_settings=CONTEXT)
@click.argument("query", nargs=-1)
@click.option("-k", "k", default=3, show_default=True, type=click.IntRange(1, 50), help="How many matches.")
@click.option("--campaign", help="Render the reply with this campaign's variables (618, double11 ...).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--jsonl", is_flag=True, help="Read queries from stdin, one per line; write one JSON line each.")
@click.option("--no-cache", is_flag=True, help="Build the index in memory; do not read or write the cache.")
@click.option("--log", "log_flag", is_flag=True, help="Record the search (masked) in the usage log (kb log).")
@click.pass_context
def search(ctx: click.Context, query: tuple[str, ...], k: int, campaign: str | None, as_json: bool,
           jsonl: bool, no_cache: bool, log_flag: bool = False) -> None:
    """Find the approved reply for a buyer's message.

    \b
    Every answer has an outcome: confident (exit 0: one reply), ambiguous
    (exit 3: two or more phrases fit about equally; all are shown as candidates,
    pick one) or none (exit 1: nothing fits; the nearest are shown, marked).
    A message that asks two things gets an answer for the second one too.
    Examples:
      kb search "双11拍的啥时候发啊"
      kb search -k 5 --campaign double11 "定金能退吗"
      kb search --json "能便宜点吗"
      printf '在吗\n包邮吗\n' | kb search --jsonl
    """
    from .learn.log import record
    from .search.cache import load_index
    from .view import dumps, format_result, result_json, term

    root = _bank_root(ctx)
    index = load_index(root, use_cache=not no_cache)
    active = index.campaign(campaign)
    variables = index.variables_for(active)
    context = {"bank": index.bank_name, "bank_root": index.root, "campaign": active,
               "bank_problems": index.problems}
    _echo_bank_problems(index.problems)
    if jsonl:
        import time

        from .search.cache import reloader

        if query:
            raise KbError("--jsonl reads queries from stdin: give no QUERY argument", 2)
        out = sys.stdout
        changed, checked = reloader(root, index), time.monotonic()
        for raw in sys.stdin.buffer:
            if time.monotonic() - checked > 1.0:  # a bank edited while a long stream runs is reloaded
                checked = time.monotonic()
                if (new := changed()) is not None:
                    index = new
                    variables = index.variables_for(active)
                    context.update(bank_problems=index.problems)
                    click.echo("kb: the bank changed on disk: reloaded", err=True)
                    _echo_bank_problems(index.problems)
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            r = index.search(line, k=k)
            record(index, r, flag=log_flag)  # the opt-in usage log (kb.learn.log), masked
            out.write(_json_line(result_json(r, variables, context)))
        out.flush()
        return
    text = " ".join(query).strip()
    if not text:
        raise KbError("give the buyer's message: kb search \"什么时候发货\" (or --jsonl to read stdin)", 2)
    r = index.search(text, k=k)
    record(index, r, flag=log_flag)  # the opt-in usage log (kb.learn.log), masked
    if as_json:
        click.echo(dumps(result_json(r, variables, context), indent=2))
    else:
        click.echo(term(format_result(r, variables)))
        if active:
            why = "--campaign" if campaign else "active today"
            click.echo(f"(campaign: {active}, {index.campaigns[active]['title']}, {why})")
    ctx.exit({"confident": 0, "ambiguous": 3}.get(r.outcome, 1))


@cli.command("eval", context_settings=CONTEXT)
@click.argument("cases", required=False, type=click.Path(dir_okay=False))
@click.option("--cross", is_flag=True, help="Cross-validate on the bank's own questions instead of a case file.")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20), help="Folds for --cross.")
@click.option("--per-phrase", is_flag=True, help="Also print top-1/top-3 per phrase, weakest first.")
@click.option("--min-top1", type=click.FloatRange(0, 1), help="Exit 1 when top-1 is below this.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures and misses as JSON.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "csv"]), default="text", show_default=True,
              help="For a list of messages: the table as text, Markdown or CSV.")
@click.option("--column", help="For a CSV/JSONL chat export: the column holding the messages.")
@click.option("--only", metavar="COL=VALUE", help="For a CSV/JSONL export: keep rows whose COL is VALUE.")
@click.pass_context
def eval_(ctx: click.Context, cases: str | None, cross: bool, folds: int, per_phrase: bool,
          min_top1: float | None, as_json: bool, fmt: str = "text", column: str | None = None,
          only: str | None = None) -> None:
    """Measure search on labelled messages, or on the bank's own questions (--cross).

    \b
    CASES is YAML (cases: [{q: 买家消息, expect: phrase.id or null}]) or TSV
    (text<TAB>expect with a header line; a|b = either is right; null = nothing fits).
    Prints top-1, top-3, MRR, out-of-scope rejection, false rejection, ambiguous
    and every miss. --cross searches each question of the bank in an index built
    without it (k folds) and, with --per-phrase, shows which phrases need more
    questions. Team leads keep a case file per bank as a regression test.
    A plain list of messages (one per line, no labels; or a CSV/JSONL export with
    --column) prints, per message, the outcome and the top answers instead:
    a day's messages reviewed in one table (masked: no phone or order numbers).
    Examples:
      kb eval tests.yaml --min-top1 0.9
      kb eval ../shared/eval/real_dev.tsv
      kb eval --cross --per-phrase
      kb eval today.txt --format markdown > today.md
      kb eval chats.csv --column 消息 --only 角色=买家 --format csv > hits.csv
    """
    from pathlib import Path

    from .search.evaluate import check_ids, cross_validate, evaluate, format_report, read_cases

    if cross == bool(cases):
        raise KbError("give a case file, or --cross to cross-validate on the bank's own questions", 2)
    if cases and _eval_hits(ctx, cases, fmt, column, only, as_json):
        return
    if cross:
        from .bank.load import open_bank

        bank, _ = open_bank(_bank_root(ctx))
        rep = cross_validate(bank, folds, progress=lambda i, n: click.echo(f"fold {i}/{n}", err=True))
    else:
        from .search.cache import load_index

        index = load_index(_bank_root(ctx))
        found = read_cases(Path(cases))
        check_ids(index, found, cases)
        rep = evaluate(index, found)
    click.echo(json.dumps(rep.as_dict(), ensure_ascii=False, indent=2) if as_json
               else format_report(rep, per_phrase=per_phrase or cross, misses=not cross))
    if min_top1 is not None and rep.top1 < min_top1:
        click.echo(f"kb: top-1 {rep.top1:.3f} is below --min-top1 {min_top1}", err=True)
        ctx.exit(1)


def _ruleset(ctx: click.Context, config: str | None):
    from pathlib import Path

    from .lint import load_rules

    if config:
        return load_rules(Path(config))
    root = _bank_root(ctx)
    cfg = root / "kb-lint.yaml"
    return load_rules(cfg if cfg.is_file() else None)


def _exit_for(findings, strict: bool) -> int:
    if any(f.severity == "error" for f in findings):
        return 1
    if strict and any(f.severity == "warning" for f in findings):
        return 1
    return 0


@cli.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
              show_default=True, help="github = workflow annotations; sarif = code scanning.")
@click.option("--config", type=click.Path(dir_okay=False), help="Lint configuration (default: kb-lint.yaml "
              "at the bank root).")
@click.option("--strict", is_flag=True, help="Also fail (exit 1) on warnings.")
@click.pass_context
def lint(ctx: click.Context, paths: tuple[str, ...], fmt: str, config: str | None, strict: bool) -> None:
    """Catch forbidden promises and risky wording in everything a buyer can receive.

    \b
    Replies are linted as rendered with the base variables and with every
    campaign's (a finding only a campaign produces names it); bank.yaml
    variables, titles and groups are linted too.
    Each finding: path:line:col: severity rule-id: message (suggestion).
    Exit 0 no errors, 1 errors (or warnings with --strict), 2 usage.
    Suppress per phrase with a reason:
      lint: {allow: [adlaw.absolute], reason: "品牌注册名含'最'"}
    Examples:
      kb lint
      kb lint phrasebank/shipping.yaml --format github
      kb lint --format sarif > kb-lint.sarif
    """
    from .bank.load import open_bank
    from .lint.bank import lint_bank, load_findings
    from .lint.output import render

    ruleset = _ruleset(ctx, config)
    bank, problems = open_bank(_bank_root(ctx))
    books = []
    for p in paths:
        from pathlib import Path

        path = Path(p)
        match = [bf for bf in bank.books if bf.path.resolve() == path.resolve() or bf.book.name == p]
        if not match:
            raise KbError(f"{p}: not a book of the bank at {bank.root} (books: "
                          f"{', '.join(bf.book.name for bf in bank.books)})", 2)
        books.extend(bf.book.name for bf in match)
    wanted = {str(bf.display) for bf in bank.books if bf.book.name in books} if books else None
    findings = [f for f in load_findings(problems) if wanted is None or f.path in wanted or f.path.endswith(
        "bank.yaml")] + lint_bank(bank, ruleset, books or None)
    out = render(findings, fmt, ruleset)
    if out:
        click.echo(out)
    if fmt == "text":
        n_err = sum(f.severity == "error" for f in findings)
        n_warn = sum(f.severity == "warning" for f in findings)
        click.echo(f"{n_err} error(s), {n_warn} warning(s) in {len(bank.phrases())} phrases", err=True)
    ctx.exit(_exit_for(findings, strict))


@cli.command(context_settings=CONTEXT)
@click.argument("text", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
              show_default=True)
@click.option("--jsonl", is_flag=True, help="Read texts from stdin, one per line; write one JSON line each.")
@click.option("--config", type=click.Path(dir_okay=False), help="Lint configuration file.")
@click.option("--strict", is_flag=True, help="Also fail (exit 1) on warnings.")
@click.pass_context
def check(ctx: click.Context, text: tuple[str, ...], fmt: str, jsonl: bool, config: str | None,
          strict: bool) -> None:
    """Lint a reply an agent is about to send (same rules as kb lint, hygiene included:
    formula-leading text, control/bidi characters, length, GBK).

    \b
    Examples:
      kb check "亲，今天下单保证今天发货哦"
      printf '加我微信\n预计3天内发出\n' | kb check --jsonl
    """
    from .lint import lint_text
    from .lint.output import render

    ruleset = _ruleset(ctx, config)
    if jsonl:
        if text:
            raise KbError("--jsonl reads texts from stdin: give no TEXT argument", 2)
        worst = []
        for raw in sys.stdin.buffer:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            fs = lint_text(line, ruleset)
            worst.extend(fs)
            rec = {"text": _clean(line), "findings": [
                {"rule": f.rule, "severity": f.severity, "start": f.start, "end": f.end, "message": f.message,
                 "suggestion": f.suggestion} for f in fs]}
            sys.stdout.write(_json_line(rec))
        sys.stdout.flush()
        ctx.exit(_exit_for(worst, strict))
    body = " ".join(text)
    if not body.strip():
        raise KbError("give the reply text: kb check \"亲，…\" (or --jsonl to read stdin)", 2)
    findings = lint_text(body, ruleset)
    out = render(findings, fmt, ruleset)
    if out:
        click.echo(out)
    elif fmt == "text":
        click.echo("ok: no findings", err=True)
    ctx.exit(_exit_for(findings, strict))


def _target_option(o) -> click.Option:
    """A click option from a target's declared Option (kb/targets/base.py)."""
    if o.kind == "flag":
        return click.Option([o.name], is_flag=True, default=bool(o.default), help=o.help)
    if o.kind == "choice":
        return click.Option([o.name], type=click.Choice(list(o.choices)), default=o.default, show_default=True,
                            help=o.help)
    if o.kind == "int":
        return click.Option([o.name], type=click.IntRange(1), default=o.default, help=o.help, metavar=o.metavar)
    return click.Option([o.name], default=o.default, help=o.help, metavar=o.metavar,
                        show_default=o.default is not None)


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _campaign_line(bank, requested: str | None) -> tuple[str | None, str]:
    """--campaign NAME|alias|none, else the campaign whose dates cover today ($KB_TODAY overrides)."""
    from .template import active_campaign, describe_campaign

    name = active_campaign(bank, requested)
    return name, describe_campaign(bank, name, requested)


def _export_command(t) -> click.Command:
    def callback(output: str | None, campaign: str | None, books: str | None, allow_lint_errors: bool,
                 force: bool, **options) -> None:
        from .bank.load import open_bank
        from .targets.base import ExportRequest
        from .targets.ops import write_export

        ctx = click.get_current_context()
        bank, _ = open_bank(_bank_root(ctx), strict=True)
        name, line = _campaign_line(bank, campaign)
        names = [b.strip() for b in books.split(",") if b.strip()] if books else None
        result = t.export(bank, ExportRequest(campaign=name, books=names, allow_lint_errors=allow_lint_errors,
                                              options=options))
        for note in result.notes:
            click.echo(f"kb: {note}", err=True)
        if output:
            paths = write_export(result, Path(output), force=force, multi_file=t.multi_file)
            where = output if len(paths) == 1 else f"{len(paths)} files in {output}"
            click.echo(f"kb: wrote {result.count} {result.unit} to {where} ({t.describe_output(options)}; "
                       f"{line})", err=True)
            return
        if t.multi_file and len(result.files) != 1:
            raise KbError(f"{t.name} writes one file per book ({len(result.files)} here): give -o FOLDER, "
                          "or --books ONE to print one", 2)
        if result.binary and _stdout_is_terminal():
            raise KbError(f"not printing {t.describe_output(options)} bytes to a terminal (they would show as "
                          f"garbage): write a file with -o FILE or redirect, e.g. kb export {t.name} > out", 2)
        click.echo(f"kb: {line}", err=True)
        sys.stdout.buffer.write(result.files[0].data)
        sys.stdout.flush()

    params = [
        click.Option(["-o", "--output"], type=click.Path(), help=t.output_help),
        click.Option(["--campaign"], help="Render with this campaign's variables (name or alias; 'none' = "
                     "normal time; default: the campaign whose dates cover today)."),
        click.Option(["--books"], help="Comma-separated book names (default: all)."),
        *[_target_option(o) for o in t.export_options],
        click.Option(["--allow-lint-errors"], is_flag=True, help="Export phrases with lint errors anyway (each "
                     "is named); formula-leading cells are never exported."),
        click.Option(["--force"], is_flag=True, help="Replace existing output files."),
    ]
    return click.Command(t.name, params=params, callback=callback, help=t.export_help, short_help=t.summary,
                         context_settings=CONTEXT)


def _import_command(t) -> click.Command:
    def callback(file: str, output: str | None, name: str, prefix: str | None, no_split: bool, force: bool,
                 **options) -> None:
        from .targets.bookio import check_name
        from .targets.ops import import_into

        check_name(name)
        ctx = click.get_current_context()
        imported, planned = import_into(t, Path(file), _bank_root(ctx), Path(output) if output else None, name,
                                        force=force, prefix=prefix, split=not no_split, options=options)
        for w in imported.warnings:
            click.echo(f"kb: {file}: {w}", err=True)
        if len(planned) > 1:
            click.echo(f"kb: {file} is too large for one book kb loads: split into {len(planned)} books", err=True)
        where = ", ".join(str(pl.path) for pl in planned)
        click.echo(f"kb: read {file} as {imported.encoding}; wrote {imported.phrases} phrases to {where}", err=True)

    params = [
        click.Argument(["file"], type=click.Path(exists=True, dir_okay=False)),
        click.Option(["-o", "--output"], type=click.Path(dir_okay=False), help="Book file to write "
                     "(default: <bank>/<name>.yaml)."),
        click.Option(["--name"], default="imported", show_default=True, help="Book name (also the id prefix)."),
        click.Option(["--prefix"], help="Put this in front of every imported code (when the bank already uses "
                     "some of them)."),
        click.Option(["--no-split"], is_flag=True, help="Refuse a file too large for one book instead of "
                     "splitting it into NAME, NAME_2 ..."),
        *[_target_option(o) for o in t.import_options],
        click.Option(["--force"], is_flag=True, help="Replace the output file(s) if they exist."),
    ]
    return click.Command(t.name, params=params, callback=callback, help=t.import_help,
                         short_help=t.summary, context_settings=CONTEXT)


class _TargetGroup(click.Group):
    """kb export / kb import: one subcommand per target of the registry (kb/targets), loaded on use."""

    importing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        from .targets import get, names

        return [n for n in names() if not self.importing or get(n).can_import]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from .targets import MODULES, get

        if name not in MODULES:
            return None
        t = get(name)
        if self.importing:
            return _import_command(t) if t.can_import else None
        return _export_command(t)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        from .targets import MODULES, get

        name = args[0] if args else ""
        if name in MODULES and self.importing and not get(name).can_import:
            raise click.UsageError(f"kb cannot import {name} files (export only); importable: "
                                   f"{', '.join(self.list_commands(ctx))}")
        if name and not name.startswith("-") and name not in MODULES:
            import difflib

            close = difflib.get_close_matches(name, list(MODULES), n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise click.UsageError(f"no target named '{name}'.{hint} Targets: {', '.join(self.list_commands(ctx))}")
        return super().resolve_command(ctx, args)


class _ImportGroup(_TargetGroup):
    importing = True


@cli.group("export", cls=_TargetGroup, context_settings=CONTEXT)
def export_group() -> None:
    """Export the bank to another tool's format (every target refuses what lint refuses).

    \b
    Examples:
      kb export qianniu -o quick-phrases.csv --campaign double11
      kb export faq-xlsx -o faq.xlsx --profile tencent-lke
      kb export espanso -o ~/.config/espanso/match/kb --trigger-prefix ";"
    """


@cli.group("import", cls=_ImportGroup, context_settings=CONTEXT)
def import_group() -> None:
    """Import another tool's export as a phrasebook.

    \b
    Examples:
      kb import qianniu 快捷短语.csv --name legacy
      kb import faq-xlsx faq.xlsx --name faq
    """


@cli.command(context_settings=CONTEXT)
@click.argument("old")
@click.argument("new", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.pass_context
def diff(ctx: click.Context, old: str, new: str | None, fmt: str) -> None:
    """What changed between two versions of the bank, phrase by phrase.

    \b
    OLD and NEW are git revisions of the repository holding the bank (NEW
    defaults to the working tree) or two bank folders.
    Examples:
      kb diff HEAD~1
      kb diff main feature --format markdown
      kb diff old-bank/ phrasebank/
    """
    from .review import format_diff, run_diff

    click.echo(format_diff(run_diff(_bank_root(ctx), old, new), fmt))


@cli.command(context_settings=CONTEXT)
@click.option("--base", required=True, help="Base revision (e.g. origin/main) or bank folder.")
@click.option("--head", help="Head revision or folder (default: the working tree).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "github", "json"]), default="text",
              show_default=True)
@click.option("--config", type=click.Path(dir_okay=False), help="Lint configuration file.")
@click.pass_context
def review(ctx: click.Context, base: str, head: str | None, fmt: str, config: str | None) -> None:
    """Everything a phrasebook pull request changes for buyers, in one report.

    \b
    Semantic diff; bank.yaml variable and campaign changes with the lint of every
    reply rendered with the new values; lint: allow suppressions added, changed or
    removed (blocking without a reason); version discipline per book; lint of
    changed phrases (new vs pre-existing); retrieval regressions on tests.yaml; a
    verdict. A base without a bank (the pull request adding it) is all-new.
    Exit 0 mergeable, 1 blocking problems, 2 usage (e.g. base not fetched).
    Examples:
      kb review --base origin/main --format markdown > review.md
      kb review --base HEAD~1 --format github
    """
    from .review import format_review, run_review

    r = run_review(_bank_root(ctx), base, head, _ruleset(ctx, config))
    click.echo(format_review(r, fmt))
    ctx.exit(1 if r.blocking else 0)


@cli.command(context_settings=CONTEXT)
@click.argument("book")
@click.argument("level", type=click.Choice(["major", "minor", "patch"]))
@click.option("--changelog", "changelog", default=None, help="Append a dated entry with this text to "
              "the bank's CHANGELOG.md.")
@click.pass_context
def bump(ctx: click.Context, book: str, level: str, changelog: str | None) -> None:
    """Raise a book's version in place (comments and key order kept).

    \b
    Runs under a lock on the bank folder (concurrent bumps all count); a book
    that does not load is refused with file:line:col and left untouched.
    Examples:
      kb bump shipping minor
      kb bump shipping patch --changelog "催发货话术更温和"
    """
    from .bank.scaffold import refuse_package_write
    from .review import bump as do_bump

    root = _bank_root(ctx)
    refuse_package_write(root / f"{book}.yaml", "bump")  # never the installed package's bundled bank
    old, new = do_bump(root, book, level, changelog)
    click.echo(f"{book}: {old} → {new}")


@cli.command(context_settings=CONTEXT)
@click.option("--campaign", help="Render replies with this campaign's variables.")
@click.option("--log/--no-log", "log", default=None, help="Record each copied reply in the usage log "
              "(default: bank.yaml's log: setting or $KB_LOG; off unless set). See kb log.")
@click.pass_context
def ui(ctx: click.Context, campaign: str | None = None, log: bool | None = None) -> None:
    """Interactive search: type the buyer's message, see the answer, copy it.

    \b
    Every key types (digits too); a paste is text, never Enter.
    Enter copies the selected reply: the answer when search is confident, the
    candidate you chose with Up/Down when it is ambiguous, nothing when nothing
    fits. Alt+1..9 or F1..F9 copy that rank. Up/Down (Ctrl-N/P) select, Tab
    steps through a flow, Esc clears, Ctrl-C/Ctrl-D quit. The header shows the
    bank, the campaign and the outcome; an edited bank is reloaded.
    Example:  kb ui --campaign double11     (plain `kb` opens it too)
    """
    from .search.cache import load_index
    from .ui import run

    if not sys.stdin.isatty():
        raise KbError("kb ui needs a terminal: use kb search (or kb search --jsonl) in scripts", 2)
    root = _bank_root(ctx)
    index = load_index(root)
    run(index, index.campaign(campaign), root, log=log)


@cli.command("init", context_settings=CONTEXT)
@click.argument("folder", default=".", type=click.Path(file_okay=False))
@click.option("--name", help="The bank's name (default: the folder's name).")
@click.option("--kb-source", metavar="PIP-SPEC", help="Where CI installs kb from (written into the workflow; "
              "default: a placeholder git URL to edit).")
@click.option("--force", is_flag=True, help="Write into a non-empty folder (kb's own files are replaced, "
              "nothing else is touched).")
def init(folder: str, name: str | None, kb_source: str | None, force: bool) -> None:
    """Start a bank of your own: a folder that validates, lints and evaluates clean at once.

    \b
    Writes bank.yaml (variables, one campaign with dates and aliases), example.yaml
    (one book), tests.yaml (search cases), kb-lint.yaml, .github/workflows/phrasebank.yml
    (installs kb as a package; runs validate, lint, eval and review) and
    .pre-commit-config.yaml. FOLDER is the bank and the repository root; a FOLDER
    named phrasebank is the bank of the repository around it (CI files go there).
    Refuses a non-empty folder without --force.
    Examples:
      kb init my-bank && cd my-bank && kb validate && kb lint && kb eval tests.yaml
      kb init phrasebank --name shop-cs --kb-source "git+https://git.example.com/cs/kb.git@v0.2.0"
    """
    from .bank.scaffold import init_bank
    from .template import today_from_env

    made = init_bank(Path(folder), name=name, force=force, kb_source=kb_source, today=today_from_env())
    for p in made.files:
        click.echo(f"kb: {'replaced' if p in made.replaced else 'wrote'} {p}", err=True)
    for p in made.kept:
        click.echo(f"kb: kept the existing {p} (--force replaces it)", err=True)
    click.echo(f"kb: new bank in {made.root}. Next: cd {made.root} && kb validate && kb lint && kb eval tests.yaml"
               + ("" if kb_source else "\n    (set KB_SOURCE in .github/workflows/phrasebank.yml to where your "
                  "team installs kb from)"), err=True)


def _eval_hits(ctx: click.Context, cases: str, fmt: str, column: str | None, only: str | None,
               as_json: bool) -> bool:
    """kb eval on an unlabelled list of messages (batch hit-testing, kb.learn.hits). False for a case file."""
    from pathlib import Path

    from .learn.hits import format_hits, hit_test, is_message_list

    if not (column or only or is_message_list(Path(cases))):
        if fmt != "text":
            raise KbError(f"--format {fmt} prints the table of a list of messages; {cases} is a labelled "
                          "case file (use --json for its figures)", 2)
        return False
    from .search.cache import load_index
    from .view import term

    hits = hit_test(load_index(_bank_root(ctx)), cases, column=column, only=only)
    click.echo(term(format_hits(hits, "json" if as_json else fmt)))
    return True


@cli.command(context_settings=CONTEXT)
@click.argument("sources", nargs=-1)
@click.option("--column", help="CSV/JSONL export: the column holding the buyer's messages (guessed when one "
              "header is text/message/消息/内容 …).")
@click.option("--label-column", help="CSV/JSONL export: the column holding the phrase id the agent used.")
@click.option("--only", metavar="COL=VALUE", help="CSV/JSONL export: keep rows whose COL is VALUE (e.g. 角色=买家).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Usage counts only messages from this "
              "day on (YYYY-MM-DD): 'never used since'.")
@click.option("--apply", "do_apply", is_flag=True, help="Write the new questions into the books (in place, "
              "comments kept). Without it nothing is written.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True,
              help="markdown = the pull-request description.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="Groups of unanswered messages and most/least used phrases shown.")
@click.pass_context
def learn(ctx: click.Context, sources: tuple[str, ...], column: str | None, label_column: str | None,
          only: str | None, since, do_apply: bool, fmt: str, top: int) -> None:
    """Learn from real buyer messages: new questions, what to write next, usage.

    \b
    SOURCE is the usage log (the default: see kb log), a copy of an agent's
    usage log, a text file (one message per line; - for stdin) or a CSV/JSONL
    chat export (--column). Messages are masked as they are read.
    Reports
      * new questions: messages where the agent copied phrase P but search does
        not answer P confidently; normalised-deduplicated against every question
        of the bank; never added to two phrases;
      * what to write next: unanswered messages grouped, largest first, with
        examples and the nearest phrase;
      * usage per phrase: most/least used, never used (--since).
    --apply writes the new questions into the books (comments and order kept)
    and names the version bump kb review will require. Nothing else is written.
    Examples:
      kb learn                                   the usage log: report only
      kb learn --apply --format markdown > pr.md write, and the PR description
      kb learn agent1.jsonl agent2.jsonl         logs collected from agents
      kb learn today.txt --top 20                a day's buyer messages
      kb learn chats.csv --column 消息 --only 角色=买家 --label-column 话术
      kb learn --since 2026-10-01                never used since October
    """
    from .bank.load import load_bank
    from .learn.learn import apply_report, refuse_bundled
    from .learn.learn import learn as run_learn
    from .learn.report import format_report
    from .learn.sources import read_source, read_usage_log

    root = _bank_root(ctx)
    if do_apply:
        refuse_bundled(root)
    if since is not None:
        since = since.astimezone()
    read = [read_source(s, column=column, label_column=label_column, only=only) for s in sources] \
        or [read_usage_log()]
    bank, problems = load_bank(root)
    if bank is None or (do_apply and problems):
        shown = "\n".join(str(p) for p in problems[:20])
        raise KbError(f"{shown}\nkb: the bank has {len(problems)} problem(s): fix them first (kb validate)")
    report = run_learn(bank, read, since=since, top=top, problems=problems)
    if do_apply:
        apply_report(bank, report)
    from .view import term

    click.echo(term(format_report(report, fmt, top)))
    if do_apply and fmt == "text":
        click.echo(f"kb: wrote {len(report.new_questions)} question(s) to {len(report.written)} book(s)", err=True)


@cli.command("log", context_settings=CONTEXT)
@click.option("--clear", is_flag=True, help="Delete the usage log.")
@click.option("--path", "show_path", is_flag=True, help="Print where the log is and nothing else.")
@click.option("--tail", type=click.IntRange(1), help="Print the last N records.")
@click.pass_context
def log_(ctx: click.Context, clear: bool, show_path: bool, tail: int | None) -> None:
    """The local usage log: where it is, whether it is on, what it holds.

    \b
    Off by default. On with 'log: true' in bank.yaml, KB_LOG=1, or --log on
    kb search. Each record: time, bank name and book versions, the buyer's
    message with personal data masked, what search returned (ids, outcome)
    and, in kb ui, which phrase the agent copied. Feed it to kb learn.
    Examples:
      kb log                 status: path, on/off and why, records
      kb log --tail 5
      kb log --clear         delete it
    """
    from .learn import log as usage

    if show_path:
        click.echo(str(usage.log_path()))
        return
    if clear:
        n = usage.clear()
        click.echo(f"kb: removed the usage log {usage.log_path()} ({n} record(s))", err=True)
        return
    if tail:
        from .view import dumps

        for _, rec in usage.read_records()[-tail:]:
            click.echo(dumps(rec))
        return
    from .bank.files import find_bank

    try:
        root = find_bank(ctx.obj.get("bank"))
    except KbError:
        root = None
    s = usage.status(root)
    click.echo(f"usage log: {s['path']}")
    click.echo(f"  {s['reason']}" + (f" (bank {root})" if root else ""))
    if s["exists"]:
        click.echo(f"  {s['records']} record(s), {s['copies']} copy event(s), {s['bytes']} bytes, "
                   f"{s['first'] or '-'} → {s['last'] or '-'}")
    else:
        click.echo("  no records yet")


def main() -> None:
    from .view import setup_streams

    setup_streams()  # any stdout encoding (GBK, cp1252 …): escapes, never a crash or a lost line
    cli(prog_name="kb")
