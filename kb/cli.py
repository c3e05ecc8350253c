"""The kb command line: thin click commands that parse, call one library function and
map errors to a message and an exit code (0 ok, 1 problems found, 2 usage)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .model import KbError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class KbGroup(click.Group):
    def invoke(self, ctx: click.Context):  # map KbError to message + exit code, never a traceback
        try:
            return super().invoke(ctx)
        except KbError as e:
            click.echo(f"kb: {e.message}" if not e.message.startswith(("kb:", "\n")) and "\n" not in e.message
                       else e.message, err=True)
            ctx.exit(e.exit_code)
        except BrokenPipeError:
            sys.stderr.close()
            ctx.exit(0)


def _bank_root(ctx: click.Context) -> Path:
    from .load import find_bank

    return find_bank(ctx.obj.get("bank"))


def _echo_problems(problems, fmt: str = "text") -> None:
    if fmt == "json":
        click.echo(json.dumps([p.__dict__ for p in problems], ensure_ascii=False, indent=2))
        return
    for p in problems:
        click.echo(str(p))


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
    from .load import load_bank

    bank, problems = load_bank(_bank_root(ctx))
    _echo_problems(problems, fmt)
    if problems:
        if fmt == "text":
            click.echo(f"{len(problems)} problem(s)", err=True)
        ctx.exit(1)
    if fmt == "text":
        n = len(bank.phrases()) if bank else 0
        click.echo(f"ok: {len(bank.books) if bank else 0} books, {n} phrases", err=True)


@cli.command("list", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="One JSON array of every phrase.")
@click.option("--book", help="Only this book.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool, book: str | None) -> None:
    """List the phrases of the bank.

    \b
    Examples:
      kb list
      kb list --json --book shipping
    """
    from .load import open_bank
    from .view import phrase_records

    bank, _ = open_bank(_bank_root(ctx))
    records = phrase_records(bank, book)
    if as_json:
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    for r in records:
        click.echo(f"{r['id']:<40} {r['shortcut'] or '-':<8} {r['title']}")


@cli.command(context_settings=CONTEXT)
@click.argument("phrase_id")
@click.option("--campaign", help="Overlay this campaign's variables (e.g. 618, double11).")
@click.pass_context
def show(ctx: click.Context, phrase_id: str, campaign: str | None) -> None:
    """Show one phrase with its reply rendered (a flow step by step).

    \b
    Example:  kb show shipping.when_ship --campaign double11
    """
    from .load import open_bank
    from .view import show_phrase

    bank, _ = open_bank(_bank_root(ctx))
    click.echo(show_phrase(bank, phrase_id, campaign))


@cli.command(context_settings=CONTEXT)
@click.pass_context
def ui(ctx: click.Context) -> None:
    """Interactive search: type, see the answer, copy it."""
    raise KbError("interactive search is not built yet: use kb search", exit_code=2)


def main() -> None:
    cli(prog_name="kb")
