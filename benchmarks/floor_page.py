"""A page's floor for `bench_pages.py`: the same elements the page drew, built beforehand and
drawn again with no data work, so what is left is Streamlit's own cost of showing them.

Run by the benchmark (`streamlit run benchmarks/floor_page.py`, or AppTest) with
`KANON_BENCH_FLOOR` naming the pickle of captured elements and `?page=NAME` choosing a page.
"""

from __future__ import annotations

import os
import pickle

import plotly.graph_objects as go
import streamlit as st

CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


@st.cache_resource
def captured(path: str) -> dict[str, list[tuple[str, object]]]:
    """Every page's elements, charts as ready Plotly figures, loaded once per process."""
    with open(path, "rb") as file:
        pages = pickle.load(file)
    return {
        name: [
            (kind, go.Figure(value) if kind == "plotly_chart" else value) for kind, value in page
        ]
        for name, page in pages.items()
    }


st.set_page_config(page_title="Kanon floor", layout="wide")
elements = captured(os.environ["KANON_BENCH_FLOOR"])[st.query_params.get("page", "overview")]
for number, (kind, value) in enumerate(elements):
    if kind == "plotly_chart":
        st.plotly_chart(value, key=f"chart-{number}", config=CHART_CONFIG, theme="streamlit")
    elif kind == "dataframe":
        st.dataframe(value, hide_index=True, key=f"table-{number}")
    elif kind == "metric":
        label, shown, delta = value
        st.metric(label, shown, delta=delta, border=True)
    else:
        getattr(st, kind)(value)
