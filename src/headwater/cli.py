"""The ``headwater`` command line.

Each command lives in its own module under ``headwater.commands`` and is imported only when it runs,
so ``headwater --help`` stays fast and one subsystem's imports never slow down another's command.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> "module:attribute" of a click command or group
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("headwater.commands.serve:serve", "Run the Flow Service API (and UI, scheduler, workers)."),
    "credentials": ("headwater.commands.admin:credentials", "Print the default API client's credentials."),
    "orgs": ("headwater.commands.admin:orgs", "Create and list orgs."),
    "sandboxes": ("headwater.commands.admin:sandboxes", "Create and list sandboxes of an org."),
    "clients": ("headwater.commands.admin:clients", "Create and list API clients of an org."),
    "db": ("headwater.commands.admin:db", "Migrate the metadata database."),
    "emulator": ("headwater.commands.emulator:emulator", "Run a local emulator of a source (Salesforce)."),
    "worker": ("headwater.commands.worker:worker", "Execute dataflow runs from the shared job queue."),
    "demo": ("headwater.commands.demo:demo", "Start everything with a demo Salesforce and run sample flows."),
    "query": ("headwater.commands.query:query", "Run SQL (DuckDB) over the datasets in the lake."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return _unavailable(cmd_name, target[1])
        command: click.Command = getattr(module, attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _unavailable(name: str, help_text: str) -> click.Command:
    @click.command(name=name, help=help_text)
    def command(**_: Any) -> None:
        raise click.ClickException(f"'headwater {name}' is not part of this build yet.")

    return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="headwater")
def main() -> None:
    """Headwater: an open-source, self-hosted Flow Service."""


if __name__ == "__main__":
    main()
