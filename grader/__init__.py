"""nngrade: grades the exercise catalogue; see grader.cli and grader.check."""
