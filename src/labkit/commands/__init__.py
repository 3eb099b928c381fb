"""The ``labkit`` subcommands, one module each.

Each module listed in :data:`COMMANDS` has ``register(subparsers)``, which adds
its parser and sets ``func`` (a callable taking the parsed arguments and
returning an exit code).  The CLI imports them lazily, so ``labkit knobs``
never pays for importing plotly or nbgrader.
"""

COMMANDS: list[str] = [
    "labkit.commands.knobs",
    "labkit.commands.presets",
    "labkit.commands.simulate",
    "labkit.commands.cpd",
    "labkit.commands.evidence",
    "labkit.commands.sweep",
    "labkit.commands.monitor",
    "labkit.commands.course",
]
