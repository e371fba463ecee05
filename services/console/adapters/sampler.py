"""The services' own /metrics, sampled by the console every few seconds (ADR 0019): whether each process answers,
its lag per partition (kept for a window, for Burrow's status), dead letters, the books and the business clock.
The console reads no other schema; what it shows of the services' state comes from here."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
from collections import deque
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from services.console.domain.model import LagSample, LagStatus, lag_status
from shared.settings import SERVICES, PlatformSettings

Labels = tuple[tuple[str, str], ...]

SHOWN = frozenset(
    {
        "kafka_consumergroup_current_offset",
        "kafka_consumergroup_group_lag_seconds",
        "kafka_consumergroup_lag",
        "kafka_topic_partition_current_offset",
        "medaid_books_balanced",
        "medaid_business_clock_offset_seconds",
        "medaid_dead_letters_total",
        "medaid_fund_position_yuan",
        "medaid_key_registry_info",
        "medaid_key_registry_valid",
        "medaid_outbox_backlog_messages",
        "process_resident_memory_bytes",
    }
)
"""The series the console reads (`Scrape.total` and `Scrape.series` of no other name). A scrape parses only
these: the rest of a service's text (histograms' buckets, mostly) is about ten times as much (issue 30)."""
_TEXT = re.compile(r"(?:(?:#[^\n]*+|[a-zA-Z_:][a-zA-Z0-9_:]*+[{ \t][^\n]*+)?\n)*+[^\n]*+")
"""Prometheus text, roughly: every line a comment, empty, or a metric's name and more."""
_SHOWN_LINE = re.compile(r"^(?:" + "|".join(sorted(SHOWN)) + r")[{ \t][^\n]*+", re.MULTILINE)
_SAMPLE = re.compile(
    r'([a-zA-Z_:][a-zA-Z0-9_:]*+)(?:\{((?:[^"}]++|"(?:[^"\\]++|\\.)*+")*+)\})?[ \t]++(\S++)(?:[ \t]++-?\d++)?[ \t]*+'
)
_LABEL = re.compile(r'[ \t]*+([a-zA-Z_][a-zA-Z0-9_]*+)[ \t]*+=[ \t]*+"((?:[^"\\]++|\\.)*+)"[ \t]*+(?:,|$)')
_ESCAPED = re.compile(r"\\(.)")


def samples_of(text: str) -> list[tuple[str, dict[str, str], float]]:
    """The samples of the SHOWN series in a Prometheus text, as prometheus_client's parser reads them. A text with
    a line that does not start with a metric's name, or a shown line this does not read plainly, goes to that
    parser, which says what is wrong with it (the target is then shown down)."""
    if _TEXT.fullmatch(text) is None:
        return _parsed(text)
    out: list[tuple[str, dict[str, str], float]] = []
    for line in _SHOWN_LINE.finditer(text):
        sample = _SAMPLE.fullmatch(line.group())
        if sample is None:
            return _parsed(text)
        labels: dict[str, str] = {}
        if sample.group(2):
            at = 0
            body = sample.group(2)
            while at < len(body):
                label = _LABEL.match(body, at)
                if label is None:
                    return _parsed(text)
                labels[label.group(1)] = _ESCAPED.sub(_unescape, label.group(2))
                at = label.end()
        try:
            value = float(sample.group(3))
        except ValueError:
            return _parsed(text)
        out.append((sample.group(1), labels, value))
    return out


def _unescape(m: re.Match[str]) -> str:
    return "\n" if m.group(1) == "n" else m.group(1)


def _parsed(text: str) -> list[tuple[str, dict[str, str], float]]:
    families = text_string_to_metric_families(text)
    return [(s.name, dict(s.labels), s.value) for f in families for s in f.samples if s.name in SHOWN]


@dataclass
class Scrape:
    at: float
    samples: list[tuple[str, dict[str, str], float]]

    def total(self, name: str, **labels: str) -> float:
        return sum(v for n, ls, v in self.samples if n == name and all(ls.get(k) == w for k, w in labels.items()))

    def series(self, name: str) -> list[tuple[dict[str, str], float]]:
        return [(ls, v) for n, ls, v in self.samples if n == name]


