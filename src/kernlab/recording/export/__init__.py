"""A recording in other tools' formats: trace-cmd's trace.dat and ftrace's text (``kernlab dump``)."""
