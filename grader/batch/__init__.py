"""``nngrade batch``: grade a whole class, in parallel, resumably, with a class summary.

Modules: :mod:`.sources` (where submissions come from), :mod:`.task` (the
worker that grades one submission with :func:`grader.runner.grade`),
:mod:`.engine` (local pool of workers, or Dask), :mod:`.validate` (the
driver's check of every answer), :mod:`.cache` (resumable results),
:mod:`.outputs` (reports, ``grades.csv``), :mod:`.summary` and :mod:`.html`
(the class summary), :mod:`.cli` (the command).
"""
