"""Build of kernlab's optional C helpers (metadata is in pyproject.toml).

Each helper has a pure-Python twin that gives the same output; without a C compiler the
install still succeeds (``optional=True``) and kernlab is slower, not different.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("kernlab.elf.disasm._hits", ["src/kernlab/elf/disasm/_hits.c"], optional=True),
        Extension("kernlab.render._lines", ["src/kernlab/render/_lines.c"], optional=True),
    ]
)
