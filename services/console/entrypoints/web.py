"""The operators' web console (issue 13, ADR 0019): pages rendered on the server, no script needed.

Every page needs a login (an operator of the console's own table, argon2id hashes). A session is kept by the
console (ADR 0024): the cookie (HttpOnly, SameSite=Strict, Secure behind TLS) holds a random token, and every request
looks it up with its operator's current role. Every form that changes something carries the session's CSRF token.
Replays and month closes are for the `operator` role, and each is written to the audit log before it is done.
This module only translates HTTP: the rules are in domain/access.py, the use cases in service_layer/.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.console.adapters.passwords import Passwords
from services.console.adapters.repository import ConsoleRepository, as_json
from services.console.adapters.sampler import Sampler
from services.console.domain.access import BY_ADDRESS, BY_NAME, SESSION_LIFETIME, Who
from services.console.domain.model import OPEN_STATES, Action, Role, mask_psn_no, may
from services.console.service_layer import sessions
from services.console.service_layer.log_in import LoggedIn, log_in
from services.console.settings import allowed_hosts
from shared.clock import BUSINESS_TZ, BusinessClock
from shared.contracts.topics import INGRESS_CLEARING
from shared.logging import get_logger
from shared.messaging import dead_letters
from shared.messaging.dead_letters import DeadLetter
from shared.messaging.security import CONSOLE, kafka_client
from shared.settings import PlatformSettings, signing_keys_path
from shared.signing import SigningKeys

log = get_logger(__name__)
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
TEMPLATES.env.filters["mask"] = mask_psn_no
TEMPLATES.env.filters["json"] = as_json
TEMPLATES.env.filters["bt"] = lambda at: at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M:%S") if at else "-"
REFUSED = (
    f"Unknown name or wrong password. After {BY_NAME.limit} failed logins a name is locked for "
    f"{int(BY_NAME.lockout.total_seconds() // 60)} minutes (an address after {BY_ADDRESS.limit})."
)
"""One answer to every refused login, locked or not: it does not tell which names exist."""


@dataclass
class Console:
    settings: PlatformSettings
    pool: asyncpg.Pool[Any]
    sampler: Sampler
    dlq_topics: list[str]
    fallback_clock: BusinessClock
    passwords: Passwords
    _counts: tuple[float, dict[str, int]] | None = None

    @property
    def clock(self) -> BusinessClock:
        """The platform's one business clock, as the services report it (the console follows a move of it)."""
        for t in self.sampler.targets:
            if t.up and t.last is not None and t.last.series("medaid_business_clock_offset_seconds"):
                return BusinessClock(t.last.total("medaid_business_clock_offset_seconds"))
        return self.fallback_clock

    async def close(self, period: str) -> str:
        """clearing.close-requested for `period`, signed as the national operator; returns its msgid."""
        sender = sorted(self.settings.national_operator_codes)[0]
        now = self.clock.now()
        msgid = f"{sender}{now:%Y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"
        envelope = {
            "msgid": msgid,
            "type": "clearing.close-requested",
            "sender": sender,
            "sent_at": now.isoformat(timespec="seconds"),
            "body": {"period": period},
        }
        raw = json.dumps(envelope, ensure_ascii=False).encode()
        path = self.settings.console_signing_keys_file or str(signing_keys_path(self.settings))
        headers = SigningKeys.load(Path(path)).headers(raw, envelope)
        producer = AIOKafkaProducer(**kafka_client(self.settings, CONSOLE), enable_idempotence=True, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                INGRESS_CLEARING, raw, key=period.encode(), headers=[(k, v.encode()) for k, v in headers.items()]
            )
        finally:
            await producer.stop()
        return msgid

    async def letter_counts(self) -> dict[str, int]:
        """How many dead letters each DLQ topic holds, from its offsets (kept 5 s)."""
        cached = self._counts
        if cached is not None and time.monotonic() - cached[0] < 5.0:
            return cached[1]
        counts = {t: await dead_letters.count_dead_letters(self.settings, t, CONSOLE) for t in self.dlq_topics}
        self._counts = (time.monotonic(), counts)
        return counts


Handler = Callable[[Request], Awaitable[Response]]


def replayable(d: DeadLetter) -> bool:
    return d.source_topic.startswith("ingress.")


def _console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def _cookie(request: Request) -> str:
    """The session cookie's name: with Secure cookies the __Host- prefix, so no other site or path can set it."""
    return "__Host-medaid_console" if _console(request).settings.console_secure_cookies else "medaid_console"


