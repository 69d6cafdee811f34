"""A batch worker with faults, for the tests: it crashes, hangs or forges answers.

Run as ``python batch_fault_task.py FD`` in place of ``python -m grader.batch.task``;
the fault is chosen by the student's name, anyone else is graded for real.
"""

import os
import sys
import time

from grader.batch import task

real_answer = task.answer


def faulty_answer(request: dict) -> dict:
    student = request.get("student", "")
    if student.startswith("crash"):
        os._exit(3)
    if student.startswith("nosandbox"):  # as grade() does under --sandbox require without one

        def refuse(request):
            from grader.sandbox import SandboxUnavailable

            raise SandboxUnavailable("no sandbox could start: bwrap is missing")

        task.grade_request = refuse
        return real_answer(request)
    if student.startswith("hang"):
        time.sleep(3600)
    reply = real_answer(request)
    if student.startswith("forge"):  # claims full marks for every exercise
        for entry in reply["report"]["exercises"]:
            entry["status"], entry["score"] = "passed", 999
    if student.startswith("print"):  # chatter on stdout must not reach the driver
        print('{"id": 0, "report": {}}')
    return reply


task.answer = faulty_answer
task.serve(int(sys.argv[1]))
