"""The rule table: every code, once, in order. A rule is a module named after what it
detects, whose docstring is its documentation and whose `check(project)` yields
findings from linked facts (never from syntax)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType

from celery_audit.model.findings import Finding, Severity
from celery_audit.model.project import Project
from celery_audit.rules import (
    app_bound_task_call,
    beat_entry_without_expires,
    beat_not_started,
    beat_period_below_limit,
    beat_schedule_location,
    beat_schedule_split,
    broker_credentials_in_code,
    circular_import,
    crontab_minute_wildcard,
    decorator_order,
    dispatch_before_commit,
    dispatch_on_non_task,
    double_app_context,
    eager_in_config,
    frontend_contract_broken,
    frontend_status_contract,
    implicit_name_referenced,
    implicit_task_name,
    late_ack_prefetch,
    multiple_celery_apps,
    no_time_limit,
    parse_error,
    pickle_serializer,
    queue_not_consumed,
    queue_not_declared,
    request_context_in_task,
    result_expires_disabled,
    result_never_stored,
    route_to_unknown_task,
    shared_task_default_app,
    soft_limit_not_below_hard,
    task_id_exposed,
    task_missing_app_context,
    task_name_collision,
    tasks_not_discovered,
    unbounded_retry,
    unknown_task_name,
    unserializable_task_argument,
    unused_suppression,
    visibility_timeout_too_short,
    worker_imports_app_instance,
    worker_target_is_flask_app,
    worker_target_unresolved,
    wrapper_renames_task,
)

# Areas group findings in the Markdown report, in the seed document's order.
AREAS = (
    "Task Invocation",
    "Flask Context",
    "Configuration Location",
    "Service Management",
    "Frontend Dependencies",
    "Imports",
    "Files",
)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    area: str
    summary: str
    fix: str
    doc: str
    check: Callable[[Project], Iterator[Finding]]
    default_enabled: bool = True


def _rule(code: str, module: ModuleType) -> Rule:
    """A rule from its module: NAME, SEVERITY, AREA, FIX, `check`, the docstring, and
    DEFAULT_ENABLED = False for a rule that runs only when selected by its code."""
    doc = (module.__doc__ or "").strip()
    return Rule(
        code=code,
        name=module.NAME,
        severity=Severity(module.SEVERITY),
        area=module.AREA,
        summary=doc.splitlines()[0].rstrip("."),
        fix=module.FIX,
        doc=doc,
        check=module.check,
        default_enabled=getattr(module, "DEFAULT_ENABLED", True),
    )


RULES: tuple[Rule, ...] = (
    _rule("CA001", parse_error),
    _rule("CA002", unused_suppression),
    _rule("CA101", app_bound_task_call),
    _rule("CA102", task_id_exposed),
    _rule("CA103", unknown_task_name),
    _rule("CA104", implicit_name_referenced),
    _rule("CA105", task_name_collision),
    _rule("CA106", unserializable_task_argument),
    _rule("CA107", dispatch_on_non_task),
    _rule("CA108", dispatch_before_commit),
    _rule("CA109", result_never_stored),
    _rule("CA110", shared_task_default_app),
    _rule("CA201", task_missing_app_context),
    _rule("CA202", request_context_in_task),
    _rule("CA203", double_app_context),
    _rule("CA204", worker_imports_app_instance),
    _rule("CA205", wrapper_renames_task),
    _rule("CA206", decorator_order),
    _rule("CA301", beat_schedule_location),
    _rule("CA302", beat_schedule_split),
    _rule("CA303", multiple_celery_apps),
    _rule("CA401", circular_import),
    _rule("CA501", worker_target_unresolved),
    _rule("CA502", tasks_not_discovered),
    _rule("CA503", beat_not_started),
    _rule("CA504", queue_not_consumed),
    _rule("CA505", worker_target_is_flask_app),
    _rule("CA601", frontend_status_contract),
    _rule("CA602", frontend_contract_broken),
    _rule("CA701", pickle_serializer),
    _rule("CA702", broker_credentials_in_code),
    _rule("CA703", no_time_limit),
    _rule("CA704", soft_limit_not_below_hard),
    _rule("CA705", late_ack_prefetch),
    _rule("CA706", unbounded_retry),
    _rule("CA707", visibility_timeout_too_short),
    _rule("CA708", route_to_unknown_task),
    _rule("CA709", queue_not_declared),
    _rule("CA710", beat_period_below_limit),
    _rule("CA711", eager_in_config),
    _rule("CA712", beat_entry_without_expires),
    _rule("CA713", result_expires_disabled),
    _rule("CA714", implicit_task_name),
    _rule("CA715", crontab_minute_wildcard),
)
BY_CODE = {rule.code: rule for rule in RULES}
BY_NAME = {rule.name: rule for rule in RULES}