def _drop_cookie(request: Request, response: Response) -> None:
    secure = _console(request).settings.console_secure_cookies  # a __Host- cookie is only replaced when Secure
    response.delete_cookie(_cookie(request), path="/", secure=secure, httponly=True, samesite="strict")


def _address(request: Request) -> str:
    return request.client.host if request.client else "-"


def _who(request: Request) -> Who | None:
    who: Who | None = getattr(request.state, "who", None)
    return who


def page(handler: Callable[[Request, str, Role], Awaitable[Response]]) -> Handler:
    """Only for someone logged in, with a session that is live now: anyone else goes to the login page."""

    async def guarded(request: Request) -> Response:
        console = _console(request)
        who = await sessions.who(console.pool, request.cookies.get(_cookie(request)), console.clock.now())
        if who is None:
            response = RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            _drop_cookie(request, response)
            return response
        request.state.who = who
        return await handler(request, who.name, who.role)

    return guarded


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    who = _who(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        status_code=status_code,
        context={
            "operator": who.name if who else None,
            "role": who.role.value if who else None,
            "may_replay": bool(who and may(who.role, Action.REPLAY)),
            "csrf": who.csrf if who else "",
            "business_now": _console(request).clock.now(),
            **context,
        },
    )


async def _form(request: Request) -> Any:
    """The posted form, if it carries this session's CSRF token; else the refusal is audited (who, where, from
    where) and answered 403."""
    form = await request.form()
    who = _who(request)
    if who is None or not secrets.compare_digest(str(form.get("csrf", "")), who.csrf):
        async with _console(request).pool.acquire() as conn:
            await ConsoleRepository(conn).audit(
                who.name if who else "-",
                "csrf",
                request.url.path,
                "refused: not this session's CSRF token",
                {"address": _address(request)},
            )
        raise PermissionError("the form's CSRF token is not this session's")
    return form


# -- login ------------------------------------------------------------------------------------------------------


async def login(request: Request) -> Response:
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or target.startswith("/\\"):
        target = "/"
    if request.method == "GET":
        return render(request, "login.html", error=None, next=target)
    form = await request.form()
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    console = _console(request)
    done = await log_in(console.pool, console.passwords, name, password, _address(request), console.clock.now())
    if not isinstance(done, LoggedIn):
        if done.busy:
            return render(
                request, "login.html", status_code=503, error="Too many logins at once: try again.", next=target
            )
        return render(request, "login.html", status_code=401, error=REFUSED, next=target)
    previous = request.cookies.get(_cookie(request))
    if previous:
        await sessions.forget(console.pool, previous)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        _cookie(request),
        done.token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=console.settings.console_secure_cookies,
    )
    return response


@page
async def logout(request: Request, name: str, role: Role) -> Response:
    await _form(request)
    await sessions.log_out(_console(request).pool, request.cookies[_cookie(request)], name, _address(request))
    response = RedirectResponse("/login", status_code=303)
    _drop_cookie(request, response)
    return response


# -- pages ------------------------------------------------------------------------------------------------------


@page
async def overview(request: Request, name: str, role: Role) -> Response:
    console = _console(request)
    services = []
    for t in console.sampler.targets:
        last = t.last
        services.append(
            {
                "name": t.service,
                "url": t.url,
                "up": t.up,
                "error": t.error,
                "lag": last.total("kafka_consumergroup_lag") if last else None,
                "behind": max((v for _, v in last.series("kafka_consumergroup_group_lag_seconds")), default=0.0)
                if last
                else None,
                "dead_letters": last.total("medaid_dead_letters_total") if last else None,
                "outbox": last.total("medaid_outbox_backlog_messages") if last else None,
                "books": (
                    None
                    if not last or not last.series("medaid_books_balanced")
                    else bool(last.total("medaid_books_balanced"))
                ),
                "offset": last.total("medaid_business_clock_offset_seconds") if last else None,
                "rss": last.total("process_resident_memory_bytes") if last else None,
            }
        )
    offsets = {s["offset"] for s in services if s["offset"] is not None}
    # the key registry each service has in force, and whether the file as it stands is it (docs/security.md)
    registries = {
        t.service: (bool(t.last.total("medaid_key_registry_valid")), t.last.series("medaid_key_registry_info"))
        for t in console.sampler.targets
        if t.last and t.last.series("medaid_key_registry_valid")
    }
    versions = {labels.get("sha256", "?")[:12] for _, info in registries.values() for labels, _ in info}
    funds: dict[str, dict[str, float]] = {}  # per-fund conservation (ADR 0021), from the wallet's metrics
    for t in console.sampler.targets:
        for labels, value in t.last.series("medaid_fund_position_yuan") if t.last else []:
            funds.setdefault(labels.get("admdvs", "?"), {})[labels.get("side", "?")] = value
    async with console.pool.acquire() as conn:
        counts = await ConsoleRepository(conn).counts()
    return render(
        request,
        "overview.html",
        services=services,
        one_clock=len(offsets) <= 1,
        registry_broken=sorted(name for name, (valid, _) in registries.items() if not valid),
        registry_versions=sorted(versions),
        books_ok=all(s["books"] is not False for s in services),
        counts=counts,
        dead=console.sampler.dead_letters(),
        funds=sorted(funds.items()),
    )


