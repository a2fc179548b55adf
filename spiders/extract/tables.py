"""Tables as GFM: spans expanded into the grid, layout tables unrolled, div grids (Javadoc)."""
from __future__ import annotations

import re


def _gfm(grid: list[list[str]]) -> str:
    width = max(len(r) for r in grid)
    while width > 1 and not any(len(r) >= width and r[width - 1] for r in grid):
        width -= 1  # a column empty in every row (a spacer) says nothing
    grid = [r[:width] for r in grid]
    lines = []
    for i, r in enumerate(grid):
        r = r + [""] * (width - len(r))
        lines.append("| " + " | ".join(r) + " |")
        if i == 0:
            lines.append("|" + "|".join(["---"] * width) + "|")
    return "\n".join(lines)


def _signature(rows: list) -> str | None:
    """A function's signature laid out as a table, a cell per part (Doxygen's: "int f", "(",
    "int", "x", ")"): its cells' text, a line per row, as code; None for any other table."""
    lines, cells = [], []
    for tr in rows:
        texts = [" ".join("".join(c.itertext()).split()) for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
        cells.extend(texts)
        lines.append(" ".join(t for t in texts if t))
    if "(" not in cells or ")" not in cells or len(rows) > 30 or any(len(t.split()) > 8 for t in cells):
        return None
    return "\n".join(line for line in lines if line)


def _is_heading_row(tr) -> bool:
    """A row holding only a heading (in one cell, the others empty)."""
    cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th") and "".join(c.itertext()).strip()]
    return len(cells) == 1 and cells[0].xpath("boolean(./h1 | ./h2 | ./h3 | ./h4 | ./h5 | ./h6)") \
        and "".join(cells[0].itertext()).split() == "".join(
            "".join(h.itertext()) for h in cells[0].xpath("./h1 | ./h2 | ./h3 | ./h4 | ./h5 | ./h6")).split()


_BLOCK_IN_CELL = "boolean(.//p | .//div | .//ul | .//ol | .//dl | .//pre | .//table | .//blockquote | .//img | .//br)"


def _one_line_of_data(tr) -> bool:
    """A table of one row is most often layout (columns of a page, a navigation bar); it is
    data when it reads as one: short inline cells, two or more of them (a function's
    parameter, a signature cut into cells)."""
    cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
    texts = [" ".join("".join(c.itertext()).split()) for c in cells]
    return sum(1 for t in texts if t) >= 2 and sum(len(t.split()) for t in texts) <= 60 \
        and not any(c.xpath(_BLOCK_IN_CELL) for c in cells)


GRID_CLASS = re.compile(r"\b(two|three|four|five)-column-summary\b")
GRID_WIDTH = {"two": 2, "three": 3, "four": 4, "five": 5}


class TableRenderer:
    """Mixin for MarkdownConverter: needs `blocks(el)` and `inline_text(el)`."""

    def table_block(self, table) -> list[str]:
        rows = []
        caption = None
        for part in table:
            if not isinstance(part.tag, str):
                continue
            if part.tag == "caption":
                # a caption of links that run scripts is a bar of tabs (Javadoc's "All Methods |
                # Instance Methods"), controls for the table, not its title
                if not part.xpath(".//a[starts-with(normalize-space(@href), 'javascript:')]"):
                    caption = self.inline_text(part)
            elif part.tag == "tr":
                rows.append(part)
            elif part.tag in ("thead", "tbody", "tfoot"):
                rows.extend(r for r in part if r.tag == "tr")
        if not rows:
            return []
        out = [caption] if caption else []
        if signature := _signature(rows):
            return out + [f"```\n{signature}\n```"]
        if any(map(_is_heading_row, rows)) and not table.xpath("boolean(.//pre | .//table)"):
            # a table divided by headings in rows of their own (Doxygen's member lists:
            # "Functions", "Macros"): each heading, then its rows as a table of their own
            group: list = []
            for tr in [*rows, None]:
                if tr is not None and not _is_heading_row(tr):
                    group.append(tr)
                    continue
                if group:
                    out.extend(self._rows_block(table, group))
                group = []
                if tr is not None:
                    out.extend(b for cell in tr if isinstance(cell.tag, str) for b in self.blocks(cell) if b)
            return out
        return out + self._rows_block(table, rows)

    def _rows_block(self, table, rows: list) -> list[str]:
        complex_ = (len(rows) == 1 and not _one_line_of_data(rows[0]) or table.get("role") == "presentation"
                    or any(tr.xpath("boolean(.//pre | .//table | .//h1 | .//h2 | .//h3 | .//h4 | .//h5 | .//h6)")
                           for tr in rows))
        if complex_:  # a layout table: its cells, one after the other
            out = []
            for tr in rows:
                for cell in tr:
                    if isinstance(cell.tag, str) and cell.tag in ("td", "th"):
                        out.extend(b for b in self.blocks(cell) if b)
            return out
        grid: list[list[str]] = []
        carry: dict[int, tuple[int, str]] = {}  # column -> (rows left, text) for rowspan
        for tr in rows:
            row: list[str] = []
            cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
            ci = 0
            col = 0
            while ci < len(cells) or col in carry:
                if col in carry:
                    left, text = carry[col]
                    row.append(text)
                    if left <= 1:
                        del carry[col]
                    else:
                        carry[col] = (left - 1, text)
                    col += 1
                    continue
                cell = cells[ci]
                ci += 1
                text = self.cell_text(cell)
                try:
                    span = max(1, min(int(cell.get("colspan") or 1), 50))
                    rspan = max(1, min(int(cell.get("rowspan") or 1), 500))
                except ValueError:
                    span, rspan = 1, 1
                for k in range(span):
                    row.append(text if k == 0 else "")
                    if rspan > 1:
                        carry[col] = (rspan - 1, text)
                    col += 1
            if any(c for c in row):
                grid.append(row)
        return [_gfm(grid)] if grid else []

    def cell_text(self, cell) -> str:
        text = " ".join(b.replace("\n", " ") for b in self.blocks(cell) if b)
        return text.replace("|", "\\|").strip()

    def div_grid(self, el, width: int) -> list[str]:
        """A table laid out with divs (Javadoc 17 member summaries): `width` cells per row."""
        cells = [self.cell_text(c) for c in el if isinstance(c.tag, str)]
        grid = [cells[i:i + width] for i in range(0, len(cells), width)]
        grid = [r for r in grid if any(r)]
        return [_gfm(grid)] if grid else []
