"""The `whosthat` command: this module builds the command tree and nothing imports it.

The command functions live in `whosthat.commands` (one module per area: faces, server, liveness,
evaluate, research; shared options in options.py); each is a thin typer-annotated function that parses, calls the library and prints. They do
not know where they are mounted: the tables below do. Heavy imports (dlib, MediaPipe, torch) happen
inside the command functions, so `whosthat --help` is instant.

Exit codes: 0 success, 1 a documented "no" result (no match, not live), 2 bad input.
"""

from __future__ import annotations

import sys

import typer

from whosthat.commands import attendance, evaluate, faces, liveness, research, server
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
kiosk_app = typer.Typer(help="Register and pair kiosks.", no_args_is_help=True)
retention_app = typer.Typer(help="Apply the retention settings.", no_args_is_help=True)
# `whosthat bench` alone measures the face pipeline; `whosthat bench <what>` measures one area.
bench_app = typer.Typer(help="Latency and throughput benchmarks on real images.", invoke_without_command=True)

# (typer app, command name, function); the order is the order of `--help`.
COMMANDS = [
    (app, "models", faces.models_command),
    (app, "embed", faces.embed_command),
    (app, "verify", faces.verify_command),
    (app, "calibrate-boxes", research.calibrate_boxes_command),
    (app, "calibrate-sface", research.calibrate_sface_command),
    (app, "calibrate-embedders", research.calibrate_embedders_command),
    (app, "serve", server.serve_command),
    (app, "identify", server.identify_command),
    (app, "reembed", server.reembed_command),
    (app, "backup", server.backup_command),
    (app, "restore", server.restore_command),
    (app, "calibrate", server.calibrate_command),
    (app, "eyes", liveness.eyes_command),
    (app, "pad", liveness.pad_command),
    (app, "tune", research.tune_command),
    (app, "export", research.export_command),
    (admin_app, "create", server.admin_create_command),
    (admin_app, "password", server.admin_password_command),
    (apikey_app, "create", server.apikey_create_command),
    (kiosk_app, "create", attendance.kiosk_create_command),
    (kiosk_app, "code", attendance.kiosk_code_command),
    (kiosk_app, "list", attendance.kiosk_list_command),
    (retention_app, "run", attendance.retention_run_command),
    (eval_app, "lfw", evaluate.eval_lfw_command),
    (eval_app, "nuaa", evaluate.eval_nuaa_command),
    (eval_app, "celeba", evaluate.eval_celeba_command),
    (eval_app, "populations", evaluate.eval_populations_command),
    (eval_app, "open-set", evaluate.eval_open_set_command),
    (eval_app, "eyes", evaluate.eval_eyes_command),
    (eval_app, "pad", evaluate.eval_pad_command),
    (eval_app, "baseline", evaluate.eval_baseline_command),
    (train_app, "eyes", research.train_eyes_command),
    (train_app, "eyes-cv", research.train_eyes_cv_command),
    (train_app, "pad", research.train_pad_command),
    (train_app, "prepare", research.prepare_command),
    *((train_app, name, fn) for name, fn in research.train_method_commands().items()),
    (bench_app, "identify", server.bench_identify_command),
    (bench_app, "crash", server.bench_crash_command),
    (bench_app, "uploads", server.bench_uploads_command),
    (bench_app, "liveness", liveness.bench_liveness_command),
    (bench_app, "attendance", attendance.bench_attendance_command),
]

for _parent, _name, _function in COMMANDS:
    _parent.command(_name)(_function)
bench_app.callback()(faces.bench_command)

app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")
app.add_typer(admin_app, name="admin")
app.add_typer(apikey_app, name="apikey")
app.add_typer(kiosk_app, name="kiosk")
app.add_typer(retention_app, name="retention")
app.add_typer(bench_app, name="bench")


def main() -> None:
    try:
        app()
    except BadInputError as exc:
        typer.echo(f"whosthat: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
