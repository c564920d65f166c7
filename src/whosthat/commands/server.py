"""Command-line verbs of the web app and its store: serve, admin create, apikey create, identify,
reembed, calibrate --far, bench-identify. All state lives under WHOSTHAT_HOME."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from whosthat.commands.options import JsonOpt
from whosthat.errors import BadInputError


def _runtime():
    from whosthat.services.runtime import Runtime

    return Runtime.from_settings()


def _context(runtime):
    """A service Context for one command (audit address "cli"), closed when the command ends."""
    from whosthat.services.common import Context

    return Context.open(runtime, address="cli")


def serve_command(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes (each keeps its own gallery copy)")] = 1,
    proxy_headers: Annotated[
        bool, typer.Option(help="trust X-Forwarded-* from --forwarded-allow-ips")
    ] = False,
    forwarded_allow_ips: Annotated[
        str, typer.Option(help="proxies whose X-Forwarded-For is trusted")
    ] = "127.0.0.1",
    log_format: Annotated[
        str, typer.Option(help="json (one object per line, with request ids) or text (uvicorn's own)")
    ] = "json",
) -> None:
    """Start the web app (kiosk at /kiosk, admin at /login, API at /api/v1, docs at /docs)."""
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from whosthat.web.app import create_app
    from whosthat.web.logs import log_config

    application = create_app()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    application.state.public_url = f"http://{shown}:{port}"
    application.state.warm_up = True  # /readyz says 503 until the gallery is loaded and decrypted
    typer.echo(
        f"whosthat: serving on http://{shown}:{port} (state in {application.state.settings.home.resolve()})",
        err=True,
    )
    if workers != 1:
        typer.echo(
            "whosthat: --workers > 1 needs an import string; run uvicorn "
            "'whosthat.web.app:create_app' --factory --workers N instead",
            err=True,
        )
        raise typer.Exit(2)
    uvicorn.run(
        application,
        host=host,
        port=port,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        log_level="info",
        log_config=log_config("info") if log_format == "json" else LOGGING_CONFIG,
        access_log=log_format != "json",
        ws_max_size=2 * 1024 * 1024,
    )


def admin_create_command(
    name: Annotated[str, typer.Argument(help="user name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
    role: Annotated[str, typer.Option(help="admin (everything) or viewer (read only)")] = "admin",
) -> None:
    """Create an administrator (password hashed with argon2id)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    from whosthat.services import access

    with _context(_runtime()) as ctx:
        admin = access.create_admin(ctx, name, password, role=role)
    typer.echo(f"whosthat: administrator {admin.username!r} ({admin.role}) created", err=True)


def admin_password_command(
    name: Annotated[str, typer.Argument(help="user name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the new password from stdin")
    ] = False,
) -> None:
    """Change an administrator's password; every browser session of theirs ends at once."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    from whosthat.services import access

    with _context(_runtime()) as ctx:
        admin = access.change_password(ctx, name, password)
    typer.echo(f"whosthat: password of {admin.username!r} changed; their sessions are ended", err=True)


def _passphrase(from_stdin: bool) -> str:
    """The backup passphrase: stdin (--passphrase-stdin), else WHOSTHAT_BACKUP_PASSPHRASE, else a prompt."""
    import os

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if os.environ.get("WHOSTHAT_BACKUP_PASSPHRASE"):
        return os.environ["WHOSTHAT_BACKUP_PASSPHRASE"]
    return typer.prompt("Backup passphrase", hide_input=True)


def backup_command(
    out: Annotated[Path, typer.Argument(help="the backup file to write (mode 0600)")],
    passphrase_stdin: Annotated[
        bool, typer.Option("--passphrase-stdin", help="read the passphrase from stdin")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write an encrypted, consistent snapshot of the database and the encryption key (safe while the
    server runs). The passphrase comes from stdin, WHOSTHAT_BACKUP_PASSPHRASE or a prompt."""
    from whosthat.config import get_settings
    from whosthat.services import backup

    info = backup.backup(get_settings(), out, _passphrase(passphrase_stdin))
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "path": str(info.path),
                    "bytes": info.bytes,
                    "rows": info.rows,
                    "revision": info.revision,
                    "created_at": info.created_at,
                }
            )
        )
    typer.echo(f"whosthat: backup of {info.rows} rows written to {info.path} ({info.bytes} bytes)", err=True)


