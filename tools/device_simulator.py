"""A pretend IoT device: pairs itself (or uses a key you have) and uploads realistic batches over HTTP.

Pair a new device for a person and upload 5 batches of 200 heart-rate/steps/SpO2 readings, one every 2 seconds:

    .venv/bin/python tools/device_simulator.py --base-url http://127.0.0.1:8000 \\
        --email person@example.org --password '…' --device-type smartwatch --batches 5 --batch-size 200

A person with stage-2 hypertension whose cuff uploads a three-day backlog, then one hypertensive crisis now: the
backlog adds at most one digest notification per batch, the crisis opens one critical alert episode (printed with
the person's alerts at the end):

    .venv/bin/python tools/device_simulator.py --email person@example.org --password '…' \
        --device-type blood_pressure_monitor --profile hypertensive --backlog-days 3 --batches 3 \
        --batch-size 1000 --every 0 --crisis

Use a key you already have (a device paired and verified before):

    .venv/bin/python tools/device_simulator.py --api-key jegd_… --device-type blood_pressure_monitor

It behaves like firmware should: a heartbeat first, each batch with its own `batch_id`, the same batch sent again
(same id) after a timeout, a 5xx or a lost connection, waiting `Retry-After` on 429. With the person's e-mail it
also polls the batches until the worker has finished them and prints their counts. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

METRICS_BY_TYPE = {
    "smartwatch": ("heart_rate", "steps", "oxygen_saturation"),
    "fitness_tracker": ("heart_rate", "steps", "calories"),
    "blood_pressure_monitor": ("blood_pressure", "heart_rate"),
    "glucose_meter": ("blood_sugar",),
    "smart_scale": ("weight", "body_fat_percentage"),
    "thermometer": ("temperature",),
    "pulse_oximeter": ("oxygen_saturation", "heart_rate"),
    "other": ("heart_rate",),
}


class ApiError(Exception):
    def __init__(self, status: int, body: Any, retry_after: float | None = None):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body
        self.retry_after = retry_after


class Api:
    def __init__(self, base_url: str, timeout: float = 15):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the person running the simulator chooses the URL
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw[:200]
            retry_after = exc.headers.get("Retry-After")
            raise ApiError(exc.code, parsed, float(retry_after) if retry_after else None) from None


class Readings:
    """Plausible readings of one person: slow drifts with noise, in the units devices send. PROFILE `hypertensive`
    is a person with stage-2 hypertension (systolic 105-160, diastolic 65-100 mmHg)."""

    def __init__(self, seed: int | None, profile: str = "normal"):
        self.rng = random.Random(seed)  # noqa: S311 - simulated readings, not secrets
        self.profile = profile
        self.heart = 68.0
        self.weight = 78.0

    def make(self, metric_type: str, at: datetime) -> dict:
        rng = self.rng
        body: dict[str, Any] = {"metric_type": metric_type, "recorded_at": at.isoformat()}
        if metric_type == "heart_rate":
            self.heart = min(150.0, max(48.0, self.heart + rng.gauss(0, 2)))
            body.update(value=round(self.heart), unit="bpm")
        elif metric_type == "steps":
            body.update(value=rng.choice((0, 0, 12, 40, 95, 110)), unit="steps")
        elif metric_type == "oxygen_saturation":
            body.update(value=round(rng.uniform(94, 99.5), 1), unit="%")
        elif metric_type == "calories":
            body.update(value=round(rng.uniform(1, 12), 1), unit="kcal")
        elif metric_type == "blood_pressure" and self.profile == "hypertensive":
            systolic = min(160, max(105, round(rng.gauss(134, 12))))
            diastolic = min(100, max(65, round(rng.gauss(84, 8))))
            body.update(systolic_value=systolic, diastolic_value=min(diastolic, systolic - 20))
        elif metric_type == "blood_pressure":
            systolic = round(rng.gauss(124, 9))
            body.update(systolic_value=systolic, diastolic_value=round(systolic * 0.65 + rng.gauss(0, 3)))
        elif metric_type == "blood_sugar":
            body.update(value=round(rng.gauss(5.8, 0.9), 1), unit="mmol/L")
        elif metric_type == "weight":
            self.weight += rng.gauss(0, 0.1)
            body.update(value=round(self.weight * 2.20462, 1), unit="lb")
        elif metric_type == "body_fat_percentage":
            body.update(value=round(rng.uniform(18, 24), 1), unit="%")
        elif metric_type == "temperature":
            body.update(value=round(rng.gauss(36.8, 0.3), 1), unit="celsius")
        return body


def pair(api: Api, args) -> tuple[str, dict[str, str]]:
    """Log in, pair a device of ARGS.device_type, verify it with its code; the key and the person's headers."""
    tokens = api.call("POST", "/auth/login/", {"email": args.email, "password": args.password})["tokens"]
    person = {"Authorization": f"Bearer {tokens['access']}"}
    serial = f"SIM-{uuid.uuid4().hex[:10].upper()}"
    device = api.call(
        "POST",
        "/devices/",
        {"name": f"Simulated {args.device_type}", "device_type": args.device_type, "serial_number": serial},
        headers=person,
    )
    key = device["api_key"]
    api.call("POST", "/devices/me/verify/", {"verification_code": device["verification_code"]}, headers=_key(key))
    print(f"paired device {device['id']} ({args.device_type}); its key, shown once: {key}")
    return key, person


