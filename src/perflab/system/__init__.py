"""Linux tuning: knobs, profiles, a crash-safe journal, audit.

Public API (other parts code against these):

* ``perflab.system.knobs``: ``KNOBS``, ``get_knob(name)``, ``Knob.read/write/available/save/restore``,
  ``resolve_value(knob, spec, current)``, ``matches(knob, spec, current)``, ``parse_spec``.
* ``perflab.system.profiles``: ``load_profile(name, profile_file=None) -> Profile``, ``list_profiles``.
* ``perflab.system.apply``: ``apply_settings(settings, dry_run=, label=, keep_partial=) -> ApplyReport``,
  ``restore(report_or_intents)``, ``rollback() -> RollbackReport``, ``status() -> list[StatusEntry]``.
* ``perflab.system.audit``: ``audit(profile=None) -> AuditReport``, ``verify(settings) -> list[VerifyRow]``.
* ``perflab.system.probes``: ``probe_all()`` (VM/container via ``perflab.env.detect``, NUMA, SMT, io_uring…).
"""
