"""The offline GA4 property: sessions and page views generated from `sample_data/property.toml`.

Every calendar day draws from its own random stream, seeded by (seed, day ordinal), and the
rhythm, visitor pool and page catalogue depend only on (seed, scale) and the calendar: so moving
`today` forward adds a day and leaves every older day exactly as it was.

Visitors keep their device, operating system, browser and country: those are hashed from the
visitor's identity (the day they first came and their number that day), not drawn per session.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import product
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from connectors.base import ConnectorError
from connectors.errors import InvalidInput
from sample_data import definition_file

FORMAT_VERSION = 1

_REGULAR_KEY = np.uint64(1 << 62)  # visitor keys: regulars, rare-browser users, day visitors
_RARE_KEY = np.uint64(1 << 61)
_SPAM_SLOTS = 512  # ids a day keeps for spam bots' throwaway visitors


def oslo_today() -> date:
    """Today in the property's time zone, Europe/Oslo."""
    try:
        return datetime.now(ZoneInfo("Europe/Oslo")).date()
    except ZoneInfoNotFoundError:  # no tz database on this machine: the local date will do
        return date.today()


def window(today: date) -> tuple[date, date]:
    """First and last day of the property: 14 months and 14 days back, up to yesterday.

    The extra fortnight makes the first whole ISO week and month of a 14-month window complete.
    """
    first = (pd.Timestamp(today) - pd.DateOffset(months=14)).date() - timedelta(days=14)
    return first, today - timedelta(days=1)


@lru_cache(maxsize=2)
def load_definition() -> dict[str, Any]:
    with definition_file().open("rb") as handle:
        return tomllib.load(handle)


# --- the vocabulary: every name a dimension can take -------------------------------------


def _cdf(weights: Any) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    c = np.cumsum(w / w.sum())
    c[-1] = 1.0  # so searchsorted never runs off the end
    return c


def _index(names: list[str]) -> dict[str, int]:
    return {n: i for i, n in enumerate(names)}


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


def _slug(title: str) -> str:
    text = re.sub(r"\W+", "-", title.lower())  # \w keeps æ, ø and å
    return text.strip("-")


def blog_titles(defn: dict[str, Any], seed: int, count: int) -> list[str]:
    """`count` distinct titles: a seeded shuffle of opener × topic × tail, numbered past that."""
    blog = defn["blog"]
    combos = [f"{o} {t}{s}" for o, t, s in product(blog["openers"], blog["topics"], blog["tails"])]
    order = np.random.default_rng([seed, 0xB106]).permutation(len(combos))
    titles = []
    for i in range(count):
        title = combos[order[i % len(combos)]]
        round_ = i // len(combos)
        titles.append(title if round_ == 0 else f"{title} (del {round_ + 1})")
    return titles


@dataclass(frozen=True)
class Vocabulary:
    """Category names per dimension and the small-int tables the generator draws from."""

    devices: list[str]
    oses: list[str]
    browsers: list[str]
    countries: list[str]
    sources: list[str]
    mediums: list[str]
    channels: list[str]
    paths: list[str]
    titles: list[str]
    # technology combos (device, os, browser): normal ones first, then rare, then spam
    combo_device: np.ndarray
    combo_os: np.ndarray
    combo_browser: np.ndarray
    combo_cdf: np.ndarray
    rare_combo: np.ndarray  # one entry per rare-browser visitor
    rare_rate: np.ndarray  # that visitor's chance of a visit on a given day
    spam_combo: int
    country_cdf: np.ndarray
    spam_countries: np.ndarray
    # session sources: source, medium, channel codes per row; normal rows then spam rows
    src_source: np.ndarray
    src_medium: np.ndarray
    src_channel: np.ndarray
    source_cdf: np.ndarray
    spam_src: np.ndarray
    spam_daily: np.ndarray
    page_title: np.ndarray  # title code of each page
    page_cdf: np.ndarray
    spam_page: int


def _technology(defn: dict[str, Any]) -> tuple[list[tuple[str, str, str]], list[float]]:
    combos, weights = [], []
    total_dev = sum(defn["devices"].values())
    for device, dw in defn["devices"].items():
        oses = defn["os"][device]
        total_os = sum(oses.values())
        for os_name, ow in oses.items():
            browsers = defn["browsers"][os_name]
            total_br = sum(browsers.values())
            for browser, bw in browsers.items():
                combos.append((device, os_name, browser))
                weights.append(dw / total_dev * ow / total_os * bw / total_br)
    return combos, weights


