"""README.md / index.html rendering. Run: pytest tests/test_leaderboard_render.py

The Chromium test runs only where a `chromium` binary is on PATH (`apt-get install chromium`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pretrainzero.leaderboard.aggregate import math_avg, overall_avg
from pretrainzero.leaderboard.render import RenderError, build, build_from, render
from pretrainzero.leaderboard.store import Record, load_records
from pretrainzero.leaderboard.table import protocol_tables
from pretrainzero.record import row_id

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "leaderboard"


def make_record(
    model: str,
    benchmark: str,
    protocol: str = "pz-0shot-boxed",
    score: float = 0.25,
    n_total: int = 100,
    n_evaluated: int | None = None,
) -> dict:
    rec = json.loads((FIXTURES / "record.json").read_text())
    rec["model"]["name"] = model
    rec["benchmark"], rec["protocol"]["id"] = benchmark, protocol
    rec["config"].update(model=model, benchmarks=[benchmark], protocol=protocol)
    rec["id"] = row_id(model, benchmark, protocol)
    rec["metrics"]["score"] = score
    n_evaluated = n_evaluated or n_total
    rec["dataset"].update(n_total=n_total, n_evaluated=n_evaluated)
    rec["subset"] = (
        None
        if n_evaluated == n_total
        else {"limit": n_evaluated, "label": f"first {n_evaluated} of {n_total}"}
    )
    return rec


def make_root(tmp_path: Path, records: list[dict], with_reference: bool = True) -> Path:
    root = tmp_path / "leaderboards"
    (root / "results").mkdir(parents=True)
    for rec in records:
        (root / "results" / f"{rec['id']}.json").write_text(json.dumps(rec))
    if with_reference:
        shutil.copytree(ROOT / "leaderboards" / "reference", root / "reference")
    return root


MODELS = ["model-a", "model-b", "model-c"]
BENCHES = ["gsm8k", "math500", "mmlu_pro", "aime25"]


@pytest.fixture
def many(tmp_path):
    recs = [
        make_record(m, b, score=(i * 7 % 100) / 100)
        for i, (m, b) in enumerate((m, b) for m in MODELS for b in BENCHES)
    ]
    recs.append(make_record("model-a", "gsm8k", protocol="lmeval-5shot", score=0.9))
    return make_root(tmp_path, recs)


def test_render_never_drops_a_record(many):
    out = render(many)
    records = load_records(many / "results")
    assert out.n_records == out.n_cells == len(records) == 13
    html = (many / "index.html").read_text()
    md = (many / "README.md").read_text()
    for rec in records:
        assert html.count(f'data-record="{rec.id}"') == 1
        assert f"`{rec.id}`" in md
        assert f"{100 * rec.score:.2f}" in md


def test_build_refuses_when_cells_do_not_account_for_records(many):
    records = load_records(many / "results")
    duplicated = records + [Record(records[0].path, records[0].record)]
    with pytest.raises((RenderError, ValueError)):
        build(duplicated, [])


def test_protocols_are_separate_tables_never_mixed(many):
    tables = protocol_tables(load_records(many / "results"))
    assert [t.protocol for t in tables] == ["lmeval-5shot v1", "pz-0shot-boxed v1"]
    lm, pz = tables
    assert [r.label for r in lm.rows] == ["model-a"] and lm.columns == ("gsm8k", "math_avg", "overall_avg")
    assert len(pz.rows) == 3
    # model-a's GSM8K is 0.0 under pz-0shot-boxed and 0.9 under lmeval-5shot: each only in its own table.
    assert pz.rows[0].cells["gsm8k"].value == 0.0 and lm.rows[0].cells["gsm8k"].value == 90.0
    for table in tables:
        pid = table.protocol.split()[0]
        for row in table.rows:
            for cell in row.cells.values():
                assert cell.record_id is None or cell.record_id.endswith(f"__{pid}")
    md = (render(many), (many / "README.md").read_text())[1]
    assert md.count("### Protocol lmeval-5shot v1") == 1 and md.count("### Protocol pz-0shot-boxed v1") == 1


def test_partial_aggregates_and_subsets_are_labelled(tmp_path):
    recs = [
        make_record("m", "gsm8k", score=0.5, n_total=1319, n_evaluated=100),
        make_record("m", "mmlu_pro", score=0.3),
        make_record("m", "math500", score=0.5),
    ]
    root = make_root(tmp_path, recs, with_reference=False)
    render(root)
    full, sub = protocol_tables(load_records(root / "results"))
    # A subset never sits next to full-benchmark numbers, and gets no aggregate.
    assert full.title.endswith("full benchmarks") and sub.title.endswith("subset: first 100 of 1319")
    assert "gsm8k" not in full.columns and sub.columns == ("gsm8k",)
    [row] = sub.rows
    assert row.label == "m (subset)"
    assert "subset" in row.cells["gsm8k"].flags and "first 100 of 1319" in row.cells["gsm8k"].note
    [row] = full.rows
    m, o = row.cells["math_avg"], row.cells["overall_avg"]
    assert m.value == 50.0 and "partial" in m.flags and m.note == "partial 1/6"
    assert o.value == pytest.approx(40.0) and "partial" in o.flags and "math 1/6, general 1/3" in o.note
    md = (root / "README.md").read_text()
    assert "50.00 (partial 1/6)" in md and "m / GSM8K: subset: first 100 of 1319" in md
    # Partial aggregates are not drawn as bars; every score shows miss and truncation rates.
    html = (root / "index.html").read_text()
    assert "Math AVG: 50.00" not in html and "partial aggregates are not drawn" in html
    assert md.count("<sub>miss ") == 3


def test_markdown_escapes_model_names_like_html(tmp_path):
    evil = "Evil | Model\n# Heading <img src=x onerror=alert(1)> `code` *bold* [link](http://x)"
    root = make_root(tmp_path, [make_record(evil, "gsm8k", score=0.5)], with_reference=False)
    render(root)
    md = (root / "README.md").read_text()
    assert "\n# Heading" not in md and "<img" not in md and "&lt;img" in md
    assert "Evil \\| Model # Heading" not in md and "Evil \\| Model \\# Heading" in md
    assert "\\`code\\`" in md and "\\*bold\\*" in md and "\\[link\\]" in md
    row = [line for line in md.splitlines() if line.startswith("| Evil")]
    assert len(row) == 1 and row[0].count(" | ") == 3  # model, GSM8K, Math AVG, Overall AVG: no injected cell


def test_bbeh_shows_both_averages_labelled(tmp_path):
    from pretrainzero.eval.benchmarks import bbeh

    rec = make_record("model-a", "bbeh", score=0.5, n_total=4520)
    rec["per_category"] = {"boolean_expressions": {"score": 1.0, "n": 2}, "word_sorting": {"score": 0.0, "n": 2}}
    rec["metrics"]["harmonic_mean"] = bbeh.harmonic_mean({"boolean_expressions": 1.0, "word_sorting": 0.0})
    root = make_root(tmp_path, [rec], with_reference=False)
    render(root)
    md = (root / "README.md").read_text()
    assert "| model-a | 50.00 ± " in md  # the cell: the micro average
    assert "BBEH micro average over items shown" in md
    assert "adjusted harmonic mean over its tasks: 1.98" in md  # 2 / (1/101 + 1/1) percent


def test_mostly_fallback_and_local_rows_are_flagged(tmp_path):
    guess = make_record("guesser", "gsm8k", score=0.23)
    guess["metrics"]["miss_rate"] = 1.0
    local = make_record("local", "gsm8k", score=0.1)
    local["model"]["local_only"] = True
    local["model"]["source"] = "/tmp/somewhere/step-17"
    root = make_root(tmp_path, [guess, local], with_reference=False)
    render(root)
    [table] = protocol_tables(load_records(root / "results"))
    rows = {r.label: r for r in table.rows}
    assert "fallback" in rows["guesser (fallback)"].cells["gsm8k"].flags
    assert "local" in rows["local (local)"].cells["gsm8k"].flags
    md = (root / "README.md").read_text()
    assert "23.00 ± " in md and "ᶠ <sub>miss 100%" in md and "ˡ <sub>miss" in md
    assert "not accuracy" in md and "not reproducible" in md


def test_complete_aggregate_is_not_labelled_partial():
    scores = {
        "math500": 73.30,
        "olympiadbench": 37.30,
        "minerva": 22.10,
        "gsm8k": 86.30,
        "amc23": 36.17,
        "aime24": 0.00,
        "supergpqa": 26.32,
        "bbeh": 8.67,
        "mmlu_pro": 51.94,
    }
    m = math_avg(scores)
    o = overall_avg(scores)
    assert (m.partial, o.partial, m.label) == (False, False, "")
    assert round(o.value, 2) == 32.36
    assert overall_avg({k: v for k, v in scores.items() if k != "bbeh"}).partial


def test_html_is_self_contained_sortable_with_one_chart_per_table(many):
    render(many)
    html = (many / "index.html").read_text()
    n_tables = html.count('<table class="sortable"')
    assert n_tables == 2 + 5  # two protocols + the paper's four RLPT models and one RLVR table
    assert html.count('<svg class="chart"') == n_tables
    assert "addEventListener('click'" in html and "aria-sort" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html.replace('href="https://arxiv.org', "")), (
        "no external resources"
    )
    assert "<link" not in html and "<script src" not in html
    assert "claimed, unverified" in html


def test_reference_section_is_apart_and_flags_suspects(many):
    render(many)
    md = (many / "README.md").read_text()
    measured, reference = md.split("## Published reference", 1)
    assert "60.37" not in measured and "| PretrainZero | 60.37 |" in reference
    assert "13.30†" in reference and "22.10‡" in reference


def test_render_is_deterministic(many):
    a = render(many)
    b = render(many)
    assert a.markdown == b.markdown and a.html == b.html


def test_committed_leaderboard_renders_and_is_up_to_date():
    out = build_from(ROOT / "leaderboards")
    root = ROOT / "leaderboards"
    assert (root / "README.md").read_text() == out.markdown, "run `pretrainzero leaderboard render`"
    assert (root / "index.html").read_text() == out.html, "run `pretrainzero leaderboard render`"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH")
def test_html_renders_and_sorts_in_headless_chromium(many, tmp_path):
    render(many)
    html = (many / "index.html").read_text()
    # Click the GSM8K header of the pz table twice (descending then ascending) after the page script ran.
    probe = (
        "<script>var t=document.getElementById('protocol-pz-0shot-boxed-v1');"
        "var th=t.tHead.rows[0].cells[1];th.click();th.click();</script></body>"
    )
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", probe))
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
    ).stdout
    assert dom.count("<svg") == html.count("<svg") and "PretrainZero leaderboards" in dom
    table = dom.split('id="protocol-pz-0shot-boxed-v1"', 1)[1].split("</table>", 1)[0]
    assert 'aria-sort="ascending"' in table
    values = [float(v) for v in re.findall(r'data-value="([0-9.]+)"[^>]*data-record="[^"]*__gsm8k__', table)]
    assert len(values) == 3 and values == sorted(values)


def test_protocol_deviations_are_marked_in_cells_rows_and_notes(tmp_path):
    dev = make_record("m", "gsm8k", score=0.5)
    dev["config"]["protocol_deviations"] = ["max_new_tokens=256 (protocol: 8192)"]
    recs = [dev, make_record("other", "gsm8k", score=0.4)]
    root = make_root(tmp_path, recs, with_reference=False)
    render(root)
    [table] = protocol_tables(load_records(root / "results"))
    rows = {r.label: r for r in table.rows}
    assert set(rows) == {"m (deviates)", "other"}
    assert "deviates" in rows["m (deviates)"].cells["gsm8k"].flags
    assert "deviates" not in rows["other"].cells["gsm8k"].flags
    md = (root / "README.md").read_text()
    assert re.search(r"50\.00( ± [0-9.]+)?ᵈ", md) and "m / GSM8K: deviates: max_new_tokens=256 (protocol: 8192)" in md
    assert not re.search(r"40\.00( ± [0-9.]+)?ᵈ", md)
    assert "flag-deviates" in (root / "index.html").read_text()
