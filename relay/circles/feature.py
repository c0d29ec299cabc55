"""Wires circles into the relay: the intake route, the question watch, digests and reminders."""

from __future__ import annotations

from relay.circles import care, digests
from relay.intake.circle_mail import CircleRoute


def install(relay) -> None:
    relay.routes["circle"] = CircleRoute(relay.intake_ctx)
    relay.intake_ctx.after_store.append(care.watch_questions)
    scheduler = relay.scheduler
    if scheduler is None:
        # No scheduler in this build: question jobs are still planned (rows wait in the Job
        # table), but nothing sends digests or reminders until a scheduler is installed.
        return
    domain, env = relay.settings.domain, relay.templates
    scheduler.add_planner(digests.plan_digests)
    scheduler.add_handler(digests.JOB_KIND, digests.DigestHandler(env, domain))
    scheduler.add_handler(care.JOB_KIND, care.ReminderHandler(env, domain))
