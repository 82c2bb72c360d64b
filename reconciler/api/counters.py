"""What a client sent, by kind: every plan and report states the requests its run cost."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Counters:
    """Requests sent, by kind; one per client, so a plan's reads and an apply's writes are told apart."""

    reads: int = 0
    writes: int = 0
    retries: int = 0
    token_exchanges: int = 0
