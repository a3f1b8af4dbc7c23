"""Spike alerts: rules as data, detectors, the evaluation engine and alert lifecycle, notifier plugins.

Entry points: :class:`alerts.engine.AlertEngine` (evaluate rules against a store),
:class:`alerts.outbox.OutboxDispatcher` (deliver queued notifications),
:func:`alerts.scheduler.add_alert_jobs` (APScheduler 3.x jobs), the pure
detectors in :mod:`alerts.detectors` and the notifiers in :mod:`alerts.notifiers`.
Nothing here is imported by ``earshot`` at start-up except ``alerts.cli``.
"""
