"""Celery's side of the shared-queue bench (crates/queue/benches/shared.rs).

    python celery_run.py --url redis://127.0.0.1:PORT/0 --jobs N --workers W \
        [--pool threads] [--concurrency C]

Measures, on the Redis server named by --url (the bench starts one with AOF and
`appendfsync always`, the same settings as for our store):

- enqueue rate: N `apply_async` of a no-op task with the payload shape of the Rust
  bench (a dict with an input path), from 64 concurrent callers (threads), each
  waiting for its publish to return;
- processing rate: W Celery worker processes (this file is also the Celery app) run
  the N tasks; each task increments a counter in Redis, and the rate is N over the time
  from the first task's start until the counter reaches N (the Rust bench, too, times
  from the moment its already started workers may claim until all N are recorded).
  The rate from the first worker's launch (Python start-up included) is given too.

Prints one JSON line with the figures.

What an acknowledged enqueue means, ours against Celery's: our enqueue returns after
its transaction (EXEC) was answered by Redis; with `appendfsync always` Redis answers
a write only after the AOF holding it was fsync'd. Celery with the Redis transport has
no publisher confirms (`confirm_publish` is AMQP only): `apply_async` returns once the
LPUSH of the message was answered, which on the same server means fsync'd too. So both
acknowledge a job that is on disk; the difference is in what follows. Our claim is a
transaction (the job moves to running with a lease); Celery's worker takes a message
with BRPOP and only then records it in its unacked hash (a second round trip), so a
worker killed between the two loses the message, and a message held by a dead worker
comes back only after the visibility timeout (1 hour by default, against our 30 s
lease). Tasks here are `acks_late` (acknowledged after they ran, as our jobs are
recorded done after they ran) with no result backend: the counter (one INCR per task)
is lighter than storing a result per task, and is what tells that all N ran.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import celery
import redis
from celery import Celery

BROKER = os.environ.get("V2D_CELERY_BROKER", "redis://127.0.0.1:6379/0")
RUN = os.environ.get("V2D_CELERY_RUN", "default")
DONE_KEY = f"v2d-bench:{RUN}:done"
FIRST_KEY = f"v2d-bench:{RUN}:first"
CALLERS = 64

app = Celery("celery_run", broker=BROKER)
app.conf.update(
    task_acks_late=True,
    task_ignore_result=True,
    # One producer per concurrent caller (the default pool holds 10).
    broker_pool_limit=CALLERS + 4,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

_redis = None
_redis_lock = threading.Lock()


def counter():
    global _redis
    with _redis_lock:
        if _redis is None:
            _redis = redis.Redis.from_url(BROKER)
        return _redis


@app.task(name="noop")
def noop(payload):
    r = counter()
    if r.incr(DONE_KEY) == 1:
        r.set(FIRST_KEY, repr(time.time()))
    return None


def enqueue(n, queue):
    """N apply_async from CALLERS threads; returns jobs per second."""
    errors = []

    def caller(c):
        try:
            with app.producer_or_acquire() as producer:
                for i in range(c, n, CALLERS):
                    noop.apply_async(
                        args=({"input": f"/mnt/share/lectures/lecture-{i:06}.mp4"},),
                        queue=queue,
                        producer=producer,
                    )
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=caller, args=(c,)) for c in range(CALLERS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return n / elapsed


def start_workers(workers, queue, pool, concurrency, run):
    env = dict(os.environ, V2D_CELERY_BROKER=BROKER, V2D_CELERY_RUN=run)
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    procs = []
    for w in range(workers):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "celery_run", "worker",
                    "--pool", pool, "--concurrency", str(concurrency),
                    "-Q", queue, "-n", f"bench{w}-{run}@%h", "--loglevel", "WARNING",
                ],
                cwd=here,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
    return procs


def stop_workers(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)  # warm shutdown
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    global BROKER, RUN, DONE_KEY, FIRST_KEY
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--pool", default="threads", choices=["threads", "solo", "prefork"])
    ap.add_argument("--concurrency", type=int, default=2)
    args = ap.parse_args()
    if args.pool == "solo":
        args.concurrency = 1

    run = uuid.uuid4().hex[:12]
    BROKER, RUN = args.url, run
    DONE_KEY, FIRST_KEY = f"v2d-bench:{run}:done", f"v2d-bench:{run}:first"
    app.conf.broker_url = args.url
    queue = f"v2d-bench-{run}"
    r = redis.Redis.from_url(args.url)
    r.ping()

    enq = enqueue(args.jobs, queue)
    queued = r.llen(queue)

    launched = time.time()
    procs = start_workers(args.workers, queue, args.pool, args.concurrency, run)
    try:
        deadline = launched + 600
        while int(r.get(DONE_KEY) or 0) < args.jobs:
            if time.time() > deadline:
                raise SystemExit("Celery workers did not finish within 10 minutes")
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                err = dead[0].stderr.read().decode(errors="replace")
                raise SystemExit(f"a Celery worker exited ({dead[0].returncode}): {err[-2000:]}")
            time.sleep(0.02)
        finished = time.time()
    finally:
        stop_workers(procs)
    first = float(r.get(FIRST_KEY))
    done = int(r.get(DONE_KEY))
    left = r.llen(queue) + r.hlen("unacked")
    r.delete(DONE_KEY, FIRST_KEY)
    print(
        json.dumps(
            {
                "celery": celery.__version__,
                "jobs": args.jobs,
                "workers": args.workers,
                "pool": args.pool,
                "concurrency": args.concurrency,
                "queued_after_enqueue": queued,
                "done": done,
                "left_in_broker": left,
                "enqueue_per_s": round(enq),
                "process_per_s": round(args.jobs / (finished - first)),
                "process_from_launch_per_s": round(args.jobs / (finished - launched)),
                "worker_startup_s": round(first - launched, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
