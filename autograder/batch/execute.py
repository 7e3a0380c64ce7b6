"""Running grade requests on Dask: a LocalCluster of processes by default, or any running
scheduler (``dask scheduler`` + ``dask worker``, dask-jobqueue, dask-kubernetes).

Workers must see the same course (PYTHONPATH or AUTOGRADER_COURSE_DIR), the submissions
and the cache folder: on several machines, put the output and cache folders on a shared
file system.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster, as_completed
from distributed.security import Security

from autograder.batch.scheduler import SchedulerUnreachableError
from autograder.batch.task import GradeRequest, TaskOutcome, grade_request, release_worker

log = logging.getLogger(__name__)

Finished = Callable[[GradeRequest, TaskOutcome | BaseException], bool]


@contextmanager
def dask_client(*, workers: int | None = None, scheduler: str | None = None,
                security: Security | None = None,
                connect_timeout_s: float = 30.0) -> Iterator[Client]:
    """A client on ``scheduler`` (with ``security`` for tls://, see scheduler.py), or on a
    new LocalCluster with one single-threaded worker process per core (grading is one
    kernel per submission; threads would only contend). The LocalCluster's scheduler and
    workers listen on 127.0.0.1 only."""
    if scheduler:
        try:
            client = Client(scheduler, timeout=connect_timeout_s, security=security)
        except (OSError, TimeoutError) as exc:
            raise SchedulerUnreachableError(
                f"the Dask scheduler {scheduler} did not accept a connection within "
                f"{connect_timeout_s:g} s ({exc})") from exc
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                      processes=True, dashboard_address=None, scheduler_port=0,
                      host="127.0.0.1", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


def run_requests(client: Client, requests: list[GradeRequest], finished: Finished) -> bool:
    """Submit every request; call ``finished`` as each ends (in completion order). When it
    returns False, cancel what is left and return False."""
    futures = {client.submit(grade_request, request, key=f"grade-{request.key.digest}",
                             pure=False): request for request in requests}
    for future in as_completed(list(futures)):
        request = futures[future]
        outcome: TaskOutcome | BaseException
        if future.status == "finished":
            outcome = future.result()
        else:
            error = future.exception()
            outcome = error if isinstance(error, BaseException) else RuntimeError(
                f"task ended as {future.status}")
        if not finished(request, outcome):
            client.cancel([f for f in futures if not f.done()])
            return False
    return True


def release_workers(client: Client) -> bool:
    """Have every worker close its sandboxes and model evaluator now, all at once (a local
    cluster's workers would otherwise do it one after another while it shuts down).
    Only a speed-up: the batch's results are in by now, and a worker that cannot be asked
    still lets go of everything when it exits. Whether every worker answered."""
    try:
        client.run(release_worker)
    except Exception as exc:
        log.warning("could not ask the workers to close their sandboxes (%s: %s); they "
                    "close them as they exit", type(exc).__name__, exc)
        return False
    return True