def restore_command(
    path: Annotated[Path, typer.Argument(help="a file written by whosthat backup")],
    passphrase_stdin: Annotated[
        bool, typer.Option("--passphrase-stdin", help="read the passphrase from stdin")
    ] = False,
) -> None:
    """Restore a backup into an empty WHOSTHAT_HOME (or an empty PostgreSQL database): the key file
    and every row. Refuses a home or database that already holds data."""
    from whosthat.config import get_settings
    from whosthat.services import backup

    settings = get_settings()
    info = backup.restore(settings, path, _passphrase(passphrase_stdin))
    typer.echo(
        f"whosthat: restored {info.rows} rows from {info.path} (taken {info.created_at}) into {settings.home}",
        err=True,
    )


def apikey_create_command(
    name: Annotated[str, typer.Argument(help="what the key is for, e.g. payroll-export")],
    scopes: Annotated[list[str], typer.Option("--scopes", help="scopes, repeated or comma-separated")] = None,
) -> None:
    """Print a new API key on stdout (only its hash is stored)."""
    from whosthat.services import access
    from whosthat.services.common import SCOPES

    wanted = [s for item in (scopes or []) for s in item.replace(",", " ").split()]
    if not wanted:
        raise BadInputError("give --scopes, any of: " + ", ".join(SCOPES))
    with _context(_runtime()) as ctx:
        row, key = access.create_api_key(ctx, name, wanted)
    typer.echo(f"whosthat: API key {row.id} {row.name!r} with scopes {row.scopes}", err=True)
    typer.echo(key)


def identify_command(
    image: Annotated[Path, typer.Argument(help="image file")],
    as_json: JsonOpt = False,
) -> None:
    """Top match of the one face in IMAGE against the enrolled gallery. Exit 1 when nobody matches."""
    if not image.is_file():
        raise BadInputError(f"{image}: no such file")
    from whosthat.services import recognition

    with _context(_runtime()) as ctx:
        result = recognition.identify(ctx, image.read_bytes())
        out = result.to_dict()
    out["server_ms"] = round(result.server_ms, 1)
    if as_json:
        sys.stdout.write(json.dumps(out) + "\n")
    elif result.person is not None:
        typer.echo(
            f"{result.person.name} {result.person.surname} ({result.person.employee_code}) "
            f"distance {result.distance:.3f} <= {result.threshold:.3f}"
        )
    elif result.reason == "ambiguous":
        typer.echo(
            f"no match: ambiguous (the two nearest people are {result.margin:.3f} apart, "
            f"need {result.margin_required:.3f})"
        )
    else:
        typer.echo(f"no match (threshold {result.threshold:.3f})")
    if result.person is None:
        raise typer.Exit(1)


