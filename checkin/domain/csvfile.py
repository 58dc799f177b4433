"""Decoding uploaded CSV files: strict UTF-8, one header row, known columns, a row limit.

Row numbers are the row a spreadsheet shows: the header is row 1, the first data row is 2,
and blank lines count (they are skipped, never reported).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from checkin.domain.errors import Invalid

MAX_ROWS = 50_000
UTF8_BOM = b"\xef\xbb\xbf"


class CsvFileError(Invalid):
    """A whole-file rejection with a stable code; nothing in the file is used."""

    def __init__(
        self, code: str, message: str, *, line: int | None = None, column: str | None = None
    ) -> None:
        super().__init__(code, message, field=column, line=line)
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One invalid cell or row; `row` is the spreadsheet row number (header = 1)."""

    row: int
    column: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class CsvTable:
    """Data rows keyed by canonical column name, with the spreadsheet row number of each."""

    header: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)


def decode_text(data: bytes) -> str:
    """UTF-8 with or without a byte-order mark; anything else is rejected with where it breaks."""
    skip = len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        line = data[:offset].count(b"\n") + 1
        raise CsvFileError(
            "csv_encoding",
            f"The file is not UTF-8: byte 0x{data[offset]:02x} at byte offset {offset} (line {line}) "
            "cannot be read. Save it as 'CSV UTF-8' and upload it again.",
            line=line,
        ) from None


def read_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Every CSV record with its 1-based row number, blank records included as empty lists."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            yield number, record
    except csv.Error as exc:
        raise CsvFileError(
            "csv_malformed", f"Row {number + 1} is not valid CSV ({exc}).", line=reader.line_num
        ) from None


def header_key(name: str) -> str:
    """How header cells are compared: case-insensitive, surrounding spaces ignored."""
    return name.strip().casefold()


def is_blank(record: list[str]) -> bool:
    return all(not cell.strip() for cell in record)


def decode_csv(
    data: bytes,
    *,
    required: Collection[str] = (),
    known: Collection[str] | None = None,
    max_rows: int = MAX_ROWS,
) -> CsvTable:
    """Decode a CSV upload into rows keyed by header name.

    `known` (when given) is the full set of allowed columns; any other header is rejected, as
    are duplicates and missing `required` columns. Trailing empty header cells (spreadsheets
    add them) are dropped; cells under them must be empty. Short rows are padded with "".
    """
    records = read_records(decode_text(data))
    header_number, header = _first_non_blank(records)
    if header is None:
        raise CsvFileError("csv_no_header", "The file is empty: the first row must name the columns.", line=1)
    names = _check_header(header, header_number, required, known)
    table = CsvTable(header=names)
    for number, record in records:
        if is_blank(record):
            continue
        if len(table.rows) >= max_rows:
            raise CsvFileError(
                "csv_too_many_rows", f"The file has more than {max_rows} data rows; split it.", line=number
            )
        extra = record[len(names):]
        if any(cell.strip() for cell in extra):
            raise CsvFileError(
                "csv_extra_cells",
                f"Row {number} has {len(record)} cells but the header names only {len(names)} columns.",
                line=number,
            )
        cells = record[: len(names)] + [""] * (len(names) - len(record))
        table.rows.append(dict(zip(names, cells, strict=True)))
        table.row_numbers.append(number)
    return table


def _first_non_blank(records: Iterator[tuple[int, list[str]]]) -> tuple[int, list[str] | None]:
    for number, record in records:
        if not is_blank(record):
            return number, record
    return 1, None


def _check_header(
    header: list[str], line: int, required: Collection[str], known: Collection[str] | None
) -> list[str]:
    cells = list(header)
    while cells and not cells[-1].strip():
        cells.pop()
    canonical = {header_key(name): name for name in (known if known is not None else ())}
    canonical.update({header_key(name): name for name in required})
    names: list[str] = []
    for position, cell in enumerate(cells, start=1):
        key = header_key(cell)
        if not key:
            raise CsvFileError(
                "csv_unknown_column", f"Column {position} of the header has no name.", line=line, column=""
            )
        if known is not None and key not in canonical:
            allowed = ", ".join(sorted(canonical.values()))
            raise CsvFileError(
                "csv_unknown_column",
                f"Unknown column '{cell.strip()}'. Allowed columns: {allowed}.",
                line=line,
                column=cell.strip(),
            )
        name = canonical.get(key, key)
        if name in names:
            raise CsvFileError(
                "csv_duplicate_column", f"Column '{name}' appears more than once.", line=line, column=name
            )
        names.append(name)
    missing = [name for name in required if name not in names]
    if missing:
        raise CsvFileError(
            "csv_missing_column",
            f"Required column{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}.",
            line=line,
            column=missing[0],
        )
    return names
