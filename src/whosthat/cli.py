"""The `whosthat` command.

Sub-commands live beside the code they drive (`vision/commands.py`, `web/commands.py`,
`liveness/commands.py`, `research/commands.py`) and register themselves on the apps below. Heavy
imports (dlib, MediaPipe, torch) happen inside the command functions so `whosthat --help` is instant.

Exit codes: 0 success, 1 a documented "no" result (no match, not live), 2 bad input.
"""

from __future__ import annotations

import sys

import typer

from whosthat.errors import BadInputError

app = typer.Typer(
    name="whosthat",
    help="Face login and attendance: recognition, liveness, evaluation and training.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
eval_app = typer.Typer(
    help="Evaluate a model on a dataset: metrics, plots and a report.", no_args_is_help=True
)
train_app = typer.Typer(
    help="Train a model (needs the 'train' extra: torch, lightning).", no_args_is_help=True
)
admin_app = typer.Typer(help="Manage administrators.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
# `whosthat bench` alone measures the face pipeline; areas add `whosthat bench <what>` sub-commands.
bench_app = typer.Typer(help="Latency and throughput benchmarks on real images.", invoke_without_command=True)
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")
app.add_typer(admin_app, name="admin")
app.add_typer(apikey_app, name="apikey")
app.add_typer(bench_app, name="bench")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line reason on stderr and return the Exit to raise."""
    typer.echo(f"whosthat: {message}", err=True)
    return typer.Exit(code)


def _register_commands() -> None:
    import importlib

    for module in (
        "whosthat.vision.commands",
        "whosthat.web.commands",
        "whosthat.liveness.commands",
        "whosthat.research.commands",
    ):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # an area not built yet must not break the others
            if exc.name != module:
                raise


_register_commands()


def main() -> None:
    try:
        app()
    except BadInputError as exc:
        typer.echo(f"whosthat: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
