"""Satisfaction reports: survey import, targets, figures, web sentiment, and HTML/PDF/XLSX/CSV/JSON output.

Entry points: :func:`reports.build.build_report` (the report as a dict) and
:func:`reports.render.write_outputs` (files). :func:`samples_dir` holds a
bundled sample survey and targets file.
"""

from reports.samples import SAMPLE_SURVEY, SAMPLE_TARGETS, SAMPLE_YEAR, samples_dir

__all__ = ["SAMPLE_SURVEY", "SAMPLE_TARGETS", "SAMPLE_YEAR", "samples_dir"]