def _key(key: str) -> dict[str, str]:
    return {"Authorization": f"Api-Key {key}"}


def send_batch(api: Api, key: str, readings: list[dict], attempts: int = 6) -> dict:
    """POST one batch, retrying the same batch_id as firmware should; 202 first time, 200 on a replay."""
    body = {"batch_id": str(uuid.uuid4()), "readings": readings}
    delay = 1.0
    for attempt in range(1, attempts + 1):
        try:
            return api.call("POST", "/devices/me/batches/", body, headers=_key(key))
        except ApiError as exc:
            if exc.status == 429:
                time.sleep(exc.retry_after or delay)
            elif exc.status < 500 or attempt == attempts:
                raise
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            if attempt == attempts:
                raise
            print(f"  attempt {attempt} failed ({exc}); sending batch {body['batch_id']} again")
        time.sleep(delay)
        delay = min(delay * 2, 30)
    raise RuntimeError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description="Simulate an IoT device uploading readings to JEGHealth.")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", help="a verified device's key (otherwise give --email and --password)")
    parser.add_argument("--email")
    parser.add_argument("--password")
    parser.add_argument("--device-type", default="smartwatch", choices=sorted(METRICS_BY_TYPE))
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=200, help="readings per batch (at most 5000)")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between batches")
    parser.add_argument("--spacing", type=int, default=60, help="seconds between readings of one metric")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--profile", choices=["normal", "hypertensive"], default="normal", help="whose readings")
    parser.add_argument("--backlog-days", type=float, default=0, help="readings end this many days ago (a backlog)")
    parser.add_argument("--crisis", action="store_true", help="then one hypertensive crisis (192/118 mmHg) now")
    args = parser.parse_args()

    api = Api(args.base_url)
    person = None
    if args.api_key:
        key = args.api_key
    elif args.email and args.password:
        key, person = pair(api, args)
    else:
        parser.error("give --api-key, or --email and --password to pair a new device")

    metrics = METRICS_BY_TYPE[args.device_type]
    source = Readings(args.seed, args.profile)
    per_metric = max(1, args.batch_size // len(metrics))
    total = args.batches * per_metric
    # Readings end a minute ago (or --backlog-days ago) and go back in time, so none is in the future.
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=args.backlog_days, seconds=60)
    moment = end - timedelta(seconds=args.spacing * total)
    heartbeat = {"battery_level": 87, "firmware_version": "sim-1.0", "signal_strength": -61}
    print("heartbeat:", api.call("POST", "/devices/me/heartbeat/", heartbeat, headers=_key(key)))

    uploaded = []
    for number in range(1, args.batches + 1):
        readings = []
        for _ in range(per_metric):
            readings.extend(source.make(metric, moment) for metric in metrics)
            moment += timedelta(seconds=args.spacing)
        answer = send_batch(api, key, readings)
        uploaded.append(answer["id"])
        print(
            f"batch {number}/{args.batches}: {answer['received_count']} readings -> {answer['status']} {answer['id']}"
        )
        if number < args.batches:
            time.sleep(args.every)
    if args.crisis:
        crisis = {
            "metric_type": "blood_pressure",
            "systolic_value": 192,
            "diastolic_value": 118,
            "recorded_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        }
        answer = send_batch(api, key, [crisis])
        uploaded.append(answer["id"])
        print(f"crisis: one reading of 192/118 mmHg now -> {answer['status']} {answer['id']}")

    if person is not None:
        device_id = api.call("GET", "/devices/me/config/", headers=_key(key))["id"]
        deadline = time.monotonic() + 120
        pending = set(uploaded)
        while pending and time.monotonic() < deadline:
            for batch_id in sorted(pending):
                batch = api.call("GET", f"/devices/{device_id}/batches/{batch_id}/", headers=person)
                if batch["status"] not in ("received", "processing"):
                    pending.discard(batch_id)
                    print(
                        f"batch {batch_id}: {batch['status']}, accepted {batch['accepted_count']}, "
                        f"rejected {batch['rejected_count']}"
                    )
            if pending:
                time.sleep(1)
        if pending:
            print(f"{len(pending)} batch(es) not processed yet: is a worker running (make worker)?", file=sys.stderr)
        time.sleep(1)  # the detection of the last batch runs right after it
        show_alerts(api, person)


def show_alerts(api: Api, person: dict[str, str]) -> None:
    """What the person was told: their alert episodes and their health-alert notifications."""
    episodes = api.call("GET", "/alerts/?limit=10", headers=person)["results"]
    print(f"alert episodes: {len(episodes)}")
    for e in episodes:
        print(
            f"  {e['severity']:<8} {e['rule']:<20} {e['metric_type'] or '':<16} {e['status']:<12} "
            f"{e['reading_count']} reading(s), opened {e['opened_at']}"
        )
    notes = api.call("GET", "/notifications/?category=health_alert&limit=50", headers=person)
    print(f"health-alert notifications: {notes['count']}")
    for n in notes["results"][:10]:
        print(f"  {n['severity']:<8} {n['title']}")


if __name__ == "__main__":
    main()