@page
async def sagas(request: Request, name: str, role: Role) -> Response:
    q = request.query_params
    kind = q.get("kind") or None
    state = q.get("state") or None
    search = (q.get("q") or "").strip() or None
    older = q.get("older_than_minutes")
    older_than = None
    if older and older.isdigit():
        older_than = _console(request).clock.now() - timedelta(minutes=int(older))
    async with _console(request).pool.acquire() as conn:
        rows = await ConsoleRepository(conn).sagas(kind, state, older_than, search)
    return render(
        request,
        "sagas.html",
        rows=rows,
        kind=kind or "",
        state=state or "",
        q=search or "",
        older=older or "",
        open_states=OPEN_STATES,
    )


@page
async def saga(request: Request, name: str, role: Role) -> Response:
    kind, saga_id = request.path_params["kind"], request.path_params["saga_id"]
    async with _console(request).pool.acquire() as conn:
        row, steps = await ConsoleRepository(conn).saga(kind, saga_id)
    if row is None and not steps:
        return render(request, "missing.html", what=f"{kind} {saga_id}")
    return render(request, "saga.html", saga=row, steps=steps, kind=kind, saga_id=saga_id)


@page
async def dead_letter_list(request: Request, name: str, role: Role) -> Response:
    console = _console(request)
    topic = request.query_params.get("topic") or ""
    reason = request.query_params.get("reason") or ""
    before_text = request.query_params.get("before") or ""
    before = int(before_text) if before_text.isdigit() else None
    counts = await console.letter_counts()
    letters: list[DeadLetter] = []
    older: int | None = None
    answers: dict[str, list[Any]] = {}
    if topic in console.dlq_topics:
        # one page, newest first (keyset on the DLQ offset); the reason filters within the page
        with contextlib.suppress(LookupError):
            page_of, older = await dead_letters.read_page(console.settings, topic, before=before, principal=CONSOLE)
            letters = [d for d in page_of if not reason or d.reason_code == reason]
        async with console.pool.acquire() as conn:
            answers = await ConsoleRepository(conn).answers_to([d.msgid for d in letters if d.msgid])
    return render(
        request,
        "dead_letters.html",
        counts=counts,
        topic=topic,
        reason=reason,
        letters=letters,
        older=older,
        page_size=dead_letters.PAGE_SIZE,
        answers=answers,
        message=request.query_params.get("message"),
    )


@page
async def dead_letter(request: Request, name: str, role: Role) -> Response:
    console = _console(request)
    topic = request.path_params["topic"]
    offset = int(request.path_params["offset"])
    if topic not in console.dlq_topics:
        return render(request, "missing.html", what=topic)
    found = await dead_letters.read_at(console.settings, topic, [offset], CONSOLE)
    if not found:
        return render(request, "missing.html", what=f"{topic}@{offset}")
    async with console.pool.acquire() as conn:
        answers = await ConsoleRepository(conn).answers_to([found[0].msgid] if found[0].msgid else [])
    return render(request, "dead_letter.html", topic=topic, d=found[0], answers=answers.get(found[0].msgid or "", []))


