"""Operating the daemon: ``run``, ``wyoming``, ``schedule``, ``doctor``, ``install-service``, ``config``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edgebrain.base.config import default
from edgebrain.base.errors import InputError
from edgebrain.cli.options import add_config_arg, add_understand_args, settings_of


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon; with no configuration, the example registry, stdin and a dry run that prints."""
    from edgebrain.app.daemon import run, with_cli

    return run(with_cli(settings_of(args), args.devices, args.model, args.threads))


def cmd_wyoming(args: argparse.Namespace) -> int:
    """The daemon with its Wyoming server on (and stdin off), for Home Assistant's Assist."""
    from dataclasses import replace

    from edgebrain.app.daemon import run, with_cli

    settings = with_cli(settings_of(args), args.devices, args.model, args.threads)
    wyoming = replace(settings.wyoming, enabled=True, uri=args.uri or settings.wyoming.uri,
                      zeroconf=settings.wyoming.zeroconf and not args.no_zeroconf)
    return run(replace(settings, wyoming=wyoming, stdin=False))


def cmd_schedule(args: argparse.Namespace) -> int:
    """List or cancel timed commands."""
    from edgebrain.app.service import schedule_path
    from edgebrain.core.schedule import Schedule

    schedule = Schedule(schedule_path(settings_of(args)))
    try:
        if args.action == "cancel":
            if args.id is None:
                raise InputError("schedule cancel needs the job id (see `edgebrain schedule list`)")
            job = schedule.cancel(args.id)
            print(f"cancelled job {job.id}: {json.dumps(job.command.to_dict())}")
            return 0
        jobs = schedule.jobs(include_done=args.all)
        if args.json:
            print(json.dumps([j.to_dict() for j in jobs], ensure_ascii=False))
        for job in [] if args.json else jobs:
            print(f"{job.id:5}  {job.to_dict()['due']}  {job.status:9}  {json.dumps(job.command.to_dict())}")
        return 0
    finally:
        schedule.close()


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check model, registry, broker, speech and GPIO; exit 1 when something is wrong."""
    from edgebrain.app.doctor import diagnose

    checks = diagnose(settings_of(args))
    for check in checks:
        print(check.line())
    return 0 if all(c.ok for c in checks) else 1


def cmd_install_service(args: argparse.Namespace) -> int:
    """Install the systemd unit (or print it)."""
    import edgebrain.app.systemd as systemd

    if args.print:
        sys.stdout.write(systemd.unit_text())
        return 0
    for step in systemd.install(Path(args.root)):
        print(step)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Check the configuration, or print its schema."""
    from edgebrain.base.schemas import load_schema

    if args.schema:
        print(json.dumps(load_schema("config"), indent=2, ensure_ascii=False))
        return 0
    settings = settings_of(args)
    print(f"configuration OK ({settings.source})")
    print(repr(settings))
    return 0


def add_parsers(sub: Any) -> None:
    """The daemon's commands."""
    run = sub.add_parser("run", help="the daemon: understand requests from stdin and MQTT, route or schedule them")
    add_understand_args(run, clock=False)  # the daemon schedules by the real clock
    add_config_arg(run)
    run.set_defaults(func=cmd_run)

    wyoming = sub.add_parser("wyoming", help="the daemon as a Wyoming service for Home Assistant's Assist "
                             "(understanding and speech to text)")
    add_understand_args(wyoming, clock=False)
    add_config_arg(wyoming)
    wyoming.add_argument("--uri", help=f"tcp://HOST:PORT or unix://PATH (default: wyoming.uri, "
                                       f"{default('wyoming', 'uri')})")
    wyoming.add_argument("--no-zeroconf", action="store_true", help="do not announce the service on the network")
    wyoming.set_defaults(func=cmd_wyoming)

    schedule = sub.add_parser("schedule", help="list or cancel timed commands")
    schedule.add_argument("action", choices=["list", "cancel"])
    schedule.add_argument("id", nargs="?", type=int, help="job id to cancel")
    schedule.add_argument("--all", action="store_true", help="also jobs that fired, were missed or cancelled")
    schedule.add_argument("--json", action="store_true", help="print JSON")
    add_config_arg(schedule)
    schedule.set_defaults(func=cmd_schedule)

    doctor = sub.add_parser("doctor", help="check the model, registry, broker, microphone and GPIO")
    add_config_arg(doctor)
    doctor.set_defaults(func=cmd_doctor)

    install = sub.add_parser("install-service", help="install the systemd unit, user and /etc/edgebrain (root)")
    install.add_argument("--print", action="store_true", help="only print the unit for this installation")
    install.add_argument("--root", metavar="DIR", default="/",
                         help="install into DIR as if it were / (a system image being built; no systemctl)")
    install.set_defaults(func=cmd_install_service)

    config = sub.add_parser("config", help="check the configuration, or print its schema")
    add_config_arg(config)
    config.add_argument("--schema", action="store_true", help="print the JSON schema of the configuration")
    config.set_defaults(func=cmd_config)
