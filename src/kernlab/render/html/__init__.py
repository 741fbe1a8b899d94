"""HTML reports: one self-contained file per report, figures drawn by plotly from kernlab's
reports (``page`` the document, ``figures`` the charts, ``tour`` and ``report`` the pages).

plotly is imported only here, so commands that write no HTML never load it.
"""
