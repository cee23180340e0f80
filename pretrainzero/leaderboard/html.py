"""Render the leaderboard as one self-contained static page, ``leaderboards/index.html``.

No network, no CDN: CSS and the table-sorting script are inline and every chart is an inline
SVG drawn here in Python, so the page works from a file:// URL or an offline mirror. Each table
gets exactly one chart (grouped horizontal bars, one colour per row); flagged cells (subset,
partial aggregate, suspect) are drawn faded with a dashed outline so a chart never shows them as
clean numbers. Output is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .aggregate import display_name
from .markdown import DEVIATION_MARK, FALLBACK_MARK, LOCAL_MARK, SUBSET_MARK, suspect_marks
from .reference import Reference
from .store import Record
from .table import Cell, Table

PALETTE = (
    "#4269d0",
    "#efb118",
    "#ff725c",
    "#6cc5b0",
    "#3ca951",
    "#ff8ab7",
    "#a463f2",
    "#97bbf5",
    "#9c6b4e",
    "#9498a0",
)

CSS = """
:root { color-scheme: light; --fg: #1d1f23; --muted: #5f6672; --line: #d9dce1; --head: #f3f4f6; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 2rem auto;
       max-width: 1180px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid var(--line); }
h3 { margin: 1.6rem 0 .4rem; font-size: 1.05rem; }
p.lead, p.meta, ul.notes { color: var(--muted); }
.wrap { overflow-x: auto; }
table.sortable { border-collapse: collapse; margin: .4rem 0; font-variant-numeric: tabular-nums; }
table.sortable th, table.sortable td { border: 1px solid var(--line); padding: .25rem .45rem;
                                       white-space: nowrap; }
table.sortable th { background: var(--head); cursor: pointer; user-select: none; position: relative;
                    padding-right: 1.2rem; font-size: .92em; }
table.sortable th::after { content: "\\2195"; position: absolute; right: .35rem; color: #a0a5ad;
                           font-size: .8em; }