@page
async def replay(request: Request, name: str, role: Role) -> Response:
    console = _console(request)
    form = await _form(request)
    topic = str(form.get("topic", ""))
    offsets = sorted({int(o) for o in form.getlist("offset") if str(o).isdigit()})
    if not may(role, Action.REPLAY):
        async with console.pool.acquire() as conn:
            await ConsoleRepository(conn).audit(name, "replay", topic, "refused: read-only", {"offsets": offsets})
        return render(request, "forbidden.html", what="replaying dead letters", status_code=403)
    if topic not in console.dlq_topics or not offsets:
        return RedirectResponse(f"/dead-letters?topic={topic}&message=choose+dead+letters+to+replay", status_code=303)
    # An ingress record is replayed to its ingress topic; an event stream has one writer, its owner (ADR 0003).
    chosen = [d for d in await dead_letters.read_at(console.settings, topic, offsets, CONSOLE) if replayable(d)]
    async with console.pool.acquire() as conn:
        # written before it is done: an operator's request is on record even if the replay then fails
        await ConsoleRepository(conn).audit(name, "replay", topic, "asked", {"offsets": offsets})
    done = await dead_letters.replay(console.settings, topic, chosen, dry_run=False, principal=CONSOLE)
    outcome = {f"{r.letter.offset}": r.outcome for r in done}
    async with console.pool.acquire() as conn:
        await ConsoleRepository(conn).audit(name, "replay", topic, "done", {"offsets": offsets, "outcomes": outcome})
    log.info("console_replay", operator=name, topic=topic, outcomes=outcome)
    text = ", ".join(f"@{o} {r}" for o, r in outcome.items()) or "nothing"
    return RedirectResponse(f"/dead-letters?topic={topic}&message=replayed: {text}", status_code=303)


@page
async def topics(request: Request, name: str, role: Role) -> Response:
    sampler = _console(request).sampler
    return render(request, "topics.html", partitions=sampler.partitions(), rates=sampler.throughput())


@page
async def clearing(request: Request, name: str, role: Role) -> Response:
    async with _console(request).pool.acquire() as conn:
        repo = ConsoleRepository(conn)
        months = await repo.months()
        answers = await repo.statement_answers()
        closes = [r for r in await repo.audit_log() if r["action"] == "close-month" and r["outcome"] == "sent"][:20]
        replies = await repo.answers_to([r["detail"]["msgid"] for r in closes])
    return render(
        request,
        "clearing.html",
        months=months,
        answers=answers,
        closes=closes,
        replies=replies,
        may_close=may(role, Action.CLOSE_MONTH) and bool(_console(request).settings.national_operator_codes),
        message=request.query_params.get("message"),
    )


@page
async def close_month(request: Request, name: str, role: Role) -> Response:
    """Asks the clearing service to close a month, as the national operator (clearing.close-requested, signed):
    the same request the national operator's system sends; the answer comes back on its notifications topic."""
    console = _console(request)
    form = await _form(request)
    period = str(form.get("period", "")).strip()
    async with console.pool.acquire() as conn:
        repo = ConsoleRepository(conn)
        if not may(role, Action.CLOSE_MONTH):
            await repo.audit(name, "close-month", period, "refused: read-only", {})
            return render(request, "forbidden.html", what="closing a month", status_code=403)
        if not (len(period) == 6 and period.isdigit()):
            return RedirectResponse("/clearing?message=a+month+is+YYYYMM", status_code=303)
        await repo.audit(name, "close-month", period, "asked", {})
    msgid = await console.close(period)
    async with console.pool.acquire() as conn:
        await ConsoleRepository(conn).audit(name, "close-month", period, "sent", {"msgid": msgid})
    return RedirectResponse(f"/clearing?message=close+of+{period}+asked+(msgid+{msgid})", status_code=303)


@page
async def audit(request: Request, name: str, role: Role) -> Response:
    async with _console(request).pool.acquire() as conn:
        rows = await ConsoleRepository(conn).audit_log()
    return render(request, "audit.html", rows=rows)


def make_app(console: Console) -> Starlette:
    app = Starlette(
        routes=[
            Route("/login", login, methods=["GET", "POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/", overview),
            Route("/sagas", sagas),
            Route("/sagas/{kind}/{saga_id}", saga),
            Route("/dead-letters", dead_letter_list),
            Route("/dead-letters/replay", replay, methods=["POST"]),
            Route("/dead-letters/{topic}/{offset:int}", dead_letter),
            Route("/topics", topics),
            Route("/clearing", clearing),
            Route("/clearing/close", close_month, methods=["POST"]),
            Route("/audit", audit),
        ],
        # a request for another Host (a DNS rebinding page, say) is answered 400 before anything else
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(console.settings)),
            Middleware(_NoFramesNoReferrer),
        ],
        exception_handlers={PermissionError: _forbidden},
    )
    app.state.console = console
    TEMPLATES.env.globals["replayable"] = replayable
    return app


class _NoFramesNoReferrer:
    """No other site may frame a page (a replay button under a decoy), and no link sends a page's address on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Frame-Options"] = "DENY"
                headers["Content-Security-Policy"] = "frame-ancestors 'none'"
                headers["Referrer-Policy"] = "no-referrer"
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


async def _forbidden(request: Request, exc: Exception) -> Response:
    return render(request, "forbidden.html", what=str(exc), status_code=403)
