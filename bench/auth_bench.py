"""Authentication: what checking a token's session costs on every request, against simplejwt's stock lookup.

Run against PostgreSQL (the bench creates and migrates a database of its own):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jeg_auth_bench .venv/bin/python bench/auth_bench.py

Setup: `--people 2000` accounts, each signed in `--sessions 5` times (10,000 sessions, a fifth of them ended), so
the session table is not trivially small. Then, in 3 interleaved rounds of `--calls 2000` authentications of
random people's access tokens, it times `authenticate()` of simplejwt's JWTAuthentication (one query: the user by
primary key) and of accounts.authentication.SessionJWTAuthentication (one query: the user by primary key with an
EXISTS on the live session by primary key), and prints each one's median and p99 per call, the queries per call
and the difference. Both verify the same signature, so the difference is the session check itself.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

from bench_common import ensure_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jeghealth_backend.settings.base")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.pop("REDIS_URL", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL=postgres://… (see the docstring).")
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.test import APIRequestFactory
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.authentication import SessionJWTAuthentication
    from accounts.models import AuthSession, User
    from accounts.sessions import session_start

    call_command("migrate", verbosity=0)
    prefix = "auth-bench-"
    if User.objects.filter(email__startswith=prefix).count() < args.people:
        User.objects.filter(email__startswith=prefix).delete()
        password = make_password("bench-passphrase-1")
        User.objects.bulk_create(
            [
                User(email=f"{prefix}{i}@example.org", username=f"{prefix}{i}", password=password)
                for i in range(args.people)
            ]
        )
    people = list(User.objects.filter(email__startswith=prefix)[: args.people])
    AuthSession.objects.filter(user__in=people).delete()
    tokens = []
    for person in people:
        for n in range(args.sessions):
            pair = session_start(user=person)
            if n == 0:
                tokens.append(pair["access"])
    # A fifth of the sessions ended (never those whose tokens are timed), as sign-outs leave them.
    timed_ids = {AccessToken(token)["sid"] for token in tokens}
    others = AuthSession.objects.filter(user__in=people).exclude(pk__in=timed_ids).values_list("pk", flat=True)
    ended = list(others)[:: max(1, (args.sessions - 1) * 5 // args.sessions)]
    AuthSession.objects.filter(pk__in=ended).update(ended_at=timezone.now())
    connection.cursor().execute("ANALYZE accounts_authsession; ANALYZE accounts_user")

    factory = APIRequestFactory()
    stock, bound = JWTAuthentication(), SessionJWTAuthentication()
    requests = [factory.get("/", HTTP_AUTHORIZATION=f"Bearer {token}") for token in tokens]

    def timed(authenticator) -> list[float]:
        durations = []
        for request in random.choices(requests, k=args.calls):
            start = time.perf_counter()
            authenticator.authenticate(request)
            durations.append(time.perf_counter() - start)
        return durations

    for authenticator in (stock, bound):
        with CaptureQueriesContext(connection) as queries:
            authenticator.authenticate(requests[0])
        print(f"{type(authenticator).__name__}: {len(queries)} query per authentication")
    reset_queries()
    rounds = {"stock": [], "session": []}
    for _ in range(args.rounds):
        rounds["stock"].append(timed(stock))
        rounds["session"].append(timed(bound))
    sessions = AuthSession.objects.count()
    print(f"{len(people)} people, {sessions} sessions, {args.rounds} rounds x {args.calls} authentications")
    medians = {}
    for name, runs in rounds.items():
        median = statistics.median(statistics.median(run) for run in runs) * 1e6
        p99 = statistics.median(sorted(run)[int(len(run) * 0.99)] for run in runs) * 1e6
        medians[name] = median
        print(f"  {name:8s} median {median:7.1f} µs   p99 {p99:7.1f} µs")
    print(f"  session check: {medians['session'] - medians['stock']:+.1f} µs per request at the median")


if __name__ == "__main__":
    main()
