"""The command line (``reconciler``): the only package that prints or exits.

``app`` holds the group, its error handling and its decorators, ``options`` the shared flags, ``planning``,
``showing``, ``applying``, ``importing`` and ``resolving`` the commands of each family, ``commands`` the small
ones and the entry point, ``output`` what they show and ``running`` how their coroutines run.
"""

from reconciler.cli.app import cli
from reconciler.cli.commands import main

__all__ = ["cli", "main"]
