"""Property-based tests of URL normalisation, id derivation and date parsing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from yuqing.ids import content_hash, normalise_url, post_id
from yuqing.timeutil import EARLIEST, LATEST, TZ, parse_datetime

settings.register_profile("collectors", max_examples=300, deadline=None)
settings.load_profile("collectors")

label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
host = st.lists(label, min_size=1, max_size=3).map(lambda parts: ".".join(parts) + ".cn")
segment = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=8).filter(
    lambda s: "/" not in s and "?" not in s and "#" not in s
)
path = st.lists(segment, max_size=4).map(lambda segs: "/" + "/".join(segs))
params = st.lists(
    st.tuples(st.sampled_from(["id", "tid", "page", "q", "fid"]), st.text(alphabet="abc123中文", max_size=5)),
    max_size=4,
    unique_by=lambda kv: kv[0],
)


@st.composite
def urls(draw: st.DrawFn) -> tuple[str, str, str, list[tuple[str, str]]]:
    return draw(st.sampled_from(["http", "https"])), draw(host), draw(path), draw(params)


def build(scheme: str, h: str, p: str, q: list[tuple[str, str]], *, noise: bool) -> str:
    from urllib.parse import quote, urlencode

    query = list(q)
    netloc = h
    if noise:
        netloc = h.upper() + (":80" if scheme == "http" else ":443")
        query = [*reversed(query), ("utm_source", "wechat"), ("spm", "a.b.c")]
        p = p + ("/" if len(p) > 1 else "")
    url = f"{scheme}://{netloc}{quote(p, safe='/')}"
    if query:
        url += "?" + urlencode(query)
    return url + ("#comments" if noise else "")


@given(st.text(max_size=200))
def test_normalise_never_raises_and_is_idempotent(text: str) -> None:
    once = normalise_url(text)
    assert normalise_url(once) == once


@given(urls())
def test_equivalent_urls_normalise_alike(parts: tuple[str, str, str, list[tuple[str, str]]]) -> None:
    plain, noisy = build(*parts, noise=False), build(*parts, noise=True)
    assert normalise_url(plain) == normalise_url(noisy)
    assert post_id("s", url=plain) == post_id("s", url=noisy) == post_id("s", native_id=noisy)


@given(urls(), urls())
def test_different_pages_get_different_ids(a: tuple, b: tuple) -> None:  # type: ignore[type-arg]
    ua, ub = build(*a, noise=False), build(*b, noise=False)
    if normalise_url(ua) != normalise_url(ub):
        assert post_id("s", url=ua) != post_id("s", url=ub)


@given(st.one_of(st.integers(), st.text(min_size=1, max_size=300)))
def test_native_ids_are_stable_bounded_and_printable(native: object) -> None:
    if not str(native).strip():
        return
    pid = post_id("src", native_id=native)
    assert pid == post_id("src", native_id=native)
    assert pid.startswith("src:") and len(pid) <= len("src:") + 128 and pid.isprintable()


@given(
    st.text(min_size=1, max_size=100).filter(str.strip),
    st.text(max_size=300),
    st.lists(st.sampled_from([" ", "\n", "\t", "\u3000"]), max_size=5),
)
def test_text_ids_ignore_white_space(title: str, content: str, spaces: list[str]) -> None:
    spaced = "".join(spaces) + content + "".join(spaces)
    assert post_id("s", text=(title, content)) == post_id("s", text=(title, spaced))
    assert content_hash(title, content) == content_hash(title + "".join(spaces), spaced)


aware = st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(TZ)).map(
    lambda d: d.replace(microsecond=0)
)


@given(
    aware,
    st.sampled_from(
        [
            "%Y-%m-%d %H:%M:%S",
            "%Y/%m/%d %H:%M:%S",
            "%Y年%m月%d日 %H:%M:%S",
            "%Y%m%d%H%M%S",
            "iso",
            "rfc2822",
            "epoch",
            "epoch_ms",
            "%Y.%m.%d %H:%M:%S",
        ]
    ),
)
def test_round_trip_of_supported_formats(dt: datetime, fmt: str) -> None:
    if fmt == "iso":
        text: object = dt.astimezone(timezone(timedelta(hours=-5))).isoformat()
    elif fmt == "rfc2822":
        text = format_datetime(dt)
    elif fmt == "epoch":
        text = int(dt.timestamp())
    elif fmt == "epoch_ms":
        text = str(int(dt.timestamp() * 1000))
    else:
        text = dt.strftime(fmt)
    parsed = parse_datetime(text)
    assert parsed == dt and parsed.tzinfo == TZ  # type: ignore[union-attr]


@given(st.one_of(st.text(max_size=60), st.integers(), st.floats(allow_nan=True), st.none(), st.booleans()))
def test_parse_never_raises_and_answers_are_aware_and_plausible(value: object) -> None:
    parsed = parse_datetime(value)
    if parsed is not None:
        assert parsed.tzinfo is not None and EARLIEST <= parsed < LATEST


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from(["秒", "分钟", "小时", "天"]))
def test_relative_times_count_back_from_the_reference(n: int, unit: str) -> None:
    ref = datetime(2021, 3, 2, 12, 0, tzinfo=TZ)
    seconds = {"秒": 1, "分钟": 60, "小时": 3600, "天": 86400}[unit] * n
    assert parse_datetime(f"{n}{unit}前", ref) == ref - timedelta(seconds=seconds)
