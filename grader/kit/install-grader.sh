# Install the grader, nnfund @VERSION@, reading nothing the student can edit but the
# wheels named here, each checked against the sha256 recorded at release time
# (requirements.txt and wheelhouse/ are in the student's repository); nnfund's
# dependencies come from the package index. python -P: no folder of the repository
# can stand in for venv or pip; --clear: nor can a committed .venv.
set -e
@FETCH@
python -P -m venv --clear .venv
.venv/bin/python -P -m pip install -q --no-deps --no-index --only-binary :all: @FIND_GRADER@ "nnfund==@VERSION@"
.venv/bin/python -P -m pip install -q "nnfund==@VERSION@"