def _spam_source(entry: dict[str, Any]) -> str:
    source = entry["source"]
    pad_to = entry.get("pad_to", 0)
    if pad_to > len(source):
        filler = "abcdefghijklmnopqrstuvwxyz0123456789"
        need = pad_to - len(source)
        source += (filler * (need // len(filler) + 1))[:need]
    return source


def _sources(defn: dict[str, Any]) -> dict[str, Any]:
    rows = [tuple(r[:3]) for r in defn["sources"]["list"]]
    weights = [r[3] for r in defn["sources"]["list"]]
    spam = defn["spam"]["sources"]
    rows += [(_spam_source(s), "referral", "Referral") for s in spam]
    names = [_unique(r[i] for r in rows) for i in range(3)]
    codes = [np.array([_index(names[i])[r[i]] for r in rows], np.int16) for i in range(3)]
    n_normal = len(weights)
    return {
        "sources": names[0],
        "mediums": names[1],
        "channels": names[2],
        "src_source": codes[0],
        "src_medium": codes[1],
        "src_channel": codes[2],
        "source_cdf": _cdf(weights),
        "spam_src": np.arange(n_normal, n_normal + len(spam), dtype=np.int16),
        "spam_daily": np.array([s["weekly_sessions"] / 7 for s in spam]),
    }


def page_count(defn: dict[str, Any], scale: float) -> int:
    return round(defn["blog"]["posts"] * max(1.0, np.sqrt(scale)))


def _pages(defn: dict[str, Any], seed: int, scale: float) -> dict[str, Any]:
    hand = defn["pages"]["list"]
    blog = defn["blog"]
    titles = blog_titles(defn, seed, page_count(defn, scale))
    paths = [p for p, _, _ in hand] + [blog["prefix"] + _slug(t) for t in titles]
    all_titles = [t for _, t, _ in hand] + titles
    hand_w = np.array([w for _, _, w in hand], dtype=np.float64)
    zipf = 1.0 / np.arange(1, len(titles) + 1) ** blog["zipf"]
    blog_w = zipf / zipf.sum() * hand_w.sum() * blog["share"] / (1 - blog["share"])
    title_names = _unique(all_titles)
    spam_page = paths.index(defn["spam"]["page"])
    if len(set(paths)) != len(paths):
        raise ValueError("The sample property's page paths are not unique.")
    return {
        "paths": paths,
        "titles": title_names,
        "page_title": np.array([_index(title_names)[t] for t in all_titles], np.int32),
        "page_cdf": _cdf(np.concatenate([hand_w, blog_w])),
        "spam_page": spam_page,
    }


@lru_cache(maxsize=8)
def vocabulary(seed: int, scale: float) -> Vocabulary:
    defn = load_definition()
    combos, weights = _technology(defn)
    n_normal = len(combos)
    rare = defn["rare_browsers"]
    combos += [(r["device"], r["os"], r["browser"]) for r in rare]
    spam = defn["spam"]
    combos.append((spam["device"], spam["os"], spam["browser"]))
    devices, oses, browsers = (_unique(c[i] for c in combos) for i in range(3))
    countries = _unique([*defn["countries"], *spam["countries"]])
    rare_combo = np.repeat(np.arange(n_normal, n_normal + len(rare)), [r["visitors"] for r in rare])
    rare_rate = np.repeat([r["visits_per_week"] / 7 for r in rare], [r["visitors"] for r in rare])
    return Vocabulary(
        devices=devices,
        oses=oses,
        browsers=browsers,
        countries=countries,
        combo_device=np.array([devices.index(c[0]) for c in combos], np.int16),
        combo_os=np.array([oses.index(c[1]) for c in combos], np.int16),
        combo_browser=np.array([browsers.index(c[2]) for c in combos], np.int16),
        combo_cdf=_cdf(weights),
        rare_combo=rare_combo.astype(np.int16),
        rare_rate=rare_rate,
        spam_combo=len(combos) - 1,
        country_cdf=_cdf(list(defn["countries"].values())),
        spam_countries=np.array([countries.index(c) for c in spam["countries"]], np.int16),
        **_sources(defn),
        **_pages(defn, seed, scale),
    )


# --- rhythm -----------------------------------------------------------------------------


def expected_sessions(ordinals: np.ndarray, scale: float) -> np.ndarray:
    """The expected number of ordinary sessions on each day: weekly, seasonal, growth, holidays."""
    rhythm = load_definition()["rhythm"]
    days = np.datetime64("0001-01-01") + (ordinals - 1).astype("timedelta64[D]")
    months = days.astype("datetime64[M]")
    month_no = months.astype(np.int64) % 12
    day_no = (days - months.astype("datetime64[D]")).astype(np.int64)
    month_len = ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(
        np.int64
    )
    weekday = np.asarray(rhythm["weekday"], dtype=np.float64)
    weekday = weekday / weekday.mean()
    season = np.asarray(rhythm["month"], dtype=np.float64)
    season = season / season.mean()
    # month factors sit at mid-month; interpolate between them, wrapping December to January
    position = month_no + (day_no + 0.5) / month_len - 0.5
    seasonal = np.interp(position, np.arange(12), season, period=12)
    anchor = date.fromisoformat(rhythm["growth_anchor"]).toordinal()
    growth = (1 + rhythm["growth_per_year"]) ** ((ordinals - anchor) / 365.25)
    growth = np.clip(growth, *rhythm["growth_limits"])
    holidays = {tuple(int(x) for x in h.split("-")) for h in rhythm["holidays"]}
    is_holiday = np.array(
        [(m + 1, d + 1) in holidays for m, d in zip(month_no, day_no, strict=True)]
    )
    holiday = np.where(is_holiday, rhythm["holiday_factor"], 1.0)
    level = weekday[(ordinals - 1) % 7] * seasonal * growth * holiday
    return scale * rhythm["sessions_per_day"] * level


# --- visitors -----------------------------------------------------------------------------


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a fast, well-spread hash of 64-bit keys."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _hash_uniform(keys: np.ndarray, seed: int, salt: int) -> np.ndarray:
    salted = _mix(np.array([(seed * 1_000_003 + salt) % 2**64], dtype=np.uint64))
    h = _mix(keys ^ salted)
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


@dataclass(frozen=True)
class _Plan:
    """What every day shares: the id layout and pools. Depends on the window only through ids."""

    seed: int
    scale: float
    base: int  # ordinal of the oldest day a returning visitor can have first come
    block: int  # ids per day: new visitors then spam bots
    new_cap: np.ndarray  # per day from base: how many new visitors that day is expected to have
    regulars_cdf: np.ndarray
    vocab: Vocabulary

    @property
    def n_regulars(self) -> int:
        return len(self.regulars_cdf)

    def day_id(self, ordinal: int | np.ndarray, k: np.ndarray) -> np.ndarray:
        first = self.n_regulars + len(self.vocab.rare_combo)
        return first + (np.asarray(ordinal, np.int64) - self.base) * self.block + k


def _plan(seed: int, scale: float, first: date, last: date) -> _Plan:
    visitors = load_definition()["visitors"]
    base = first.toordinal() - visitors["max_lag_days"]
    ordinals = np.arange(base, last.toordinal() + 1)
    new_cap = np.maximum(1, np.round(expected_sessions(ordinals, scale) * visitors["new_share"]))
    # room for a noisy day's new visitors (level noise and Poisson) plus the spam bots
    block = int(new_cap.max() * 2 + 64) + _SPAM_SLOTS
    n_regulars = max(1, round(visitors["regulars_per_scale"] * scale))
    regulars = 1.0 / np.arange(1, n_regulars + 1) ** visitors["regular_zipf"]
    return _Plan(
        seed=seed,
        scale=scale,
        base=base,
        block=block,
        new_cap=new_cap.astype(np.int64),
        regulars_cdf=_cdf(regulars),
        vocab=vocabulary(seed, scale),
    )


def _returning_lags(rng: np.random.Generator, n: int) -> np.ndarray:
    visitors = load_definition()["visitors"]
    component = np.searchsorted(_cdf(visitors["lag_weights"]), rng.random(n))
    means = np.asarray(visitors["lag_means"], dtype=np.float64)[component]
    lags = rng.geometric(1.0 / means) - 1  # 0 = came back the same day
    return np.minimum(lags, visitors["max_lag_days"])


def _visitors(plan: _Plan, rng: np.random.Generator, ordinal: int, n: int) -> dict[str, Any]:
    """Who the day's `n` ordinary sessions belong to: new, returning, or regular visitors."""
    visitors = load_definition()["visitors"]
    kind = np.searchsorted(
        np.cumsum([visitors["new_share"], visitors["regular_share"]]), rng.random(n), side="right"
    )
    uid = np.empty(n, np.int64)
    key = np.empty(n, np.uint64)
    new = kind == 0
    n_new = int(new.sum())
    if n_new > plan.block - _SPAM_SLOTS:  # would run into the spam bots' ids
        raise RuntimeError(f"Day {date.fromordinal(ordinal)} has too many new visitors.")
    uid[new] = plan.day_id(ordinal, np.arange(n_new))
    key[new] = (np.uint64(ordinal) << np.uint64(32)) | np.arange(n_new, dtype=np.uint64)
    regular = kind == 1
    who = np.searchsorted(plan.regulars_cdf, rng.random(int(regular.sum())))
    uid[regular] = who
    key[regular] = _REGULAR_KEY | who.astype(np.uint64)
    back = kind == 2
    first_came = ordinal - _returning_lags(rng, int(back.sum()))
    k = (rng.random(len(first_came)) * plan.new_cap[first_came - plan.base]).astype(np.int64)
    uid[back] = plan.day_id(first_came, k)
    key[back] = (first_came.astype(np.uint64) << np.uint64(32)) | k.astype(np.uint64)
    return {"uid": uid, "key": key, "n_new": n_new}


# --- one day -------------------------------------------------------------------------------


def _page_views(rng: np.random.Generator, n: int, vocab: Vocabulary) -> dict[str, np.ndarray]:
    """Pages, views and engagement seconds for `n` sessions, plus the per-session totals."""
    b = load_definition()["behaviour"]
    n_pages = np.minimum(rng.geometric(b["pages_geometric_p"], n), b["max_pages"])
    session = np.repeat(np.arange(n, dtype=np.int32), n_pages)
    rows = len(session)
    page = np.searchsorted(vocab.page_cdf, rng.random(rows)).astype(np.int32)
    views = 1 + (rng.random(rows) < b["reload_share"]).astype(np.int8)
    quick = (n_pages == 1) & (rng.random(n) < b["quick_share"])
    engaged_s = np.rint(rng.lognormal(b["engagement_log_mean"], b["engagement_log_sigma"], rows))
    engaged_s = np.minimum(engaged_s, b["max_engagement"])
    engagement = np.where(quick[session], rng.integers(0, 10, rows), engaged_s)
    eng_total = np.bincount(session, weights=engagement, minlength=n)
    view_total = np.bincount(session, weights=views, minlength=n)
    low, high = b["background_factor"]
    background = rng.uniform(low, high, n)
    duration = np.where(quick, eng_total, np.rint(eng_total * background))
    # a page drawn twice in a session is one row, as GA4 reports it: (session, page) is unique
    pair, row = np.unique(
        session.astype(np.int64) * len(vocab.page_cdf) + page, return_inverse=True
    )
    return {
        "session": (pair // len(vocab.page_cdf)).astype(np.int32),
        "page": (pair % len(vocab.page_cdf)).astype(np.int32),
        "views": np.bincount(row, weights=views).astype(np.int8),
        "engagement": np.bincount(row, weights=engagement).astype(np.int16),
        "s_views": view_total.astype(np.int16),
        "s_engagement": eng_total.astype(np.int32),
        "s_duration": duration.astype(np.int32),
    }


def _day(plan: _Plan, ordinal: int, expected: float) -> dict[str, np.ndarray]:
    """Every session of one day, from that day's own random stream."""
    vocab = plan.vocab
    noise = load_definition()["rhythm"]["day_noise"]
    rng = np.random.default_rng([plan.seed, ordinal])
    n = int(rng.poisson(expected * rng.lognormal(0.0, noise)))
    people = _visitors(plan, rng, ordinal, n)
    rare = np.flatnonzero(rng.random(len(vocab.rare_combo)) < vocab.rare_rate)
    spam_counts = rng.poisson(vocab.spam_daily)
    n_spam = min(int(spam_counts.sum()), _SPAM_SLOTS)
    n_human = n + len(rare)

    uid = np.concatenate(
        [
            people["uid"],
            plan.n_regulars + rare,
            plan.day_id(ordinal, plan.block - _SPAM_SLOTS + np.arange(n_spam)),
        ]
    )
    key = np.concatenate(
        [people["key"], _RARE_KEY | rare.astype(np.uint64), np.zeros(n_spam, np.uint64)]
    )
    # technology and country: -1 = hashed from the visitor key later; rare and spam are fixed
    combo = np.concatenate(
        [np.full(n, -1), vocab.rare_combo[rare], np.full(n_spam, vocab.spam_combo)]
    )
    spam_country = vocab.spam_countries[rng.integers(0, len(vocab.spam_countries), n_spam)]
    country = np.concatenate([np.full(n_human, -1), spam_country])
    human_src = np.searchsorted(vocab.source_cdf, rng.random(n_human))
    spam_src = np.repeat(vocab.spam_src, spam_counts)[:n_spam]
    pv = _page_views(rng, n_human, vocab)

    duration = np.concatenate([pv["s_duration"], np.zeros(n_spam, np.int32)])
    views = np.concatenate([pv["s_views"], np.ones(n_spam, np.int16)])
    spam_rows = np.arange(n_human, n_human + n_spam, dtype=np.int32)
    return {
        "uid": uid,
        "key": key,
        "combo": combo.astype(np.int16),
        "country": country.astype(np.int16),
        "src": np.concatenate([human_src, spam_src]).astype(np.int16),
        "sessionDuration": duration,
        "engaged": (duration > 10) | (views >= 2),
        "screenPageViews": views,
        "engagement": np.concatenate([pv["s_engagement"], np.zeros(n_spam, np.int32)]),
        "pv_session": np.concatenate([pv["session"], spam_rows]),
        "pv_page": np.concatenate([pv["page"], np.full(n_spam, vocab.spam_page, np.int32)]),
        "pv_views": np.concatenate([pv["views"], np.ones(n_spam, np.int8)]),
        "pv_engagement": np.concatenate([pv["engagement"], np.zeros(n_spam, np.int16)]),
    }


# --- the whole property --------------------------------------------------------------------


@dataclass(frozen=True)
class SampleData:
    """The generated (or loaded) property: one row per session, one per (session, page)."""

    sessions: pd.DataFrame
    pageviews: pd.DataFrame
    seed: int
    scale: float
    first_day: date
    last_day: date

    @property
    def meta(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "seed": self.seed,
            "scale": self.scale,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "sessions": len(self.sessions),
            "pageviews": len(self.pageviews),
        }


def _categorical(codes: np.ndarray, names: list[str]) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes, categories=pd.Index(names))


def _visitor_traits(vocab: Vocabulary, seed: int, days: dict[str, np.ndarray]) -> None:
    """Fill in technology and country for ordinary visitors, hashed from their keys."""
    combo, country, key = days["combo"], days["country"], days["key"]
    todo = combo < 0
    combo[todo] = np.searchsorted(vocab.combo_cdf, _hash_uniform(key[todo], seed, 1))
    todo = country < 0
    country[todo] = np.searchsorted(vocab.country_cdf, _hash_uniform(key[todo], seed, 2))


def _frames(plan: _Plan, days: dict[str, np.ndarray], day: np.ndarray) -> tuple[pd.DataFrame, ...]:
    vocab = plan.vocab
    src, combo = days["src"], days["combo"]
    if days["uid"].max(initial=0) >= 2**31:
        raise InvalidInput("Scale too large for int32 visitor ids.")
    sessions = pd.DataFrame(
        {
            "sid": np.arange(len(day), dtype=np.int32),
            "uid": days["uid"].astype(np.int32),
            "day": day,
            "sessionSource": _categorical(vocab.src_source[src], vocab.sources),
            "sessionMedium": _categorical(vocab.src_medium[src], vocab.mediums),
            "sessionDefaultChannelGroup": _categorical(vocab.src_channel[src], vocab.channels),
            "deviceCategory": _categorical(vocab.combo_device[combo], vocab.devices),
            "operatingSystem": _categorical(vocab.combo_os[combo], vocab.oses),
            "browser": _categorical(vocab.combo_browser[combo], vocab.browsers),
            "country": _categorical(days["country"], vocab.countries),
            "sessionDuration": days["sessionDuration"],
            "engaged": days["engaged"],
            "screenPageViews": days["screenPageViews"],
            "engagement": days["engagement"],
        }
    )
    page = days["pv_page"]
    pageviews = pd.DataFrame(
        {
            "sid": days["pv_session"],
            "pagePath": _categorical(page, vocab.paths),
            "pageTitle": _categorical(vocab.page_title[page], vocab.titles),
            "views": days["pv_views"],
            "engagement": days["pv_engagement"],
        }
    )
    return sessions, pageviews


def _generate(seed: int, scale: float, today: date) -> SampleData:
    if seed < 0 or not scale > 0:
        raise InvalidInput(
            f"The sample property needs seed >= 0 and scale > 0, not {seed}, {scale}."
        )
    first, last = window(today)
    plan = _plan(seed, scale, first, last)
    ordinals = np.arange(first.toordinal(), last.toordinal() + 1)
    expected = expected_sessions(ordinals, scale)
    parts = [_day(plan, int(o), float(e)) for o, e in zip(ordinals, expected, strict=True)]
    counts = np.array([len(p["uid"]) for p in parts])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
    for part, offset in zip(parts, offsets, strict=True):
        part["pv_session"] += offset  # day-local session numbers become global sids
    days = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    del parts
    _visitor_traits(plan.vocab, seed, days)
    day = np.repeat(ordinals.astype(np.int32), counts)
    sessions, pageviews = _frames(plan, days, day)
    return SampleData(sessions, pageviews, seed, float(scale), first, last)


@lru_cache(maxsize=3)
def _cached(seed: int, scale: float, today: date) -> SampleData:
    return _generate(seed, scale, today)


def generate(seed: int = 7, scale: float = 1.0, today: date | None = None) -> SampleData:
    """The property as of `today` (default: today in Oslo). Cached per process; do not mutate."""
    return _cached(seed, float(scale), today or oslo_today())


# --- files ---------------------------------------------------------------------------------


DAY_RUNS = "day_runs.parquet"


def day_runs(sessions: pd.DataFrame) -> pd.DataFrame:
    """Each day's first and last session id (sessions are stored in day order, so a day's
    sessions are one run of ids): how a connector finds a range's sessions."""
    day = sessions["day"].to_numpy()
    sid = sessions["sid"].to_numpy()
    if len(day) == 0:
        return pd.DataFrame({"day": day, "lo": sid, "hi": sid})
    if (np.diff(day) < 0).any():
        raise ValueError("Sessions must be in day order.")
    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    return pd.DataFrame(
        {
            "day": day[starts],
            "lo": np.minimum.reduceat(sid, starts),
            "hi": np.maximum.reduceat(sid, starts),
        }
    )


def write_sample(folder: Path, seed: int, scale: float, today: date | None) -> Path:
    """Write the generated property to `folder` as Parquet plus meta.json; returns the folder."""
    data = generate(seed, scale, today)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data.sessions.to_parquet(folder / "sessions.parquet", index=False)
    data.pageviews.to_parquet(folder / "pageviews.parquet", index=False)
    day_runs(data.sessions).to_parquet(folder / DAY_RUNS, index=False)
    (folder / "meta.json").write_text(json.dumps(data.meta, indent=2) + "\n", encoding="utf-8")
    return folder


def read_meta(folder: Path) -> dict[str, Any]:
    """The meta.json of a folder written by `write_sample`, checked for its format."""
    folder = Path(folder)
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise ConnectorError(f"{folder} holds no sample property: write one with `kanon sample`.")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT_VERSION:
        raise ConnectorError(
            f"{folder} holds sample format {meta.get('format')}, not {FORMAT_VERSION}: "
            "write it again with `kanon sample`."
        )
    return meta


def read_sample(folder: Path) -> SampleData:
    """Read back a folder written by `write_sample`."""
    folder = Path(folder)
    meta = read_meta(folder)
    return SampleData(
        sessions=pd.read_parquet(folder / "sessions.parquet"),
        pageviews=pd.read_parquet(folder / "pageviews.parquet"),
        seed=int(meta["seed"]),
        scale=float(meta["scale"]),
        first_day=date.fromisoformat(meta["first_day"]),
        last_day=date.fromisoformat(meta["last_day"]),
    )