table.sortable th[aria-sort="ascending"]::after { content: "\\25B2"; color: var(--fg); }
table.sortable th[aria-sort="descending"]::after { content: "\\25BC"; color: var(--fg); }
td.num { text-align: right; } td.missing { color: #b0b4ba; text-align: center; }
td.flag-partial, td.flag-subset, td.flag-deviates, td.flag-local { background: #fff8e1; } td.flag-fallback { background: #fdecea; } td.flag-suspect { background: #fdecea; }
td .se { color: var(--muted); font-size: .85em; } td .lbl { color: #8a6d00; font-size: .8em; }
svg.chart { display: block; margin: .6rem 0 1rem; max-width: 100%; height: auto; }
svg.chart text { font: 11px system-ui, sans-serif; fill: var(--fg); }
h3 a.proto { font-size: .8rem; font-weight: normal; margin-left: .4rem; }
code { background: var(--head); padding: 0 .25rem; border-radius: 3px; }
"""  # noqa: E501  (one long CSS line, kept byte-identical to the published leaderboards/index.html)

# Sort on click (or Enter): numeric cells carry data-value; empty cells always sort last.
SORT_JS = """
(function () {
  function key(row, i) {
    var c = row.cells[i];
    if (!c) return null;
    if (c.hasAttribute('data-value')) {
      var v = c.getAttribute('data-value');
      return v === '' ? null : parseFloat(v);
    }
    return c.textContent.trim().toLowerCase();
  }
  function sortBy(th) {
    var table = th.closest('table'), i = Array.prototype.indexOf.call(th.parentNode.children, th);
    var dir = th.getAttribute('aria-sort') === 'descending' ? 'ascending' : 'descending';
    if (th.cellIndex === 0 && !th.hasAttribute('aria-sort')) dir = 'ascending';
    table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir);
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, i), y = key(b, i);
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      var s = x < y ? -1 : (x > y ? 1 : 0);
      return dir === 'ascending' ? s : -s;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll('table.sortable th').forEach(function (th) {
    th.tabIndex = 0;
    th.addEventListener('click', function () { sortBy(th); });
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter') sortBy(th); });
  });
})();
"""


def _nice_max(value: float) -> float:
    for top in (1, 2, 5, 10, 20, 25, 50, 75, 100):
        if value <= top:
            return float(top)
    return float(value)


def _drawn(cell: Cell | None) -> bool:
    """Partial aggregates are never drawn as bars (a mean of some parts is not the aggregate)."""
    return cell is not None and cell.value is not None and "partial" not in cell.flags


def chart_svg(table: Table) -> str:
    """One grouped horizontal bar chart for ``table``: a group per column, a bar per row.

    Every row's full label is in the legend (one line each), a bar carries its ± one standard
    error as a whisker, a zero is drawn as a visible tick labelled 0.00, flagged cells are faded
    and dashed (the chart says so), and partial aggregates are not drawn.
    """
    label_w, plot_w, bar_h, bar_gap, group_gap, legend_h = 96, 700, 9, 2, 10, 16
    columns = [c for c in table.columns if any(_drawn(r.cells.get(c)) for r in table.rows)]
    n_rows = max(len(table.rows), 1)
    top = 8 + (len(table.rows) + 1) * legend_h + 6
    group_h = n_rows * (bar_h + bar_gap) - bar_gap
    height = top + len(columns) * (group_h + group_gap) + 18
    width = label_w + plot_w + 60
    values = [c.value + (c.stderr or 0.0) for r in table.rows for c in r.cells.values()
              if _drawn(c) and c.value is not None]  # (_drawn checks the value; mypy cannot see it)
    vmax = _nice_max(max(values, default=1.0))
    scale = plot_w / vmax
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(table.title)} bar chart">'
    ]
    for i, row in enumerate(table.rows):
        y = 8 + i * legend_h
        out.append(
            f'<rect x="10" y="{y}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="24" y="{y + 9}">{escape(row.label)}</text>'
        )
    y = 8 + len(table.rows) * legend_h
    out.append(
        f'<rect x="10" y="{y}" width="10" height="10" fill="#999" fill-opacity="0.4" stroke="#333" '
        f'stroke-dasharray="2,2" stroke-width="0.8"/><text x="24" y="{y + 9}">faded, dashed = flagged cell '
        "(subset, deviation, mostly fallback answers or local model; see the table); whisker = ± 1 standard "
        "error; partial aggregates are not drawn</text>"
    )
    axis_y = height - 14
    for k in range(5):
        gx = label_w + plot_w * k / 4
        out.append(
            f'<line x1="{gx:.1f}" y1="{top - 4}" x2="{gx:.1f}" y2="{axis_y}" stroke="#e4e6ea"/>'
            f'<text x="{gx:.1f}" y="{height - 3}" text-anchor="middle">{vmax * k / 4:g}</text>'
        )
    for j, col in enumerate(columns):
        gy = top + j * (group_h + group_gap)
        out.append(
            f'<text x="{label_w - 6}" y="{gy + group_h / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(display_name(col))}</text>"
        )
        for i, row in enumerate(table.rows):
            cell = row.cells.get(col)
            if not _drawn(cell):
                continue
            assert cell is not None and cell.value is not None
            by = gy + i * (bar_h + bar_gap)
            w = max(cell.value * scale, 2.0)  # a zero stays visible as a 2-px tick
            faded = bool(cell.flags)
            style = (
                ' fill-opacity="0.4" stroke="#333" stroke-dasharray="2,2" stroke-width="0.8"' if faded else ""
            )
            tip = f"{row.label} / {display_name(col)}: {cell.text}" + (f" ({cell.note})" if cell.note else "")
            out.append(
                f'<rect x="{label_w}" y="{by}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{PALETTE[i % len(PALETTE)]}"{style}><title>{escape(tip)}</title></rect>'
            )
            end = label_w + w
            if cell.stderr:
                lo = label_w + max(cell.value - cell.stderr, 0.0) * scale
                hi = label_w + (cell.value + cell.stderr) * scale
                mid = by + bar_h / 2
                out.append(
                    f'<path d="M{lo:.1f},{mid:.1f}H{hi:.1f}M{lo:.1f},{by + 1}V{by + bar_h - 1}'
                    f'M{hi:.1f},{by + 1}V{by + bar_h - 1}" stroke="#222" stroke-width="1" fill="none"/>'
                )
                end = max(end, hi)
            out.append(f'<text x="{end + 3:.1f}" y="{by + bar_h - 1}" font-size="9">{cell.text}</text>')
    out.append("</svg>")
    return "".join(out)


def _cell_html(cell: Cell | None, marks: dict[str, str]) -> str:
    if cell is None or cell.value is None:
        return '<td class="num missing" data-value="">–</td>'
    classes = ["num"] + [f"flag-{f}" for f in cell.flags]
    body = escape(cell.text)
    if cell.stderr is not None:
        body += f' <span class="se">± {cell.stderr:.2f}</span>'
    if "subset" in cell.flags:
        body += SUBSET_MARK
    if "deviates" in cell.flags:
        body += DEVIATION_MARK
    if "fallback" in cell.flags:
        body += FALLBACK_MARK
    if "local" in cell.flags:
        body += LOCAL_MARK
    if "suspect" in cell.flags:
        body += escape(marks.get(cell.note, "?"))
    if "partial" in cell.flags:
        body += f' <span class="lbl">{escape(cell.note)}</span>'
    if cell.miss_rate is not None or cell.truncation_rate is not None:
        def pct(x: float | None) -> str:
            return "?" if x is None else f"{100 * x:.0f}%"

        body += f' <span class="se">miss {pct(cell.miss_rate)} · trunc {pct(cell.truncation_rate)}</span>'
    title = f' title="{escape(cell.note)}"' if cell.note else ""
    rid = f' data-record="{escape(cell.record_id)}"' if cell.record_id else ""
    return f'<td class="{" ".join(classes)}" data-value="{cell.value:.6f}"{title}{rid}>{body}</td>'


def table_html(table: Table, first_header: str = "Model", marks: dict[str, str] | None = None) -> str:
    marks = marks or {}
    head = "".join(
        f'<th scope="col">{escape(h)}</th>' for h in [first_header] + [display_name(c) for c in table.columns]
    )
    rows = "".join(
        "<tr>"
        + f"<td>{escape(r.label)}</td>"
        + "".join(_cell_html(r.cells.get(c), marks) for c in table.columns)
        + "</tr>"
        for r in table.rows
    )
    out = (
        f'<div class="wrap"><table class="sortable" id="{escape(table.id)}" '
        f'data-protocol="{escape(table.protocol)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
    )
    out += chart_svg(table)
    if table.notes:
        out += '<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in table.notes) + "</ul>"
    return out


def render_html(
    measured: Sequence[Table],
    references: Sequence[tuple[Reference, Sequence[Table]]],
    records: Sequence[Record],
    protocols_present: Sequence[str] = (),
) -> str:
    """The whole page: measured tables per protocol, then each reference's tables, each with a chart."""

    def protocol_link(pid: str) -> str:
        if pid not in protocols_present:
            return ""
        return f' <a class="proto" href="protocols/{escape(pid)}.yaml">protocol file</a>'

    body = [
        "<h1>PretrainZero leaderboards</h1>",
        '<p class="lead">Generated by <code>pretrainzero leaderboard render</code> from '
        "<code>results/</code> and <code>reference/</code>. Accuracy in percent; ± is one standard error. "
        "One table per protocol id and "
        f"version: a number never crosses protocols. {SUBSET_MARK} = computed on a subset of the benchmark; "
        f"{FALLBACK_MARK} = most answers were not extracted (the score measures the miss policy, not accuracy); "
        f"{LOCAL_MARK} = model only on its submitter's machine; miss / trunc = share of answers not extracted / "
        "cut off by the token budget; "
        f"{DEVIATION_MARK} = run with a recorded deviation from the protocol (see the notes); "
        "<em>partial k/n</em> = aggregate missing components. Click a column header to sort.</p>",
        "<h2>Measured results</h2>",
    ]
    if not measured:
        body.append("<p>No results yet.</p>")
    for table in measured:
        body.append(f"<h3>{escape(table.title)}{protocol_link(table.protocol.split()[0])}</h3>")
        body.append(table_html(table))
    if records:
        body.append(
            f'<p class="meta">{len(records)} record(s). Rerun one with '
            "<code>pretrainzero leaderboard reproduce ROW_ID</code>; row ids: "
            + ", ".join(f"<code>{escape(r.id)}</code>" for r in records)
            + ".</p>"
        )
    for ref, tables in references:
        marks = suspect_marks(list(ref.suspect_reasons))
        body.append(f"<h2>Published reference: {escape(ref.source_id)}</h2>")
        body.append(
            f'<p class="meta">{escape(ref.citation)} <a href="{escape(ref.url)}">{escape(ref.url)}</a></p>'
        )
        body.append(
            f'<p class="meta">Protocol claimed: <code>{escape(ref.protocol_id)}</code> '
            f"({escape(ref.protocol_status)}){protocol_link(ref.protocol_id)}. "
            f"{escape(ref.protocol_note)}</p>"
        )
        body.append(
            '<ul class="notes">'
            + "".join(
                f"<li>{escape(marks[k])} <code>{escape(k)}</code>: {escape(v)}</li>"
                for k, v in ref.suspect_reasons.items()
            )
            + "</ul>"
        )
        for table in tables:
            body.append(f"<h3>{escape(table.title)}</h3>")
            body.append(table_html(table, first_header="Method", marks=marks))
        if ref.errata:
            body.append(
                "<p>Errata found in the paper:</p><ol>"
                + "".join(f"<li>{escape(e)}</li>" for e in ref.errata)
                + "</ol>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>PretrainZero leaderboards</title>"
        f"<style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + f"\n<script>{SORT_JS}</script>\n</body></html>\n"
    )
