"""A page's floor for `bench_pages.py`: the same page drawn again with no data work.

Everything the page drew (navigation, sidebar pickers, cards, charts as ready Plotly figures,
tables, tabs, columns, widgets) is captured beforehand and drawn again here as it was, so what
is left is Streamlit's own cost of showing that page. The navigation has the app's sections,
titles and addresses (`kanon.ui.navigation.PAGES`: plain data, no store or release is opened).

Run by the benchmark (`streamlit run benchmarks/floor_page.py`, or AppTest) with
`KANON_BENCH_FLOOR` naming the pickle of captured pages and `?page=NAME` choosing a page.
"""

from __future__ import annotations

import os
import pickle
import sys
from functools import partial
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kanon.ui.navigation import PAGES  # noqa: E402

CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


@st.cache_resource
def captured(path: str) -> dict[str, dict[str, list]]:
    """Every page's elements, charts as ready Plotly figures, loaded once per process."""
    with open(path, "rb") as file:
        pages = pickle.load(file)
    return {
        name: {area: _figures(items) for area, items in page.items()}
        for name, page in pages.items()
    }


def _figures(items: list) -> list:
    """Items with charts as Plotly figures; a container's children are one list per part."""
    return [
        (
            kind,
            go.Figure(value) if kind == "plotly_chart" else value,
            [_figures(part) for part in children],
        )
        for kind, value, children in items
    ]


def draw(items: list, at: str = "", in_form: bool = False) -> None:
    for number, (kind, value, children) in enumerate(items):
        key = f"{at}{number}"
        if kind == "columns":
            for part, (column, inside) in enumerate(zip(st.columns(value), children, strict=True)):
                with column:
                    draw(inside, f"{key}-{part}-")
        elif kind == "tab_container":
            for part, (tab, inside) in enumerate(zip(st.tabs(value), children, strict=True)):
                with tab:
                    draw(inside, f"{key}-{part}-")
        elif kind == "flex_container":
            for part, inside in enumerate(children):
                with st.container():
                    draw(inside, f"{key}-{part}-", in_form)
        elif kind == "form":
            with st.form(f"form-{key}"):
                draw(children[0], f"{key}-0-", in_form=True)
        elif kind == "html":
            body, javascript = value
            st.html(body, unsafe_allow_javascript=javascript)
        elif kind in ("text_input", "date_input"):
            label, shown = value
            getattr(st, kind)(label, shown, key=f"{kind}-{key}")
        elif kind == "button":
            if in_form:
                st.form_submit_button(value, key=f"submit-{key}")
            else:
                st.button(value, key=f"button-{key}")
        elif kind == "plotly_chart":
            st.plotly_chart(value, key=f"chart-{key}", config=CHART_CONFIG, theme="streamlit")
        elif kind == "dataframe":
            st.dataframe(value, hide_index=True, key=f"table-{key}")
        elif kind == "metric":
            label, shown, delta = value
            st.metric(label, shown, delta=delta, border=True)
        elif kind in ("selectbox", "radio"):
            label, options, index = value
            getattr(st, kind)(label, options, index=index, key=f"{kind}-{key}")
        elif kind == "button_group":
            label, options = value
            st.segmented_control(label, options, default=options[0], key=f"group-{key}")
        elif kind == "download_button":
            st.download_button(
                value,
                data=lambda: b"",
                key=f"download-{key}",
                on_click="ignore",
                icon=":material/download:",
            )
        else:
            getattr(st, kind)(value)


def show(name: str) -> None:
    page = captured(os.environ["KANON_BENCH_FLOOR"])[name]
    with st.sidebar:
        draw(page["sidebar"], "sidebar-")
    draw(page["main"])


st.set_page_config(page_title="Kanon floor", layout="wide", initial_sidebar_state="auto")
wanted = st.query_params.get("page", "overview")
pages = [
    st.Page(
        partial(show, spec.url_path),
        title=spec.title,
        icon=spec.icon,
        url_path=spec.url_path,
        default=spec.url_path == wanted,
    )
    for spec in PAGES
]
st.navigation(pages).run()
