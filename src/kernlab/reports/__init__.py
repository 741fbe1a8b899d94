"""Results: one module per command, each a typed, frozen dataclass built from the readers.

``reports.<command>.build(...) -> <Command>Report`` gathers every figure the command shows,
including facts a view would otherwise read itself (a process's command line, a sysctl). A
report holds keys and numbers, never prose: ``--json`` is ``to_jsonable(report)`` and is the
same in every language. Sentences come from :mod:`kernlab.explain`, views from
:mod:`kernlab.render.views`.
"""
