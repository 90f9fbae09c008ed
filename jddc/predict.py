"""`--mode=predict`: a trained run's outputs for user-given inputs, as JSON lines on stdout.

The inputs are read and checked by `jddc.predict_inputs` (which the tasks also import, so
this runner, which imports the engine and the task registry, lives apart from it).
"""

from __future__ import annotations

import json
import sys

import jax

from jddc import predict_inputs, train
from jddc.data.errors import DataError
from jddc.tasks import get_task


def run(config, workdir: str, inputs_path: str) -> None:
  """Reads and checks `inputs_path`, loads the run, writes one JSON line per input to stdout
  (process 0). A bad input ends the program with its file:line, no traceback."""
  task_class = get_task(config.task)
  if not getattr(task_class, "predict_groups", ()):
    sys.exit(f"jddc.main: error: task {config.task!r} has no predict mode; use --mode=eval")
  try:
    examples = predict_inputs.read(inputs_path, task_class)  # before the model: an error in seconds, not minutes
    task, model = train.load_model(config, workdir)
    rows = task.predict(model, examples)
  except DataError as e:
    sys.exit(f"jddc.main: error: {e}")
  if jax.process_index() == 0:
    for row in rows:
      sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
