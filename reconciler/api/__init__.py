"""The ByteNite API over HTTP: the one part of the reconciler that talks to the network.

One module per step of a request's path, in order::

    endpoints    the Client: one method per endpoint; a read-only client refuses writes before the network
    retrying     the attempts (stamina's loop), which failures earn another, the retries counted;
                 pausing: the sleep between attempts, which a stopping run cuts short
    auth         the token on every request (an httpx.Auth flow), and the API key exchanged for it
    receiving    one exchange, bounded in time and in size
    transports   the HTTP engine under httpx, chosen once per client
    statuses     what came back, read as the error tree
    answers      each body checked against the contract

Beside them, ``fetching`` reads the current state of many jobs through a client in the fewest requests, and
``counters`` holds what a client sent, which every run reports.
"""

import sys

# httpx's package imports its own command line (``httpx._main``: click, rich, pygments) to offer ``httpx.main``,
# which this tool never calls; a None entry makes that import fail, and httpx then goes without it. It is a
# sixth of a plan's start-up, paid before the first manifest is read.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
