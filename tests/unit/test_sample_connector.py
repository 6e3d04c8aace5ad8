"""The offline GA4 property: deterministic, realistic, and answering with GA4's semantics."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pandas as pd
import pytest

from connectors.base import ConnectorError, ReportRequest
from connectors.catalog import METRICS, CatalogError
from connectors.sample import SampleConnector
from connectors.sample_property import _generate, oslo_today, write_sample

TODAY = date(2026, 6, 10)  # a fixed today keeps every figure below reproducible
WEEK = (date(2026, 5, 4), date(2026, 5, 10))  # Monday to Sunday, ISO week 2026-19
MONTH = (date(2026, 4, 1), date(2026, 4, 30))
HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd", "@SUM(1)", "-2+3", "<script>alert(1)</script>"]
RARE_BROWSERS = ("Lynx", "Pale Moon", "SeaMonkey")


@pytest.fixture(scope="module")
def sample() -> SampleConnector:
    return SampleConnector(seed=7, scale=1.0, today=TODAY)


def request(dims: tuple[str, ...], start: date, end: date, metrics=METRICS) -> ReportRequest:
    return ReportRequest(tuple(dims), tuple(metrics), start, end)


def total(connector: SampleConnector, metric: str, start: date, end: date) -> float:
    return connector.run(request((), start, end, (metric,))).rows[metric].sum()


def test_data_range_ends_yesterday_and_starts_fourteen_months_and_a_fortnight_back(sample):
    assert sample.today() == TODAY
    assert sample.data.last_day == TODAY - timedelta(days=1)
    assert sample.data.first_day == date(2025, 3, 27)
    days = sample.run(request(("date",), date(2000, 1, 1), date(2100, 1, 1), ("sessions",)))
    assert len(days.rows) == (sample.data.last_day - sample.data.first_day).days + 1


def test_same_seed_same_data_and_another_seed_other_data():
    first = _generate(3, 0.2, TODAY)
    again = _generate(3, 0.2, TODAY)
    other = _generate(4, 0.2, TODAY)
    assert first.sessions.equals(again.sessions)  # categories and codes alike
    assert first.pageviews.equals(again.pageviews)
    assert not first.sessions["uid"].equals(other.sessions["uid"])
    by_day = request(("date", "browser"), *MONTH)
    a, b = SampleConnector(seed=3, scale=0.2, today=TODAY), SampleConnector(seed=3, scale=0.2)
    assert (
        not SampleConnector(seed=4, scale=0.2, today=TODAY)
        .run(by_day)
        .rows.equals(a.run(by_day).rows)
    )
    assert b.today() == oslo_today()


def test_moving_today_forward_keeps_older_days_identical():
    before = SampleConnector(seed=7, scale=0.3, today=TODAY)
    after = SampleConnector(seed=7, scale=0.3, today=TODAY + timedelta(days=1))
    assert after.data.last_day == TODAY
    start, end = after.data.first_day, before.data.last_day
    for dims in [("date",), ("isoYearIsoWeek", "browser"), ("yearMonth", "pagePath", "pageTitle")]:
        old = before.run(request(dims, start, end)).rows
        new = after.run(request(dims, start, end)).rows
        pd.testing.assert_frame_equal(old, new)
    assert total(after, "sessions", TODAY, TODAY) > 0


def test_weekly_users_are_fewer_than_the_sum_of_daily_users(sample):
    daily = sample.run(request(("date",), *WEEK, ("activeUsers",))).rows
    weekly = sample.run(request(("isoYearIsoWeek",), *WEEK, ("activeUsers",))).rows
    monthly = sample.run(request(("yearMonth",), *MONTH, ("activeUsers",))).rows
    weeks = sample.run(request(("isoYearIsoWeek",), *MONTH, ("activeUsers",))).rows
    assert weekly["isoYearIsoWeek"].tolist() == ["202619"]
    assert len(daily) == 7
    assert weekly["activeUsers"].iloc[0] < daily["activeUsers"].sum()
    assert monthly["activeUsers"].iloc[0] < weeks["activeUsers"].sum()


def test_session_scoped_breakdowns_partition_each_days_sessions(sample):
    site = sample.run(request(("date",), *WEEK)).rows.set_index("date")
    for dim in ("browser", "sessionSource", "country", "deviceCategory"):
        rows = sample.run(request(("date", dim), *WEEK)).rows
        summed = rows.groupby("date")[["sessions", "screenPageViews"]].sum()
        assert summed["sessions"].equals(site["sessions"])
        assert summed["screenPageViews"].equals(site["screenPageViews"])
        users = rows.groupby("date")["activeUsers"].sum()
        assert (users >= site["activeUsers"]).all()


def test_pages_share_sessions_but_views_and_engagement_add_up(sample):
    site = sample.run(request((), *WEEK)).rows.iloc[0]
    pages = sample.run(request(("pagePath", "pageTitle"), *WEEK)).rows
    assert pages["screenPageViews"].sum() == site["screenPageViews"]
    assert pages["userEngagementDuration"].sum() == site["userEngagementDuration"]
    assert pages["sessions"].sum() > site["sessions"]
    assert (pages["sessions"] <= site["sessions"]).all()
    by_title = sample.run(request(("pageTitle",), *WEEK)).rows
    assert by_title["screenPageViews"].sum() == site["screenPageViews"]
    assert len(by_title) < len(pages)  # "(not set)" titles merge


def test_rates_and_durations_follow_ga4(sample):
    rows = sample.run(request(("deviceCategory",), *MONTH)).rows
    assert set(rows["deviceCategory"]) == {"desktop", "mobile", "tablet"}
    assert ((rows["engagementRate"] + rows["bounceRate"]) - 1).abs().max() < 1e-9
    assert rows["engagementRate"].between(0.4, 0.9).all()
    assert rows["averageSessionDuration"].between(20, 400).all()
    assert (rows["activeUsers"] <= rows["sessions"]).all()


def test_no_all_zero_rows(sample):
    rows = sample.run(request(("sessionSource",), *MONTH, ("userEngagementDuration",))).rows
    assert (rows["userEngagementDuration"] > 0).all()
    assert not set(HOSTILE) & set(rows["sessionSource"])  # spam engages for 0 seconds
    rates = sample.run(request(("sessionSource",), *MONTH, ("engagementRate",))).rows
    assert (rates["engagementRate"] > 0).all()


def test_column_order_types_and_sorting(sample):
    metrics = ("bounceRate", "sessions", "activeUsers", "averageSessionDuration")
    rows = sample.run(request(("country", "date"), *WEEK, metrics)).rows
    assert list(rows.columns) == ["country", "date", *metrics]
    assert rows["sessions"].dtype == "int64" and rows["activeUsers"].dtype == "int64"
    assert rows["bounceRate"].dtype == "float64"
    assert all(isinstance(v, str) for v in rows["country"])
    keys = list(zip(rows["country"], rows["date"], strict=True))
    assert keys == sorted(keys)


def test_time_dimension_formats(sample):
    rows = sample.run(request(("date", "isoYearIsoWeek", "yearMonth"), *MONTH)).rows
    assert rows["date"].str.fullmatch(r"2026040[1-9]|202604[1-3]\d").all()
    assert rows["isoYearIsoWeek"].str.fullmatch(r"20261[4-8]").all()
    assert (rows["yearMonth"] == "202604").all()
    new_year = sample.run(request(("isoYearIsoWeek",), date(2025, 12, 29), date(2026, 1, 4))).rows
    assert new_year["isoYearIsoWeek"].tolist() == ["202601"]  # ISO year, not calendar year
    early = sample.run(request(("isoYearIsoWeek",), date(2026, 1, 1), date(2026, 1, 10))).rows
    assert early["isoYearIsoWeek"].tolist() == ["202601", "202602"]


def test_ranges_are_clamped_and_outside_ranges_are_empty(sample):
    first = sample.data.first_day
    clamped = sample.run(request(("date",), first - timedelta(days=30), first, ("sessions",)))
    assert clamped.rows["date"].tolist() == [first.strftime("%Y%m%d")]
    empty = sample.run(request(("date", "browser"), date(2020, 1, 1), date(2020, 12, 31)))
    assert empty.rows.empty
    assert list(empty.rows.columns) == ["date", "browser", *METRICS]
    assert sample.run(request((), TODAY, TODAY + timedelta(days=5))).rows.empty
    assert sample.run(request((), *WEEK)).time_zone == "Europe/Oslo"


def test_hostile_sources_appear_as_referral_spam(sample):
    rows = sample.run(
        request(("sessionSource", "sessionMedium", "sessionDefaultChannelGroup"), *MONTH)
    ).rows
    sources = set(rows["sessionSource"])
    assert set(HOSTILE) <= sources
    long = [s for s in sources if s.startswith("http://spam.example/")]
    assert len(long) == 1 and len(long[0]) == 2000
    spam = rows[rows["sessionSource"].isin([*HOSTILE, *long])]
    assert (spam["sessionMedium"] == "referral").all()
    assert (spam["sessionDefaultChannelGroup"] == "Referral").all()
    weekly = sample.run(request(("isoYearIsoWeek", "sessionSource"), *MONTH, ("activeUsers",)))
    spam_weeks = weekly.rows[weekly.rows["sessionSource"].isin(HOSTILE)]
    assert spam_weeks["activeUsers"].between(1, 40).all()


def test_channels_and_sources_look_like_ga4(sample):
    rows = sample.run(
        request(("sessionSource", "sessionMedium", "sessionDefaultChannelGroup"), *MONTH)
    ).rows
    pairs = set(zip(rows["sessionSource"], rows["sessionMedium"], strict=True))
    assert {("google", "organic"), ("(direct)", "(none)"), ("newsletter", "email")} <= pairs
    assert {("(not set)", "(not set)"), ("l.instagram.com", "referral")} <= pairs
    channels = set(rows["sessionDefaultChannelGroup"])
    assert channels == {
        "Organic Search", "Direct", "Referral", "Organic Social", "Email", "Paid Search",
        "Unassigned",
    }  # fmt: skip
    top = rows.sort_values("sessions", ascending=False).iloc[0]
    assert (top["sessionSource"], top["sessionMedium"]) == ("google", "organic")


def test_countries_norway_first_and_a_rare_tail(sample):
    rows = sample.run(request(("country",), *MONTH, ("sessions",))).rows
    ranked = rows.sort_values("sessions", ascending=False)["country"].tolist()
    assert ranked[0] == "Norway"
    assert {"Sweden", "Denmark"} <= set(ranked[:6])
    assert (rows["sessions"] < 5).sum() >= 3


def test_titles_are_norwegian_and_pages_a_long_tail(sample):
    pages = sample.run(request(("pagePath", "pageTitle"), *WEEK)).rows
    titles = set(pages["pageTitle"])
    assert {"Om oss – Kontakt", "Rådgivning for små bedrifter", "(not set)"} <= titles
    assert all(any(ch in "".join(titles) for ch in letters) for letters in ("æÆ", "øØ", "åÅ"))
    assert "/tjenester/rådgivning" in set(pages["pagePath"])
    assert (pages["screenPageViews"] <= 2).sum() > len(pages) / 3  # most pages are rare
    month = sample.run(request(("pagePath",), *MONTH, ("screenPageViews",))).rows
    assert len(month) > 300


def test_rare_browsers_have_one_to_three_users_in_some_weeks(sample):
    start, end = date(2025, 3, 31), date(2026, 5, 31)  # whole ISO weeks
    rows = sample.run(request(("isoYearIsoWeek", "browser"), start, end, ("activeUsers",))).rows
    n_weeks = rows["isoYearIsoWeek"].nunique()
    for browser in RARE_BROWSERS:
        weeks = rows[rows["browser"] == browser]["activeUsers"]
        assert weeks.between(1, 3).all(), browser
        assert 0.3 * n_weeks < len(weeks) < n_weeks, browser  # often seen, some weeks none


def test_visitors_keep_their_browser_and_return(sample):
    sessions = sample.data.sessions
    per_visitor = sessions.groupby("uid", observed=True)[["browser", "country"]].nunique()
    assert (per_visitor.max() == 1).all()
    assert sessions["uid"].nunique() < 0.85 * len(sessions)


def test_weekly_and_seasonal_rhythm(sample):
    days = sample.run(request(("date",), date(2025, 4, 1), date(2026, 5, 31), ("sessions",)))
    rows = days.rows.assign(day=pd.to_datetime(days.rows["date"], format="%Y%m%d"))
    weekday = rows.groupby(rows["day"].dt.day_of_week)["sessions"].mean()
    assert weekday[:5].min() > weekday[5:].max()
    month = rows.groupby(rows["day"].dt.month)["sessions"].mean()
    assert month.idxmin() == 7
    assert 300 < rows["sessions"].mean() < 500
    bigger = SampleConnector(seed=7, scale=2.0, today=TODAY)
    assert 1.8 < total(bigger, "sessions", *MONTH) / total(sample, "sessions", *MONTH) < 2.2


def test_refuses_dimensions_and_metrics_outside_the_allow_list():
    with pytest.raises(CatalogError, match="city"):
        ReportRequest(("city",), ("sessions",), *WEEK)
    with pytest.raises(CatalogError, match="userId"):
        ReportRequest(("date", "userId"), ("sessions",), *WEEK)
    with pytest.raises(CatalogError, match="totalUsers"):
        ReportRequest(("date",), ("totalUsers",), *WEEK)


def test_other_row_rolls_up_the_tail_with_distinct_users():
    limited = SampleConnector(seed=7, scale=1.0, today=TODAY, other_row_limit=20)
    full = SampleConnector(seed=7, scale=1.0, today=TODAY)
    week = request(("pagePath",), *WEEK)
    result = limited.run(week)
    assert result.data_loss_from_other_row
    rows = result.rows
    assert len(rows) == 20
    other = rows[rows["pagePath"] == "(other)"].iloc[0]
    everything = full.run(week).rows
    ranked = everything.sort_values("sessions", ascending=False, kind="stable")  # ties by path
    kept = ranked.head(19)
    assert set(kept["pagePath"]) == set(rows["pagePath"]) - {"(other)"}
    assert rows["screenPageViews"].sum() == everything["screenPageViews"].sum()
    tail = everything[~everything["pagePath"].isin(kept["pagePath"])]
    assert other["screenPageViews"] == tail["screenPageViews"].sum()
    assert other["activeUsers"] < tail["activeUsers"].sum()  # distinct, not summed
    assert other["sessions"] < tail["sessions"].sum()  # sessions see several tail pages

    weekly = limited.run(request(("isoYearIsoWeek", "browser"), *MONTH)).rows
    others = weekly[weekly["browser"] == "(other)"]
    assert others["isoYearIsoWeek"].is_unique and len(others) >= 1
    assert not limited.run(request(("deviceCategory",), *WEEK)).data_loss_from_other_row


@pytest.mark.parametrize("limit", [None, 20])
@pytest.mark.parametrize("dims", [("pagePath", "pageTitle"), ("pageTitle",)])
def test_page_metrics_alone_answer_as_beside_session_metrics(dims, limit):
    """Page views and engagement alone are counted without joining sessions: same rows."""
    connector = SampleConnector(seed=7, scale=1.0, today=TODAY, other_row_limit=limit)
    page_only = ("sessions", "screenPageViews", "userEngagementDuration")
    alone = connector.run(request(dims, *MONTH, page_only))
    beside = connector.run(request(dims, *MONTH, ("activeUsers", *page_only)))
    pd.testing.assert_frame_equal(alone.rows, beside.rows[list(alone.rows.columns)])
    assert alone.data_loss_from_other_row == beside.data_loss_from_other_row == (limit is not None)


def test_thresholding_flags_country_breakdowns_only():
    flagged = SampleConnector(seed=7, scale=1.0, today=TODAY, thresholding=True)
    assert flagged.run(request(("country",), *WEEK)).subject_to_thresholding
    assert not flagged.run(request(("browser",), *WEEK)).subject_to_thresholding
    plain = SampleConnector(seed=7, scale=1.0, today=TODAY)
    assert not plain.run(request(("country",), *WEEK)).subject_to_thresholding


def test_run_many_and_threads_agree_with_run(sample):
    requests = [request(("date", dim), *WEEK) for dim in ("browser", "country", "pagePath")]
    expected = [sample.run(r).rows for r in requests]
    for got, want in zip(sample.run_many(requests), expected, strict=True):
        pd.testing.assert_frame_equal(got.rows, want)
    results: dict[int, pd.DataFrame] = {}

    def work(i: int) -> None:
        results[i] = sample.run(requests[i % 3]).rows

    threads = [threading.Thread(target=work, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, rows in results.items():
        pd.testing.assert_frame_equal(rows, expected[i % 3])


def test_write_sample_round_trip(tmp_path):
    folder = write_sample(tmp_path / "sample", seed=5, scale=0.2, today=TODAY)
    assert {p.name for p in folder.iterdir()} == {
        "sessions.parquet",
        "pageviews.parquet",
        "day_runs.parquet",
        "meta.json",
    }
    loaded = SampleConnector(data_dir=folder)
    with pytest.raises(ConnectorError, match="kanon sample"):
        SampleConnector(data_dir=tmp_path / "missing")
    fresh = SampleConnector(seed=5, scale=0.2, today=TODAY)
    assert loaded.today() == TODAY
    assert loaded.data.first_day == fresh.data.first_day
    for dims in [(), ("date", "browser"), ("isoYearIsoWeek", "pagePath", "pageTitle")]:
        pd.testing.assert_frame_equal(
            loaded.run(request(dims, *MONTH)).rows, fresh.run(request(dims, *MONTH)).rows
        )


def test_day_runs_written_beside_the_property_are_the_sessions_own(tmp_path):
    folder = write_sample(tmp_path / "sample", seed=5, scale=0.2, today=TODAY)
    written = pd.read_parquet(folder / "day_runs.parquet")
    sessions = pd.read_parquet(folder / "sessions.parquet")
    counted = sessions.groupby("day")["sid"].agg(lo="min", hi="max").reset_index()
    assert len(written) == sessions["day"].nunique() > 300
    assert (written.to_numpy() == counted.to_numpy()).all()
    # A folder written before the runs were: the connector finds them in the sessions.
    with_runs = SampleConnector(data_dir=folder).run(request(("date",), *MONTH)).rows
    (folder / "day_runs.parquet").unlink()
    without = SampleConnector(data_dir=folder).run(request(("date",), *MONTH)).rows
    pd.testing.assert_frame_equal(with_runs, without)
    assert len(with_runs) == 30


# Runs of periods longer than one chunk (a month), starting mid-week and mid-month.
SPANS = [
    (("date", "browser"), date(2026, 1, 14), date(2026, 4, 2)),
    (("isoYearIsoWeek", "sessionSource"), date(2026, 1, 14), date(2026, 4, 2)),
    (("yearMonth", "country"), date(2026, 1, 14), date(2026, 4, 2)),
    (("isoYearIsoWeek", "pagePath"), date(2026, 2, 4), date(2026, 3, 25)),
    (("pageTitle",), date(2026, 2, 4), date(2026, 3, 25)),
]


def _true_users(sample: SampleConnector, dims: tuple[str, ...], start: date, end: date):
    """Distinct visitors per row, straight from the generated sessions (and page views)."""
    data = sample.data
    sessions = data.sessions[
        data.sessions["day"].between(start.toordinal(), end.toordinal())
    ].copy()
    days = pd.Series([date.fromordinal(int(d)) for d in sessions["day"]], index=sessions.index)
    sessions["date"] = [d.strftime("%Y%m%d") for d in days]
    sessions["isoYearIsoWeek"] = [f"{d.isocalendar()[0]:04d}{d.isocalendar()[1]:02d}" for d in days]
    sessions["yearMonth"] = [f"{d.year:04d}{d.month:02d}" for d in days]
    facts = sessions
    if any(d in ("pagePath", "pageTitle") for d in dims):
        facts = data.pageviews.merge(sessions, on="sid")
    counted = facts.astype({d: str for d in dims}).groupby(list(dims), observed=True)["uid"]
    return counted.nunique().rename("expected").reset_index()


@pytest.mark.parametrize("chunk_sessions", [1, None])  # a month per chunk; months merged
@pytest.mark.parametrize(("dims", "start", "end"), SPANS)
def test_users_are_exact_distinct_counts_across_chunks(
    sample, dims, start, end, chunk_sessions, monkeypatch
):
    import connectors.sample as module

    if chunk_sessions is not None:
        monkeypatch.setattr(module, "CHUNK_SESSIONS", chunk_sessions)
    asked = request(dims, start, end, ("activeUsers", "sessions"))
    chunks = sample._chunks(asked, sample._sid_range(start, end))
    timed = dims[0] != "pageTitle"
    assert (len(chunks) > 1) == (chunk_sessions is not None and timed)  # scale 1: one chunk
    rows = sample.run(asked).rows
    merged = rows.merge(_true_users(sample, dims, start, end), on=list(dims), how="outer")
    assert len(merged) == len(rows) and (merged["activeUsers"] == merged["expected"]).all()


def test_a_written_property_answers_as_the_generated_one(sample, tmp_path):
    write_sample(tmp_path, seed=7, scale=1.0, today=TODAY)
    from_files = SampleConnector(data_dir=tmp_path)
    for dims, start, end in SPANS:
        expected = sample.run(request(dims, start, end)).rows
        pd.testing.assert_frame_equal(from_files.run(request(dims, start, end)).rows, expected)
    assert from_files.data.last_day == sample.data.last_day


def test_colliding_group_hashes_fall_back_to_an_exact_count(sample, monkeypatch):
    import connectors.sample as module

    dims, start, end = SPANS[0]
    expected = sample.run(request(dims, start, end)).rows
    monkeypatch.setattr(module, "_group_hash", lambda dimensions: "hash(0)")  # every row alike
    pd.testing.assert_frame_equal(sample.run(request(dims, start, end)).rows, expected)


def test_only_a_report_counted_in_chunks_maps_its_large_arrays(sample, monkeypatch):
    import connectors.sample as module

    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(module, "_mallopt", lambda: lambda *args: calls.append(args) or 1)
    dims, start, end = ("date",), date(2025, 7, 1), date(2026, 5, 31)
    sample.run(request(dims, start, end, ("activeUsers",)))  # eleven months, one chunk at scale 1
    assert calls == []
    monkeypatch.setattr(module, "CHUNK_SESSIONS", 1)  # a month a chunk
    sample.run(request(dims, start, end, ("activeUsers",)))
    threshold = module.M_MMAP_THRESHOLD
    assert calls == [(threshold, module.MAPPED_FROM), (threshold, module.MAPPED_AFTER)]
    calls.clear()
    monkeypatch.setattr(module.SampleConnector, "_chunk_rows", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        sample.run(request(dims, start, end, ("activeUsers",)))
    assert calls[-1] == (threshold, module.MAPPED_AFTER)  # set back whatever happens
