"""A local emulator of the ByteNite jobs API, for tests, benchmarks and demos.

It imports nothing from the rest of the reconciler, so a misreading of the API cannot hide on both sides.
Modules: ``wire`` (protobuf-JSON parsing and the job shape), ``store`` (jobs and state rules), ``faults``,
``tokens``, ``observing`` (request log, counters), ``persistence``, ``api`` (ByteNite's routes), ``control``
(``/_emulator/``), ``gateway`` (faults and logging in front of the API), ``app``, ``server``, ``command``, and
``remote`` (a client of ``/_emulator/`` and the emulator in its own process, for tests and benchmarks).
"""