@dataclass
class Target:
    service: str
    url: str
    last: Scrape | None = None
    error: str | None = None
    checked_at: float = 0.0

    @property
    def up(self) -> bool:
        return self.error is None and self.last is not None


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    position: float
    lag: float
    seconds: float
    status: LagStatus


@dataclass
class Sampler:
    targets: list[Target]
    every: float = 5.0
    window: int = 10
    history: dict[tuple[str, str, int], deque[LagSample]] = field(default_factory=dict)
    watermarks: dict[tuple[str, int], deque[tuple[float, float]]] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: PlatformSettings) -> Sampler:
        if settings.console_metrics_targets:
            pairs = [t.split("=", 1) for t in settings.console_metrics_targets.split(",") if "=" in t]
            targets = [Target(name.strip(), url.strip()) for name, url in pairs]
        else:
            base = settings.metrics_port_base
            targets = [Target(s, f"http://127.0.0.1:{base + 1 + i}/metrics") for i, s in enumerate(SERVICES)]
        return cls(targets)

    async def run(self) -> None:
        while True:
            await self.sample_once()
            await asyncio.sleep(self.every)

    async def sample_once(self) -> None:
        await asyncio.gather(*(self._scrape(t) for t in self.targets))

    async def _scrape(self, target: Target) -> None:
        target.checked_at = time.time()
        try:
            text = await asyncio.to_thread(_get, target.url)
            samples = samples_of(text)
        except Exception as exc:  # noqa: BLE001 - down, or not Prometheus text: shown as down with the reason
            target.error = f"{type(exc).__name__}: {exc}"
            return
        target.error = None
        target.last = Scrape(target.checked_at, samples)
        self._remember(target.last)

    def _remember(self, scrape: Scrape) -> None:
        lags = {
            (ls["consumergroup"], ls["topic"], int(ls["partition"])): v
            for ls, v in scrape.series("kafka_consumergroup_lag")
        }
        for ls, v in scrape.series("kafka_consumergroup_current_offset"):
            key = (ls["consumergroup"], ls["topic"], int(ls["partition"]))
            history = self.history.setdefault(key, deque(maxlen=self.window))
            history.append(LagSample(scrape.at, v, lags.get(key, 0.0)))
        for ls, v in scrape.series("kafka_topic_partition_current_offset"):
            key2 = (ls["topic"], int(ls["partition"]))
            marks = self.watermarks.setdefault(key2, deque(maxlen=self.window))
            if not marks or marks[-1][0] != scrape.at:
                marks.append((scrape.at, v))

    # -- what the pages show ------------------------------------------------------------------------------

    def partitions(self) -> list[PartitionLag]:
        now = time.time()
        seconds: dict[tuple[str, str, int], float] = {}
        for t in self.targets:
            if t.last is not None:
                for ls, v in t.last.series("kafka_consumergroup_group_lag_seconds"):
                    seconds[(ls["consumergroup"], ls["topic"], int(ls["partition"]))] = v
        out = []
        for (group, topic, partition), history in sorted(self.history.items()):
            last = history[-1]
            status = lag_status(list(history), now, stale_after=3 * self.every + 5)
            out.append(
                PartitionLag(
                    group,
                    topic,
                    partition,
                    last.position,
                    last.lag,
                    seconds.get((group, topic, partition), 0.0),
                    status,
                )
            )
        return out

    def throughput(self) -> dict[str, float]:
        """Records per second written to each topic over the window (from the high watermarks)."""
        rates: dict[str, float] = {}
        for (topic, _partition), marks in self.watermarks.items():
            if len(marks) >= 2 and marks[-1][0] > marks[0][0]:
                rate = (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0])
                rates[topic] = rates.get(topic, 0.0) + max(rate, 0.0)
            else:
                rates.setdefault(topic, 0.0)
        return rates

    def dead_letters(self) -> dict[tuple[str, str], float]:
        out: dict[tuple[str, str], float] = {}
        for t in self.targets:
            if t.last is not None:
                for ls, v in t.last.series("medaid_dead_letters_total"):
                    key = (ls["messaging_destination_name"], ls["reason_code"])
                    out[key] = out.get(key, 0.0) + v
        return out


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - the configured metrics endpoints
        return str(response.read().decode())
