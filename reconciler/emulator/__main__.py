"""``python -m reconciler.emulator``: the ``reconciler emulator`` command on its own."""

from reconciler.emulator.command import command

command(prog_name="python -m reconciler.emulator")