def reembed_command(
    to: Annotated[str, typer.Option("--to", help="embedder to move everyone to (see `whosthat models`)")],
    keep_old: Annotated[bool, typer.Option("--keep-old", help="keep the old templates too")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Re-embed every stored face chip with another embedder; then set WHOSTHAT_EMBEDDER to it."""
    from whosthat.services.reembed import reembed

    with _context(_runtime()) as ctx:
        report = reembed(
            ctx,
            to,
            keep_old=keep_old,
            progress=lambda n: typer.echo(f"whosthat: {n} templates re-embedded", err=True),
        )
    out = {
        "to": report.to_model,
        "people": report.people,
        "templates": report.templates,
        "removed_old": report.removed_old,
        "skipped_no_chip": report.skipped_no_chip,
        "from_chip_fallback": report.from_chip_fallback,
        "errors": report.errors,
    }
    if as_json:
        sys.stdout.write(json.dumps(out) + "\n")
    else:
        typer.echo(
            f"re-embedded {report.templates} templates of {report.people} people with {report.to_model}; "
            f"removed {report.removed_old} old; {report.skipped_no_chip} without chip (re-enrol those)"
        )
        if report.from_chip_fallback:
            typer.echo(
                f"{report.from_chip_fallback} templates were placed from the kept 150x150 chip (chip-map crop, "
                f"marked alignment=chip-map): {report.to_model} needs the photo for its own crop, so those match "
                "less well until the people enrol again"
            )
        typer.echo(f"now run the server with WHOSTHAT_EMBEDDER={report.to_model}")


def calibrate_command(
    far: Annotated[float, typer.Option("--far", help="target false-accept rate, e.g. 1e-4")] = 1e-4,
    model: Annotated[
        str | None, typer.Option("--model", help="embedder (default: the configured one)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Match threshold reaching FAR on the enrolled gallery's impostor pairs, never looser than the
    model's default; needs at least 20 enrolled people (set it as WHOSTHAT_MATCH_THRESHOLD)."""
    from whosthat.services import recognition

    if not 0 < far < 1:
        raise BadInputError("--far must be between 0 and 1, e.g. 1e-4")
    with _context(_runtime()) as ctx:
        proposal = recognition.calibrate_threshold(ctx, far, model)
    result, embedder = proposal.calibration, proposal.embedder
    if as_json:
        sys.stdout.write(json.dumps(proposal.to_dict()) + "\n")
        return
    typer.echo(
        f"{embedder}: threshold {result.threshold:.4f} gives FAR {result.far_at_threshold:.2e} on "
        f"{result.impostor_pairs} impostor pairs ({result.people} people, {result.templates} templates)"
    )
    if result.frr_at_threshold is not None:
        typer.echo(
            f"FRR on {result.genuine_pairs} genuine pairs at that threshold: {result.frr_at_threshold:.3f}"
        )
    if not result.resolvable:
        typer.echo(
            f"warning: {result.impostor_pairs} impostor pairs cannot resolve FAR {far:g}; the threshold "
            "is the smallest impostor distance seen (optimistic). Enrol more people.",
            err=True,
        )
    if not proposal.stricter:
        typer.echo(
            f"the model's default threshold {proposal.default_threshold:.4f} is already at least as strict: "
            "keep it (a gallery never loosens it)"
        )
        return
    typer.echo(f"use it with: export WHOSTHAT_MATCH_THRESHOLD={proposal.proposed:.4f}")


def bench_identify_command(
    templates: Annotated[int, typer.Option(help="gallery size to enrol")] = 10_000,
    requests: Annotated[int, typer.Option(help="timed identify requests")] = 30,
    image: Annotated[
        Path | None, typer.Option(help="probe image (default: an LFW face on a 640x480 canvas)")
    ] = None,
    data: Annotated[Path | None, typer.Option(help="dataset root (default WHOSTHAT_DATA)")] = None,
    min_real: Annotated[
        int, typer.Option(help="embed uncached LFW photos until this many real templates")
    ] = 1000,
    search_only: Annotated[
        bool, typer.Option(help="the gallery index alone: exact vs approximate search, start-up, memory")
    ] = False,
    float16: Annotated[bool, typer.Option(help="--search-only: keep the matrix in float16")] = False,
    ann: Annotated[str, typer.Option(help="--search-only: approximate index, ivf or hnsw")] = "ivf",
    celeba: Annotated[int, typer.Option(help="--search-only: real CelebA photos among the filler")] = 300,
    queries: Annotated[int, typer.Option(help="--search-only: probes (half held-out real photos)")] = 400,
    store: Annotated[
        bool, typer.Option(help="--search-only: also the database load, change log and a served replica")
    ] = True,
    sweep: Annotated[
        str,
        typer.Option(help="--search-only: comma-separated IVF nprobe (or HNSW efSearch) values to compare"),
    ] = "",
    rows_per_list: Annotated[int, typer.Option(help="--search-only: IVF rows per list (0: the default)")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Server time of POST /api/v1/identify (one 640x480 JPEG) with TEMPLATES enrolled templates.

    Runs in a throwaway WHOSTHAT_HOME (SQLite): one real LFW template per enrolled person, the rest of the
    gallery filled with real dlib embeddings of other LFW images (encrypted like any template), then times
    the identify request through the full app (HTTP in-process, decode, detect, align, embed, search).
    """
    from whosthat.web.bench import run_identify_bench, run_search_bench

    if search_only:
        if ann not in ("ivf", "hnsw"):
            raise typer.BadParameter("--ann must be ivf or hnsw")
        result = run_search_bench(
            templates=templates,
            queries=queries,
            float16=float16,
            ann=ann,
            lfw_n=min_real,
            celeba_n=celeba,
            data=data,
            store=store,
            serve=store,
            rows_per_list=rows_per_list or None,
            sweep_widths=tuple(int(x) for x in sweep.split(",") if x.strip()),
            log=lambda m: typer.echo(f"whosthat: {m}", err=True),
        )
        if as_json:
            sys.stdout.write(json.dumps(result) + "\n")
        else:
            typer.echo(
                f"search at {result['templates']} templates: exact median {result['exact_median_ms']:.2f} ms, "
                f"{ann} median {result['ann_median_ms']:.2f} ms, recall@1 {result['recall_at_1_template']:.4f}"
            )
        return
    result = run_identify_bench(
        templates=templates,
        requests=requests,
        image=image,
        data=data,
        min_real=min_real,
        log=lambda m: typer.echo(f"whosthat: {m}", err=True),
    )
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        typer.echo(
            f"identify with {result['templates']} templates: median {result['median_ms']:.1f} ms "
            f"(server), p90 {result['p90_ms']:.1f} ms, search only median {result['search_median_ms']:.2f} ms"
        )


def bench_crash_command(
    rounds: Annotated[int, typer.Option(help="kill -9 rounds")] = 12,
    writers: Annotated[int, typer.Option(help="writer threads")] = 4,
    min_s: Annotated[float, typer.Option(help="shortest round before the kill")] = 1.0,
    max_s: Annotated[float, typer.Option(help="longest round before the kill")] = 4.0,
    parallel: Annotated[int, typer.Option(help="parallel clock events per race burst")] = 8,
    as_json: JsonOpt = False,
) -> None:
    """kill -9 a real server during writes, ROUNDS times: acknowledged writes lost (must be 0), the
    database checks, clock-event races (days that do not alternate in/out; must be 0)."""
    from whosthat.web.reliability import crash_test

    report = crash_test(rounds=rounds, writers=writers, round_s=(min_s, max_s), race_parallel=parallel)
    out = report.to_dict()
    if as_json:
        typer.echo(json.dumps(out))
    else:
        typer.echo(
            f"{report.rounds} kills, {report.acknowledged_people} people + {report.acknowledged_events} events "
            f"acknowledged ({report.answered} answered): {report.lost} lost; integrity {report.integrity}, "
            f"{report.foreign_key_errors} foreign-key errors; {report.race_bursts} bursts of {report.race_parallel} "
            f"parallel clock events, {report.days_not_alternating} of {report.days_checked} days not alternating "
            f"({report.seconds} s)"
        )
    if report.lost or report.integrity != "ok" or report.foreign_key_errors or report.days_not_alternating:
        raise typer.Exit(1)


def bench_uploads_command(
    concurrent: Annotated[int, typer.Option(help="uploads sent at once")] = 4,
    rounds: Annotated[int, typer.Option(help="rounds per image kind")] = 3,
    image: Annotated[Path | None, typer.Option(help="a face photo for the warm-up request")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Peak memory of a real server while CONCURRENT worst-case uploads (25 MP PNG and JPEG) run at once."""
    from whosthat.web.reliability import upload_memory

    warm = image.read_bytes() if image else _default_face()
    out = upload_memory(concurrent=concurrent, rounds=rounds, warm_image=warm)
    if as_json:
        typer.echo(json.dumps(out))
    else:
        typer.echo(
            f"peak {out['peak_mb']} MB with {concurrent} concurrent worst-case uploads "
            f"(after warm-up: {out['baseline']['peak_mb']} MB peak, {out['baseline']['rss_mb']} MB resident)"
        )
        for r in out["results"]:
            typer.echo(
                f"  {r['image']} ({r['bytes']} bytes): {r['statuses']} in {r['wall_s']} s, peak {r['peak_mb_after']} MB"
            )


def _default_face() -> bytes | None:
    """scikit-image's public-domain astronaut portrait as JPEG, when scikit-image is installed."""
    try:
        from skimage import data as skdata
    except ImportError:
        return None
    from whosthat.vision.image import encode_jpeg

    return encode_jpeg(skdata.astronaut())
