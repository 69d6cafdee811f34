"""The nbgrader route: publish the exercises as notebooks, grade them in the sandbox.

- :mod:`~grader.notebooks.sources`: read each module's stub and model answer;
- :mod:`~grader.notebooks.markdown`: a teaching docstring as Markdown;
- :mod:`~grader.notebooks.render`: the source notebooks (``NN-<module>.ipynb``);
- :mod:`~grader.notebooks.extract`: a submitted notebook's code cells as a module, read as data;
- :mod:`~grader.notebooks.autograde`: nbgrader's autograde step done by the sandboxed grader;
- :mod:`~grader.notebooks.course`: the course's ``nbgrader_config.py``;
- :mod:`~grader.notebooks.cli`: ``nngrade-notebooks`` (``init`` and publishing).

Only :mod:`~grader.notebooks.autograde` and :mod:`~grader.notebooks.course`
import nbgrader; publishing needs nbformat alone.
"""

from grader.notebooks.cli import main
from grader.notebooks.render import write_assignment
from grader.notebooks.sources import NotebookError, Settings

__all__ = ["NotebookError", "Settings", "main", "write_assignment"]
