"""Views: ``views.<command>.show(report, out)`` prints one report for a person.

A view is typed against its report, reads nothing from the system and gets every sentence from
:mod:`kernlab.explain`; it is tested in-process on a report built from fixed figures.
"""
