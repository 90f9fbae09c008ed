"""The task registry: config.task -> its Task class, or its Evaluator class for a row with
nothing to train. Every config must resolve here (tested)."""

from jddc.tasks.base import Evaluator, Task
from jddc.tasks.discourse import DiscourseTask
from jddc.tasks.bertsum import BertSumTask
from jddc.tasks.image_category import ImageCategoryTask
from jddc.tasks.response import ResponseTask
from jddc.tasks.summary import ExtractiveSummaryTask, PointerGeneratorTask
from jddc.tasks.retrieval import RetrievalTask
from jddc.tasks.rewrite_cls import RewriteClsTask
from jddc.tasks.rewrite_gen import RewriteGenTask

REGISTRY: dict[str, type[Task] | type[Evaluator]] = {
    "response": ResponseTask,
    "image_category": ImageCategoryTask,
    "summary_extractive": ExtractiveSummaryTask,
    "summary_pgn": PointerGeneratorTask,
    "discourse": DiscourseTask,
    "retrieval": RetrievalTask,
    "summary_bertsum": BertSumTask,
    "rewrite_gen": RewriteGenTask,
    "rewrite_cls": RewriteClsTask,
}


def get_task(name: str) -> type[Task] | type[Evaluator]:
  if name not in REGISTRY:
    raise KeyError(f"unknown task {name!r}; known tasks: {sorted(REGISTRY)}")
  return REGISTRY[name]
