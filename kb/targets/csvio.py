"""CSV machinery shared by CSV targets: encodings (detect on read, refuse or drop unencodable
characters on write), RFC 4180 writing, and reading that reports every malformation with its line."""

from __future__ import annotations

import csv
import io

from ..errors import KbError


def encodable(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def encode_rows(header: tuple[str, ...], rows: list[tuple[str, list[str]]], encoding: str, line_terminator: str,
                replace_unencodable: bool = False) -> tuple[bytes, list[str]]:
    """The file's bytes and a note per removed character. rows are (label naming the phrase, fields)."""
    notes, problems = [], []
    clean = []
    for label, values in rows:
        fields = []
        for value in values:
            bad = [ch for ch in dict.fromkeys(value) if not encodable(ch, encoding)]
            if bad and replace_unencodable:
                for ch in bad:
                    notes.append(f"{label}: removed {ch!r} (U+{ord(ch):04X}), not encodable in {encoding}")
                    value = value.replace(ch, "")
            elif bad:
                chars = " ".join(f"{ch!r} U+{ord(ch):04X}" for ch in bad)
                problems.append(f"{label}: {chars} cannot be encoded in {encoding}")
            fields.append(value)
        clean.append(fields)
    if problems:
        raise KbError("export refused:\n  " + "\n  ".join(problems)
                      + "\n(use --encoding utf-8-sig, or --replace-unencodable to drop those characters)")
    buf = io.StringIO(newline="")
    w = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator=line_terminator)
    w.writerow(header)
    w.writerows(clean)
    return buf.getvalue().encode(encoding), notes


def detect_encoding(data: bytes) -> tuple[str, str]:
    """(text, encoding name). Raises KbError naming the row of the first undecodable byte."""
    if b"\x00" in data:
        row = data[: data.index(b"\x00")].count(b"\n") + 1
        raise KbError(f"line {row}: the file contains NUL bytes: not a text CSV (an .xlsx? save it as CSV)")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8 with BOM"
        except UnicodeDecodeError as e:
            row = data[: e.start + 3].count(b"\n") + 1
            raise KbError(f"line {row}: invalid UTF-8 after a UTF-8 BOM") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    utf8_lines = [i for i, ln in enumerate(data.split(b"\n"), 1) if not ln.isascii() and _is_utf8(ln)]
    if utf8_lines:
        raise KbError(f"mixed encodings: line(s) {', '.join(map(str, utf8_lines[:10]))} are UTF-8 but others "
                      "are not; re-save the whole file in one encoding")
    try:
        return data.decode("gbk"), "gbk"
    except UnicodeDecodeError as e:
        row = data[: e.start].count(b"\n") + 1
        raise KbError(f"line {row}: byte 0x{data[e.start]:02x} is neither UTF-8 nor GBK") from None


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def unterminated_quote(text: str) -> int | None:
    """The line on which a quoted field opens and never closes (RFC 4180, as csv reads it), else None.

    Python's csv reader silently swallows the rest of the file into that field."""
    line, opened = 1, 0
    in_quote = False
    at_field_start = True
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if in_quote:
            if ch == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 2
                    continue
                in_quote = False
            elif ch == "\n":
                line += 1
            i += 1
            continue
        if ch == '"' and at_field_start:
            in_quote, opened = True, line
            at_field_start = False
        elif ch == ",":
            at_field_start = True
        elif ch in "\r\n":
            if ch == "\n":
                line += 1
            at_field_start = True
        else:
            at_field_start = False
        i += 1
    return opened if in_quote else None


def read_records(text: str) -> list[tuple[int, list[str]]]:
    """(first line of the record, fields) for every CSV record. Raises KbError with the line."""
    opened = unterminated_quote(text)
    if opened is not None:
        raise KbError(f"line {opened}: a quoted field opens here and is never closed (unterminated \"): "
                      "the rest of the file would become one phrase; close the quote or remove it")
    reader = csv.reader(io.StringIO(text, newline=""))
    records = []
    prev = 0
    try:
        for rec in reader:
            records.append((prev + 1, rec))
            prev = reader.line_num
    except csv.Error as e:
        raise KbError(f"line {reader.line_num}: malformed CSV: {e}") from None
    return records
