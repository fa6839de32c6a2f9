"""The inline SVG charts: bars and columns of any labels, every label escaped."""

from __future__ import annotations

from smsbridge.report.charts import OUTCOME_COLOURS, bars, columns


def test_stacked_bars_with_a_legend_and_escaped_labels() -> None:
    chart = bars(
        [("<portal> & co", [3, 1, 0, 1]), ("card", [1, 0, 0, 0])],
        OUTCOME_COLOURS,
        "Outcomes",
    )

    assert chart.startswith('<div class="legend">') and chart.count("<svg") == 1
    assert "&lt;portal&gt; &amp; co" in chart and "<portal>" not in chart
    assert chart.count("<rect") == 4  # a part only for a count that is not 0
    assert "<title>delivered: 3</title>" in chart and ">5</text>" in chart  # the total
    assert 'aria-label="Outcomes"' in chart


def test_columns_one_series_without_a_legend_many_days_thinned_labels() -> None:
    histogram = columns([("0–5 s", [2]), ("5–10 s", [0])], [("delivered", "#1565c0")], "Time")
    assert not histogram.startswith("<div") and histogram.count("<rect") == 1
    assert "<title>0–5 s: 2</title>" in histogram

    days = [(f"d{n}", [n, 1, 0, 0]) for n in range(92)]
    chart = columns(days, OUTCOME_COLOURS, "By day", lambda n: f"#{n}", width=920)

    assert chart.startswith('<div class="legend">')
    assert 'width="920"' in chart and "<title>d3, delivered: #3</title>" in chart
    labelled = [n for n in range(92) if f">d{n}</text>" in chart]
    assert labelled == list(range(0, 92, 6))  # 10 px a day: one label in 60 px
